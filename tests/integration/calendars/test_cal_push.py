"""Pushing sessions into mediators' own calendars: every test on SQLite and PostgreSQL, against
the in-memory calendar and a real Radicale, with every write counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from caldav.davclient import DAVClient
from icalendar import Calendar
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from calendars.base import CalendarEvent, CalendarSourceError, CalendarWriter
from calendars.caldav_store import CalDavCalendar
from calendars.memory import MemoryCalendar
from calendars.push import (
    PushReport,
    mediator_feed,
    sync_mediator_calendars,
    writer_for,
)
from cases.clock import FixedClock
from cases.directory import CalendarSettings, set_mediator_calendar
from cases.models import (
    AuditEvent,
    CalendarPush,
    Case,
    MediationSession,
    Mediator,
    SessionStatus,
    Venue,
)
from cases.sealing import Sealer
from tests.support.calendars import LOOPBACK, RadicaleServer
from tests.support.factories import TEST_SEALER, make_case, make_mediator, make_venue
from tests.support.push import cancel, make_session, reschedule

PROGRAM = "Community Mediation Program"
SEALER = TEST_SEALER  # what the factories seal mediators' calendar secrets with


def u(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type, misc]


TUESDAY_5PM = u(2026, 12, 1, 23)  # 17:00 CST
THURSDAY_6PM = u(2026, 12, 4, 0)  # 18:00 CST


@pytest.fixture
def clock() -> FixedClock:
    """Wednesday 2026-11-25 09:00 in Chicago (the factories' incidents are in October)."""
    return FixedClock(u(2026, 11, 25, 15))


class CountingWriter:
    """A ``CalendarWriter`` that passes every call on and counts it."""

    def __init__(self, inner: CalendarWriter) -> None:
        self.inner = inner
        self.puts: list[CalendarEvent] = []
        self.deletes: list[str] = []

    def put(self, event: CalendarEvent) -> None:
        self.puts.append(event)
        self.inner.put(event)

    def delete(self, uid: str) -> None:
        self.deletes.append(uid)
        self.inner.delete(uid)

    @property
    def writes(self) -> int:
        return len(self.puts) + len(self.deletes)


@dataclass(frozen=True)
class Seen:
    """An event as stored by the calendar."""

    start: datetime
    end: datetime
    sequence: int
    summary: str
    location: str
    description: str


class Calendars:
    """One calendar per mediator on one backend; ``writers`` is what the job is given."""

    def __init__(self, kind: str, clock: FixedClock, radicale: RadicaleServer | None) -> None:
        self.kind = kind
        self.clock = clock
        self.radicale = radicale
        self.counting: dict[int, CountingWriter] = {}
        self.memory: dict[int, MemoryCalendar] = {}
        self._n = 0

    def settings(self) -> dict[str, str]:
        """The calendar columns of a new mediator with a writable calendar of their own."""
        if self.radicale is None:
            self._n += 1
            return {"calendar_kind": "caldav",
                    "calendar_url": f"https://calendar.example.org/m{self._n}/",
                    "calendar_username": "m", "calendar_secret": "unused"}
        return {"calendar_kind": "caldav", "calendar_url": self.radicale.new_calendar_url(),
                "calendar_username": self.radicale.username,
                "calendar_secret": self.radicale.password}

    def writers(self, mediator: Mediator) -> CalendarWriter | None:
        if mediator.id not in self.counting:
            inner: CalendarWriter | None
            if self.radicale is None:
                inner = self.memory.setdefault(mediator.id, MemoryCalendar())
            else:
                inner = writer_for(mediator, self.clock, sealer=SEALER, allowed=LOOPBACK)
            assert inner is not None
            self.counting[mediator.id] = CountingWriter(inner)
        return self.counting[mediator.id]

    @property
    def writes(self) -> int:
        return sum(w.writes for w in self.counting.values())

    def break_(self, mediator: Mediator) -> None:
        self.writers(mediator)
        if self.radicale is None:
            self.memory[mediator.id].fail_with = "calendar unavailable"
        else:
            assert mediator.calendar_url is not None
            self.counting[mediator.id].inner = CalDavCalendar(
                mediator.calendar_url, clock=self.clock, allowed=LOOPBACK, username=self.radicale.username,
                password="wrong-password")

    def repair(self, mediator: Mediator) -> None:
        if self.radicale is None:
            self.memory[mediator.id].fail_with = None
        else:
            inner = writer_for(mediator, self.clock, sealer=SEALER, allowed=LOOPBACK)
            assert inner is not None
            self.counting[mediator.id].inner = inner

    def events(self, mediator: Mediator) -> dict[str, Seen]:
        if self.radicale is None:
            stored = self.memory.get(mediator.id, MemoryCalendar()).events
            return {uid: Seen(e.start, e.end, e.sequence, e.summary, e.location, e.description)
                    for uid, e in stored.items()}
        client = DAVClient(url=self.radicale.url, username=self.radicale.username,
                           password=self.radicale.password, enable_rfc6764=False)
        seen: dict[str, Seen] = {}
        for obj in client.calendar(url=mediator.calendar_url).events():
            vevent: Any
            for vevent in Calendar.from_ical(obj.data).walk("VEVENT"):
                seen[str(vevent["UID"])] = Seen(
                    vevent["DTSTART"].dt.astimezone(UTC), vevent["DTEND"].dt.astimezone(UTC),
                    int(vevent.get("SEQUENCE", 0)), str(vevent["SUMMARY"]),
                    str(vevent.get("LOCATION", "")), str(vevent.get("DESCRIPTION", "")))
        return seen


@pytest.fixture(params=["memory", "radicale"])
def calendars(request: pytest.FixtureRequest, clock: FixedClock) -> Calendars:
    radicale = request.getfixturevalue("radicale") if request.param == "radicale" else None
    return Calendars(request.param, clock, radicale)


@dataclass
class World:
    db: Session
    clock: FixedClock
    calendars: Calendars
    case: Case
    venue: Venue
    mediator: Mediator

    def sync(self) -> PushReport:
        report = sync_mediator_calendars(self.db, writers=self.calendars.writers,
                                         now=self.clock.now(), program_name=PROGRAM)
        self.db.commit()
        return report

    def mediator_with_calendar(self) -> Mediator:
        return make_mediator(self.db, self.clock.now(), **self.calendars.settings())

    def book(self, start: datetime = TUESDAY_5PM, **changes: object) -> MediationSession:
        values: dict[str, object] = {"case": self.case, "mediator": self.mediator,
                                     "venue": self.venue, "start": start}
        values.update(changes)
        row = make_session(self.db, self.clock.now(), **values)  # type: ignore[arg-type]
        self.db.commit()
        return row

    def push_row(self, row: MediationSession, mediator: Mediator | None = None) -> CalendarPush:
        m = mediator or self.mediator
        return self.db.scalars(select(CalendarPush).where(
            CalendarPush.session_id == row.id, CalendarPush.mediator_id == m.id)).one()


@pytest.fixture
def world(db: Session, clock: FixedClock, calendars: Calendars) -> World:
    now = clock.now()
    case = make_case(db, now)
    venue = make_venue(db, now, name="Galewood-Mont Clare Branch",
                       address="3104 N Narragansett Ave, Chicago, IL")
    mediator = make_mediator(db, now, **calendars.settings())
    db.commit()
    return World(db, clock, calendars, case, venue, mediator)


# --- the life of one booking ---------------------------------------------------------------


def test_a_booking_appears_in_the_mediators_calendar_with_sequence_0(world: World) -> None:
    row = world.book()
    report = world.sync()
    assert (report.put, report.deleted, report.failures) == (1, 0, ())
    events = world.calendars.events(world.mediator)
    assert list(events) == [row.uid]
    seen = events[row.uid]
    assert (seen.start, seen.end, seen.sequence) == (TUESDAY_5PM, TUESDAY_5PM + timedelta(
        minutes=90), 0)
    assert seen.summary == f"Mediation session (CMP-{world.case.id})"
    assert seen.location == "Galewood-Mont Clare Branch, 3104 N Narragansett Ave, Chicago, IL"
    push = world.push_row(row)
    assert (push.pushed_sequence, push.pushed_status, push.pushed_at, push.attempts,
            push.last_error) == (0, "booked", world.clock.now(), 0, None)


def test_a_reschedule_moves_the_one_event_in_place(world: World) -> None:
    row = world.book()
    world.sync()
    world.clock.advance(timedelta(days=1))
    reschedule(row, THURSDAY_6PM, world.clock.now())
    world.db.commit()
    report = world.sync()
    assert (report.put, report.deleted) == (1, 0)
    events = world.calendars.events(world.mediator)
    assert list(events) == [row.uid]
    assert (events[row.uid].start, events[row.uid].sequence) == (THURSDAY_6PM, 1)
    assert world.push_row(row).pushed_sequence == 1


def test_a_cancellation_deletes_the_event(world: World) -> None:
    row = world.book()
    kept = world.book(THURSDAY_6PM, case=make_case(world.db, world.clock.now()))
    world.sync()
    cancel(row, world.clock.now())
    world.db.commit()
    report = world.sync()
    assert (report.put, report.deleted, report.up_to_date) == (0, 1, 1)
    assert list(world.calendars.events(world.mediator)) == [kept.uid]
    push = world.push_row(row)
    assert (push.pushed_status, push.pushed_sequence) == ("cancelled", 1)


def test_running_twice_writes_nothing_the_second_time(world: World) -> None:
    world.book()
    world.book(THURSDAY_6PM, case=make_case(world.db, world.clock.now()))
    first = world.sync()
    assert first.put == 2
    writes = world.calendars.writes
    second = world.sync()
    assert (second.writes, second.up_to_date) == (0, 2)
    assert world.calendars.writes == writes


def test_held_then_confirmed_is_written_once(world: World) -> None:
    row = world.book(status=SessionStatus.HELD)
    assert world.sync().put == 1
    row.status = SessionStatus.BOOKED.value  # confirming a hold keeps the SEQUENCE
    world.db.commit()
    assert world.sync().writes == 0


def test_a_completed_session_stays_in_the_calendar(world: World) -> None:
    row = world.book()
    world.sync()
    world.clock.set(TUESDAY_5PM + timedelta(hours=3))
    row.status = SessionStatus.COMPLETED.value
    world.db.commit()
    assert world.sync().writes == 0
    assert list(world.calendars.events(world.mediator)) == [row.uid]


# --- failures and retries --------------------------------------------------------------------


def test_a_failed_write_is_recorded_and_retried_and_others_go_on(world: World) -> None:
    other = world.mediator_with_calendar()
    row = world.book()
    theirs = world.book(THURSDAY_6PM, case=make_case(world.db, world.clock.now()),
                        mediator=other)
    world.calendars.break_(world.mediator)

    report = world.sync()
    assert report.put == 1  # the other mediator's booking is not held up
    assert [(f.session_id, f.mediator_id, f.action) for f in report.failures] == [
        (row.id, world.mediator.id, "put")]
    push = world.push_row(row)
    assert (push.pushed_status, push.attempts) == (None, 1)
    assert push.last_error
    assert "wrong-password" not in push.last_error
    assert list(world.calendars.events(other)) == [theirs.uid]
    assert world.calendars.events(world.mediator) == {}

    assert world.sync().failures != ()
    assert world.push_row(row).attempts == 2

    world.calendars.repair(world.mediator)
    report = world.sync()
    assert (report.put, report.failures) == (1, ())
    push = world.push_row(row)
    assert (push.pushed_status, push.pushed_sequence, push.attempts, push.last_error) == (
        "booked", 0, 0, None)
    assert list(world.calendars.events(world.mediator)) == [row.uid]


def test_a_write_lost_with_its_transaction_is_still_undone_on_cancel(world: World) -> None:
    """The put reached the server but the job's commit never happened; then the session was
    cancelled. The next run must still remove the event."""
    row = world.book()
    sync_mediator_calendars(world.db, writers=world.calendars.writers, now=world.clock.now(),
                            program_name=PROGRAM)
    world.db.rollback()
    assert list(world.calendars.events(world.mediator)) == [row.uid]
    assert world.db.scalars(select(CalendarPush)).all() == []
    cancel(row, world.clock.now())
    world.db.commit()
    assert world.sync().deleted == 1
    assert world.calendars.events(world.mediator) == {}


def test_old_sessions_are_left_alone_unless_their_calendar_is_behind(world: World) -> None:
    row = world.book()
    world.sync()
    world.clock.set(TUESDAY_5PM + timedelta(days=120))
    make_session(world.db, world.clock.now(), case=make_case(world.db, world.clock.now()),
                 mediator=world.mediator, venue=world.venue,
                 start=TUESDAY_5PM - timedelta(days=1), status=SessionStatus.COMPLETED)
    world.db.commit()
    assert world.sync() == PushReport()  # nothing recent, nothing behind: not even looked at
    cancel(row, world.clock.now())  # a late correction of a long-past session
    world.db.commit()
    assert world.sync().deleted == 1
    assert world.calendars.events(world.mediator) == {}


def test_unusable_calendar_settings_are_recorded_as_failures(db: Session,
                                                            clock: FixedClock) -> None:
    now = clock.now()
    mediator = make_mediator(db, now, calendar_kind="caldav",
                             calendar_url="https://dav.example.org/cal/")
    mediator.calendar_url = "https:///no-host"  # edited behind the directory's back
    row = make_session(db, now, case=make_case(db, now), mediator=mediator,
                       venue=make_venue(db, now), start=TUESDAY_5PM)
    report = sync_mediator_calendars(db, writers=lambda m: writer_for(m, clock, sealer=SEALER), now=now,
                                     program_name=PROGRAM)
    assert [(f.session_id, f.action) for f in report.failures] == [(row.id, "put")]
    assert "calendar settings unusable" in report.failures[0].error
    push = db.scalars(select(CalendarPush)).one()
    assert (push.attempts, push.pushed_status) == (1, None)


# --- who gets the event --------------------------------------------------------------------


def test_a_mediator_without_a_writable_calendar_is_skipped(world: World) -> None:
    for kind, url in (("none", None), ("ics", "https://calendar.example.org/feed.ics")):
        plain = make_mediator(world.db, world.clock.now(), calendar_kind=kind, calendar_url=url)
        world.book(case=make_case(world.db, world.clock.now()), mediator=plain)
    report = world.sync()
    assert (report.writes, report.skipped, report.failures) == (0, 2, ())
    assert world.calendars.counting == {}
    assert world.db.scalars(select(CalendarPush)).all() == []


def test_the_co_mediator_gets_the_event_too(world: World) -> None:
    co = world.mediator_with_calendar()
    row = world.book(co_mediator=co)
    assert world.sync().put == 2
    assert list(world.calendars.events(world.mediator)) == [row.uid]
    assert list(world.calendars.events(co)) == [row.uid]


def test_a_mediator_taken_off_the_session_loses_the_event(world: World) -> None:
    replacement = world.mediator_with_calendar()
    row = world.book()
    world.sync()
    row.mediator_id = replacement.id  # a reschedule onto another mediator
    row.sequence += 1
    world.db.commit()
    report = world.sync()
    assert (report.put, report.deleted) == (1, 1)
    assert world.calendars.events(world.mediator) == {}
    assert world.calendars.events(replacement)[row.uid].sequence == 1
    assert world.sync().writes == 0


def test_the_event_carries_no_personal_data(world: World) -> None:
    video = make_venue(world.db, world.clock.now(), kind="video",
                       video_url="https://video.example.org/j/123", address="")
    row = world.book(venue=video)
    world.sync()
    seen = world.calendars.events(world.mediator)[row.uid]
    assert seen.location == "https://video.example.org/j/123"
    text = " ".join([seen.summary, seen.location, seen.description])
    for party in world.case.parties:
        for value in (party.full_name, party.phone, party.email, party.officer_star):
            assert not value or value not in text
    assert world.case.log_number not in text


# --- one run at a time (PostgreSQL) ----------------------------------------------------------


def test_a_second_worker_stays_out_while_one_runs(
        world: World, session_factory: sessionmaker[Session]) -> None:
    if world.db.get_bind().dialect.name != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's; SQLite serialises writers itself")
    world.book()
    first = sync_mediator_calendars(world.db, writers=world.calendars.writers,
                                    now=world.clock.now(), program_name=PROGRAM)
    assert first.put == 1
    with session_factory() as second:
        report = sync_mediator_calendars(second, writers=world.calendars.writers,
                                         now=world.clock.now(), program_name=PROGRAM)
        assert report == PushReport(locked_out=True)
    world.db.commit()
    assert world.calendars.writes == 1


# --- building the writer -------------------------------------------------------------------


def test_writer_for_builds_caldav_only_for_caldav_mediators(db: Session,
                                                           clock: FixedClock) -> None:
    now = clock.now()
    none = make_mediator(db, now)
    ics = make_mediator(db, now, calendar_kind="ics",
                        calendar_url="https://calendar.example.org/feed.ics")
    caldav = make_mediator(db, now, calendar_kind="caldav",
                           calendar_url="https://dav.example.org/cal/", calendar_username="m",
                           calendar_secret="pw")
    token = make_mediator(db, now, calendar_kind="caldav",
                          calendar_url="https://dav.example.org/cal/", calendar_secret="tok")
    assert writer_for(none, clock, sealer=SEALER) is None
    assert writer_for(ics, clock, sealer=SEALER) is None
    for mediator in (caldav, token):
        writer = writer_for(mediator, clock, sealer=SEALER)
        assert isinstance(writer, CalDavCalendar)
        assert "pw" not in repr(writer) and "tok" not in repr(writer)


# --- the private feed ----------------------------------------------------------------------


def _feed_uids(body: bytes) -> list[str]:
    return [str(e["UID"]) for e in Calendar.from_ical(body).walk("VEVENT")]


@pytest.mark.parametrize("calendars", ["memory"], indirect=True)
def test_the_feed_shows_recent_and_upcoming_sessions_of_the_mediator(world: World) -> None:
    now = world.clock.now()
    db = world.db

    def another(start: datetime, **changes: object) -> MediationSession:
        return world.book(start, case=make_case(db, now), **changes)

    upcoming = another(TUESDAY_5PM)
    held = another(THURSDAY_6PM, status=SessionStatus.HELD)
    recent = another(now - timedelta(days=30), status=SessionStatus.COMPLETED)
    as_co = another(TUESDAY_5PM + timedelta(days=7),
                    mediator=world.mediator_with_calendar(), co_mediator=world.mediator)
    another(now - timedelta(days=120), status=SessionStatus.COMPLETED)  # too old
    another(TUESDAY_5PM + timedelta(days=1), status=SessionStatus.CANCELLED)
    another(TUESDAY_5PM, mediator=world.mediator_with_calendar())  # someone else's

    body = mediator_feed(db, world.mediator.feed_token, now, program_name=PROGRAM)
    assert body is not None
    assert _feed_uids(body) == [recent.uid, upcoming.uid, held.uid, as_co.uid]
    calendar = Calendar.from_ical(body)
    assert str(calendar["X-WR-CALNAME"]) == f"{PROGRAM} sessions"
    summaries = {str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}
    assert f"Mediation session (CMP-{upcoming.case_id})" in summaries


@pytest.mark.parametrize("calendars", ["memory"], indirect=True)
@pytest.mark.parametrize("token", ["", "no-such-token", "x" * 65])
def test_the_feed_of_an_unknown_token_is_none(world: World, token: str) -> None:
    world.book()
    assert mediator_feed(world.db, token, world.clock.now()) is None


# --- moving a mediator's calendar ------------------------------------------------------------


def test_a_mediator_moving_to_another_calendar_gets_every_session_there(world: World) -> None:
    """Staff point the mediator at a new calendar: the push records of the old one are dropped,
    so the next sync writes every current session into the new calendar (the old calendar keeps
    what it had: we may no longer have access to it)."""
    first, second = world.book(), world.book(THURSDAY_6PM)
    world.sync()
    old_events = world.calendars.events(world.mediator)
    assert set(old_events) == {first.uid, second.uid}
    cancel(second, world.clock.now())
    world.db.commit()
    target = world.calendars.settings()
    dropped = set_mediator_calendar(
        world.db, world.mediator,
        CalendarSettings("caldav", target["calendar_url"], target["calendar_username"],
                         target["calendar_secret"]),
        sealer=SEALER, now=world.clock.now(), actor="staff", allowed=LOOPBACK)
    world.db.commit()
    assert dropped == 2
    world.calendars.counting.pop(world.mediator.id, None)  # the job builds a writer per run
    world.calendars.memory.pop(world.mediator.id, None)
    report = world.sync()
    # The booked session is written; the cancelled one is deleted as any cancelled session with no
    # record of its calendar is (a write may have landed unrecorded): a no-op in the new calendar.
    assert (report.put, report.deleted, report.failures) == (1, 1, ())
    assert set(world.calendars.events(world.mediator)) == {first.uid}
    assert world.sync().writes == 0


def test_calendar_settings_are_checked_and_the_secret_is_stored_sealed(
        db: Session, clock: FixedClock) -> None:
    now = clock.now()
    mediator = make_mediator(db, now)
    with pytest.raises(Exception, match="calendar_url"):
        set_mediator_calendar(db, mediator, CalendarSettings("caldav", "ftp://x"), sealer=SEALER,
                              now=now, actor="staff")
    with pytest.raises(Exception, match="calendar_kind"):
        set_mediator_calendar(db, mediator, CalendarSettings("exchange", "https://x"),
                              sealer=SEALER, now=now, actor="staff")
    set_mediator_calendar(db, mediator, CalendarSettings(
        "caldav", "https://dav.example.org/m/", "m", "hunter2-calendar"), sealer=SEALER, now=now,
        actor="staff")
    db.commit()
    stored = db.scalar(select(Mediator.calendar_secret).where(Mediator.id == mediator.id))
    assert stored is not None and "hunter2" not in stored and stored.startswith("sealed:v1:")
    assert SEALER.open(stored) == "hunter2-calendar"
    audits = db.scalars(select(AuditEvent).where(AuditEvent.action == "mediator.calendar_set")).all()
    assert len(audits) == 1 and "hunter2" not in str(audits[0].detail)
    # A feed is read anonymously: switching to one forgets the credentials.
    set_mediator_calendar(db, mediator, CalendarSettings(
        "ics", "https://calendar.example.org/m.ics", "m", "ignored"), sealer=SEALER, now=now,
        actor="staff")
    assert (mediator.calendar_username, mediator.calendar_secret) == (None, None)


def test_a_secret_sealed_under_another_key_is_a_clear_calendar_error(
        db: Session, clock: FixedClock) -> None:
    now = clock.now()
    mediator = make_mediator(db, now, calendar_kind="caldav", calendar_url="https://dav.example.org/m/",
                             calendar_username="m", calendar_secret="pw")
    mediator.calendar_secret = Sealer("an-older-secret-key-0123456789").seal("pw")  # a rotated key
    with pytest.raises(CalendarSourceError, match=f"mediator {mediator.id}: calendar secret cannot "
                                                  "be opened with the current secret key"):
        writer_for(mediator, clock, sealer=SEALER)
    other = Sealer("an-older-secret-key-0123456789")
    assert other.open(other.seal("pw")) == "pw" and SEALER.open("legacy-plain") == "legacy-plain"


def test_moving_a_calendar_waits_for_a_push_run_in_progress(
        world: World, session_factory: sessionmaker[Session]) -> None:
    """A push run still writing the old calendar would otherwise record its writes after the
    move dropped the old records, and the new calendar would never get those sessions."""
    if world.db.get_bind().dialect.name != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's; SQLite serialises writers itself")
    import threading

    world.book()
    running = sync_mediator_calendars(world.db, writers=world.calendars.writers,
                                      now=world.clock.now(), program_name=PROGRAM)
    assert running.put == 1  # a run in progress: its transaction holds the lock and its records
    mediator_id = world.mediator.id
    done: list[int] = []

    def move() -> None:
        with session_factory() as other, other.begin():
            mediator = other.get(Mediator, mediator_id)
            assert mediator is not None
            done.append(set_mediator_calendar(
                other, mediator, CalendarSettings("ics", "https://calendar.example.org/m.ics"),
                sealer=SEALER, now=world.clock.now(), actor="staff"))

    mover = threading.Thread(target=move)
    mover.start()

    def waiting_for_the_lock() -> bool:
        with session_factory() as probe:
            return bool(probe.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")))

    for _ in range(400):  # until the mover is seen blocked on the lock (a state, not a delay)
        if waiting_for_the_lock():
            break
        mover.join(0.05)
    assert waiting_for_the_lock() and not done
    world.db.commit()  # the run ends
    mover.join(30)
    assert done == [1]  # it dropped the record the run had just committed
    with session_factory() as check:
        assert check.scalars(select(CalendarPush).where(CalendarPush.mediator_id == mediator_id)).all() == []
