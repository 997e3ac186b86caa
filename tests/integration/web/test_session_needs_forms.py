"""The session's needs (language, interpreter, access, two mediators) set by staff at intake and
on the case page, through the API and the pages, with the policy's defaults; venues' access
features through the directory page, the API and the CSV import. Both backends."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.importing import import_rows, read_rows
from cases.models import AuditEvent, Case, Venue
from cases.policy import load_policy
from tests.support.api import Api
from tests.support.staff import Desk, field_error, new_case_form, sign_in
from tests.support.web import case_body


@pytest.fixture
def desk(api: Api, session_factory: sessionmaker[Session], clock: FixedClock) -> Desk:
    return sign_in(api.client, session_factory, clock)


def test_intake_defaults_the_session_to_the_working_language_not_the_parties(api: Api) -> None:
    polish = api.new_case(parties=[
        {"role": "complainant", "full_name": "Anna Nowak", "email": "anna@example.org",
         "language": "pl", "channels": ["email"], "interpreter": "pl",
         "accessibility": "uses a wheelchair"},
        {"role": "officer", "full_name": "Jan Kowalski", "email": "jan@example.org",
         "officer_star": "5150", "language": "pl", "channels": ["email"]}])
    assert (polish["session_language"], polish["interpreter"], polish["access_needs"],
            polish["co_mediation"]) == ("en", "pl", ["step_free"], False)
    chosen = api.new_case(session_language="es", interpreter="ASL",
                          access_needs=["hearing_loop"], co_mediation=True)
    assert (chosen["session_language"], chosen["interpreter"], chosen["access_needs"],
            chosen["co_mediation"]) == ("es", "ase", ["hearing_loop"], True)
    bad = api.post("/api/cases", json=case_body(session_language="klingon"))
    assert bad.status_code == 422 and "unknown language" in bad.text


def test_staff_change_the_session_needs_through_the_api_and_it_is_audited(
        api: Api, session_factory: sessionmaker[Session]) -> None:
    case = api.new_case()
    changed = api.post(f"/api/cases/{case['id']}/session-needs",
                       json={"session_language": "pl", "access_needs": ["step_free",
                                                                        "quiet_room"]})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["session_language"], body["access_needs"], body["interpreter"]) == (
        "pl", ["quiet_room", "step_free"], None)
    cleared = api.post(f"/api/cases/{case['id']}/session-needs",
                       json={"interpreter": "none", "co_mediation": True}).json()
    assert cleared["interpreter"] is None and cleared["co_mediation"] is True
    refused = api.post(f"/api/cases/{case['id']}/session-needs",
                       json={"access_needs": ["jacuzzi"]})
    assert refused.status_code == 422 and "unknown access feature" in refused.text
    with session_factory() as db:
        events = db.scalars(select(AuditEvent).where(
            AuditEvent.action == "case.session_needs")).all()
        assert [e.detail["changed"] for e in events] == [
            ["session_language", "access_needs"], ["co_mediation"]]


def test_the_new_case_page_and_the_case_page_set_the_session_needs(
        desk: Desk, session_factory: sessionmaker[Session]) -> None:
    blank = desk.get("/cases/new")
    assert '<option value="en" selected>English</option>' in blank.text
    done = desk.post("/cases/new", new_case_form(
        session_language="es", interpreter="ase", access_needs=["hearing_loop"],
        co_mediation="on"), follow_redirects=False)
    assert done.status_code == 303, done.text
    with session_factory() as db:
        case = db.scalars(select(Case)).one()
        case_id = case.id
        assert (case.session_language, case.interpreter, case.access_needs,
                case.co_mediation) == ("es", "ase", ["hearing_loop"], True)
    page = desk.get(f"/cases/{case_id}")
    assert "held in Spanish; an ASL interpreter attends" in page.text
    bad = desk.post(f"/cases/{case_id}/session-needs",
                    {"session_language": "xx", "interpreter": "", "access_needs": []})
    assert bad.status_code == 422
    assert "nknown language 'xx'" in (field_error(bad.text, "session_language") or "")
    saved = desk.post(f"/cases/{case_id}/session-needs",
                      {"session_language": "en", "interpreter": "",
                       "access_needs": ["step_free"]}, follow_redirects=True)
    assert "Session needs saved" in saved.text
    with session_factory() as db:
        case = db.get_one(Case, case_id)
        assert (case.session_language, case.interpreter, case.access_needs,
                case.co_mediation) == ("en", None, ["step_free"], False)


def test_venue_access_features_through_the_api_the_page_and_the_csv(
        api: Api, desk: Desk, session_factory: sessionmaker[Session],
        clock: FixedClock) -> None:
    made = api.post("/api/venues", json={
        "name": "Harold Washington Library", "address": "400 S State St", "neutral": True,
        "features": ["hearing loop", "accessible_restroom"]})
    assert made.status_code == 201, made.text
    assert made.json()["features"] == ["accessible_restroom", "hearing_loop"]
    venue_id = made.json()["id"]
    patched = api.patch(f"/api/venues/{venue_id}", json={"features": ["quiet_room"]})
    assert patched.json()["features"] == ["quiet_room"]
    form = desk.get(f"/directory/venues/{venue_id}")
    assert 'name="features" value="quiet_room" checked' in form.text
    saved = desk.post(f"/directory/venues/{venue_id}", {
        "name": "Harold Washington Library", "kind": "in_person", "neutral": "yes",
        "address": "400 S State St", "accessible": "on", "features": ["hearing_loop"],
        "capacity": "8", "opening_hours": "mon-fri 09:00-17:00", "active": "on"},
        follow_redirects=False)
    assert saved.status_code == 303, saved.text
    csv = ("name,kind,address,neutral,accessible,features,capacity,opening_hours\n"
           "Sulzer Library,in_person,4455 N Lincoln Ave,yes,yes,hearing_loop;quiet_room,8,"
           "mon-fri 09:00-17:00\n"
           "Bad Library,in_person,1 Main St,yes,yes,jacuzzi,8,mon-fri 09:00-17:00\n")
    rows, _ = read_rows(io.StringIO(csv), "venues")
    with transaction(session_factory) as db:
        report = import_rows(db, rows, "venues", policy=load_policy(), now=clock.now(),
                             actor="test")
        assert "unknown access feature" in str(report.errors)
    with session_factory() as db:
        features = {v.name: v.features for v in db.scalars(select(Venue))}
        assert features == {"Harold Washington Library": ["hearing_loop"],
                            "Sulzer Library": ["hearing_loop", "quiet_room"]}
