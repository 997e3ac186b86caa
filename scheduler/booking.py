"""Booking sessions so that no mediator, venue or party is ever in two places at once.

A booking is one ``MediationSession`` row plus one active ``Reservation`` per resource it takes:
``mediator:<id>`` (and the co-mediator), ``venue:<id>`` for an in-person venue (a video account
hosts many meetings and takes none), ``party:<id>`` for each party, ``officer:<star>`` for each
officer and ``phone:<number>`` for each party's number (the same officer, or the same complainant,
can be a party to two cases). Mediator and venue reservations run on
past the session's end by the policy's buffer, so two sessions on one of them are at least a
buffer apart.

The database makes a double booking impossible, whatever the callers do: PostgreSQL refuses
overlapping active reservations of one resource with an exclusion constraint (``23P01``), SQLite
with a trigger while ``BEGIN IMMEDIATE`` serialises writers (migration 0002). Losing that race
raises :class:`SlotTaken`; :func:`book_first_available` then tries the next option.

:func:`book` never trusts its option, whoever proposes it (the matcher or a member of staff): it
re-checks every hard constraint against the rows with :func:`scheduler.constraints.problems` —
the matcher's own rules of qualification, conflicts, languages and venues, the weekly limit
(counted under a lock on the mediator), calendar busy times, opening hours, the booking deadline
and session length — and raises :class:`NotBookable` with the reasons. Only the windows the
people gave may be booked over, with a reason that the audit keeps.

Changes (:func:`reschedule`, :func:`cancel`, :func:`no_show`, :func:`withdraw`) keep reservations,
reminders, notices, the case's state and the policy's limits in step. A limit is *exceeded* when
the count goes above ``max_reschedules`` / ``max_no_shows``; the case then returns to
investigation. Every function takes the caller's session and never commits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from calendars.sessions import new_session_uid
from cases import audit, lifecycle, service
from cases.database import transaction
from cases.errors import DomainError, NotFound
from cases.models import (
    Case,
    CaseState,
    MediationSession,
    Mediator,
    Outcome,
    Party,
    PartyRole,
    Reservation,
    SessionStatus,
    Venue,
)
from cases.outbox import NoticeKind, enqueue
from cases.policy import Policy
from cases.service import ReturnReason
from scheduler import reminders
from scheduler.constraints import BookingOption, NotBookable, Rules, check_option, problems
from scheduler.profiles import ACTIVE

__all__ = ["ACTIVE", "BookingOption",
           "HoldExpired", "NotBookable", "NotSchedulable", "Rules", "SlotTaken", "book",
           "book_first_available", "cancel", "check_option", "confirm", "expire_holds",
           "no_show", "reschedule", "withdraw"]

log = logging.getLogger(__name__)


class SlotTaken(DomainError):
    """Another booking took one of the resources at that time first."""

    def __init__(self, detail: str = "") -> None:
        super().__init__("slot taken" + (f": {detail}" if detail else ""))


class NotSchedulable(NotBookable):
    """The case cannot take a booking now (not in scheduling, or it already has a session)."""


class HoldExpired(DomainError):
    pass


def is_slot_taken(exc: IntegrityError) -> bool:
    """True for the no-overlap guard's error on either backend, False for other integrity errors."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "23P01":
        return True
    return "reservation overlaps" in str(orig)


# --- reservations ----------------------------------------------------------------------------

def _reservations(session: Session, row: MediationSession, option: BookingOption,
                  policy: Policy) -> list[Reservation]:
    venue = session.get(Venue, option.venue_id)
    padded = option.end + policy.buffer
    spans = [(f"mediator:{m}", padded) for m in option.mediator_ids]
    if venue is not None and venue.kind != "video":
        spans.append((f"venue:{venue.id}", padded))
    for party in session.scalars(select(Party).where(Party.case_id == row.case_id)):
        spans.append((f"party:{party.id}", option.end))
        if party.phone:
            spans.append((f"phone:{party.phone}", option.end))
        if party.role == PartyRole.OFFICER.value and party.officer_star:
            spans.append((f"officer:{party.officer_star}", option.end))
    return [Reservation(session=row, resource=r, starts_at=option.start, ends_at=end, active=True)
            for r, end in dict(spans).items()]


def _take(session: Session, row: MediationSession, option: BookingOption, policy: Policy) -> None:
    """Insert the option's reservations in a savepoint; losing the race raises ``SlotTaken``."""
    try:
        with session.begin_nested():
            session.add_all(_reservations(session, row, option, policy))
            session.flush()
    except IntegrityError as exc:
        if is_slot_taken(exc):
            raise SlotTaken(f"{option.start.isoformat()}") from None
        raise


def _release(session: Session, row: MediationSession) -> None:
    session.execute(update(Reservation).where(Reservation.session_id == row.id,
                                              Reservation.active.is_(True))
                    .values(active=False).execution_options(synchronize_session="fetch"))


def _notify(session: Session, row: MediationSession, kind: NoticeKind, *, now: datetime,
            mediators: Sequence[Mediator] | None = None, **extra: object) -> None:
    context = reminders.session_context(row, **extra)
    targets: list[Party | Mediator] = [*reminders.session_parties(session, row),
                                       *(mediators if mediators is not None
                                         else reminders.session_mediators(session, row))]
    for recipient in targets:
        enqueue(session, kind=kind, recipient=recipient, due_at=now, now=now,
                occurrence=f"s{row.id}-q{row.sequence}", case_id=row.case_id,
                session_id=row.id, context=context)


def _staff_alert(session: Session, case: Case, alert: str, *, now: datetime, occurrence: str,
                 **extra: object) -> None:
    enqueue(session, kind=NoticeKind.STAFF_ALERT, recipient=None, due_at=now, now=now,
            case_id=case.id, occurrence=occurrence,
            context={"case_id": case.id, "alert": alert, **extra})


# --- booking ---------------------------------------------------------------------------------

def book(session: Session, case: Case, option: BookingOption, rules: Rules, *, now: datetime,
         actor: str, hold_for: timedelta | None = None,
         override_reason: str | None = None) -> MediationSession:
    """Book ``option`` for ``case``, or hold it for ``hold_for`` until :func:`confirm`.

    ``override_reason`` (a member of staff's, like "agreed by phone") lets the session fall
    outside the windows the parties and mediators gave; it is recorded in the audit. Every other
    hard constraint holds whatever the caller (:mod:`scheduler.constraints`).

    Raises ``NotBookable`` (hard constraints), ``NotSchedulable`` (the case is not being
    scheduled) or ``SlotTaken`` (a resource is taken; the caller's transaction is still usable).
    """
    session.flush()
    session.refresh(case, with_for_update=True)  # one booking at a time per case
    if case.state != CaseState.SCHEDULING.value:
        raise NotSchedulable([f"case {case.id} is {case.state}, not scheduling"])
    active = session.scalar(select(MediationSession.id).where(
        MediationSession.case_id == case.id, MediationSession.status.in_(ACTIVE)))
    if active is not None:
        raise NotSchedulable([f"case {case.id} already has session {active}"])
    found = problems(session, case, option, rules, now=now)
    reasons = found.refusals(override_reason)
    if reasons:
        raise NotBookable(reasons)
    held = hold_for is not None
    row = MediationSession(
        case_id=case.id, mediator_id=option.mediator_ids[0],
        co_mediator_id=option.mediator_ids[1] if len(option.mediator_ids) > 1 else None,
        venue_id=option.venue_id, starts_at=option.start, ends_at=option.end,
        status=(SessionStatus.HELD if held else SessionStatus.BOOKED).value,
        hold_expires_at=now + hold_for if hold_for is not None else None,
        uid=new_session_uid(), sequence=0,
        interpreter=case.interpreter or next((p.interpreter for p in case.parties
                                              if p.interpreter), None),
        created_at=now, updated_at=now)
    with session.begin_nested():  # SlotTaken rolls back to here; the caller may go on
        session.add(row)
        session.flush()
        _take(session, row, option, rules.policy)
    audit.record(session, at=now, actor=actor, action="session.held" if held else "session.booked",
                 case_id=case.id, subject_kind="session", subject_id=row.id,
                 mediators=list(option.mediator_ids), venue_id=option.venue_id,
                 starts_at=option.start.isoformat(), ends_at=option.end.isoformat(),
                 **_override(found.windows, override_reason))
    if not held:
        _confirmed(session, case, row, rules, now=now, actor=actor)
    return row


def _override(windows: Sequence[str], reason: str | None) -> dict[str, object]:
    """The audit's record of windows booked over, and the reason staff gave."""
    if not windows:
        return {}
    return {"outside_windows": list(windows), "override_reason": (reason or "").strip()}


def _confirmed(session: Session, case: Case, row: MediationSession, rules: Rules, *,
               now: datetime, actor: str) -> None:
    lifecycle.transition(session, case, CaseState.BOOKED, at=now, actor=actor)
    _notify(session, row, NoticeKind.BOOKING_CONFIRMATION, now=now)
    reminders.apply_plan(session, row, rules.offsets, now)


def confirm(session: Session, row: MediationSession, rules: Rules, *, now: datetime,
            actor: str) -> MediationSession:
    """Turn a hold into a booking: confirmations go out and reminders are planned."""
    if row.status == SessionStatus.CANCELLED.value and row.cancel_reason == "hold expired":
        raise HoldExpired(f"the hold on session {row.id} expired")
    if row.status != SessionStatus.HELD.value:
        raise DomainError(f"session {row.id} is {row.status}, not held")
    if row.hold_expires_at is not None and row.hold_expires_at <= now:
        raise HoldExpired(f"the hold on session {row.id} expired")
    row.status = SessionStatus.BOOKED.value
    row.hold_expires_at = None
    row.updated_at = now
    audit.record(session, at=now, actor=actor, action="session.confirmed", case_id=row.case_id,
                 subject_kind="session", subject_id=row.id)
    _confirmed(session, row.case, row, rules, now=now, actor=actor)
    return row


def expire_holds(session: Session, *, now: datetime) -> list[int]:
    """Holds past their expiry free their reservations (nobody was told of them)."""
    rows = session.scalars(select(MediationSession).where(
        MediationSession.status == SessionStatus.HELD.value,
        MediationSession.hold_expires_at <= now).order_by(MediationSession.id)).all()
    for row in rows:
        row.status = SessionStatus.CANCELLED.value
        row.cancel_reason = "hold expired"
        row.updated_at = now
        _release(session, row)
        audit.record(session, at=now, actor=audit.SYSTEM, action="session.hold_expired",
                     case_id=row.case_id, subject_kind="session", subject_id=row.id)
    return [r.id for r in rows]


@dataclass(frozen=True, slots=True)
class FirstAvailable:
    """The winning booking (None: every option failed) and why each earlier option failed."""

    session: MediationSession | None
    option: BookingOption | None
    failures: tuple[tuple[BookingOption, str], ...]


def book_first_available(factory: sessionmaker[Session], case_id: int,
                         options: Sequence[BookingOption], rules: Rules, *, now: datetime,
                         actor: str = "matcher", hold_for: timedelta | None = None
                         ) -> FirstAvailable:
    """Try ``options`` best first, each in a transaction of its own; the first to commit wins."""
    failures: list[tuple[BookingOption, str]] = []
    for option in options:
        try:
            with transaction(factory) as session:
                case = session.get(Case, case_id)
                if case is None:
                    raise NotFound("case", case_id)
                row = book(session, case, option, rules, now=now, actor=actor, hold_for=hold_for)
            return FirstAvailable(row, option, tuple(failures))
        except SlotTaken as exc:
            failures.append((option, str(exc)))
        except IntegrityError as exc:  # lost at commit rather than at flush
            if not is_slot_taken(exc):
                raise
            failures.append((option, "slot taken"))
        except NotSchedulable as exc:
            failures.append((option, str(exc)))
            break
        except NotBookable as exc:
            failures.append((option, str(exc)))
        log.info("case %s: option at %s not booked", case_id, option.start.isoformat())
    return FirstAvailable(None, None, tuple(failures))


# --- changes ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ChangeResult:
    session: MediationSession
    case_returned: bool


def _active_case(session: Session, row: MediationSession) -> Case:
    case = session.get(Case, row.case_id)
    assert case is not None
    session.flush()
    session.refresh(case, with_for_update=True)
    return case


def reschedule(session: Session, row: MediationSession, option: BookingOption, rules: Rules, *,
               now: datetime, actor: str, reason: str,
               override_reason: str | None = None) -> ChangeResult:
    """Move a booked session to ``option`` (sequence + 1, reservations replaced, reminders
    re-planned, reschedule notices with the new invite). A request past ``max_reschedules``
    cancels the session and returns the case instead. ``SlotTaken``/``NotBookable`` leave the
    session as it was. ``override_reason`` is as for :func:`book`."""
    if row.status != SessionStatus.BOOKED.value:
        raise DomainError(f"session {row.id} is {row.status}; only a booked session moves")
    case = _active_case(session, row)
    if case.reschedule_count + 1 > rules.policy.max_reschedules:
        cancel(session, row, rules, reason=f"reschedule limit reached: {reason}", now=now,
               actor=actor, return_case=True)
        return ChangeResult(row, True)
    found = problems(session, case, option, rules, now=now, moving=row)
    reasons = found.refusals(override_reason)
    if reasons:
        raise NotBookable(reasons)
    old_mediators = reminders.session_mediators(session, row)
    previous = row.starts_at
    with session.begin_nested():
        _release(session, row)
        session.flush()
        _take(session, row, option, rules.policy)
    row.mediator_id = option.mediator_ids[0]
    row.co_mediator_id = option.mediator_ids[1] if len(option.mediator_ids) > 1 else None
    row.venue_id, row.starts_at, row.ends_at = option.venue_id, option.start, option.end
    row.sequence += 1
    row.updated_at = now
    case.reschedule_count += 1
    session.flush()
    reminders.withdraw_plan(session, row, "rescheduled")
    dropped = [m for m in old_mediators if m.id not in option.mediator_ids]
    if dropped:  # they get the invite's CANCEL; the others get the moved invite
        _notify(session, row, NoticeKind.CANCELLATION, now=now, mediators=dropped,
                reason="mediator_changed")
    _notify(session, row, NoticeKind.RESCHEDULE, now=now, previous_starts_at=previous.isoformat())
    reminders.apply_plan(session, row, rules.offsets, now)
    audit.record(session, at=now, actor=actor, action="session.rescheduled", case_id=case.id,
                 subject_kind="session", subject_id=row.id, sequence=row.sequence,
                 starts_at=option.start.isoformat(), count=case.reschedule_count,
                 **_override(found.windows, override_reason))
    return ChangeResult(row, False)


def cancel(session: Session, row: MediationSession, rules: Rules, *, reason: str, now: datetime,
           actor: str, return_case: bool = False) -> ChangeResult:
    """Cancel a held or booked session: reservations freed, pending reminders withdrawn,
    cancellation notices (with the invite's CANCEL) to everyone told of it. The case goes back
    to scheduling, or to investigation when ``return_case``."""
    if row.status not in ACTIVE:
        raise DomainError(f"session {row.id} is {row.status}; it cannot be cancelled")
    case = _active_case(session, row)
    was_booked = row.status == SessionStatus.BOOKED.value
    row.status = SessionStatus.CANCELLED.value
    row.cancel_reason = reason
    row.sequence += 1
    row.updated_at = now
    _release(session, row)
    withdrawn = reminders.withdraw_plan(session, row, "session cancelled")
    if was_booked:
        _notify(session, row, NoticeKind.CANCELLATION, now=now, reason=reason)
        lifecycle.transition(session, case, CaseState.SCHEDULING, at=now, actor=actor,
                             reason="session cancelled")
    audit.record(session, at=now, actor=actor, action="session.cancelled", case_id=case.id,
                 subject_kind="session", subject_id=row.id, reminders_withdrawn=withdrawn,
                 was_booked=was_booked)
    if return_case:
        service.return_case(session, case, reason, now=now, actor=actor,
                            why=ReturnReason.RESCHEDULE_LIMIT)
    return ChangeResult(row, return_case)


def no_show(session: Session, row: MediationSession, rules: Rules, *, reason: str, now: datetime,
            actor: str, party_id: int | None = None) -> ChangeResult:
    """Record that a party (or the session as a whole) did not show up. Past ``max_no_shows``
    the case returns to investigation with outcome no-show; otherwise it goes back to
    scheduling and staff are told."""
    if row.status != SessionStatus.BOOKED.value:
        raise DomainError(f"session {row.id} is {row.status}, not booked")
    if row.starts_at > now:
        raise DomainError(f"session {row.id} has not started yet")
    case = _active_case(session, row)
    row.status = SessionStatus.NO_SHOW.value
    row.no_show_reason = reason
    row.updated_at = now
    case.no_show_count += 1
    reminders.withdraw_plan(session, row, "no-show")
    audit.record(session, at=now, actor=actor, action="session.no_show", case_id=case.id,
                 subject_kind="session", subject_id=row.id, party_id=party_id,
                 count=case.no_show_count)
    if case.no_show_count > rules.policy.max_no_shows:
        service.return_case(session, case, "no-show limit exceeded", now=now, actor=actor,
                            why=ReturnReason.NO_SHOW, outcome=Outcome.NO_SHOW)
        return ChangeResult(row, True)
    lifecycle.transition(session, case, CaseState.SCHEDULING, at=now, actor=actor,
                         reason="no-show")
    _staff_alert(session, case, "no_show", now=now, occurrence=f"noshow-s{row.id}",
                 session_id=row.id, party_id=party_id)
    return ChangeResult(row, False)


def withdraw(session: Session, case: Case, rules: Rules, *, reason: str, now: datetime,
             actor: str, party_id: int | None = None) -> None:
    """A party withdraws, up to the session's start: an active session is cancelled (everyone
    told), and the case returns to investigation with outcome withdrawn."""
    session.flush()
    session.refresh(case, with_for_update=True)
    if case.state in (CaseState.COMPLETED.value, CaseState.RETURNED.value,
                      CaseState.INELIGIBLE.value):
        raise DomainError(f"case {case.id} is {case.state}; nothing to withdraw from")
    for row in session.scalars(select(MediationSession).where(
            MediationSession.case_id == case.id, MediationSession.status.in_(ACTIVE))):
        if row.starts_at <= now:
            raise DomainError(f"session {row.id} has started; record an outcome instead")
        cancel(session, row, rules, reason="withdrawn", now=now, actor=actor)
    audit.record(session, at=now, actor=actor, action="case.withdrawn", case_id=case.id,
                 subject_kind="case", subject_id=case.id, party_id=party_id)
    service.return_case(session, case, f"withdrawn: {reason}", now=now, actor=actor,
                        why=ReturnReason.WITHDRAWN, outcome=Outcome.WITHDRAWN)
