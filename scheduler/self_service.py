"""A party moves their own session, from the link on their booking page.

The times offered are the matcher's (:func:`scheduler.proposals.propose_moves`): the same hard
constraints as any booking, the session's own mediator(s) first. The move itself is the one
reschedule path (:func:`scheduler.booking.reschedule`): every rule checked again on the rows,
reservations replaced, SEQUENCE raised on the same UID, reschedule notices with the new invite to
both parties and the mediator(s), reminders re-planned, and the mediators' calendars brought in
step by the calendar push job.

Self-service never goes past the policy's ``max_reschedules``: where staff's reschedule past the
limit returns the case, a party is told the limit is reached and offered to ask staff instead.

A tap is idempotent. The party's form carries the sequence the session had when the page was
drawn; the move takes the case's row lock first (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` serialises writers) and re-reads the session, so of two taps at once — the
same phone twice, or both parties on two phones — one moves the session and the other finds the
sequence already raised: ``ALREADY`` when it asked for the same time, ``CHANGED`` otherwise.
Every function takes the caller's session and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from cases.models import Case, MediationSession, SessionStatus
from scheduler import booking
from scheduler.booking import BookingOption, NotBookable, Rules, SlotTaken
from scheduler.proposals import propose_moves

#: the reason a party's own move carries in the audit and the notices' context
PARTY_REASON = "moved by a party on their booking page"


class Blocked(StrEnum):
    """Why no time can be offered on the page."""

    NOT_BOOKED = "not_booked"  # nothing booked to move (cancelled, completed, case closed)
    STARTED = "started"  # the session has begun
    LIMIT = "limit"  # the policy's reschedule limit is reached
    NO_FIT = "no_fit"  # the matcher finds no other time that suits everyone


@dataclass(frozen=True, slots=True)
class Offers:
    """Times the party may move to, best first; ``blocked`` says why there are none."""

    options: tuple[BookingOption, ...]
    blocked: Blocked | None
    moves_left: int


class Moved(StrEnum):
    MOVED = "moved"  # this tap moved the session
    ALREADY = "already"  # an earlier tap (or the other phone) already moved it there
    CHANGED = "changed"  # the session changed since the page was drawn; nothing done
    TAKEN = "taken"  # someone or the room was booked at that time just now
    NOT_BOOKABLE = "not_bookable"  # the time no longer passes every rule
    LIMIT = "limit"  # the reschedule limit is reached
    NOT_BOOKED = "not_booked"


def moves_left(case: Case, rules: Rules) -> int:
    return max(0, rules.policy.max_reschedules - case.reschedule_count)


def _blocked(case: Case, row: MediationSession | None, rules: Rules, now: datetime
             ) -> Blocked | None:
    if row is None or row.status != SessionStatus.BOOKED.value:
        return Blocked.NOT_BOOKED
    if row.starts_at <= now:
        return Blocked.STARTED
    if moves_left(case, rules) == 0:
        return Blocked.LIMIT
    return None


def offers(session: Session, case: Case, row: MediationSession | None, rules: Rules, *,
           now: datetime, count: int = 3) -> Offers:
    """What the booking page offers for ``row`` (the case's current session)."""
    blocked = _blocked(case, row, rules, now)
    left = moves_left(case, rules)
    if blocked is not None or row is None:
        return Offers((), blocked, left)
    found = propose_moves(session, row, rules, now=now, count=count)
    return Offers(found.options, None if found.options else Blocked.NO_FIT, left)


def _same(row: MediationSession, option: BookingOption) -> bool:
    ids = (row.mediator_id, *([row.co_mediator_id] if row.co_mediator_id else []))
    return (row.starts_at, row.ends_at, row.venue_id, ids) == (
        option.start, option.end, option.venue_id, option.mediator_ids)


def move(session: Session, row: MediationSession, option: BookingOption, rules: Rules,
         *, expected_sequence: int, now: datetime, actor: str) -> Moved:
    """Move ``row`` to ``option`` for a party, once, whoever taps how often.

    ``SlotTaken`` and ``NotBookable`` are answered as ``TAKEN`` / ``NOT_BOOKABLE`` inside a
    savepoint, so the caller's transaction stays usable and nothing was changed.
    """
    case = session.get(Case, row.case_id)
    assert case is not None
    session.flush()
    session.refresh(case, with_for_update=True)  # one change at a time per case
    session.refresh(row)
    if row.status != SessionStatus.BOOKED.value or row.starts_at <= now:
        return Moved.NOT_BOOKED
    if row.sequence != expected_sequence:
        return Moved.ALREADY if _same(row, option) else Moved.CHANGED
    if moves_left(case, rules) == 0:
        return Moved.LIMIT
    try:
        with session.begin_nested():
            booking.reschedule(session, row, option, rules, now=now, actor=actor,
                               reason=PARTY_REASON)
    except SlotTaken:
        return Moved.TAKEN
    except NotBookable:
        return Moved.NOT_BOOKABLE
    return Moved.MOVED
