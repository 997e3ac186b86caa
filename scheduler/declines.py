"""A mediator declines an assignment: they leave the session at once, and another qualified
mediator who is free at the same time takes it (everyone gets the updated invite, the one who
declined gets its cancellation); if no one is free, the session is cancelled and the matcher
books a new time straight away when it can. Staff see what happened in the work queue.

Every change goes through ``scheduler.booking`` (``reschedule``, ``cancel``, ``book``), which
checks every hard constraint again and lets the database refuse a double booking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from calendars.sync import busy_from_json
from cases import audit
from cases.errors import DomainError
from cases.models import (
    AvailabilityWindow,
    Case,
    MediationSession,
    Mediator,
    MediatorCalendarSnapshot,
    SessionStatus,
)
from scheduler import booking
from scheduler.booking import BookingOption, NotBookable, Rules, SlotTaken
from scheduler.proposals import propose


@dataclass(frozen=True, slots=True)
class DeclineResult:
    """``same_time``: another mediator took the session; ``new_time``: it was rebooked at
    another time (``session`` is the new one); ``waiting``: cancelled, the case waits for a
    booking (``session`` None)."""

    outcome: str
    session: MediationSession | None
    replacement_id: int | None


def _free(session: Session, mediator: Mediator, row: MediationSession) -> bool:
    """Their own hours and calendar leave the session's time free (reservations are the
    database's to refuse)."""
    windows = list(session.scalars(select(AvailabilityWindow).where(
        AvailabilityWindow.owner_kind == "mediator", AvailabilityWindow.owner_id == mediator.id,
        AvailabilityWindow.weekday.is_not(None))))
    if windows:
        def inside(w: AvailabilityWindow) -> bool:
            tz = ZoneInfo(w.time_zone)
            start, end = row.starts_at.astimezone(tz), row.ends_at.astimezone(tz)
            return (start.weekday() == w.weekday and start.date() == end.date()
                    and (w.start_local or "") <= start.strftime("%H:%M")
                    and end.strftime("%H:%M") <= (w.end_local or ""))
        if not any(inside(w) for w in windows):
            return False
    if mediator.calendar_kind != "none":
        snapshot = session.get(MediatorCalendarSnapshot, mediator.id)
        if snapshot is None or snapshot.last_ok_at is None:
            return False
        for busy in busy_from_json(snapshot.busy):
            if busy.start < row.ends_at and row.starts_at < busy.end:
                return False
    return True


def _speaks(mediator: Mediator, case: Case, rules: Rules) -> bool:
    """They speak the session's language (not the parties' reading languages)."""
    return (case.session_language or rules.policy.working_language) in mediator.languages


def decline(session: Session, row: MediationSession, mediator: Mediator, rules: Rules, *,
            now: datetime, actor: str) -> DeclineResult:
    if row.status != SessionStatus.BOOKED.value or mediator.id not in (row.mediator_id,
                                                                      row.co_mediator_id):
        raise DomainError(f"session {row.id} is not a booked assignment of mediator "
                          f"{mediator.id}")
    if row.starts_at <= now:
        raise DomainError(f"session {row.id} has started")
    case = session.get(Case, row.case_id)
    assert case is not None
    keep = [m for m in (row.mediator_id, row.co_mediator_id) if m and m != mediator.id]
    for other in session.scalars(select(Mediator).where(
            Mediator.active.is_(True), Mediator.id.not_in([mediator.id, *keep]))
            .order_by(Mediator.id)):
        if not _speaks(other, case, rules) or not _free(session, other, row):
            continue
        ids = (other.id, *keep) if mediator.id == row.mediator_id else (*keep, other.id)
        option = BookingOption(tuple(ids), row.venue_id, row.starts_at, row.ends_at)
        try:
            with session.begin_nested():
                # a mediator's decline is not one of the parties' reschedules: it uses none
                # of the case's reschedule allowance
                case.reschedule_count -= 1
                booking.reschedule(session, row, option, rules, now=now, actor=actor,
                                   reason="mediator declined")
        except (NotBookable, SlotTaken, IntegrityError):
            continue
        _record(session, row, mediator, now, actor, "same_time", other.id, row.id)
        return DeclineResult("same_time", row, other.id)
    booking.cancel(session, row, rules, reason="mediator declined", now=now, actor=actor)
    for option in propose(session, case.id, rules, now=now,
                          exclude_mediators=frozenset({mediator.id})).options:
        try:
            with session.begin_nested():
                new = booking.book(session, case, option, rules, now=now, actor=actor)
        except (NotBookable, SlotTaken, IntegrityError):
            continue
        _record(session, row, mediator, now, actor, "new_time", new.mediator_id, new.id)
        return DeclineResult("new_time", new, new.mediator_id)
    _record(session, row, mediator, now, actor, "waiting", None, None)
    return DeclineResult("waiting", None, None)


def _record(session: Session, row: MediationSession, mediator: Mediator, now: datetime,
            actor: str, outcome: str, replacement: int | None, session_id: int | None) -> None:
    audit.record(session, at=now, actor=actor, action="assignment.declined",
                 case_id=row.case_id, subject_kind="session", subject_id=row.id,
                 mediator_id=mediator.id, outcome=outcome, replacement_id=replacement,
                 rebooked_session_id=session_id)


