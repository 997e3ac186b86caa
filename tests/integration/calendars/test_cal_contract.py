"""One contract, every backend: the in-memory fake and CalDAV against a real Radicale."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from caldav.davclient import DAVClient
from icalendar import Calendar

from calendars.base import (
    CalendarEvent,
    CalendarFeedError,
    CalendarSource,
    CalendarSourceError,
    CalendarWriter,
)
from calendars.caldav_store import CalDavCalendar
from calendars.feeds import ExpansionLimits, parse_busy
from calendars.intervals import Interval, IntervalSet
from calendars.memory import MemoryCalendar
from calendars.url_safety import UnsafeAddress, guard_niquests_session
from cases.calendar_urls import AllowedHosts, UnsafeCalendarUrl
from cases.clock import FixedClock
from tests.support.calendars import LOOPBACK, LocalWebServer, RadicaleServer


def u(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


WINDOW = (u(2026, 10, 1), u(2027, 4, 1))
SESSION = CalendarEvent(
    uid="a3110ea04242e3dcf990fe7aeccb6534@mediation.example.org",
    start=u(2026, 10, 27, 22), end=u(2026, 10, 27, 23, 30),  # Tue 17:00 CDT
    summary="Mediation session", location="Harold Washington Library, Room 3N",
)


@dataclass
class Backend:
    name: str
    calendar: MemoryCalendar | CalDavCalendar
    broken: Callable[[], MemoryCalendar | CalDavCalendar]  # the same calendar, failing


@pytest.fixture(params=["memory", "radicale"])
def backend(request: pytest.FixtureRequest, clock: FixedClock) -> Backend:
    if request.param == "memory":
        memory = MemoryCalendar()

        def broken_memory() -> MemoryCalendar:
            memory.fail_with = "memory calendar unavailable"
            return memory

        return Backend("memory", memory, broken_memory)
    server: RadicaleServer = request.getfixturevalue("radicale")
    url = server.new_calendar_url()

    def broken_caldav() -> CalDavCalendar:
        return CalDavCalendar(url, clock=clock, allowed=LOOPBACK, username=server.username,
                              password="wrong-password")

    store = CalDavCalendar(url, clock=clock, allowed=LOOPBACK, username=server.username,
                           password=server.password)
    return Backend("radicale", store, broken_caldav)


def test_backends_satisfy_the_protocols(backend: Backend) -> None:
    assert isinstance(backend.calendar, CalendarSource)
    assert isinstance(backend.calendar, CalendarWriter)


def test_put_then_busy(backend: Backend) -> None:
    cal = backend.calendar
    assert cal.busy(*WINDOW) == IntervalSet()
    cal.put(SESSION)
    assert cal.busy(*WINDOW) == IntervalSet([SESSION.interval])


def test_put_same_uid_replaces_in_place(backend: Backend) -> None:
    cal = backend.calendar
    cal.put(SESSION)
    moved = replace(SESSION, start=u(2026, 11, 3, 23), end=u(2026, 11, 4, 0, 30), sequence=1)
    cal.put(moved)
    assert cal.busy(*WINDOW) == IntervalSet([moved.interval])


def test_delete_removes_and_is_idempotent(backend: Backend) -> None:
    cal = backend.calendar
    other = replace(SESSION, uid="other@mediation.example.org", start=u(2026, 12, 1, 16),
                    end=u(2026, 12, 1, 17))
    cal.put(SESSION)
    cal.put(other)
    cal.delete(SESSION.uid)
    assert cal.busy(*WINDOW) == IntervalSet([other.interval])
    cal.delete(SESSION.uid)
    cal.delete("never-existed@mediation.example.org")
    assert cal.busy(*WINDOW) == IntervalSet([other.interval])


def test_busy_is_clipped_and_window_validated(backend: Backend) -> None:
    cal = backend.calendar
    cal.put(SESSION)
    assert cal.busy(u(2026, 10, 27, 23), u(2026, 10, 28)) == IntervalSet(
        [Interval(u(2026, 10, 27, 23), u(2026, 10, 27, 23, 30))])
    assert cal.busy(u(2026, 10, 28), u(2026, 10, 29)) == IntervalSet()
    with pytest.raises(ValueError, match="must be before end"):
        cal.busy(u(2026, 10, 29), u(2026, 10, 28))


def test_failures_are_calendar_source_errors(backend: Backend) -> None:
    cal = backend.broken()
    with pytest.raises(CalendarSourceError) as info:
        cal.busy(*WINDOW)
    with pytest.raises(CalendarSourceError):
        cal.put(SESSION)
    with pytest.raises(CalendarSourceError):
        cal.delete(SESSION.uid)
    assert "wrong-password" not in str(info.value)


# --- CalDAV-specific ---------------------------------------------------------------------


def test_caldav_stores_one_resource_with_our_sequence(radicale: RadicaleServer,
                                                      clock: FixedClock) -> None:
    url = radicale.new_calendar_url()
    store = CalDavCalendar(url, clock=clock, allowed=LOOPBACK, username=radicale.username,
                           password=radicale.password)
    store.put(SESSION)
    store.put(replace(SESSION, sequence=3, summary="Mediation session (moved)"))
    raw = _raw_objects(radicale, url)
    assert len(raw) == 1
    (event,) = Calendar.from_ical(raw[0]).walk("VEVENT")
    assert str(event["UID"]) == SESSION.uid
    assert int(event["SEQUENCE"]) == 3  # stored as given, not bumped by the client library
    assert str(event["SUMMARY"]) == "Mediation session (moved)"
    assert event["DTSTAMP"].dt == clock.now()
    assert event["DTSTART"].params["TZID"] == "America/Chicago"


@pytest.mark.parametrize("fixture_name", ["outlook_feed", "google_feed"])
def test_caldav_pull_of_real_world_events_matches_the_feed_reader(
    radicale: RadicaleServer, clock: FixedClock, request: pytest.FixtureRequest,
    fixture_name: str,
) -> None:
    """Upload the hand-made feeds' events (one resource per UID) and pull them over CalDAV."""
    feed: bytes = request.getfixturevalue(fixture_name)
    url = radicale.new_calendar_url()
    collection = _collection(radicale, url)
    for resource in _split_by_uid(feed):
        collection.add_event(resource.decode(), increase_seqno=False)
    store = CalDavCalendar(url, clock=clock, allowed=LOOPBACK, username=radicale.username,
                           password=radicale.password)
    expected = parse_busy(feed, *WINDOW)
    assert len(expected) >= 6
    assert store.busy(*WINDOW) == expected
    # and a narrow time-range REPORT still finds the recurring series and its override
    narrow = (u(2026, 11, 10), u(2026, 11, 11))
    assert store.busy(*narrow) == parse_busy(feed, *narrow)


def test_caldav_unreachable_server_is_reported_without_secrets(clock: FixedClock) -> None:
    store = CalDavCalendar("http://127.0.0.1:9/dav/mediator/cal/", clock=clock, allowed=LOOPBACK,
                           username="mediator", password="hunter2")
    with pytest.raises(CalendarSourceError, match="server unreachable") as info:
        store.busy(*WINDOW)
    assert "hunter2" not in str(info.value) and "mediator" not in str(info.value)
    assert "hunter2" not in repr(store)


def test_caldav_token_is_sent_as_bearer(web: LocalWebServer, clock: FixedClock) -> None:
    url = web.serve("/dav/cal/", b"<html>no</html>", status=401, content_type="text/html")
    store = CalDavCalendar(url, clock=clock, allowed=LOOPBACK, token="tok-123")
    with pytest.raises(CalendarSourceError, match="refused"):
        store.busy(*WINDOW)
    assert any(h.get("Authorization") == "Bearer tok-123" for h in web.seen_headers)


def test_caldav_malformed_server_data_is_a_feed_error(radicale: RadicaleServer,
                                                      clock: FixedClock) -> None:
    url = radicale.new_calendar_url()
    bad = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:bad1\r\n"
           b"DTSTAMP:20260901T000000Z\r\nDTSTART;TZID=Mars/Olympus:20261103T100000\r\n"
           b"DTEND;TZID=Mars/Olympus:20261103T110000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    try:
        _collection(radicale, url).add_event(bad.decode(), increase_seqno=False)
    except Exception:
        pytest.skip("server refused the unknown TZID itself")
    store = CalDavCalendar(url, clock=clock, allowed=LOOPBACK, username=radicale.username,
                           password=radicale.password)
    with pytest.raises(CalendarFeedError, match="Mars/Olympus"):
        store.busy(*WINDOW)


def test_constructor_validation(clock: FixedClock) -> None:
    with pytest.raises(ValueError, match="http"):
        CalDavCalendar("ftp://x/", clock=clock)
    with pytest.raises(ValueError, match="either a password or a token"):
        CalDavCalendar("https://x.example/", clock=clock, password="p", token="t")


def _collection(server: RadicaleServer, url: str):  # type: ignore[no-untyped-def]
    client = DAVClient(url=url, username=server.username, password=server.password,
                       enable_rfc6764=False)
    return client.calendar(url=url)


def _raw_objects(server: RadicaleServer, url: str) -> list[bytes]:
    return [obj.data.encode() for obj in _collection(server, url).events()]


def _split_by_uid(feed: bytes) -> list[bytes]:
    """One VCALENDAR per UID (CalDAV stores a series and its overrides together)."""
    source = Calendar.from_ical(feed)
    timezones = source.walk("VTIMEZONE")
    by_uid: dict[str, Calendar] = {}
    for event in source.walk("VEVENT"):
        uid = str(event["UID"])
        if uid not in by_uid:
            cal = Calendar()
            cal.add("PRODID", "-//test split//EN")
            cal.add("VERSION", "2.0")
            if "X-WR-TIMEZONE" in source:
                cal.add("X-WR-TIMEZONE", source["X-WR-TIMEZONE"])
            for tz in timezones:
                cal.add_component(tz)
            by_uid[uid] = cal
        by_uid[uid].add_component(event)
    return [cal.to_ical() for cal in by_uid.values()]


def test_split_helper_keeps_every_event(outlook_feed: bytes) -> None:
    parts = _split_by_uid(outlook_feed)
    assert len(parts) == 9
    assert sum(len(Calendar.from_ical(p).walk("VEVENT")) for p in parts) == 10
    assert timedelta(0) < parse_busy(parts[0], *WINDOW).total_duration()


def test_caldav_busy_can_leave_out_our_own_sessions(radicale: RadicaleServer,
                                                   clock: FixedClock, google_feed: bytes) -> None:
    url = radicale.new_calendar_url()
    for resource in _split_by_uid(google_feed):
        _collection(radicale, url).add_event(resource.decode(), increase_seqno=False)
    store = CalDavCalendar(url, clock=clock, allowed=LOOPBACK, username=radicale.username,
                           password=radicale.password, own_domain="mediation.example.org")
    store.put(SESSION)
    assert store.busy(*WINDOW) == parse_busy(google_feed, *WINDOW)


# --- CalDAV addresses inside the network ---------------------------------------------------


def test_caldav_refuses_a_forbidden_url_when_built(clock: FixedClock) -> None:
    for url, reason in (("http://127.0.0.1:5232/dav/", "127.0.0.1 is a loopback address"),
                        ("https://169.254.169.254/dav/", "169.254.169.254 is a link-local"),
                        ("https://[fd00::5]/dav/", "fd00::5 is a private address"),
                        ("https:///dav/", "has no host name")):
        with pytest.raises(UnsafeCalendarUrl, match=f"^CalDAV URL {re.escape(reason)}"):
            CalDavCalendar(url, clock=clock, username="m", password="p")


def test_caldav_refuses_a_name_resolving_to_loopback_before_sending_credentials(
        radicale: RadicaleServer, web: LocalWebServer, clock: FixedClock) -> None:
    url = radicale.new_calendar_url().replace("127.0.0.1", "localhost")
    store = CalDavCalendar(url, clock=clock, username=radicale.username,
                           password=radicale.password)
    with pytest.raises(UnsafeAddress, match=r"^CalDAV calendar at http://localhost: read refused: "
                                            r"localhost resolves to 127\.0\.0\.1, which is a "
                                            r"loopback address"):
        store.busy(*WINDOW)
    with pytest.raises(UnsafeAddress, match="write refused"):
        store.put(SESSION)
    allowed = CalDavCalendar(url, clock=clock, allowed=AllowedHosts.parse(["localhost"]),
                             username=radicale.username, password=radicale.password)
    assert allowed.busy(*WINDOW) == IntervalSet()
    # The session itself checks the peer it connected to, before writing the request: a name
    # that passed an earlier look-up (DNS rebinding) is refused on the connection it opens.
    client = DAVClient(url=web.base_url.replace("127.0.0.1", "localhost") + "/dav/",
                       username="m", password="hunter2", enable_rfc6764=False)
    guard_niquests_session(client.session, AllowedHosts())
    with pytest.raises(UnsafeAddress, match=r"localhost resolves to 127\.0\.0\.1"):
        client.calendar(url=client.url).search(event=True, start=WINDOW[0], end=WINDOW[1])
    assert web.seen_headers == []  # not a byte of the request (nor its password) was sent


def test_caldav_refuses_redirects(radicale: RadicaleServer, web: LocalWebServer,
                                  clock: FixedClock) -> None:
    url = web.redirect("/dav/cal/", radicale.new_calendar_url(), status=301)
    store = CalDavCalendar(url, clock=clock, allowed=LOOPBACK, username=radicale.username,
                           password=radicale.password)
    with pytest.raises(CalendarSourceError, match="read refused, the server redirected"):
        store.busy(*WINDOW)


def test_caldav_expansion_is_bounded_for_the_whole_calendar(radicale: RadicaleServer,
                                                           clock: FixedClock) -> None:
    url = radicale.new_calendar_url()
    for n in range(3):  # three objects, each within the bound, together over it
        _collection(radicale, url).add_event(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:hourly-{n}\r\nDTSTAMP:20260901T000000Z\r\nDTSTART:20261001T00{n}000Z\r\n"
            "DURATION:PT5M\r\nRRULE:FREQ=HOURLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            increase_seqno=False)
    month = (u(2026, 10, 1), u(2026, 11, 1))  # 744 hours: each object alone is within 2000
    store = CalDavCalendar(url, clock=clock, allowed=LOOPBACK, username=radicale.username,
                           password=radicale.password, limits=ExpansionLimits(max_instances=2000))
    with pytest.raises(CalendarFeedError, match=r"^CalDAV calendar at http://127\.0\.0\.1: the "
                       r"calendar has more than 2000 busy times in the 31-day window read"):
        store.busy(*month)
    roomy = CalDavCalendar(url, clock=clock, allowed=LOOPBACK, username=radicale.username,
                           password=radicale.password, limits=ExpansionLimits(max_instances=3000))
    assert len(roomy.busy(*month)) == 3 * 744
