"""A mediator declines from their page: they leave the session at once; another qualified
mediator free at that time takes it (updated invites to everyone, a cancellation to the one who
declined), or, when no one is free then, the matcher books a new time; staff see it in the
work queue. A decline uses none of the parties' reschedule allowance."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import Case, Notification
from tests.support.api import Api, mediator, scheduling_case, start_in, venue
from tests.support.staff import Desk, sign_in

EVENINGS = [{"weekday": d, "start": "17:00", "end": "21:00"} for d in range(7)]


@pytest.fixture
def desk(api: Api, session_factory: sessionmaker[Session], clock: FixedClock) -> Desk:
    return sign_in(api.client, session_factory, clock)


def _available_case(api: Api) -> dict[str, Any]:
    case = scheduling_case(api)
    for party in case["parties"]:
        api.put(f"/api/parties/{party['id']}/availability", json={"windows": EVENINGS})
    return case


def _with_hours(api: Api, **changes: Any) -> dict[str, Any]:
    m = mediator(api, **changes)
    api.put(f"/api/mediators/{m['id']}/availability", json={"windows": EVENINGS})
    return m


def _decline(api: Api, mediator_id: int, session_id: int) -> str:
    page = api.post(f"/api/mediators/{mediator_id}/links").json()["page_url"].removeprefix(
        "http://testserver")
    response = api.client.post(f"{page}/sessions/{session_id}", data={"answer": "decline"})
    assert response.status_code == 200
    return str(response.text)


def _kinds(factory: sessionmaker[Session], session_id: int) -> set[tuple[str, str, int | None]]:
    with transaction(factory) as s:
        return {(n.kind, n.recipient_kind, n.mediator_id) for n in s.scalars(
            select(Notification).where(Notification.session_id == session_id))}


def test_another_free_mediator_takes_the_session_at_the_same_time(
        desk: Desk, api: Api, clock: FixedClock, session_factory: sessionmaker[Session]) -> None:
    case = _available_case(api)
    rosa, ana = _with_hours(api), _with_hours(api, full_name="Ana Ruiz", email="ana@example.org")
    v = venue(api)
    booked = api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": rosa["id"],
                                             "venue_id": v["id"],
                                             "starts_at": start_in(clock)}).json()
    page = _decline(api, rosa["id"], booked["id"])
    assert "You declined that session" in page and "Accept" not in page
    after = api.get(f"/api/sessions/{booked['id']}").json()
    assert (after["mediator_id"], after["status"], after["starts_at"]) == (
        ana["id"], "booked", booked["starts_at"])
    assert after["sequence"] == booked["sequence"] + 1
    kinds = _kinds(session_factory, booked["id"])
    assert ("cancellation", "mediator", rosa["id"]) in kinds
    assert ("reschedule", "mediator", ana["id"]) in kinds
    assert ("reschedule", "party", None) in kinds
    with transaction(session_factory) as s:
        row = s.get(Case, case["id"])
        assert row is not None and row.reschedule_count == 0
    queue = desk.get("/").text
    assert "A mediator declined the session of" in queue
    assert "took it at the same time" in queue


def test_no_one_free_then_the_matcher_books_a_new_time(
        desk: Desk, api: Api, clock: FixedClock) -> None:
    first, second = _available_case(api), _available_case(api)
    rosa, ana = _with_hours(api), _with_hours(api, full_name="Ana Ruiz", email="ana@example.org")
    v1, v2 = venue(api), venue(api, name="Sulzer Library")
    mine = api.post("/api/sessions", json={"case_id": first["id"], "mediator_id": rosa["id"],
                                           "venue_id": v1["id"],
                                           "starts_at": start_in(clock)}).json()
    api.post("/api/sessions", json={"case_id": second["id"], "mediator_id": ana["id"],
                                    "venue_id": v2["id"], "starts_at": start_in(clock)})
    _decline(api, rosa["id"], mine["id"])
    assert api.get(f"/api/sessions/{mine['id']}").json()["status"] == "cancelled"
    sessions = api.get("/api/sessions", params={"case_id": first["id"]}).json()
    new = [s for s in sessions if s["status"] == "booked"]
    assert len(new) == 1 and new[0]["mediator_id"] == ana["id"]
    assert new[0]["starts_at"] != mine["starts_at"]
    assert "booked at a new time" in desk.get("/").text


def test_no_one_at_all_leaves_the_case_waiting_and_says_so(
        desk: Desk, api: Api, clock: FixedClock) -> None:
    case = _available_case(api)
    rosa, v = _with_hours(api), venue(api)
    booked = api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": rosa["id"],
                                             "venue_id": v["id"],
                                             "starts_at": start_in(clock)}).json()
    _decline(api, rosa["id"], booked["id"])
    assert api.get(f"/api/cases/{case['id']}").json()["state"] == "scheduling"
    queue = desk.get("/").text
    assert "the case is waiting for a booking" in queue
    assert f'href="/cases/{case["id"]}/book"' in queue
