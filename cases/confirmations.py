"""Parties confirming that they will come to a session, and asking for another time.

A confirmation holds for the session's current time only (its ``sequence``): a reschedule
raises the sequence, so the party is asked again by the new plan's reminders. A party confirms
by replying to a reminder (``cases.replies``) or staff record it after a call (the work
queue). A session a party has not confirmed ``ReminderPolicy.confirm_by_hours`` before its start
needs a person (:func:`unconfirmed_parties`, read by the work queue).

A change request — from the booking page or a reply to a reminder — goes to staff (a staff alert
and a ``booking.change_requested`` audit record, which the work queue lists) within a per-party
daily limit; moving the session follows the policy's reschedule limit when staff act on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases import audit
from cases.errors import DomainError
from cases.models import (
    AuditEvent,
    MediationSession,
    Party,
    SessionConfirmation,
    SessionStatus,
)
from cases.outbox import NoticeKind, enqueue

#: how the ways of confirming are named on the staff pages
CHANNEL_WORDS = {"sms": "by text", "staff": "by phone (staff)"}
CHANGE_REQUEST_WINDOW = timedelta(hours=24)


def confirm(session: Session, row: MediationSession, party: Party, *, now: datetime,
            channel: str, actor: str) -> SessionConfirmation:
    """Record that ``party`` will come to ``row`` at its current time (idempotent: a second
    confirmation returns the first). Only a booked session that has not started is confirmed."""
    if row.status != SessionStatus.BOOKED.value or row.starts_at <= now:
        raise DomainError(f"session {row.id} is not an upcoming booked session")
    if party.case_id != row.case_id:
        raise DomainError(f"party {party.id} is not a party to session {row.id}")
    existing = session.scalar(select(SessionConfirmation).where(
        SessionConfirmation.session_id == row.id, SessionConfirmation.party_id == party.id,
        SessionConfirmation.sequence == row.sequence))
    if existing is not None:
        return existing
    confirmation = SessionConfirmation(session_id=row.id, party_id=party.id,
                                       sequence=row.sequence, confirmed_at=now, channel=channel)
    session.add(confirmation)
    session.flush()
    audit.record(session, at=now, actor=actor, action="session.party_confirmed",
                 case_id=row.case_id, subject_kind="session", subject_id=row.id,
                 party_id=party.id, sequence=row.sequence, channel=channel)
    return confirmation


def current(session: Session, rows: Iterable[MediationSession]
            ) -> dict[tuple[int, int], SessionConfirmation]:
    """(session id, party id) -> the confirmation of the session's current time."""
    sequences = {r.id: r.sequence for r in rows}
    if not sequences:
        return {}
    found = session.scalars(select(SessionConfirmation).where(
        SessionConfirmation.session_id.in_(sequences)))
    return {(c.session_id, c.party_id): c for c in found if sequences[c.session_id] == c.sequence}


@dataclass(frozen=True)
class Unconfirmed:
    """A session close to its start that some of its parties have not confirmed."""

    session: MediationSession
    parties: tuple[Party, ...]


def unconfirmed_parties(session: Session, *, now: datetime, within: timedelta
                        ) -> list[Unconfirmed]:
    """Booked sessions starting within ``within`` of ``now`` (elapsed time, so a DST change in
    between neither adds nor removes an hour) with a party who has not confirmed, soonest first."""
    rows = list(session.scalars(select(MediationSession).where(
        MediationSession.status == SessionStatus.BOOKED.value,
        MediationSession.starts_at > now, MediationSession.starts_at <= now + within)
        .order_by(MediationSession.starts_at, MediationSession.id)))
    confirmed = current(session, rows)
    out = []
    for row in rows:
        parties = session.scalars(select(Party).where(Party.case_id == row.case_id)
                                  .order_by(Party.id)).all()
        missing = tuple(p for p in parties if (row.id, p.id) not in confirmed)
        if missing:
            out.append(Unconfirmed(row, missing))
    return out


def confirm_by_staff(session: Session, row: MediationSession, party_ids: Sequence[int], *,
                     now: datetime, actor: str) -> list[SessionConfirmation]:
    """Staff reached the parties by phone and they will come: recorded as their confirmations."""
    parties = session.scalars(select(Party).where(Party.case_id == row.case_id,
                                                  Party.id.in_(party_ids))).all()
    return [confirm(session, row, p, now=now, channel="staff", actor=actor) for p in parties]


def request_change(session: Session, party: Party, row: MediationSession, *, now: datetime,
                   per_day: int, via: str) -> bool:
    """A party asks for another time: staff are alerted and the request is audited (the work
    queue lists it). False, and nothing recorded, past ``per_day`` requests in 24 hours. The
    party's row is locked first, so that requests posted at once are counted one after the
    other."""
    session.execute(select(Party.id).where(Party.id == party.id).with_for_update())
    actor = f"party:{party.id}"
    recent = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "booking.change_requested", AuditEvent.actor == actor,
        AuditEvent.at > now - CHANGE_REQUEST_WINDOW)) or 0
    if recent >= per_day:
        return False
    enqueue(session, kind=NoticeKind.STAFF_ALERT, recipient=None, due_at=now, now=now,
            case_id=party.case_id, session_id=row.id,
            occurrence=f"change-{party.id}-{now.isoformat()}",
            context={"case_id": party.case_id, "alert": "change_requested",
                     "party_id": party.id, "session_id": row.id})
    audit.record(session, at=now, actor=actor, action="booking.change_requested",
                 case_id=party.case_id, subject_kind="session", subject_id=row.id, via=via)
    return True
