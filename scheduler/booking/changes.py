"""Changes to a booked session: :func:`reschedule`, :func:`cancel`, :func:`no_show`,
:func:`withdraw`.

Each keeps the reservations, reminders, notices, the case's state and the policy's limits in step,
so no caller has to remember one of them. A limit is *exceeded* when the count goes above
``max_reschedules`` / ``max_no_shows``; the case then returns to investigation. Every function
takes the caller's session and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit, lifecycle, service
from cases.errors import DomainError
from cases.models import Case, CaseState, MediationSession, Outcome, SessionStatus
from cases.outbox import NoticeKind
from cases.service import ReturnReason
from scheduler import reminders
from scheduler.booking.constraints import BookingOption, NotBookable, Rules, problems
from scheduler.booking.notices import notify, staff_alert
from scheduler.booking.reservations import release, reserve
from scheduler.profiles import ACTIVE


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
    session as it was. ``override_reason`` is as for
    :func:`scheduler.booking.new.book`."""
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
        release(session, row)
        session.flush()
        reserve(session, row, option, rules.policy)
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
        notify(session, row, NoticeKind.CANCELLATION, now=now, mediators=dropped,
                reason="mediator_changed")
    notify(session, row, NoticeKind.RESCHEDULE, now=now, previous_starts_at=previous.isoformat())
    reminders.apply_plan(session, row, rules.offsets, now)
    audit.record(session, at=now, actor=actor, action="session.rescheduled", case_id=case.id,
                 subject_kind="session", subject_id=row.id, sequence=row.sequence,
                 starts_at=option.start.isoformat(), count=case.reschedule_count,
                 **found.overridden(override_reason))
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
    release(session, row)
    withdrawn = reminders.withdraw_plan(session, row, "session cancelled")
    if was_booked:
        notify(session, row, NoticeKind.CANCELLATION, now=now, reason=reason)
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
    staff_alert(session, case, "no_show", now=now, occurrence=f"noshow-s{row.id}",
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
