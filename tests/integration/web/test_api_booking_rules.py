"""A staff booking (POST /api/sessions) passes every hard constraint the matcher applies: each
refusal is a 422 naming the rule; only the windows people gave may be booked over, with a reason
that the audit keeps. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import AuditEvent, MediationSession, Mediator, MediatorCalendarSnapshot
from tests.support.api import Api, mediator, scheduling_case, start_in, venue
from tests.support.web import case_body

MONDAY_MORNINGS = {"windows": [{"weekday": 0, "start": "09:00", "end": "12:00"}]}


def book(api: Api, case: dict[str, Any], m: dict[str, Any], v: dict[str, Any], starts_at: str,
         **extra: Any) -> Any:
    return api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                           "venue_id": v["id"], "starts_at": starts_at, **extra})


def refused(response: Any) -> str:
    assert response.status_code == 422, response.text
    detail: str = response.json()["detail"]
    assert detail.startswith("not bookable: ")
    return detail


def nothing_booked(session_factory: sessionmaker[Session]) -> bool:
    with session_factory() as db:
        return db.scalars(select(MediationSession)).all() == []


def test_ten_years_out_is_past_the_booking_limit(
        api: Api, clock: FixedClock, session_factory: sessionmaker[Session]) -> None:
    case, m, v = scheduling_case(api), mediator(api), venue(api)
    later = (clock.now() + timedelta(days=3652)).replace(hour=18, minute=0).isoformat()
    detail = refused(book(api, case, m, v, later, override_reason="agreed by phone"))
    deadline = api.get(f"/api/cases/{case['id']}").json()["booking_deadline"][:10]
    assert f"ends after the case's booking deadline {deadline} (the policy books within 60 " \
        "days)" in detail
    assert nothing_booked(session_factory)


def test_a_392_day_session_is_outside_the_policys_session_length(
        api: Api, clock: FixedClock, session_factory: sessionmaker[Session]) -> None:
    case, m, v = scheduling_case(api), mediator(api), venue(api)
    start = start_in(clock)
    end = (datetime.fromisoformat(start) + timedelta(days=392)).isoformat()
    detail = refused(book(api, case, m, v, start, ends_at=end, override_reason="agreed"))
    assert "a session of 392 days is outside the policy's 60 min to 180 min" in detail
    assert nothing_booked(session_factory)
    two_hours = (datetime.fromisoformat(start) + timedelta(hours=2)).isoformat()
    assert book(api, case, m, v, start, ends_at=two_hours).status_code == 201  # within bounds


def test_outside_the_parties_windows_needs_a_reason_which_is_audited(
        api: Api, clock: FixedClock, session_factory: sessionmaker[Session]) -> None:
    case, m, v = scheduling_case(api, windows=MONDAY_MORNINGS), mediator(api), venue(api)
    complainant, officer = (p["id"] for p in case["parties"])
    start = start_in(clock)  # a Wednesday, 17:00 in Chicago
    detail = refused(book(api, case, m, v, start))
    assert detail == (
        f"not bookable: party {complainant} (complainant): outside the availability they gave "
        "(book outside it only with an override_reason); "
        f"party {officer} (officer): outside the availability they gave "
        "(book outside it only with an override_reason)")
    refused(book(api, case, m, v, start, override_reason="   "))  # a blank reason is none
    assert nothing_booked(session_factory)

    booked = book(api, case, m, v, start, override_reason="agreed by phone")
    assert booked.status_code == 201, booked.text
    with session_factory() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "session.booked")).one()
    assert event.subject_id == booked.json()["id"]
    assert event.detail["override_reason"] == "agreed by phone"
    assert event.detail["outside_windows"] == [
        f"party {complainant} (complainant): outside the availability they gave",
        f"party {officer} (officer): outside the availability they gave"]


def test_inside_the_windows_no_reason_is_asked_or_recorded(
        api: Api, clock: FixedClock, session_factory: sessionmaker[Session]) -> None:
    case, m, v = scheduling_case(api), mediator(api), venue(api)
    assert book(api, case, m, v, start_in(clock)).status_code == 201
    with session_factory() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "session.booked")).one()
    assert "override_reason" not in event.detail and "outside_windows" not in event.detail


def read_calendar(session_factory: sessionmaker[Session], mediator_id: int,
                  busy: list[tuple[datetime, datetime]] | None, now: datetime) -> None:
    """The mediator keeps an ICS calendar; ``busy`` is what its last read found (None: never
    read)."""
    with transaction(session_factory) as db:
        row = db.get_one(Mediator, mediator_id)
        row.calendar_kind, row.calendar_url = "ics", "https://cal.example.org/rosa.ics"
        if busy is not None:
            db.add(MediatorCalendarSnapshot(
                mediator_id=mediator_id, fetched_at=now, last_ok_at=now, stale=False,
                busy=[[a.isoformat(), b.isoformat()] for a, b in busy]))


def test_on_top_of_the_mediators_calendar_busy_time_is_refused(
        api: Api, clock: FixedClock, session_factory: sessionmaker[Session]) -> None:
    case, m, v = scheduling_case(api), mediator(api), venue(api)
    start = datetime.fromisoformat(start_in(clock))
    read_calendar(session_factory, m["id"], [(start - timedelta(hours=1), start + timedelta(
        minutes=30))], clock.now())
    detail = refused(book(api, case, m, v, start.isoformat(), override_reason="agreed by phone"))
    assert detail == f"not bookable: mediator {m['id']}: busy in their own calendar at that time"
    # their event plus the 30-minute buffer after it must stay clear of the session
    refused(book(api, case, m, v, (start + timedelta(minutes=45)).isoformat()))
    assert nothing_booked(session_factory)
    assert book(api, case, m, v, (start + timedelta(hours=1)).isoformat()).status_code == 201


def test_a_mediator_whose_calendar_was_never_read_is_not_booked(
        api: Api, clock: FixedClock, session_factory: sessionmaker[Session]) -> None:
    case, m, v = scheduling_case(api), mediator(api), venue(api)
    read_calendar(session_factory, m["id"], None, clock.now())
    detail = refused(book(api, case, m, v, start_in(clock)))
    assert "their calendar has not been read yet" in detail


def test_a_police_station_is_never_booked(
        api: Api, clock: FixedClock, session_factory: sessionmaker[Session]) -> None:
    case, m = scheduling_case(api), mediator(api)
    station = venue(api, name="District 1 police station", address="1718 S State St",
                    neutral=False)
    detail = refused(book(api, case, m, station, start_in(clock),
                          override_reason="agreed by phone"))
    assert detail == (f"not bookable: venue {station['id']}: not neutral ground (a police "
                      "facility is never used)")
    assert nothing_booked(session_factory)


def test_a_venue_closed_or_without_access_is_refused(api: Api, clock: FixedClock) -> None:
    case = scheduling_case(api, parties=[
        {**case_body()["parties"][0], "accessibility": "wheelchair"},
        case_body()["parties"][1]])
    m, v = mediator(api), venue(api, accessible=False)
    sunday = (clock.now() + timedelta(days=11)).replace(hour=18, minute=0)
    assert sunday.weekday() == 6
    detail = refused(book(api, case, m, v, sunday.isoformat()))
    assert f"venue {v['id']}: not accessible, and a party needs access" in detail
    assert f"venue {v['id']}: closed at that time (outside its opening hours)" in detail


def test_an_unqualified_mediator_is_refused(api: Api, clock: FixedClock) -> None:
    case, v = scheduling_case(api), venue(api)
    m = mediator(api, specialized_training_hours=10)
    detail = refused(book(api, case, m, v, start_in(clock), override_reason="agreed"))
    assert detail == (f"not bookable: mediator {m['id']}: fewer than 25 h of community-police "
                      "training")


def test_a_mediators_weekly_limit_holds_for_staff(api: Api, clock: FixedClock) -> None:
    m, v = mediator(api, max_sessions_per_week=1), venue(api)
    first, second, third = scheduling_case(api), scheduling_case(api), scheduling_case(api)
    assert book(api, first, m, v, start_in(clock)).status_code == 201
    detail = refused(book(api, second, m, v, start_in(clock, 8)))
    assert detail == f"not bookable: mediator {m['id']}: weekly session limit reached (1 a week)"
    assert book(api, third, m, v, start_in(clock, 14)).status_code == 201  # the week after


def test_a_case_not_in_scheduling_is_a_conflict_not_a_rule(api: Api, clock: FixedClock) -> None:
    case, m, v = scheduling_case(api), mediator(api), venue(api)
    assert book(api, case, m, v, start_in(clock)).status_code == 201
    again = book(api, case, m, v, start_in(clock, 8))
    assert again.status_code == 409 and "not scheduling" in again.json()["detail"]
