"""The jobs that keep mediators' own calendars and our bookings in step."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from calendars.base import CalendarSource
from calendars.intervals import IntervalSet
from calendars.memory import MemoryCalendar
from cases import service
from cases.calendar_urls import NO_ALLOWED_HOSTS
from cases.clock import FixedClock
from cases.database import transaction
from cases.models import MediationSession, Mediator, MediatorCalendarSnapshot, Notification
from main import calendar_source_for
from scheduler import jobs
from scheduler.booking import BookingOption, book
from scheduler.jobs import JobDeps
from tests.support.booking import RULES, SLOT_START, WEEKDAYS, calendar_read
from tests.support.factories import TEST_SEALER, make_mediator_row, make_scheduling_case, make_venue_row
from web.api.views import mediator_out


def test_matching_reads_calendars_first_and_avoids_their_busy_time(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        case = make_scheduling_case(db, now)
        busy_one = make_mediator_row(db, now, calendar_kind="caldav")
        free_one = make_mediator_row(db, now)
        make_venue_row(db, now)
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
        mediator = make_mediator_row(db, now, calendar_kind="caldav",
                                 calendar_url="https://cal.example.org/dav/m/")
        calendar_read(db, mediator, now)  # read, and free: booked by staff only when known
        venue = make_venue_row(db, now, address="400 S State St")
        row = book(db, make_scheduling_case(db, now), BookingOption((mediator.id,), venue.id, SLOT_START,
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


class ExplodingCalendar:
    """A calendar whose reading fails in a way no one foresaw (not a CalendarSourceError)."""

    def busy(self, start: datetime, end: datetime) -> IntervalSet:
        raise RecursionError("maximum recursion depth exceeded while expanding")


def test_a_broken_calendar_stops_neither_the_other_pulls_nor_the_matching(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    """One mediator's feed URL lost its host (stored before URLs were checked), another's reading
    fails unexpectedly; the third mediator's calendar is still read and the case is booked with
    them, and staff see each failure on the mediator's calendar status."""
    now = clock.now()
    with transaction(session_factory) as db:
        case = make_scheduling_case(db, now)
        no_host = make_mediator_row(db, now, calendar_kind="ics",
                                calendar_url="https://calendar.example.org/feed.ics")
        no_host.calendar_url = "https:///private-feed-token.ics"  # from before URLs were checked
        exploding = make_mediator_row(db, now, calendar_kind="caldav")
        fine = make_mediator_row(db, now, calendar_kind="caldav")
        make_venue_row(db, now)
        for owner_kind, owner_id in [("mediator", no_host.id), ("mediator", exploding.id),
                                     ("mediator", fine.id),
                                     *[("party", p.id) for p in case.parties]]:
            service.set_weekly_availability(db, owner_kind=owner_kind, owner_id=owner_id,
                                            windows=WEEKDAYS, time_zone="America/Chicago",
                                            now=now, actor="staff")
        ids = no_host.id, exploding.id, fine.id
    production = calendar_source_for(clock, TEST_SEALER, NO_ALLOWED_HOSTS)

    def sources(m: Mediator) -> CalendarSource | None:
        if m.id == ids[1]:
            return ExplodingCalendar()
        if m.id == ids[2]:
            return MemoryCalendar()
        source: CalendarSource | None = production(m)
        return source

    run = jobs.match_new_cases(session_factory, clock, JobDeps(RULES, calendar_source=sources))
    with session_factory() as db:
        assert db.get_one(MediationSession, run.booked[case.id]).mediator_id == ids[2]
        snaps = {i: db.get_one(MediatorCalendarSnapshot, i) for i in ids}
        assert snaps[ids[2]].last_error is None and not snaps[ids[2]].stale
        assert snaps[ids[0]].last_error == "ICS feed URL has no host name " \
                                           "(like https://calendar.example.org/...)"
        assert snaps[ids[1]].last_error == "the calendar could not be read " \
                                           "(unexpected RecursionError)"
        assert all(snaps[i].stale and snaps[i].last_ok_at is None for i in ids[:2])
        alerts = [n.context for n in db.scalars(select(Notification).where(
            Notification.kind == "staff_alert"))]
        assert sorted((a["mediator_id"], a["reason"]) for a in alerts) == [
            (ids[0], snaps[ids[0]].last_error), (ids[1], snaps[ids[1]].last_error)]
        assert all("private-feed-token" not in str(a) for a in alerts)
        shown = db.get_one(Mediator, ids[0])
        status = mediator_out(shown).calendar_status
        assert status is not None and status.error == snaps[ids[0]].last_error
        assert status.read_at is None and status.stale
    # Without the one readable calendar, the case waits, and the reason says why.
    with transaction(session_factory) as db:
        db.get_one(Mediator, ids[2]).active = False
        second = make_scheduling_case(db, now)
        for p in second.parties:
            service.set_weekly_availability(db, owner_kind="party", owner_id=p.id,
                                            windows=WEEKDAYS, time_zone="America/Chicago",
                                            now=now, actor="staff")
        second_id = second.id
    waiting = jobs.match_new_cases(session_factory, clock, JobDeps(RULES, calendar_source=sources))
    assert waiting.unbooked[second_id].endswith(
        "(2 mediator(s) not offered: their own calendar could not be read yet, see their "
        "calendar status)")
