"""What program staff do in the simulation, through the same domain services their pages call,
and the plan each new booking gets (what its people will do). Staff work Monday to Friday,
09:00-17:00 in Chicago; the daily sweep is their morning look at the work queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import referrals, service
from cases.errors import DomainError
from cases.models import (
    Case,
    CaseState,
    MediationSession,
    Mediator,
    Outcome,
    Party,
    PartyRole,
    SessionConfirmation,
    SessionStatus,
)
from scheduler import booking, declines, reminders
from scheduler.booking.constraints import BookingOption
from sim.population import new_case, new_complainant, officer, plan_consent
from sim.state import Sim

STAFF = "staff:sim"


def referral(sim: Sim) -> None:
    """Intake records a screened complaint; staff decide it on their next working hour."""
    complainant, cop = new_complainant(sim), officer(sim)
    with sim.transaction() as session:
        case = service.add_case(session, new_case(sim, complainant, cop), sim.world.policy,
                                now=sim.now(), actor=STAFF)
        people = {p.id: (complainant if p.role == "complainant" else cop).key for p in case.parties}
        sim.case_people[case.id] = people
        case_id = case.id
    sim.schedule(sim.business_time(sim.now()), "staff_decide", case_id=case_id)


def staff_decide(sim: Sim, *, case_id: int) -> None:
    """As recommended, or — for some cases the policy finds ineligible — an override, with its
    reason kept."""
    with sim.transaction() as session:
        case = service.get_case(session, case_id)
        eligible = case.recommendation == "eligible"
        reason = None
        if not eligible and sim.rng.random() < sim.rates.staff_override and not case.injury:
            eligible, reason = True, "reviewed with the investigator: suitable for mediation"
        decide = sim.override("decide", referrals.decide)
        decide(session, case, eligible=eligible, reason=reason, policy=sim.world.policy,
               now=sim.now(), actor=STAFF)
        parties = [(p.id, sim.case_people[case_id][p.id]) for p in case.parties]
        deadline = case.consent_deadline
    if eligible and deadline is not None:
        plan_consent(sim, case_id, parties, deadline)


def staff_takes_consent(sim: Sim, *, case_id: int, party_id: int, granted: bool) -> None:
    with sim.transaction() as session:
        case = service.get_case(session, case_id)
        party = session.get(Party, party_id)
        if case.state != CaseState.AWAITING_CONSENT.value or party is None:
            return
        try:
            referrals.record_consent(session, case, party, granted=granted, channel="staff",
                                     policy=sim.world.policy, now=sim.now(), actor=STAFF)
        except DomainError:  # answered meanwhile, or too late: the case is going back
            return


def staff_outcome(sim: Sim, *, session_id: int, outcome: str) -> None:
    record = sim.override("record_outcome", booking.record_outcome)
    with sim.transaction() as session:
        row = session.get(MediationSession, session_id)
        if row is None or row.status != SessionStatus.BOOKED.value:
            return
        case = service.get_case(session, row.case_id)
        record(session, case, Outcome(outcome), now=sim.now(), actor=STAFF)
    sim.ledger.session_closed.setdefault(session_id, sim.now())


def staff_no_show(sim: Sim, *, session_id: int) -> None:
    with sim.transaction() as session:
        row = session.get(MediationSession, session_id)
        if row is None or row.status != SessionStatus.BOOKED.value:
            return
        booking.no_show(session, row, sim.world.rules, reason="complainant did not come",
                        now=sim.now(), actor=STAFF)
    sim.ledger.session_closed.setdefault(session_id, sim.now())


def session_due(sim: Sim, *, session_id: int, starts_at: str) -> None:
    """The session's time has come: who shows up depends on the reminders they got."""
    with sim.transaction() as session:
        row = session.get(MediationSession, session_id)
        if (row is None or row.status != SessionStatus.BOOKED.value
                or row.starts_at.isoformat() != starts_at):
            return
        got = sim.reminders_received(session, row)
        confirmed = complainant_confirmed(session, row)
    sim.reminder_counts[session_id] = got
    sim.confirmed[session_id] = confirmed
    chance = sim.rates.no_show * sim.rates.reminder_effect ** got
    if confirmed:  # said they would come; most do
        chance *= sim.rates.confirmed_effect
    at = sim.business_time(sim.now() + timedelta(hours=2))
    if sim.rng.random() < chance:
        sim.no_shows[session_id] = True
        sim.schedule(at, "staff_no_show", session_id=session_id)
    else:
        sim.no_shows[session_id] = False
        outcome = Outcome.IMPASSE if sim.rng.random() < sim.rates.impasse else Outcome.SUCCESSFUL
        sim.schedule(at, "staff_outcome", session_id=session_id, outcome=outcome.value)


def complainant_confirmed(session: Session, row: MediationSession) -> bool:
    """Whether the service holds the complainant's confirmation of the session's current time."""
    return session.scalar(select(SessionConfirmation.id).join(
        Party, Party.id == SessionConfirmation.party_id).where(
        SessionConfirmation.session_id == row.id, SessionConfirmation.sequence == row.sequence,
        Party.role == PartyRole.COMPLAINANT.value).limit(1)) is not None


def staff_reschedule(sim: Sim, *, session_id: int, starts_at: str) -> None:
    """A party asks staff to move the session a week on; if that slot does not work, staff
    cancel it and the matcher finds another."""
    with sim.transaction() as session:
        row = session.get(MediationSession, session_id)
        if (row is None or row.status != SessionStatus.BOOKED.value
                or row.starts_at.isoformat() != starts_at or row.starts_at <= sim.now()):
            return
        option = BookingOption(start=row.starts_at + timedelta(days=7),
                               end=row.ends_at + timedelta(days=7),
                               mediator_ids=tuple(m for m in (row.mediator_id, row.co_mediator_id)
                                                  if m), venue_id=row.venue_id)
        try:
            with session.begin_nested():
                booking.reschedule(session, row, option, sim.world.rules, now=sim.now(),
                                   actor=STAFF, reason="the party asked to move it")
            return
        except (booking.NotBookable, booking.SlotTaken):
            pass
    staff_cancel(sim, session_id=session_id, starts_at=starts_at, reason="the party cannot come")


def staff_cancel(sim: Sim, *, session_id: int, starts_at: str,
                 reason: str = "the venue is closed that day") -> None:
    cancel = sim.override("cancel", booking.cancel)
    with sim.transaction() as session:
        row = session.get(MediationSession, session_id)
        if (row is None or row.status != SessionStatus.BOOKED.value
                or row.starts_at.isoformat() != starts_at or row.starts_at <= sim.now()):
            return
        cancel(session, row, sim.world.rules, reason=reason, now=sim.now(), actor=STAFF)
    sim.ledger.session_closed[session_id] = sim.now()


def party_withdraws(sim: Sim, *, case_id: int, session_id: int) -> None:
    with sim.transaction() as session:
        case = service.get_case(session, case_id)
        row = session.get(MediationSession, session_id)
        if (case.state != CaseState.BOOKED.value or row is None
                or row.status != SessionStatus.BOOKED.value or row.starts_at <= sim.now()):
            return
        booking.withdraw(session, case, sim.world.rules, reason="the complainant withdrew",
                         now=sim.now(), actor=STAFF)
    sim.ledger.session_closed[session_id] = sim.now()


def mediator_declines(sim: Sim, *, session_id: int, mediator_id: int) -> None:
    with sim.transaction() as session:
        row = session.get(MediationSession, session_id)
        mediator = session.get(Mediator, mediator_id)
        if (row is None or mediator is None or row.status != SessionStatus.BOOKED.value
                or mediator_id not in (row.mediator_id, row.co_mediator_id)
                or row.starts_at <= sim.now()):
            return
        result = declines.decline(session, row, mediator, sim.world.rules, now=sim.now(),
                                  actor=f"mediator:{mediator_id}")
        if row.status != SessionStatus.BOOKED.value:
            sim.ledger.session_closed[session_id] = sim.now()
        del result


def staff_reminder(sim: Sim, *, session_id: int) -> None:
    with sim.transaction() as session:
        row = session.get(MediationSession, session_id)
        if row is None or row.status != SessionStatus.BOOKED.value or row.starts_at <= sim.now():
            return
        reminders.trigger_reminder(session, session_id=session_id, now=sim.now(), actor=STAFF)


def staff_sweep(sim: Sim) -> None:
    """The morning look at the queue: cases past their booking deadline go back (staff are
    told of them in the digest); cases the matcher has not placed for two weeks are booked by
    hand on the video room, outside the people's windows with the reason kept."""
    now = sim.now()
    with sim.transaction() as session:
        overdue = session.scalars(select(Case).where(
            Case.state.in_([CaseState.SCHEDULING.value, CaseState.CONSENTED.value]),
            Case.booking_deadline <= now).order_by(Case.id)).all()
        for case in overdue:
            service.return_case(session, case, "booking deadline passed", now=now, actor=STAFF)
        waiting = session.scalars(select(Case.id).where(
            Case.state == CaseState.SCHEDULING.value,
            Case.updated_at <= now - timedelta(days=sim.rates.manual_booking_after_days))
            .order_by(Case.id)).all()
    for case_id in waiting:
        manual_booking(sim, case_id)


def manual_booking(sim: Sim, case_id: int) -> None:
    from cases.models import Venue

    book = sim.override("manual_book", None)
    with sim.transaction() as session:
        video = session.scalar(select(Venue.id).where(Venue.kind == "video"))
        mediators = session.scalars(select(Mediator.id).order_by(Mediator.id)).all()
    assert video is not None
    day = sim.local(sim.now()).date()
    options = []
    for offset in range(4, 20):
        start = sim.at_local(day + timedelta(days=offset), 17)
        for mediator_id in sim.rng.sample(list(mediators), 3):
            options.append(BookingOption(start=start, end=start + timedelta(minutes=90),
                                         mediator_ids=(mediator_id,), venue_id=video))
    if book is not None:
        book(sim, case_id, options)
        return
    for option in options:
        try:
            with sim.transaction() as session:
                case = service.get_case(session, case_id)
                if case.state != CaseState.SCHEDULING.value:
                    return
                booking.book(session, case, option, sim.world.rules, now=sim.now(), actor=STAFF,
                             override_reason="agreed by phone with both parties")
            sim.result.actions["staff booked by hand"] += 1
            return
        except (booking.NotBookable, booking.SlotTaken, booking.NotSchedulable):
            continue


def plan_session(sim: Sim, row: MediationSession) -> None:
    """A session just booked (or moved): what its people will do about it."""
    rng, rates, now = sim.rng, sim.rates, sim.now()
    starts = row.starts_at.isoformat()
    lead = (row.starts_at - now).total_seconds() / 3600
    sim.schedule(row.ends_at, "session_due", session_id=row.id, starts_at=starts)

    def before(hours_min: float) -> datetime:
        return now + timedelta(hours=rng.uniform(1, max(1.5, lead - hours_min)))

    r = rng.random()
    if r < rates.reschedule:
        sim.schedule(sim.business_time(before(30)), "staff_reschedule", session_id=row.id,
                     starts_at=starts)
    elif r < rates.reschedule + rates.withdraw:
        sim.schedule(before(2), "party_withdraws", case_id=row.case_id, session_id=row.id)
    elif r < rates.reschedule + rates.withdraw + rates.staff_cancel:
        sim.schedule(sim.business_time(before(30)), "staff_cancel", session_id=row.id,
                     starts_at=starts)
    if rng.random() < rates.mediator_decline:
        sim.schedule(before(24), "mediator_declines", session_id=row.id,
                     mediator_id=row.mediator_id)
    if rng.random() < rates.calendar_change:
        sim.schedule(before(12), "calendar_change", session_id=row.id,
                     mediator_id=row.mediator_id, start=row.starts_at, end=row.ends_at)
    if rng.random() < rates.staff_reminder:
        sim.schedule(sim.business_time(before(26)), "staff_reminder", session_id=row.id)


STAFF_ACTIONS: dict[str, Callable[..., Any]] = {
    "staff_decide": staff_decide,
    "staff_takes_consent": staff_takes_consent,
    "staff_outcome": staff_outcome,
    "staff_no_show": staff_no_show,
    "session_due": session_due,
    "staff_reschedule": staff_reschedule,
    "staff_cancel": staff_cancel,
    "party_withdraws": party_withdraws,
    "mediator_declines": mediator_declines,
    "staff_reminder": staff_reminder,
}
