"""Staff API: mediators, venues, booking (no double booking), reschedule, cancel, no-show,
outcome, reminders and notices — success and bad inputs, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.models import AuditEvent, Mediator
from cases.sealing import Sealer
from tests.support.api import MEDIATOR, VENUE, Api, mediator, scheduling_case, start_in, venue
from tests.support.web import SECRET

NOT_FOUND = {"detail": "not found"}
def test_mediators_and_venues(api: Api) -> None:
    m = mediator(api)
    assert m["languages"] == ["en", "es"] and m["active"]
    assert api.get("/api/mediators").json()[0]["id"] == m["id"]
    assert api.get(f"/api/mediators/{m['id']}").json()["email"] == "rosa@example.org"
    patched = api.patch(f"/api/mediators/{m['id']}", json={"max_sessions_per_week": 5})
    assert patched.json()["max_sessions_per_week"] == 5
    null = api.patch(f"/api/mediators/{m['id']}", json={"full_name": None})
    assert null.status_code == 422
    assert null.json()["detail"][0]["msg"].startswith("full_name cannot be null")
    bad = api.post("/api/mediators", json=MEDIATOR | {"email": "rosa@", "languages": ["xx"]})
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["detail"]} == {("body", "email"),
                                                                ("body", "languages", 0)}
    assert api.get("/api/mediators/999").json() == NOT_FOUND
    links = api.post(f"/api/mediators/{m['id']}/links").json()
    assert links["page_url"].startswith("http://testserver/m/")
    assert links["feed_url"].endswith(".ics")
    hours = api.put(f"/api/mediators/{m['id']}/availability",
                    json={"windows": [{"weekday": 2, "start": "09:00", "end": "17:00"}]})
    assert hours.status_code == 200
    assert len(api.get(f"/api/mediators/{m['id']}/availability").json()) == 1

    v = venue(api)
    assert v["neutral"] and v["kind"] == "in_person"
    assert api.get(f"/api/venues/{v['id']}").json()["name"] == VENUE["name"]
    assert api.patch(f"/api/venues/{v['id']}", json={"capacity": 10}).json()["capacity"] == 10
    assert api.patch(f"/api/venues/{v['id']}", json={"capacity": 1}).status_code == 422
    unsaid = api.post("/api/venues", json={k: w for k, w in VENUE.items() if k != "neutral"})
    assert unsaid.status_code == 422  # neutral ground must be said: there is no default
    assert [e["loc"] for e in unsaid.json()["detail"]] == [["body", "neutral"]]
    no_link = api.post("/api/venues", json={"name": "Zoom", "kind": "video", "neutral": True})
    assert no_link.status_code == 422
    assert no_link.json()["detail"][0]["msg"] == "a video venue needs a video_url"
    hours_bad = api.post("/api/venues", json=VENUE | {"opening_hours": "someday 9-5"})
    assert hours_bad.status_code == 422
    assert hours_bad.json()["detail"][0]["loc"] == ["body", "opening_hours"]
    assert api.get("/api/venues/999").status_code == 404


def test_book_remind_reschedule_cancel(api: Api, clock: FixedClock) -> None:
    case = scheduling_case(api)
    m, v = mediator(api), venue(api)
    body = {"case_id": case["id"], "mediator_id": m["id"], "venue_id": v["id"],
            "starts_at": start_in(clock)}
    booked = api.post("/api/sessions", json=body)
    assert booked.status_code == 201, booked.text
    session = booked.json()
    assert session["status"] == "booked"
    assert api.get(f"/api/cases/{case['id']}").json()["state"] == "booked"
    assert api.get("/api/sessions", params={"mediator_id": m["id"]}).json()[0]["id"] == session["id"]
    assert api.get(f"/api/sessions/{session['id']}").json()["venue_id"] == v["id"]

    reminded = api.post(f"/api/sessions/{session['id']}/remind")
    assert reminded.status_code == 200 and reminded.json()["queued"] >= 2
    by_case = api.post(f"/api/cases/{case['id']}/remind")
    assert by_case.status_code == 200
    kinds = {n["kind"] for n in api.get("/api/notifications",
                                        params={"session_id": session["id"]}).json()}
    assert {"booking_confirmation", "reminder"} <= kinds

    moved = api.post(f"/api/sessions/{session['id']}/reschedule",
                     json={"starts_at": start_in(clock, 8), "reason": "officer on shift"})
    assert moved.status_code == 200 and moved.json()["sequence"] == 1
    bad = api.post(f"/api/sessions/{session['id']}/reschedule", json={"starts_at": "tomorrow"})
    assert bad.status_code == 422
    naive = api.post(f"/api/sessions/{session['id']}/reschedule",
                     json={"starts_at": "2026-12-03T18:00:00"})
    assert naive.status_code == 422
    assert naive.json()["detail"][0]["loc"] == ["body", "starts_at"]

    assert api.post(f"/api/sessions/{session['id']}/cancel", json={}).status_code == 422
    cancelled = api.post(f"/api/sessions/{session['id']}/cancel",
                         json={"reason": "complainant unwell"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api.post(f"/api/sessions/{session['id']}/cancel", json={"reason": "again"})
    assert again.status_code == 409 and "cannot be cancelled" in again.json()["detail"]
    gone = api.post(f"/api/sessions/{session['id']}/remind")
    assert gone.status_code == 409
    assert api.get(f"/api/cases/{case['id']}").json()["state"] == "scheduling"


def test_double_booking_is_409_slot_taken(api: Api, clock: FixedClock) -> None:
    first, second = scheduling_case(api), scheduling_case(api)
    m, v = mediator(api), venue(api)
    start = start_in(clock)
    assert api.post("/api/sessions", json={"case_id": first["id"], "mediator_id": m["id"],
                                           "venue_id": v["id"], "starts_at": start}
                    ).status_code == 201
    clash = api.post("/api/sessions", json={"case_id": second["id"], "mediator_id": m["id"],
                                            "venue_id": v["id"], "starts_at": start})
    assert clash.status_code == 409
    assert clash.json() == {"detail": "slot taken"}


def test_booking_refusals(api: Api, clock: FixedClock) -> None:
    case = scheduling_case(api)
    m, v = mediator(api), venue(api)
    soon = api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                           "venue_id": v["id"],
                                           "starts_at": (clock.now() + timedelta(hours=5)
                                                         ).isoformat()})
    assert soon.status_code == 422 and "notice" in soon.json()["detail"]
    unknown = api.post("/api/sessions", json={"case_id": 9999, "mediator_id": m["id"],
                                              "venue_id": v["id"], "starts_at": start_in(clock)})
    assert unknown.status_code == 404 and unknown.json() == NOT_FOUND
    order = api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                            "venue_id": v["id"], "starts_at": start_in(clock),
                                            "ends_at": start_in(clock, 6)})
    assert order.status_code == 422
    assert order.json()["detail"][0]["msg"] == "ends_at must be after starts_at"
    assert api.get("/api/sessions/999").status_code == 404


def test_outcome_and_no_show(api: Api, clock: FixedClock) -> None:
    case = scheduling_case(api)
    m, v = mediator(api), venue(api)
    session = api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                              "venue_id": v["id"],
                                              "starts_at": start_in(clock)}).json()
    early = api.post(f"/api/sessions/{session['id']}/outcome", json={"outcome": "successful"})
    assert early.status_code == 409 and "has not started" in early.json()["detail"]
    assert api.post(f"/api/sessions/{session['id']}/outcome",
                    json={"outcome": "great"}).status_code == 422
    clock.advance(timedelta(days=8))
    done = api.post(f"/api/sessions/{session['id']}/outcome", json={"outcome": "successful"})
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert api.get(f"/api/cases/{case['id']}").json()["state"] == "completed"
    assert api.post(f"/api/sessions/{session['id']}/no-show",
                    json={"reason": "late"}).status_code == 409


def test_no_show_returns_to_scheduling(api: Api, clock: FixedClock) -> None:
    case = scheduling_case(api)
    m, v = mediator(api), venue(api)
    session = api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                              "venue_id": v["id"],
                                              "starts_at": start_in(clock)}).json()
    clock.advance(timedelta(days=8))
    missed = api.post(f"/api/sessions/{session['id']}/no-show", json={"reason": "did not come"})
    assert missed.status_code == 200 and missed.json()["status"] == "no_show"


def test_notifications_list_masked_show_and_resend(api: Api) -> None:
    case = api.new_case()
    api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    listed = api.get("/api/notifications", params={"case_id": case["id"]}).json()
    assert listed and all(n["status"] == "pending" for n in listed)
    sms = next(n for n in listed if n["channel"] == "sms")
    assert "*" in sms["to"]
    full = api.get(f"/api/notifications/{sms['id']}").json()
    assert full["to"].startswith("+1312746") and "*" not in full["to"]
    resent = api.post(f"/api/notifications/{sms['id']}/resend")
    assert resent.status_code == 201
    assert resent.json()["id"] != sms["id"] and resent.json()["kind"] == sms["kind"]
    assert api.get("/api/notifications", params={"status": "bogus"}).status_code == 422
    assert api.get("/api/notifications/999").json() == NOT_FOUND
    assert api.post("/api/notifications/999/resend").status_code == 404


def test_a_mediators_calendar_is_set_over_http_and_its_secret_never_returned(
        api: Api, session_factory: sessionmaker[Session]) -> None:
    m = mediator(api)
    assert (m["calendar_kind"], m["calendar_url"]) == ("none", None)
    path = f"/api/mediators/{m['id']}/calendar"
    body = {"kind": "caldav", "url": "https://dav.example.org/rosa/", "username": "rosa",
            "secret": "calendar-pass-123"}
    assert api.put(path, json=body, role="viewer").status_code == 403
    response = api.put(path, json=body)
    assert response.status_code == 200, response.text
    assert (response.json()["calendar_kind"], response.json()["calendar_url"]) == (
        "caldav", "https://dav.example.org/rosa/")
    assert "calendar-pass-123" not in response.text
    assert "calendar-pass-123" not in api.get(f"/api/mediators/{m['id']}").text
    bad = api.put(path, json={"kind": "caldav", "url": "webcal://x"})
    assert bad.status_code == 422 and "calendar_url" in bad.text
    assert api.put("/api/mediators/999/calendar", json={"kind": "none"}).status_code == 404
    with session_factory() as db:
        stored = db.scalar(select(Mediator.calendar_secret).where(Mediator.id == m["id"]))
        details = [str(a.detail) for a in db.scalars(select(AuditEvent))]
    assert stored and "calendar-pass-123" not in stored
    assert Sealer(SECRET).open(stored) == "calendar-pass-123"
    assert not any("calendar-pass-123" in d for d in details)


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1/dav/", "127.0.0.1 is a loopback address"),
    ("http://[::1]:5232/dav/", "::1 is a loopback address"),
    ("http://192.168.1.20/feed.ics", "192.168.1.20 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
    ("https:///feed.ics", "has no host name"),
])
def test_a_calendar_url_inside_the_network_is_refused_over_http(api: Api, url: str,
                                                                message: str) -> None:
    m = mediator(api)
    for kind in ("ics", "caldav"):
        refused = api.put(f"/api/mediators/{m['id']}/calendar", json={"kind": kind, "url": url})
        assert refused.status_code == 422, refused.text
        (error,) = refused.json()["detail"]
        assert error["loc"] == ["body", "calendar_url"] and error["msg"].startswith(message)
    assert api.get(f"/api/mediators/{m['id']}").json()["calendar_kind"] == "none"
