"""Reading Outlook- and Google-style feeds into busy time, strictly; rendering our own feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from calendars.base import CalendarEvent, CalendarFeedError
from calendars.feeds import ExpansionLimits, ExpansionMeter, parse_busy
from calendars.intervals import Interval, IntervalSet
from calendars.rendering import render_event, render_feed
from tests.support.feeds import GOOGLE_BUSY, OUTLOOK_BUSY

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2027, 4, 1, tzinfo=UTC)


def u(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_outlook_feed_with_windows_zone_names(outlook_feed: bytes) -> None:
    assert parse_busy(outlook_feed, START, END) == OUTLOOK_BUSY


def test_google_feed_with_x_wr_timezone(google_feed: bytes) -> None:
    assert parse_busy(google_feed, START, END) == GOOGLE_BUSY


def test_busy_is_clipped_to_the_window(outlook_feed: bytes) -> None:
    got = parse_busy(outlook_feed, u(2026, 10, 26, 12), u(2026, 10, 27, 14, 30))
    assert list(got) == [Interval(u(2026, 10, 26, 12), u(2026, 10, 27, 5)),
                         Interval(u(2026, 10, 27, 14), u(2026, 10, 27, 14, 30))]


def test_all_day_events_follow_the_default_zone(google_feed: bytes) -> None:
    got = parse_busy(google_feed, u(2026, 11, 9), u(2026, 11, 11), default_zone="America/New_York")
    assert Interval(u(2026, 11, 9, 5), u(2026, 11, 10, 5)) in list(got)


def test_windows_zone_name_without_any_vtimezone_is_mapped() -> None:
    ics = _calendar(
        "BEGIN:VEVENT", "UID:w1", "DTSTAMP:20260901T000000Z",
        "DTSTART;TZID=Central Standard Time:20261103T100000",
        "DTEND;TZID=Central Standard Time:20261103T110000", "END:VEVENT",
    )
    assert list(parse_busy(ics, START, END)) == [Interval(u(2026, 11, 3, 16), u(2026, 11, 3, 17))]


def test_floating_times_are_read_in_the_default_zone_and_zero_length_is_free() -> None:
    ics = _calendar(
        "BEGIN:VEVENT", "UID:f1", "DTSTAMP:20260901T000000Z",
        "DTSTART:20261103T100000", "DURATION:PT45M", "END:VEVENT",
        "BEGIN:VEVENT", "UID:f2", "DTSTAMP:20260901T000000Z",
        "DTSTART:20261104T100000Z", "END:VEVENT",
    )
    assert list(parse_busy(ics, START, END)) == [
        Interval(u(2026, 11, 3, 16), u(2026, 11, 3, 16, 45))]


def test_an_empty_calendar_is_not_busy() -> None:
    assert parse_busy(_calendar(), START, END) == IntervalSet()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["BEGIN:VEVENT", "UID:x1", "DTSTART;TZID=Mars/Olympus:20261103T100000",
          "DTEND;TZID=Mars/Olympus:20261103T110000", "END:VEVENT"],
         r"VEVENT UID 'x1': DTSTART uses TZID 'Mars/Olympus', which is neither defined"),
        (["BEGIN:VEVENT", "UID:x2", "DTSTART:20261103T100000Z", "DTEND:20261103T110000Z",
          "EXDATE;TZID=Nowhere/Land:20261103T100000", "RRULE:FREQ=DAILY;COUNT=2", "END:VEVENT"],
         r"EXDATE uses TZID 'Nowhere/Land'"),
        (["BEGIN:VEVENT", "UID:x3", "DTSTART:notadate", "END:VEVENT"],
         r"VEVENT UID 'x3': property DTSTART is malformed"),
        (["BEGIN:VEVENT", "UID:x4", "SUMMARY:no start", "END:VEVENT"],
         r"VEVENT UID 'x4' has no DTSTART"),
        (["BEGIN:VEVENT", "UID:x5", "DTSTART:20261103T100000Z", "DTEND:20261103T110000Z",
          "RRULE:FREQ=BOGUS", "END:VEVENT"], r"property RRULE is malformed"),
    ],
)
def test_malformed_events_raise_a_precise_error(lines: list[str], message: str) -> None:
    with pytest.raises(CalendarFeedError, match=message):
        parse_busy(_calendar(*lines), START, END)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!doctype html><html><body>Sign in</body></html>", "not an iCalendar stream"),
        (b"", "not an iCalendar stream"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\n",
         "malformed iCalendar content"),
    ],
)
def test_non_calendars_raise(body: bytes, message: str) -> None:
    with pytest.raises(CalendarFeedError, match=message):
        parse_busy(body, START, END)


# --- writing -------------------------------------------------------------------------------

SESSIONS = [
    CalendarEvent(uid="s1@mediation.example.org", start=u(2026, 10, 27, 22),
                  end=u(2026, 10, 27, 23, 30), summary="Mediation session", location="Library",
                  sequence=2),
    CalendarEvent(uid="s2@mediation.example.org", start=u(2027, 3, 14, 15), end=u(2027, 3, 14, 16),
                  summary="Mediation session (video)", url="https://video.example.org/j/1",
                  location="https://video.example.org/j/1"),
]


def test_render_feed_round_trips_through_our_own_reader() -> None:
    feed = render_feed(SESSIONS, dtstamp=u(2026, 10, 1, 12))
    calendar = Calendar.from_ical(feed)
    assert "METHOD" not in calendar
    assert str(calendar["X-WR-CALNAME"]) == "Mediation sessions"
    assert [str(e["UID"]) for e in calendar.walk("VEVENT")] == [s.uid for s in SESSIONS]
    assert [str(t["TZID"]) for t in calendar.walk("VTIMEZONE")] == ["America/Chicago"]
    assert all(e["DTSTART"].params["TZID"] == "America/Chicago" for e in calendar.walk("VEVENT"))
    assert [int(e["SEQUENCE"]) for e in calendar.walk("VEVENT")] == [2, 0]
    assert parse_busy(feed, START, END) == IntervalSet(s.interval for s in SESSIONS)


def test_render_event_is_a_methodless_single_event_calendar() -> None:
    calendar = Calendar.from_ical(render_event(SESSIONS[0], dtstamp=u(2026, 10, 1),
                                               alarm_minutes=30))
    assert "METHOD" not in calendar
    (event,) = calendar.walk("VEVENT")
    assert event["DTSTAMP"].dt == u(2026, 10, 1)
    assert event.walk("VALARM")[0]["TRIGGER"].dt == -timedelta(minutes=30)


def test_an_empty_feed_is_valid() -> None:
    feed = render_feed([], dtstamp=u(2026, 10, 1))
    assert Calendar.from_ical(feed).walk("VEVENT") == []
    assert parse_busy(feed, START, END) == IntervalSet()


def _calendar(*lines: str) -> bytes:
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", *lines, "END:VCALENDAR", ""]
    return "\r\n".join(body).encode()


def test_own_sessions_are_left_out_when_own_domain_is_given() -> None:
    feed = render_feed(SESSIONS, dtstamp=u(2026, 10, 1))
    assert parse_busy(feed, START, END, own_domain="Mediation.Example.org") == IntervalSet()
    assert parse_busy(feed, START, END, own_domain="other.example.org") == IntervalSet(
        s.interval for s in SESSIONS)


# --- bounded expansion ---------------------------------------------------------------------


def _rule_feed(*rules: tuple[str, str]) -> str:
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:r{n}@example.net\r\nDTSTAMP:20260901T000000Z\r\nDTSTART:{start}\r\n"
        f"DURATION:PT10M\r\nRRULE:{rule}\r\nEND:VEVENT\r\n" for n, (rule, start) in enumerate(rules))
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{events}END:VCALENDAR\r\n"


@pytest.mark.parametrize(("rule", "message"), [
    ("FREQ=SECONDLY", r"more than 10000 busy times in the 182-day window read \(VEVENT UID "
                      r"'r0@example\.net' repeats every second\)"),
    ("FREQ=MINUTELY;INTERVAL=5", r"more than 10000 busy times .* repeats every 5 minutes"),
    ("FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;"
     "BYMINUTE=0,20,40", r"more than 10000 busy times .* repeats every day"),
])
def test_a_rule_with_too_many_busy_times_is_refused_from_the_rule_alone(rule: str,
                                                                        message: str) -> None:
    with pytest.raises(CalendarFeedError, match=f"^the calendar has {message}"):
        parse_busy(_rule_feed((rule, "20261001T000000Z")), START, END)


def test_a_rule_repeating_often_since_long_ago_is_refused_before_expanding() -> None:
    with pytest.raises(CalendarFeedError, match=r"^VEVENT UID 'r0@example\.net' repeats every "
                       r"hour from 1970-01-01: more than 100000 repetitions to expand"):
        parse_busy(_rule_feed(("FREQ=HOURLY", "19700101T000000Z")), START, END)


def test_the_instance_limit_counts_every_event_of_the_feed() -> None:
    feed = _rule_feed(*[("FREQ=DAILY", "20261001T120000Z")] * 4)  # 4 x 182 = 728 instances
    assert len(parse_busy(feed, START, END, limits=ExpansionLimits(max_instances=728))) == 182
    with pytest.raises(CalendarFeedError, match="more than 700 busy times in the 182-day window"):
        parse_busy(feed, START, END, limits=ExpansionLimits(max_instances=700))
    # Rules bounded by COUNT or UNTIL are judged by what they can produce.
    bounded = _rule_feed(("FREQ=SECONDLY;COUNT=50", "20261001T000000Z"),
                         ("FREQ=MINUTELY;UNTIL=20261001T010000Z", "20261001T000000Z"))
    assert len(parse_busy(bounded, START, END)) == 1  # all within one hour and ten minutes


def test_expansion_has_a_deadline() -> None:
    meter = ExpansionMeter(ExpansionLimits(max_seconds=0))
    with pytest.raises(CalendarFeedError, match="expanding the calendar's events took more than "
                                                "0 s"):
        parse_busy(_rule_feed(("FREQ=WEEKLY", "20261001T000000Z")), START, END, meter=meter)


def test_a_long_list_of_extra_dates_counts_too() -> None:
    dates = ",".join(f"2026{m:02d}{d:02d}T{h:02d}0000Z" for m in (10, 11, 12) for d in range(1, 29)
                     for h in range(24))  # 2016 extra occurrences
    feed = (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:many@x\r\n"
            f"DTSTAMP:20260901T000000Z\r\nDTSTART:20261001T000000Z\r\nDURATION:PT5M\r\n"
            f"RDATE:{dates}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    assert len(parse_busy(feed, START, END)) == 2016
    with pytest.raises(CalendarFeedError, match=r"more than 2000 busy times .* lists too many "
                                                r"RDATEs"):
        parse_busy(feed, START, END, limits=ExpansionLimits(max_instances=2000))
