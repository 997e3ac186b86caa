"""Staff API: authentication and roles, cases, decisions, consent by phone, party links and
availability — every success and the bad inputs, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.support.api import Api
from tests.support.web import case_body

NOT_FOUND = {"detail": "not found"}


def _msg(response: object) -> list[tuple[list[object], str]]:
    body = response.json()  # type: ignore[attr-defined]
    return [(e["loc"], e["msg"]) for e in body["detail"]]


# --- access ------------------------------------------------------------------------------------

def test_missing_or_wrong_credentials_are_401(api: Api) -> None:
    assert api.get("/api/cases", role=None).status_code == 401
    bad = api.client.get("/api/cases", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json() == {"detail": "invalid credentials"}
    basic = api.client.get("/api/cases", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401


VIEWER_FORBIDDEN = [
    ("get", "/api/cases"), ("post", "/api/cases"), ("get", "/api/cases/1"),
    ("get", "/api/sessions"), ("get", "/api/notifications"), ("get", "/api/mediators"),
    ("get", "/api/venues"), ("get", "/api/parties/1/availability"), ("get", "/api/users"),
    ("get", "/api/policy"), ("post", "/api/sessions/1/remind"), ("post", "/api/mediators"),
]


def test_viewer_sees_reports_only(api: Api) -> None:
    for method, path in VIEWER_FORBIDDEN:
        response = getattr(api, method)(path, role="viewer", **({"json": {}} if method == "post"
                                                                else {}))
        assert response.status_code == 403, (method, path)
        assert response.json() == {"detail": "needs the staff role"} or path.endswith("policy") \
            or path.endswith("users")
    assert api.get("/api/reports/summary", role="viewer").status_code == 200


def test_staff_cannot_manage_users_or_read_policy(api: Api) -> None:
    assert api.get("/api/users").status_code == 403
    assert api.get("/api/policy").status_code == 403
    assert api.get("/api/policy", role="admin").json()["consent_order"] == "simultaneous"


# --- cases -------------------------------------------------------------------------------------

def test_create_case_normalises_contacts_and_recommends(api: Api) -> None:
    case = api.new_case()
    assert case["state"] == "screening"
    assert case["recommendation"] == "eligible"
    assert case["allegation_categories"] == ["perceived_bias"]
    complainant = case["parties"][0]
    assert complainant["phone"].startswith("+1312746") and complainant["language"] == "es"
    listed = api.get("/api/cases", params={"state": "screening"}).json()
    assert [c["id"] for c in listed] == [case["id"]]
    assert api.get("/api/cases", params={"state": "booked"}).json() == []
    assert api.get(f"/api/cases/{case['id']}").json()["log_number"] == case["log_number"]


BAD_CASES: list[tuple[dict[str, object], list[object], str]] = [
    ({"parties": [{"role": "complainant", "full_name": "A", "phone": "12345"},
                  {"role": "officer", "full_name": "B", "email": "b@example.org",
                   "officer_star": "1"}]},
     ["body", "parties", 0, "phone"], "'12345' is not a valid phone number"),
    ({"parties": [{"role": "complainant", "full_name": "A", "email": "not-an-email"},
                  {"role": "officer", "full_name": "B", "email": "b@example.org",
                   "officer_star": "1"}]},
     ["body", "parties", 0, "email"], "not a valid email address"),
    ({"parties": [{"role": "complainant", "full_name": "A", "phone": "3127461111",
                   "language": "klingon"},
                  {"role": "officer", "full_name": "B", "email": "b@example.org",
                   "officer_star": "1"}]},
     ["body", "parties", 0, "language"], "unsupported language 'klingon'"),
    ({"parties": [{"role": "complainant", "full_name": "A", "phone": "3127461111"},
                  {"role": "officer", "full_name": "B", "email": "b@example.org"}]},
     ["body", "parties", 1], "officer_star is required for an officer"),
    ({"parties": [{"role": "complainant", "full_name": "A"},
                  {"role": "officer", "full_name": "B", "email": "b@example.org",
                   "officer_star": "1"}]},
     ["body", "parties", 0], "needs a phone number or an email address"),
    ({"allegation_categories": ["alien abduction"]},
     ["body", "allegation_categories"], "unknown category 'alien abduction'"),
    ({"incident_date": "2030-01-01"}, ["body", "incident_date"], "is in the future"),
    ({"log_number": "bad\x00"}, ["body", "log_number"], "must not contain NUL characters"),
    ({"surprise": 1}, ["body", "surprise"], "Extra inputs are not permitted"),
    ({"parties": []}, ["body", "parties"], "List should have at least 2 items"),
]


def test_create_case_rejects_bad_input_precisely(api: Api) -> None:
    for change, loc, msg in BAD_CASES:
        response = api.post("/api/cases", json=case_body(**change))
        assert response.status_code == 422, response.text
        assert any(where == loc and msg in m for where, m in _msg(response)), (change, response.json())
    assert api.get("/api/cases").json() == []


def test_duplicate_log_number_is_422(api: Api) -> None:
    case = api.new_case()
    response = api.post("/api/cases", json=case_body(log_number=case["log_number"]))
    assert response.status_code == 422
    assert _msg(response) == [(["body", "log_number"], "a case with this log number already exists")]


def test_missing_things_are_404_without_detail(api: Api) -> None:
    for path in ("/api/cases/999", "/api/cases/999/timeline", "/api/cases/999/consents"):
        response = api.get(path)
        assert response.status_code == 404 and response.json() == NOT_FOUND
    assert api.get("/api/cases/0").status_code == 422
    assert api.get("/api/cases/99999999999").status_code == 422


def test_decision_override_needs_a_reason_and_is_kept(api: Api) -> None:
    case = api.new_case(allegation_categories=["excessive force"])
    assert case["recommendation"] == "ineligible"
    response = api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    assert response.status_code == 422
    assert _msg(response) == [(["body", "reason"],
                               "overriding the policy's recommendation needs a reason")]
    ok = api.post(f"/api/cases/{case['id']}/decision", json={"eligible": False})
    assert ok.status_code == 200 and ok.json()["state"] == "ineligible"
    again = api.post(f"/api/cases/{case['id']}/decision", json={"eligible": False})
    assert again.status_code == 409
    assert again.json()["detail"] == f"case {case['id']}: cannot go from 'ineligible' to 'ineligible'"
    assert api.post(f"/api/cases/{case['id']}/decision", json={"eligible": "maybe"}
                    ).status_code == 422


def test_approving_refers_and_the_timeline_names_the_user(api: Api) -> None:
    case = api.new_case()
    decided = api.post(f"/api/cases/{case['id']}/decision",
                       json={"eligible": True, "reason": "fits the program"}).json()
    assert decided["state"] == "awaiting_consent" and decided["decided_by"] == "staff1"
    timeline = api.get(f"/api/cases/{case['id']}/timeline").json()
    actions = [(e["kind"], e["action"], e["actor"]) for e in timeline]
    assert ("audit", "case.created", "staff1") in actions
    assert ("audit", "case.transition", "staff1") in actions
    assert any(k == "notification" and a.startswith("consent_request") for k, a, _ in actions)
    assert "Maria" not in str(timeline) and "example.org" not in str(timeline)


def test_screen_again_and_only_in_screening(api: Api) -> None:
    case = api.new_case()
    assert api.post(f"/api/cases/{case['id']}/screen").json()["recommendation"] == "eligible"
    api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    assert api.post(f"/api/cases/{case['id']}/screen").status_code == 409


def test_withdraw_returns_the_case(api: Api) -> None:
    case = api.new_case()
    api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    assert api.post(f"/api/cases/{case['id']}/withdraw", json={"reason": ""}).status_code == 422
    done = api.post(f"/api/cases/{case['id']}/withdraw", json={"reason": "party moved away"})
    assert done.status_code == 200 and done.json()["state"] == "returned"


# --- consent -----------------------------------------------------------------------------------

def test_consent_taken_by_phone(api: Api) -> None:
    case = api.new_case()
    cid = case["id"]
    complainant, officer = (p["id"] for p in case["parties"])
    early = api.post(f"/api/cases/{cid}/parties/{complainant}/consent", json={"granted": True})
    assert early.status_code == 409 and "not awaiting consent" in early.json()["detail"]
    api.post(f"/api/cases/{cid}/decision", json={"eligible": True})
    first = api.post(f"/api/cases/{cid}/parties/{complainant}/consent", json={"granted": True})
    assert first.status_code == 200
    assert first.json() | {"answered_at": None, "requested_at": None, "deadline": None} == {
        "party_id": complainant, "role": "complainant", "status": "granted", "channel": "phone",
        "recorded_by": "staff1", "answered_at": None, "requested_at": None, "deadline": None}
    twice = api.post(f"/api/cases/{cid}/parties/{complainant}/consent", json={"granted": True})
    assert twice.status_code == 409 and "already answered" in twice.json()["detail"]
    assert api.post(f"/api/cases/{cid}/parties/{officer}/consent",
                    json={"granted": True, "channel": "carrier pigeon"}).status_code == 422
    api.post(f"/api/cases/{cid}/parties/{officer}/consent", json={"granted": True})
    assert api.get(f"/api/cases/{cid}").json()["state"] == "scheduling"
    statuses = [c["status"] for c in api.get(f"/api/cases/{cid}/consents").json()]
    assert statuses == ["granted", "granted"]


def test_consent_for_a_party_of_another_case_is_404(api: Api) -> None:
    one, other = api.new_case(), api.new_case()
    api.post(f"/api/cases/{one['id']}/decision", json={"eligible": True})
    foreign = other["parties"][0]["id"]
    response = api.post(f"/api/cases/{one['id']}/parties/{foreign}/consent",
                        json={"granted": True})
    assert response.status_code == 404 and response.json() == NOT_FOUND


def test_party_link_for_reading_out(api: Api) -> None:
    case = api.new_case()
    api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    party = case["parties"][0]["id"]
    link = api.post(f"/api/cases/{case['id']}/parties/{party}/link", json={"purpose": "consent"})
    assert link.status_code == 200
    assert link.json()["url"].startswith("http://testserver/p/consent/")
    assert api.post(f"/api/cases/{case['id']}/parties/{party}/link",
                    json={"purpose": "everything"}).status_code == 422


# --- availability ------------------------------------------------------------------------------

def test_party_availability_replace_and_read(api: Api) -> None:
    party = api.new_case()["parties"][0]["id"]
    body = {"time_zone": "America/Chicago",
            "windows": [{"weekday": 0, "start": "17:00", "end": "20:00"},
                        {"weekday": 5, "start": "09:00", "end": "12:00"}]}
    saved = api.put(f"/api/parties/{party}/availability", json=body)
    assert saved.status_code == 200
    assert [(w["weekday"], w["start"], w["end"]) for w in saved.json()] == [
        (0, "17:00", "20:00"), (5, "09:00", "12:00")]
    assert len(api.get(f"/api/parties/{party}/availability").json()) == 2
    bad = api.put(f"/api/parties/{party}/availability",
                  json={"windows": [{"weekday": 1, "start": "20:00", "end": "17:00"}]})
    assert bad.status_code == 422
    assert _msg(bad) == [(["body", "windows", 0], "the window must end after it starts")]
    zone = api.put(f"/api/parties/{party}/availability",
                   json={"time_zone": "Mars/Olympus", "windows": []})
    assert zone.status_code == 422 and _msg(zone)[0][0] == ["body", "time_zone"]
    assert api.put("/api/parties/9999/availability", json={"windows": []}).status_code == 404


def test_the_name_for_messages_is_set_at_intake_and_optional(api: Api) -> None:
    body = case_body()
    body["parties"][0]["message_name"] = "Sra. López"
    case = api.post("/api/cases", json=body).json()
    assert [p["message_name"] for p in case["parties"]] == ["Sra. López", None]
    too_long = case_body()
    too_long["parties"][0]["message_name"] = "x" * 201
    assert api.post("/api/cases", json=too_long).status_code == 422
