"""Booking from the staff pages: the matcher's proposal first with alternatives, a manual slot
checked against every hard constraint with each reason beside its field, and a reschedule."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from tests.support.api import Api, mediator, scheduling_case, venue
from tests.support.staff import Desk, field_error, field_value, sign_in

EVENINGS = [{"weekday": d, "start": "17:00", "end": "21:00"} for d in range(7)]


@pytest.fixture
def desk(api: Api, session_factory: sessionmaker[Session], clock: FixedClock) -> Desk:
    return sign_in(api.client, session_factory, clock)


def available_case(api: Api) -> dict[str, Any]:
    case = scheduling_case(api)
    for party in case["parties"]:
        assert api.put(f"/api/parties/{party['id']}/availability",
                       json={"windows": EVENINGS}).status_code == 200
    return case


def test_proposal_first_with_alternatives_and_booking_it(desk: Desk, api: Api) -> None:
    case = available_case(api)
    m, v = mediator(api), venue(api)
    api.put(f"/api/mediators/{m['id']}/availability", json={"windows": EVENINGS})
    page = desk.get(f"/cases/{case['id']}/book")
    assert page.status_code == 200 and "What the matcher proposes" in page.text
    starts = re.findall(r'name="starts_at" value="([^"]+)"', page.text)
    assert len(starts) == 3 and len(set(starts)) == 3  # the best and two other times
    assert m["full_name"] in page.text and v["name"] in page.text
    form = re.search(r'<form method="post" action="/cases/\d+/book" id="proposal-1">(.*?)</form>',
                     page.text, re.S)
    assert form is not None
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.group(1)))
    fields.pop("csrf_token")
    booked = desk.post(f"/cases/{case['id']}/book", fields, follow_redirects=True)
    assert "Session booked" in booked.text
    session = api.get("/api/sessions", params={"case_id": case["id"]}).json()[0]
    assert session["starts_at"].startswith(starts[0][:16])


def test_unbookable_case_shows_the_matchers_reason(desk: Desk, api: Api) -> None:
    case = scheduling_case(api, windows={"windows": []})  # nobody has given any times
    mediator(api), venue(api)
    page = desk.get(f"/cases/{case['id']}/book")
    assert "The matcher cannot book this case now." in page.text
    assert "What would unblock it" in page.text
    reason = re.search(r"cannot book this case now.</strong> ([^<]+)</p>", page.text)
    assert reason is not None and reason.group(1).strip()


def test_manual_slot_reasons_beside_their_fields_and_typed_values_kept(
        desk: Desk, api: Api) -> None:
    case = scheduling_case(api)
    untrained = mediator(api, full_name="New Volunteer", general_training_hours=10)
    station = venue(api, name="District 1 station", neutral=False)
    path = f"/cases/{case['id']}/book"
    refused = desk.post(path, {"mediator_id": untrained["id"], "venue_id": station["id"],
                               "starts_local": "2026-11-26T18:00", "minutes": "90"})
    assert refused.status_code == 422
    assert "mediation training" in (field_error(refused.text, "mediator_id") or "")
    assert "Not neutral ground" in (field_error(refused.text, "venue_id") or "")
    assert "notice" in (field_error(refused.text, "starts_local") or "")
    assert field_value(refused.text, "starts_local") == "2026-11-26T18:00"
    assert f'<option value="{station["id"]}" selected>' in refused.text
    bad = desk.post(path, {"mediator_id": "", "venue_id": station["id"],
                           "starts_local": "tomorrow", "minutes": "5"})
    assert field_error(bad.text, "mediator_id") == "Choose one."
    assert "like 2026-12-02T17:00" in (field_error(bad.text, "starts_local") or "")
    assert "between 30 and 240" in (field_error(bad.text, "minutes") or "")
    assert api.get("/api/sessions", params={"case_id": case["id"]}).json() == []


def test_reschedule_with_reason(desk: Desk, api: Api) -> None:
    case = scheduling_case(api)
    m, v = mediator(api), venue(api)
    booked = desk.post(f"/cases/{case['id']}/book",
                       {"mediator_id": m["id"], "venue_id": v["id"],
                        "starts_local": "2026-12-02T17:00", "minutes": "90"},
                       follow_redirects=True)
    assert "Session booked" in booked.text
    session = api.get("/api/sessions", params={"case_id": case["id"]}).json()[0]
    path = f"/sessions/{session['id']}/reschedule"
    page = desk.get(path)
    assert field_value(page.text, "starts_local") == "2026-12-02T17:00"
    no_reason = desk.post(path, {"starts_local": "2026-12-03T17:00", "mediator_id": m["id"],
                                 "venue_id": v["id"], "reason": ""})
    assert no_reason.status_code == 422 and field_error(no_reason.text, "reason")
    too_soon = desk.post(path, {"starts_local": "2026-11-26T17:00", "mediator_id": m["id"],
                                "venue_id": v["id"], "reason": "officer on shift"})
    assert "notice" in (field_error(too_soon.text, "starts_local") or "")
    assert field_value(too_soon.text, "reason") == "officer on shift"
    moved = desk.post(path, {"starts_local": "2026-12-03T17:00", "mediator_id": m["id"],
                             "venue_id": v["id"], "reason": "officer on shift"},
                      follow_redirects=True)
    assert "Session moved" in moved.text
    after = api.get(f"/api/sessions/{session['id']}").json()
    assert after["sequence"] == session["sequence"] + 1
    assert after["starts_at"].startswith("2026-12-03T23:00")


def test_a_slot_outside_the_parties_times_needs_a_reason_given_beside_it(
        desk: Desk, api: Api) -> None:
    evenings = {"windows": [{"weekday": d, "start": "17:00", "end": "21:00"} for d in range(7)]}
    case = scheduling_case(api, windows=evenings)
    m, v = mediator(api), venue(api)
    path = f"/cases/{case['id']}/book"
    morning = {"mediator_id": m["id"], "venue_id": v["id"], "starts_local": "2026-12-02T10:00",
               "minutes": "90"}
    refused = desk.post(path, morning)
    assert refused.status_code == 422
    assert "to book it anyway, say here why" in (field_error(refused.text, "override_reason") or "")
    assert field_value(refused.text, "starts_local") == "2026-12-02T10:00"
    assert api.get("/api/sessions", params={"case_id": case["id"]}).json() == []
    booked = desk.post(path, morning | {"override_reason": "agreed by phone with both"},
                       follow_redirects=True)
    assert "Session booked" in booked.text
    (session,) = api.get("/api/sessions", params={"case_id": case["id"]}).json()
    assert session["starts_at"].startswith("2026-12-02T16:00")  # 10:00 in Chicago
