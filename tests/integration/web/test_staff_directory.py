"""Mediators, venues and CSV import from the staff pages: bad input refused beside its field,
typing kept; the same checks as the API; a venue must say whether it is neutral ground."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import AuditEvent, AvailabilityWindow, Mediator, Venue
from tests.support.api import Api
from tests.support.staff import Desk, field_error, field_value, sign_in


@pytest.fixture
def desk(api: Api, session_factory: sessionmaker[Session], clock: FixedClock) -> Desk:
    return sign_in(api.client, session_factory, clock)


MEDIATOR = {"full_name": "Rosa Diaz", "email": "rosa@example.org", "languages": ["en", "es"],
            "general_training_hours": "40", "general_training_on": "2025-03-01",
            "specialized_training_hours": "25", "specialized_training_on": "2025-04-01",
            "training_expires_on": "2028-01-01", "max_sessions_per_week": "3",
            "conflict_officer_stars": "4321\n5555", "conflict_people": "",
            "hours": "Mon 17:00-20:00\nSat 10:00-14:00"}


def test_mediator_form(desk: Desk, session_factory: sessionmaker[Session]) -> None:
    bad = desk.post("/directory/mediators/new", MEDIATOR | {
        "email": "rosa@", "max_sessions_per_week": "99", "general_training_hours": "lots",
        "hours": "Mon 17:00-20:00\nsometime"})
    assert bad.status_code == 422
    assert "not a valid email" in (field_error(bad.text, "email") or "")
    assert "less than or equal to 40" in (field_error(bad.text, "max_sessions_per_week") or "")
    assert field_error(bad.text, "general_training_hours") == "Enter a number."
    assert "like 'Mon 17:00-20:00'" in (field_error(bad.text, "hours") or "")
    assert field_value(bad.text, "conflict_officer_stars") == "4321\n5555"
    assert field_value(bad.text, "general_training_on") == "2025-03-01"
    ok = desk.post("/directory/mediators/new", MEDIATOR, follow_redirects=True)
    assert "Mediator saved" in ok.text and "qualified" in ok.text
    with transaction(session_factory) as s:
        m = s.scalars(select(Mediator)).one()
        assert (m.general_training_on.isoformat(), m.languages) == ("2025-03-01", ["en", "es"])
        assert sorted(c.subject for c in m.conflicts) == ["4321", "5555"]
        assert len(s.scalars(select(AvailabilityWindow)).all()) == 2
        mediator_id = m.id
    page = desk.get(f"/directory/mediators/{mediator_id}")
    assert field_value(page.text, "hours") == "Mon 17:00-20:00\nSat 10:00-14:00"
    edited = desk.post(f"/directory/mediators/{mediator_id}", MEDIATOR | {
        "training_expires_on": "2026-01-01", "conflict_officer_stars": "4321", "active": "on"},
        follow_redirects=True)
    assert "cannot be assigned" in edited.text and "training expired" in edited.text
    with transaction(session_factory) as s:
        m = s.get(Mediator, mediator_id)
        assert m is not None and [c.subject for c in m.conflicts] == ["4321"]
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "mediator.updated")).one()
        assert "training_expires_on" in event.detail["fields"] and not event.detail["qualified"]
    calendar = desk.post(f"/directory/mediators/{mediator_id}/calendar",
                         {"kind": "caldav", "url": "not a url", "secret": "hunter2-secret"})
    assert calendar.status_code == 422
    assert "http(s) URL" in (field_error(calendar.text, "url") or "")
    assert "hunter2-secret" not in calendar.text
    saved = desk.post(f"/directory/mediators/{mediator_id}/calendar",
                      {"kind": "ics", "url": "https://calendar.example.org/rosa.ics"},
                      follow_redirects=True)
    assert "Calendar saved" in saved.text


VENUE = {"name": "Harold Washington Library", "kind": "in_person",
         "address": "400 S State St, Chicago, IL", "neutral": "yes", "accessible": "on",
         "capacity": "8", "opening_hours": "mon-sat 09:00-20:00"}


def test_venue_form_neutral_must_be_stated(desk: Desk, session_factory: sessionmaker[Session]
                                           ) -> None:
    unstated = dict(VENUE)
    unstated.pop("neutral")
    bad = desk.post("/directory/venues/new", unstated)
    assert bad.status_code == 422
    assert "neutral ground" in (field_error(bad.text, "neutral") or "")
    assert field_value(bad.text, "address") == VENUE["address"]
    hours = desk.post("/directory/venues/new", VENUE | {"opening_hours": "weekdays 9-5"})
    assert "mon-fri 09:00-17:00" in (field_error(hours.text, "opening_hours") or "")
    video = desk.post("/directory/venues/new", VENUE | {"kind": "video", "address": "",
                                                        "video_url": ""})
    assert "video_url" in (field_error(video.text, "video_url") or "")
    ok = desk.post("/directory/venues/new", VENUE, follow_redirects=True)
    assert "Venue saved" in ok.text and "neutral ground" in ok.text
    with transaction(session_factory) as s:
        venue = s.scalars(select(Venue)).one()
        assert venue.neutral and venue.opening_hours["5"] == [["09:00", "20:00"]]
        venue_id = venue.id
    page = desk.get(f"/directory/venues/{venue_id}")
    assert 'value="yes" checked' in page.text
    station = desk.post(f"/directory/venues/{venue_id}", VENUE | {"neutral": "no",
                                                                  "active": "on"},
                        follow_redirects=True)
    assert "not neutral: never used" in station.text


def test_csv_import_lists_each_bad_row_and_keeps_the_rest(
        desk: Desk, session_factory: sessionmaker[Session]) -> None:
    text = ("name,kind,address,neutral,video_url\n"
            "Library,in_person,400 S State St,yes,\n"
            "Nowhere,in_person,,yes,\n"
            "Zoom,video,,yes,https://meet.example.org/cmp\n")
    done = desk.post("/directory/import", {"kind": "venues"},
                     files={"file": ("venues.csv", text.encode(), "text/csv")})
    assert done.status_code == 200
    assert "Imported 2 venues; 1 row not imported" in done.text
    assert re.search(r"<strong>Line 3</strong>: address: an in-person venue needs an address",
                     done.text)
    with transaction(session_factory) as s:
        assert sorted(v.name for v in s.scalars(select(Venue))) == ["Library", "Zoom"]
    missing = desk.post("/directory/import", {"kind": "mediators"},
                        files={"file": ("m.csv", b"full_name\nRosa\n", "text/csv")})
    assert missing.status_code == 422
    assert "Missing column(s)" in (field_error(missing.text, "file") or "")
    nofile = desk.post("/directory/import", {"kind": "cases"})
    assert field_error(nofile.text, "file") == "Choose a CSV file to import."
    binary = desk.post("/directory/import", {"kind": "cases"},
                       files={"file": ("x.csv", b"\xff\xfe\x00bad", "text/csv")})
    assert "not UTF-8" in (field_error(binary.text, "file") or "")
