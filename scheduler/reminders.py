"""Reminder plans: which reminders a session gets, and when, written as pending outbox rows.

Planning is pure (:func:`plan_reminders` takes the session's values, the offsets and ``now``);
:func:`apply_plan` turns a plan into ``Notification`` rows inside the caller's transaction.

Each reminder's occurrence is ``s{session_id}-q{sequence}-{offset}h``. With the recipient and
channel it forms the outbox idempotency key, so:

- planning the same session twice writes nothing new (a retried job, the periodic re-plan);
- a reschedule bumps ``sequence``: the old plan is cancelled (``cases.outbox.cancel_pending``) and
  the new one gets new keys;
- a cancelled session has its pending reminders withdrawn and is never planned again.

Quiet hours are not applied here: the dispatcher holds an SMS that falls due at night until the
recipient's morning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit
from cases.errors import DomainError, NotFound
from cases.models import (
    Case,
    MediationSession,
    Mediator,
    Notification,
    Party,
    SessionStatus,
)
from cases.outbox import Channel, NoticeKind, cancel_pending, enqueue
from cases.policy import ReminderPolicy

Audience = Literal["parties", "mediators"]


@dataclass(frozen=True, slots=True)
class ReminderOffsets:
    """How long before a session each reminder goes out, in hours.

    ``party_hours`` go to every party on their preferred channels, ``mediator_hours`` to the
    mediator(s) by email, and ``sms_hours`` (None: off) is a last short SMS to parties who accept
    SMS. The agency declares them in the policy file's ``[reminders]`` (:meth:`from_policy`).
    """

    party_hours: tuple[int, ...]
    mediator_hours: tuple[int, ...]
    sms_hours: int | None

    def __post_init__(self) -> None:
        for hours in (*self.party_hours, *self.mediator_hours,
                      *(() if self.sms_hours is None else (self.sms_hours,))):
            if hours <= 0:
                raise ValueError(f"reminder offsets must be positive hours, got {hours}")

    @classmethod
    def from_policy(cls, policy: ReminderPolicy) -> ReminderOffsets:
        """The plan the policy's ``[reminders]`` declares."""
        return cls(party_hours=policy.party_hours, mediator_hours=policy.mediator_hours,
                   sms_hours=policy.last_sms_hours)


@dataclass(frozen=True, slots=True)
class SessionValues:
    """What planning needs to know about a session (read from a ``MediationSession`` row)."""

    session_id: int
    sequence: int
    starts_at: datetime
    status: str

    @classmethod
    def of(cls, row: MediationSession) -> SessionValues:
        return cls(row.id, row.sequence, row.starts_at, row.status)


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    audience: Audience
    offset_hours: int
    due_at: datetime
    occurrence: str
    sms_only: bool = False


def occurrence(session_id: int, sequence: int, offset_hours: int) -> str:
    return f"s{session_id}-q{sequence}-{offset_hours}h"


def plan_reminders(
    values: SessionValues, offsets: ReminderOffsets, now: datetime
) -> list[PlannedReminder]:
    """The reminders still worth sending for this session, earliest first.

    Only a booked session that has not started gets reminders; a reminder whose time has
    already passed when the session is planned (a session booked at short notice) is left out —
    the booking confirmation covers it.
    """
    if values.status != SessionStatus.BOOKED.value or values.starts_at <= now:
        return []
    wanted: list[tuple[Audience, int, bool]] = [
        *(("parties", h, False) for h in sorted(set(offsets.party_hours), reverse=True)),
        *(("mediators", h, False) for h in sorted(set(offsets.mediator_hours), reverse=True)),
    ]
    if offsets.sms_hours is not None and offsets.sms_hours not in offsets.party_hours:
        wanted.append(("parties", offsets.sms_hours, True))
    plan = []
    for audience, hours, sms_only in wanted:
        due = values.starts_at - timedelta(hours=hours)
        if due <= now:
            continue
        plan.append(PlannedReminder(audience, hours, due,
                                    occurrence(values.session_id, values.sequence, hours),
                                    sms_only))
    plan.sort(key=lambda p: (p.due_at, p.audience))
    return plan


def session_context(row: MediationSession, **extra: Any) -> dict[str, Any]:
    """What every notice about a session carries (the version it was written for, its times and
    venue), read by ``notifiers.compose.context`` and the invite; ``extra`` adds the notice's own."""
    return {"case_id": row.case_id, "session_id": row.id, "sequence": row.sequence,
            "starts_at": row.starts_at.isoformat(), "ends_at": row.ends_at.isoformat(),
            "venue_id": row.venue_id, **extra}


def session_mediators(session: Session, row: MediationSession) -> list[Mediator]:
    ids = [row.mediator_id] + ([row.co_mediator_id] if row.co_mediator_id else [])
    return [m for m in (session.get(Mediator, i) for i in ids) if m is not None]


def session_parties(session: Session, row: MediationSession) -> list[Party]:
    return list(session.scalars(select(Party).where(Party.case_id == row.case_id)
                                .order_by(Party.id)))


def apply_plan(
    session: Session, row: MediationSession, offsets: ReminderOffsets, now: datetime
) -> list[Notification]:
    """Write the session's planned reminders as pending outbox rows (idempotent)."""
    written: list[Notification] = []
    plan = plan_reminders(SessionValues.of(row), offsets, now)
    if not plan:
        return written
    parties = session_parties(session, row)
    mediators = session_mediators(session, row)
    for item in plan:
        recipients: Iterable[Party | Mediator] = parties if item.audience == "parties" else mediators
        for recipient in recipients:
            channels: Sequence[Channel] | None = None
            if item.sms_only:
                if not isinstance(recipient, Party) or "sms" not in recipient.channels:
                    continue
                channels = [Channel.SMS]
            written += enqueue(
                session, kind=NoticeKind.REMINDER, recipient=recipient, due_at=item.due_at,
                now=now, occurrence=item.occurrence, case_id=row.case_id, session_id=row.id,
                channels=channels, context=session_context(row, offset_hours=item.offset_hours))
    return written


def withdraw_plan(session: Session, row: MediationSession, reason: str) -> int:
    """Cancel every reminder of this session that has not gone out yet."""
    return cancel_pending(session, session_id=row.id, kinds=[NoticeKind.REMINDER], reason=reason)


def trigger_reminder(
    session: Session,
    *,
    session_id: int | None = None,
    case_id: int | None = None,
    now: datetime,
    actor: str,
) -> list[Notification]:
    """Staff ask for a reminder now, for a session or for a case's booked session.

    It is due at once (the dispatcher still holds an SMS during the recipient's quiet hours) and
    goes to every party and mediator. Each call is a new occurrence (``manual-<now>``), so two
    clicks a minute apart send two reminders, and a retried request with the same ``now`` does
    not.
    """
    if (session_id is None) == (case_id is None):
        raise DomainError("give exactly one of session_id or case_id")
    row: MediationSession | None
    if session_id is not None:
        row = session.get(MediationSession, session_id)
        if row is None:
            raise NotFound("session", session_id)
    else:
        if session.get(Case, case_id) is None:
            raise NotFound("case", case_id)
        row = session.scalars(
            select(MediationSession).where(MediationSession.case_id == case_id,
                                           MediationSession.status == SessionStatus.BOOKED.value)
            .order_by(MediationSession.starts_at.desc())).first()
        if row is None:
            raise DomainError(f"case {case_id} has no booked session to remind about")
    if row.status != SessionStatus.BOOKED.value:
        raise DomainError(f"session {row.id} is {row.status}; only a booked session is reminded")
    if row.ends_at <= now:
        raise DomainError(f"session {row.id} is over")
    written: list[Notification] = []
    label = f"manual-{now.isoformat()}"
    recipients: list[Party | Mediator] = [*session_parties(session, row),
                                          *session_mediators(session, row)]
    for recipient in recipients:
        written += enqueue(session, kind=NoticeKind.REMINDER, recipient=recipient, due_at=now,
                           now=now, occurrence=label, case_id=row.case_id, session_id=row.id,
                           context=session_context(row, manual=True))
    audit.record(session, at=now, actor=actor, action="reminder.triggered", case_id=row.case_id,
                 subject_kind="session", subject_id=row.id, notices=len(written))
    return written
