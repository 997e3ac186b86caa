"""Every invite parses with icalendar, carries the iTIP fields, and never leaks another party."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from calendars.invites import (
    Invite,
    Method,
    Person,
    Role,
    build_invite,
    find_leaks,
    mime_content_type,
    venue_location,
)
from calendars.vtimezone import compact_vtimezone

CHI = ZoneInfo("America/Chicago")
PROGRAM = Person("mediation@copa.example.org", "COPA Community Mediation")
COMPLAINANT = Person("ana.perez@example.com", "Ana Pérez")
COMPLAINANT_PHONE = "+13125550147"
OFFICER = Person("j.doe@police.example.gov", "Officer J. Doe")
OFFICER_PHONE = "+13125550999"
MEDIATOR = Person("m.lee@mediators.example.net", "Morgan Lee")
INTERPRETER = Person("interp@language.example.com", "Interpreter (ES)")
LIBRARY = "Harold Washington Library Center, Room 3N, 400 S State St, Chicago, IL 60605"
UID = "0b5c3c1e-5f0e-4d8a-9b43-2f0f5a6e1042@cmp-session"  # as scheduler.booking writes them


def stamp(day: int) -> datetime:
    return datetime(2026, 10, day, 15, 0, tzinfo=UTC)


def invite_for(recipient: Person, **changes: Any) -> Invite:
    base = Invite(
        uid=UID,
        sequence=0,
        method=Method.REQUEST,
        start=datetime(2026, 10, 27, 22, 0, tzinfo=UTC),  # Tue 17:00 CDT
        end=datetime(2026, 10, 27, 23, 30, tzinfo=UTC),
        summary="Sesión de mediación" if recipient is COMPLAINANT else "Mediation session",
        description=(
            "Su sesión de mediación está confirmada. Es confidencial y voluntaria."
            if recipient is COMPLAINANT
            else "Your mediation session is confirmed. It is confidential and voluntary."
        ),
        organizer=PROGRAM,
        attendee=recipient,
        location=LIBRARY,
        language="es" if recipient is COMPLAINANT else "en",
        alarm_minutes_before=24 * 60,
    )
    return replace(base, **changes)


def parse(ics: bytes) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, Event)
    return calendar, event


def attendees(event: Event) -> list[Any]:
    value = event.get("ATTENDEE")
    return value if isinstance(value, list) else [value]


def test_create_reschedule_cancel_walk() -> None:
    """One booking, three versions, for the complainant: UID fixed, SEQUENCE up, METHOD right."""
    booked = invite_for(COMPLAINANT)
    moved = replace(booked, sequence=1, start=datetime(2026, 11, 3, 23, 0, tzinfo=UTC),
                    end=datetime(2026, 11, 4, 0, 30, tzinfo=UTC))  # Tue 17:00 CST
    cancelled = replace(moved, sequence=2, method=Method.CANCEL)
    versions = [
        build_invite(booked, dtstamp=stamp(1)),
        build_invite(moved, dtstamp=stamp(5)),
        build_invite(cancelled, dtstamp=stamp(9)),
    ]
    parsed = [parse(v) for v in versions]

    assert [str(c["METHOD"]) for c, _ in parsed] == ["REQUEST", "REQUEST", "CANCEL"]
    assert [str(e["STATUS"]) for _, e in parsed] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]
    assert {str(e["UID"]) for _, e in parsed} == {UID}
    assert [int(e["SEQUENCE"]) for _, e in parsed] == [0, 1, 2]
    assert [e["DTSTAMP"].dt for _, e in parsed] == [stamp(1), stamp(5), stamp(9)]

    # The same local wall time on both sides of the fall-back change, with the right instants.
    starts = [e["DTSTART"] for _, e in parsed]
    assert [s.params["TZID"] for s in starts] == ["America/Chicago"] * 3
    assert [s.dt.astimezone(UTC) for s in starts] == [
        datetime(2026, 10, 27, 22, 0, tzinfo=UTC),
        datetime(2026, 11, 3, 23, 0, tzinfo=UTC),
        datetime(2026, 11, 3, 23, 0, tzinfo=UTC),
    ]
    assert {s.dt.astimezone(CHI).hour for s in starts} == {17}

    for raw, (calendar, event) in zip(versions, parsed, strict=True):
        text = raw.decode()
        assert text.index("METHOD:") < text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")
        assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["America/Chicago"]
        assert str(calendar["PRODID"]) and str(calendar["VERSION"]) == "2.0"
        assert str(event["ORGANIZER"]) == "mailto:mediation@copa.example.org"
        (attendee,) = attendees(event)
        assert str(attendee) == "mailto:ana.perez@example.com"
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert str(event["LOCATION"]) == LIBRARY
        assert event["DESCRIPTION"].params["LANGUAGE"] == "es"
        assert "sesión" in str(event["DESCRIPTION"])
        assert find_leaks(raw, [OFFICER.email, OFFICER_PHONE, MEDIATOR.email,
                                INTERPRETER.email]) == []

    for _, event in parsed[:2]:
        (attendee,) = attendees(event)
        assert attendee.params["RSVP"] == "TRUE"
        (alarm,) = event.walk("VALARM")
        assert str(alarm["ACTION"]) == "DISPLAY" and str(alarm["DESCRIPTION"])
        assert alarm["TRIGGER"].dt == -timedelta(hours=24)
    assert b"TRIGGER:-PT24H" in versions[0]  # exact hours, not a nominal "-P1D"
    assert parsed[2][1].walk("VALARM") == []  # nothing to remind about a cancelled session


@pytest.mark.parametrize("recipient", [COMPLAINANT, OFFICER, MEDIATOR, INTERPRETER])
def test_every_recipient_sees_only_themselves(recipient: Person) -> None:
    role = Role.NON_PARTICIPANT if recipient is INTERPRETER else Role.REQUIRED
    raw = build_invite(invite_for(recipient, role=role), dtstamp=stamp(1))
    _, event = parse(raw)
    (attendee,) = attendees(event)
    assert str(attendee) == f"mailto:{recipient.email}"
    assert attendee.params["CN"] == recipient.name
    assert attendee.params["ROLE"] == role.value
    others = [p.email for p in (COMPLAINANT, OFFICER, MEDIATOR, INTERPRETER) if p is not recipient]
    assert find_leaks(raw, [*others, COMPLAINANT_PHONE, OFFICER_PHONE]) == []


def test_find_leaks_sees_through_line_folding_and_escaping() -> None:
    folded_somewhere = False
    for pad in range(0, 80, 7):
        careless = invite_for(COMPLAINANT, description="x" * pad + " call the officer at "
                              "j.doe@police.example.gov or +13125550999, thanks")
        raw = build_invite(careless, dtstamp=stamp(1))
        folded_somewhere |= OFFICER.email.encode() not in raw
        assert find_leaks(raw, [OFFICER.email, OFFICER_PHONE, MEDIATOR.email]) == [
            OFFICER.email, OFFICER_PHONE]
    assert folded_somewhere  # the check really had to unfold a line


def test_video_session_puts_the_link_in_location_url_and_conference() -> None:
    link = "https://video.example.org/j/8842?pwd=abc"
    raw = build_invite(invite_for(MEDIATOR, location="", video_url=link), dtstamp=stamp(1))
    _, event = parse(raw)
    assert str(event["LOCATION"]) == link
    assert str(event["URL"]) == link
    assert str(event["CONFERENCE"]) == link and event["CONFERENCE"].params["FEATURE"] == "VIDEO"


def test_venue_zone_other_than_chicago() -> None:
    raw = build_invite(invite_for(MEDIATOR, tzid="America/New_York"), dtstamp=stamp(1))
    calendar, event = parse(raw)
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event["DTSTART"].dt.hour == 18  # 22:00 UTC is 18:00 EDT
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]


def test_mime_content_type_carries_the_method_for_outlook() -> None:
    assert mime_content_type(Method.REQUEST) == 'text/calendar; charset="utf-8"; method=REQUEST'
    assert mime_content_type("CANCEL") == 'text/calendar; charset="utf-8"; method=CANCEL'


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"location": "", "video_url": ""}, "location .* or a video_url"),
        ({"video_url": "http://insecure.example.org/x"}, "https://"),
        ({"sequence": -1}, "sequence must be >= 0"),
        ({"end": datetime(2026, 10, 27, 21, tzinfo=UTC)}, "must be before end"),
        ({"tzid": "Central Standard Time"}, "unknown IANA time zone"),
        ({"uid": "a\r\nATTENDEE:mailto:x@y.z"}, "line breaks"),
        ({"alarm_minutes_before": -5}, "alarm_minutes_before"),
    ],
)
def test_invalid_invites_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        invite_for(MEDIATOR, **changes)


def test_person_validation_does_not_echo_the_address() -> None:
    with pytest.raises(ValueError, match="not a plain e-mail address") as info:
        Person("ana.perez@example")
    assert "ana.perez" not in str(info.value)
    with pytest.raises(ValueError, match="line breaks"):
        Person("a@b.example", "Ana\r\nBCC")


def test_dtstamp_must_be_aware() -> None:
    with pytest.raises(ValueError, match="dtstamp must be timezone-aware"):
        build_invite(invite_for(MEDIATOR), dtstamp=datetime(2026, 10, 1, 12))


# --- reminders (VALARM) across the DST changes -----------------------------------------------


@pytest.mark.parametrize(
    ("start", "minutes", "expected_alarm"),
    [
        # Sunday 2026-11-01 10:00 CST; 24 h before is Saturday 11:00 CDT.
        (datetime(2026, 11, 1, 16, tzinfo=UTC), 24 * 60, datetime(2026, 10, 31, 16, tzinfo=UTC)),
        # Sunday 2027-03-14 10:00 CDT; 24 h before is Saturday 09:00 CST.
        (datetime(2027, 3, 14, 15, tzinfo=UTC), 24 * 60, datetime(2027, 3, 13, 15, tzinfo=UTC)),
        # 04:00 CDT on 2027-03-14, 90 min before: 01:30 CST, across the skipped hour.
        (datetime(2027, 3, 14, 9, tzinfo=UTC), 90, datetime(2027, 3, 14, 7, 30, tzinfo=UTC)),
        # 03:00 CST on 2026-11-01, 2 h before: 01:00 CDT (the first 01:00), not 01:00 CST.
        (datetime(2026, 11, 1, 9, tzinfo=UTC), 120, datetime(2026, 11, 1, 7, tzinfo=UTC)),
    ],
)
def test_alarm_instants_are_exact_across_dst(
    start: datetime, minutes: int, expected_alarm: datetime
) -> None:
    invite = invite_for(MEDIATOR, start=start, end=start + timedelta(hours=1),
                        alarm_minutes_before=minutes)
    _, event = parse(build_invite(invite, dtstamp=stamp(1)))
    dtstart = event["DTSTART"]
    assert dtstart.params["TZID"] == "America/Chicago"
    assert dtstart.dt.astimezone(UTC) == start
    (alarm,) = event.walk("VALARM")
    # RFC 5545: an hours/minutes TRIGGER is an exact duration from the start instant.
    assert dtstart.dt.astimezone(UTC) + alarm["TRIGGER"].dt == expected_alarm


# --- the VTIMEZONE we write is exact and compact ---------------------------------------------


@pytest.mark.parametrize("tzid", ["America/Chicago", "America/New_York", "America/Phoenix"])
def test_compact_vtimezone_matches_zoneinfo_at_every_transition(tzid: str) -> None:
    start = datetime(2026, 11, 1, 16, tzinfo=UTC)
    component = compact_vtimezone(tzid, start, start + timedelta(hours=1))
    assert len(component.subcomponents) <= 4
    from_ics = component.to_tz(lookup_tzid=False)
    real = ZoneInfo(tzid)
    probe = datetime(2026, 6, 1, tzinfo=UTC)
    while probe < datetime(2027, 4, 1, tzinfo=UTC):
        assert probe.astimezone(from_ics).utcoffset() == probe.astimezone(real).utcoffset(), probe
        probe += timedelta(minutes=30)


def test_compact_vtimezone_writes_onsets_in_the_offset_being_left() -> None:
    text = compact_vtimezone("America/Chicago", datetime(2027, 3, 14, 15, tzinfo=UTC),
                             datetime(2027, 3, 14, 16, tzinfo=UTC)).to_ical().decode()
    assert "DTSTART:20270314T020000\r\nTZNAME:CDT\r\nTZOFFSETFROM:-0600" in text
    assert "DTSTART:20261101T020000\r\nTZNAME:CST\r\nTZOFFSETFROM:-0500" in text


@pytest.mark.parametrize(("name", "address", "location"), [
    ("Harold Washington Library Center", "400 S State St, Chicago, IL 60605",
     "Harold Washington Library Center, 400 S State St, Chicago, IL 60605"),
    ("Chicago Public Library – Harold Washington Library Center, 400 S State St",
     "400 S State St", "Chicago Public Library – Harold Washington Library Center, 400 S State St"),
    ("Legler Branch", "", "Legler Branch"),
    ("", "115 S Pulaski Rd", "115 S Pulaski Rd"),
])
def test_location_names_the_venue_and_its_address_once(name: str, address: str,
                                                       location: str) -> None:
    assert venue_location(name, address) == location
