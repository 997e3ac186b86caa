"""The timed jobs, called directly with a fixed clock: rows decide what is due."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from calendars.intervals import IntervalSet
from calendars.memory import MemoryCalendar
from cases import referrals, service
from cases.clock import FixedClock
from cases.database import transaction
from cases.models import Case, MediationSession, MediatorCalendarSnapshot
from scheduler import jobs
from scheduler.booking import book
from scheduler.jobs import JobDeps
from tests.support.booking import POLICY, RULES, SLOT_START, WEEKDAYS, add_conflict, notices, option
from tests.support.factories import make_mediator_row, make_scheduling_case, make_venue_row

DEPS = JobDeps(RULES)


def test_expire_consents_returns_the_case_and_tells_staff(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        case = make_scheduling_case(db, now)  # consented: not touched
        waiting = service.add_case(db, service.NewCase(
            log_number="LOG-WAIT", incident_date=now.date() - timedelta(days=30),
            allegation_categories=["perceived_bias"],
            parties=[service.NewParty(role="complainant", full_name="A", email="a@example.org"),
                     service.NewParty(role="officer", full_name="B", email="b@example.org",
                                      officer_star="555")]), POLICY, now=now, actor="staff")
        referrals.decide(db, waiting, eligible=True, reason=None, policy=POLICY, now=now,
                         actor="staff")
        ids = case.id, waiting.id
    assert jobs.expire_consents(session_factory, clock, DEPS) == []
    clock.advance(POLICY.consent_deadline + timedelta(days=1))  # past the deadline day's end
    assert jobs.expire_consents(session_factory, clock, DEPS) == [ids[1]]
    assert jobs.expire_consents(session_factory, clock, DEPS) == []  # once
    with session_factory() as db:
        assert [db.get(Case, i).state for i in ids] == ["scheduling", "returned"]  # type: ignore[union-attr]
        assert [n.context["alert"] for n in notices(db, kind="staff_alert")] == ["case_returned"]


def test_matcher_books_new_cases_and_never_a_conflicted_mediator(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        fine, conflicted = make_scheduling_case(db, now), make_scheduling_case(db, now, officer_star="9999")
        mediator = make_mediator_row(db, now)
        add_conflict(db, mediator, "officer", "9999")
        make_venue_row(db, now)
        make_venue_row(db, now, neutral=False, name="Police district station")
        for owner_kind, owner_id in [("mediator", mediator.id),
                                     *[("party", p.id) for c in (fine, conflicted)
                                       for p in c.parties]]:
            service.set_weekly_availability(db, owner_kind=owner_kind, owner_id=owner_id,
                                            windows=WEEKDAYS, time_zone="America/Chicago",
                                            now=now, actor="staff")
        ids = fine.id, conflicted.id
    run = jobs.match_new_cases(session_factory, clock, DEPS)
    assert set(run.booked) == {ids[0]} and set(run.unbooked) == {ids[1]}
    with session_factory() as db:
        row = db.get(MediationSession, run.booked[ids[0]])
        assert row is not None and row.status == "booked" and row.mediator_id == mediator.id
        assert row.starts_at >= now + POLICY.min_notice
        assert db.get(Case, ids[0]).state == "booked"  # type: ignore[union-attr]
        assert db.scalars(select(MediationSession).where(MediationSession.case_id == ids[1])) \
            .all() == []
    again = jobs.match_new_cases(session_factory, clock, DEPS)
    assert again.booked == {}


def test_pull_calendars_keeps_a_stale_copy_and_alerts_once(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        mediator_id = make_mediator_row(db, now, calendar_kind="caldav").id
    calendar = MemoryCalendar(external=IntervalSet.of(
        (SLOT_START, SLOT_START + timedelta(hours=2))))
    deps = JobDeps(RULES, calendar_source=lambda m: calendar)
    assert jobs.pull_calendars(session_factory, clock, deps) == {mediator_id: None}
    calendar.fail_with = "server said 503"
    for _ in range(2):
        clock.advance(timedelta(minutes=30))
        assert jobs.pull_calendars(session_factory, clock, deps) == {mediator_id: "server said 503"}
    with session_factory() as db:
        snap = db.get(MediatorCalendarSnapshot, mediator_id)
        assert snap is not None and snap.stale and snap.last_ok_at == now
        assert snap.busy == [[SLOT_START.isoformat(), (SLOT_START + timedelta(hours=2)).isoformat()]]
        assert [n.context["alert"] for n in notices(db, kind="staff_alert")] == \
            ["calendar_unreachable"]


def test_daily_digest_counts_once_a_day(session_factory: sessionmaker[Session],
                                        clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        book(db, make_scheduling_case(db, now), option(make_mediator_row(db, now), make_venue_row(db, now),
                                            start=SLOT_START - timedelta(days=1)),
             RULES, now=now, actor="staff")
        make_scheduling_case(db, now)
    counts = jobs.daily_digest(session_factory, clock, DEPS)
    clock.advance(timedelta(hours=1))
    jobs.daily_digest(session_factory, clock, DEPS)
    assert counts["cases_by_state"] == {"booked": 1, "scheduling": 1}
    assert counts["sessions_next_7_days"] == 1
    with session_factory() as db:
        assert len(notices(db, kind="staff_alert")) == 1
