"""The jobs that keep mediators' own calendars and our bookings in step."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker
from test_booking_seed import (
    RULES,
    SLOT_START,
    calendar_read,
    make_case,
    make_mediator,
    make_venue,
)
from test_jobs import WEEKDAYS

from calendars.intervals import IntervalSet
from calendars.memory import MemoryCalendar
from cases import service
from cases.clock import FixedClock
from cases.database import transaction
from cases.models import MediationSession, MediatorCalendarSnapshot
from scheduler import jobs
from scheduler.booking import BookingOption, book
from scheduler.jobs import JobDeps


def test_matching_reads_calendars_first_and_avoids_their_busy_time(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        case = make_case(db, now)
        busy_one = make_mediator(db, now, calendar_kind="caldav")
        free_one = make_mediator(db, now)
        make_venue(db, now)
        for owner_kind, owner_id in [("mediator", busy_one.id), ("mediator", free_one.id),
                                     *[("party", p.id) for p in case.parties]]:
            service.set_weekly_availability(db, owner_kind=owner_kind, owner_id=owner_id,
                                            windows=WEEKDAYS, time_zone="America/Chicago",
                                            now=now, actor="staff")
        busy_id, free_id = busy_one.id, free_one.id
    # The busy mediator's own calendar is full for the next two months; nothing was pulled yet.
    calendar = MemoryCalendar(external=IntervalSet.of((now, now + timedelta(days=60))))
    deps = JobDeps(RULES, calendar_source=lambda m: calendar if m.id == busy_id else None)
    run = jobs.match_new_cases(session_factory, clock, deps)
    with session_factory() as db:
        snapshot = db.get(MediatorCalendarSnapshot, busy_id)
        assert snapshot is not None and snapshot.fetched_at == now and not snapshot.stale
        row = db.get_one(MediationSession, run.booked[case.id])
        assert row.mediator_id == free_id


def test_push_job_writes_each_booking_once_and_removes_cancelled_ones(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    from scheduler.booking import cancel

    now = clock.now()
    with transaction(session_factory) as db:
        mediator = make_mediator(db, now, calendar_kind="caldav",
                                 calendar_url="https://cal.example.org/dav/m/")
        calendar_read(db, mediator, now)  # read, and free: booked by staff only when known
        venue = make_venue(db, now, address="400 S State St")
        row = book(db, make_case(db, now), BookingOption((mediator.id,), venue.id, SLOT_START,
                                                         SLOT_START + timedelta(minutes=90)),
                   RULES, now=now, actor="staff")
        session_id, uid = row.id, row.uid
    calendar = MemoryCalendar()
    deps = JobDeps(RULES, calendar_writer=lambda m: calendar)
    first = jobs.push_calendars(session_factory, clock, deps)
    assert first is not None and first.put == 1
    assert [e.start for e in calendar.events.values()] == [SLOT_START]
    second = jobs.push_calendars(session_factory, clock, deps)
    assert second is not None and second.writes == 0
    with transaction(session_factory) as db:
        cancel(db, db.get_one(MediationSession, session_id), RULES, reason="withdrawn",
               now=now, actor="staff")
    third = jobs.push_calendars(session_factory, clock, deps)
    assert third is not None and third.deleted == 1
    assert uid not in calendar.events and calendar.events == {}
    assert jobs.push_calendars(session_factory, clock, JobDeps(RULES)) is None
