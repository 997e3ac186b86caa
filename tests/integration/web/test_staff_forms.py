"""Staff forms for a case's life, through the pages only: each refuses bad input with the
message beside the field it concerns (422) and keeps what was typed; the same rules as the API.
One case number (the one parties are sent) everywhere, and search by it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import AuditEvent, Case, Party
from tests.support.api import Api, mediator, scheduling_case, start_in, venue
from tests.support.staff import Desk, field_error, field_value, new_case_form, sign_in


@pytest.fixture
def desk(api: Api, session_factory: sessionmaker[Session], clock: FixedClock) -> Desk:
    return sign_in(api.client, session_factory, clock)


def test_new_case_form_refuses_bad_fields_beside_them_and_keeps_what_was_typed(
        desk: Desk, session_factory: sessionmaker[Session]) -> None:
    bad = desk.post("/cases/new", new_case_form(**{
        "log_number": "", "incident_date": "not a date",
        "parties[0].phone": "746", "parties[1].officer_star": "",
        "parties[0].accessibility": "wheelchair access"}))
    assert bad.status_code == 422
    html = bad.text
    assert field_error(html, "log_number") == "This is required."
    assert field_error(html, "incident_date") == "Enter a date like 2026-10-03."
    assert "not a valid phone number" in (field_error(html, "parties[0].phone") or "")
    assert "officer_star is required" in (field_error(html, "parties[1].officer_star") or "")
    # everything typed comes back, errors or not
    assert field_value(html, "parties[0].phone") == "746"
    assert field_value(html, "parties[0].full_name") == "Maria Lopez"
    assert field_value(html, "parties[0].accessibility") == "wheelchair access"
    assert field_value(html, "incident_date") == "not a date"
    assert 'value="perceived_bias" checked' in html
    assert '<option value="es" selected>' in html
    with transaction(session_factory) as s:
        assert s.scalars(select(Case)).all() == []


def test_new_case_form_domain_refusals_beside_the_field(desk: Desk, api: Api) -> None:
    existing = api.new_case()
    future = desk.post("/cases/new", new_case_form(incident_date="2099-01-01"))
    assert future.status_code == 422 and "in the future" in (field_error(future.text,
                                                                          "incident_date") or "")
    taken = desk.post("/cases/new", new_case_form(log_number=existing["log_number"]))
    assert taken.status_code == 422
    assert "already exists" in (field_error(taken.text, "log_number") or "")
    unknown = desk.post("/cases/new", new_case_form(allegation_categories=["nonsense"]))
    assert "Unknown category" in (field_error(unknown.text, "allegation_categories") or "")


def test_new_case_then_edit_party_then_decide_with_override_reason(
        desk: Desk, session_factory: sessionmaker[Session]) -> None:
    done = desk.post("/cases/new", new_case_form(), follow_redirects=False)
    assert done.status_code == 303
    page = desk.get(done.headers["location"])
    with transaction(session_factory) as s:
        case = s.scalars(select(Case)).one()
        case_id, ref = case.id, f"CMP-{case.id}"
        complainant = next(p for p in case.parties if p.role == "complainant")
        party_id = complainant.id
        assert complainant.phone == "+13127461234" and complainant.channels == ["sms", "email"]
    assert f"Case {ref}" in page.text and "Case recorded" in page.text
    # edit: a bad email is refused beside its field, the rest kept; then a good one is saved
    edit = f"/cases/{case_id}/parties/{party_id}/edit"
    form = desk.get(edit)
    assert field_value(form.text, "email") == "maria@example.org"
    bad = desk.post(edit, {"full_name": "Maria Lopez", "email": "maria@", "phone": "",
                           "language": "zh", "channels": ["email"],
                           "interpreter": "Cantonese"})
    assert bad.status_code == 422
    assert "not a valid email" in (field_error(bad.text, "email") or "")
    assert field_value(bad.text, "interpreter") == "Cantonese"
    assert '<option value="zh" selected>' in bad.text
    saved = desk.post(edit, {"full_name": "Maria Lopez", "email": "maria.l@example.org",
                             "phone": "312 746 9999", "language": "zh",
                             "channels": ["email", "sms"], "interpreter": "Cantonese",
                             "accessibility": "step-free"}, follow_redirects=True)
    assert "Party details saved" in saved.text
    with transaction(session_factory) as s:
        party = s.get(Party, party_id)
        assert party is not None
        assert (party.email, party.phone, party.language, party.interpreter) == (
            "maria.l@example.org", "+13127469999", "zh", "Cantonese")
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "party.updated")).one()
        assert "example.org" not in str(event.detail) and "email" in event.detail["fields"]
    # deciding against the policy's recommendation without a reason: refused beside "reason"
    refused = desk.post(f"/cases/{case_id}/decide", {"eligible": "no", "reason": ""})
    assert refused.status_code == 422
    assert "needs a reason" in (field_error(refused.text, "reason") or "")
    assert 'value="no" checked' in refused.text  # the choice made is kept
    decided = desk.post(f"/cases/{case_id}/decide", {"eligible": "yes"}, follow_redirects=True)
    assert "Decision recorded" in decided.text and "awaiting consent" in decided.text


def test_consent_by_phone_form(desk: Desk, api: Api) -> None:
    case = api.new_case()
    api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    officer = case["parties"][1]["id"]
    path = f"/cases/{case['id']}/parties/{officer}/consent"
    nothing = desk.post(path, {"channel": "phone"})
    assert nothing.status_code == 422
    assert field_error(nothing.text, "granted") == "Choose what the party answered."
    odd = desk.post(path, {"granted": "yes", "channel": "carrier pigeon"})
    assert odd.status_code == 422
    assert field_error(odd.text, "channel") == "Choose one of the options."
    ok = desk.post(path, {"granted": "yes", "channel": "in_person"}, follow_redirects=True)
    assert "Consent recorded" in ok.text
    consents = api.get(f"/api/cases/{case['id']}/consents").json()
    mine = next(c for c in consents if c["party_id"] == officer)
    assert (mine["status"], mine["channel"], mine["recorded_by"]) == ("granted", "in_person",
                                                                     "desk")
    again = desk.post(path, {"granted": "no", "channel": "phone"})
    assert again.status_code == 422 and "already answered" in again.text


def test_cancel_no_show_withdraw_and_outcome_forms(desk: Desk, api: Api,
                                                   clock: FixedClock) -> None:
    case = scheduling_case(api)
    m, v = mediator(api), venue(api)
    session = api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                              "venue_id": v["id"],
                                              "starts_at": start_in(clock)}).json()
    blank = desk.post(f"/sessions/{session['id']}/cancel", {"reason": "  "})
    assert blank.status_code == 422
    assert field_error(blank.text, "reason") == "This is required."
    early = desk.post(f"/cases/{case['id']}/outcome", {"outcome": "successful"})
    assert early.status_code == 422 and "has not started yet" in early.text
    cancelled = desk.post(f"/sessions/{session['id']}/cancel",
                          {"reason": "mediator ill"}, follow_redirects=True)
    assert "Session cancelled" in cancelled.text and "mediator ill" in cancelled.text
    assert api.get(f"/api/sessions/{session['id']}").json()["status"] == "cancelled"
    no_reason = desk.post(f"/cases/{case['id']}/withdraw", {"reason": ""})
    assert field_error(no_reason.text, "reason") == "This is required."
    withdrawn = desk.post(f"/cases/{case['id']}/withdraw", {"reason": "complainant moved"},
                          follow_redirects=True)
    assert "Withdrawal recorded" in withdrawn.text
    assert api.get(f"/api/cases/{case['id']}").json()["outcome"] == "withdrawn"


def test_outcome_and_no_show_after_the_session(api: Api, clock: FixedClock,
                                               session_factory: sessionmaker[Session]) -> None:
    first, second = scheduling_case(api), scheduling_case(api)
    m, v = mediator(api, max_sessions_per_week=5), venue(api)
    sessions = [api.post("/api/sessions", json={"case_id": c["id"], "mediator_id": m["id"],
                                                "venue_id": v["id"],
                                                "starts_at": start_in(clock, days)}).json()
                for c, days in ((first, 5), (second, 6))]
    clock.advance(timedelta(days=7))
    desk = sign_in(api.client, session_factory, clock)  # after a week, a fresh sign-in
    page = desk.get(f"/cases/{first['id']}")
    assert "How did the session end?" in page.text
    wrong = desk.post(f"/cases/{first['id']}/outcome", {"outcome": "great", "note": "kept"})
    assert field_error(wrong.text, "outcome") == "Choose one of the options."
    assert field_value(wrong.text, "note") == "kept"
    done = desk.post(f"/cases/{first['id']}/outcome", {"outcome": "successful", "note": ""},
                     follow_redirects=True)
    assert "Outcome recorded" in done.text and "completed" in done.text
    missing = desk.post(f"/sessions/{sessions[1]['id']}/no-show", {"reason": ""})
    assert field_error(missing.text, "reason") == "This is required."
    noshow = desk.post(f"/sessions/{sessions[1]['id']}/no-show",
                       {"reason": "officer did not come"}, follow_redirects=True)
    assert "No-show recorded" in noshow.text


def test_one_case_number_everywhere_and_search(desk: Desk, api: Api, clock: FixedClock) -> None:
    case = api.new_case()
    other = api.new_case()
    ref = f"CMP-{case['id']}"
    listing = desk.get("/cases")
    assert ref in listing.text
    for query in (ref, ref.lower().replace("-", " "), case["log_number"], "(312) 746-"
                  + case["parties"][0]["phone"][-4:], case["parties"][1]["email"].upper()):
        found = desk.get("/cases", params={"q": query}, follow_redirects=False)
        assert found.status_code == 303, query
        assert found.headers["location"] == f"/cases/{case['id']}", query
    none = desk.get("/cases", params={"q": "CMP-99999"})
    assert "0 cases found" in none.text and other["log_number"] not in none.text
    # mediators and notices name the case the same way
    m, v = mediator(api), venue(api)
    booked = scheduling_case(api)
    api.post("/api/sessions", json={"case_id": booked["id"], "mediator_id": m["id"],
                                    "venue_id": v["id"], "starts_at": start_in(clock)})
    page = api.client.get(api.post(f"/api/mediators/{m['id']}/links").json()["page_url"]
                          .removeprefix("http://testserver"))
    assert f"Case CMP-{booked['id']}" in page.text
    notices = api.get("/api/notifications", params={"case_id": booked["id"]}).json()
    assert notices


def test_viewers_cannot_search_or_use_case_forms(api: Api, session_factory: sessionmaker[Session],
                                                 clock: FixedClock) -> None:
    case = api.new_case()
    viewer = sign_in(api.client, session_factory, clock, username="watcher", role="viewer")
    assert viewer.csrf
    found = viewer.get("/cases", params={"q": case["log_number"]}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"].startswith("/reports")
    forged = viewer.post(f"/cases/{case['id']}/decide", {"eligible": "yes"},
                         follow_redirects=False)
    assert forged.status_code == 303 and forged.headers["location"].startswith("/reports")


def test_forms_need_the_csrf_token(desk: Desk, api: Api) -> None:
    case = api.new_case()
    response = desk.client.post(f"/cases/{case['id']}/decide",
                                data={"csrf_token": "wrong", "eligible": "yes"})
    assert response.status_code == 403
    assert re.search(r"CSRF", response.text)
