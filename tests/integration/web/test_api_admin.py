"""Users, tokens, the login page and its rate limit, and reports without personal data."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from tests.support.api import Api
from tests.support.web import TestClient
from web.auth import create_user


def test_admin_manages_users(api: Api) -> None:
    made = api.post("/api/users", role="admin",
                    json={"username": "Lee", "password": "long enough pw", "role": "viewer"})
    assert made.status_code == 201 and made.json()["username"] == "lee"
    dup = api.post("/api/users", role="admin",
                   json={"username": "lee", "password": "long enough pw", "role": "viewer"})
    assert dup.status_code == 422
    assert dup.json()["detail"] == [{"loc": ["body", "username"], "msg": "is already taken",
                                     "type": "value_error"}]
    short = api.post("/api/users", role="admin",
                     json={"username": "kim", "password": "short", "role": "staff"})
    assert short.status_code == 422 and short.json()["detail"][0]["loc"] == ["body", "password"]
    bad_role = api.post("/api/users", role="admin",
                        json={"username": "kim", "password": "long enough pw", "role": "god"})
    assert bad_role.status_code == 422
    assert api.post("/api/users", json={}).status_code == 403
    user_id = made.json()["id"]
    changed = api.patch(f"/api/users/{user_id}", role="admin", json={"role": "staff"})
    assert changed.json()["role"] == "staff"
    assert api.patch(f"/api/users/{user_id}", role="admin", json={"role": None}).status_code == 422
    assert api.patch("/api/users/999", role="admin", json={"active": False}).status_code == 404
    assert len(api.get("/api/users", role="admin").json()) == 4


def test_tokens_are_shown_once_and_can_be_revoked(api: Api) -> None:
    assert api.get("/api/me", role="viewer").json()["role"] == "viewer"
    made = api.post("/api/me/tokens", role="viewer", json={"name": "monthly report"})
    assert made.status_code == 201
    token = made.json()["token"]
    assert token.startswith("cmp_")
    listed = api.get("/api/me/tokens", role="viewer").json()
    assert all(t["token"] is None for t in listed) and len(listed) == 2
    fresh = api.client.get("/api/reports/summary", headers={"Authorization": f"Bearer {token}"})
    assert fresh.status_code == 200
    assert api.delete(f"/api/me/tokens/{made.json()['id']}", role="staff").status_code == 404
    assert api.delete(f"/api/me/tokens/{made.json()['id']}", role="viewer").status_code == 204
    revoked = api.client.get("/api/reports/summary", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401
    assert api.post("/api/me/tokens", role="viewer", json={"name": ""}).status_code == 422


def test_deactivated_user_is_locked_out(api: Api) -> None:
    staff_id = api.get("/api/me").json()["id"]
    api.patch(f"/api/users/{staff_id}", role="admin", json={"active": False})
    assert api.get("/api/me").status_code == 401


def test_reports_have_no_personal_data(api: Api) -> None:
    case = api.new_case()
    api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    summary = api.get("/api/reports/summary", role="viewer")
    assert summary.status_code == 200
    body = summary.json()
    assert body["referrals"]["total"] == 1
    assert body["referrals"]["by_language"] == {"es": 1}
    assert body["referrals"]["by_category"] == {"perceived_bias": 1}
    assert body["consents"]["pending"] == 2
    csv = api.get("/api/reports/cases.csv", role="viewer")
    assert csv.headers["content-type"].startswith("text/csv")
    rows = csv.text.strip().splitlines()
    assert rows[0].startswith("case,state,categories,language")
    assert rows[1].startswith(f"{case['id']},awaiting_consent,perceived_bias,es,")
    for text in (summary.text, csv.text):
        assert case["log_number"] not in text
        assert "Maria" not in text and "example.org" not in text and "+1312" not in text
    bad = api.get("/api/reports/summary", role="viewer",
                  params={"start": "2026-12-01", "end": "2026-11-01"})
    assert bad.status_code == 422
    assert bad.json()["detail"] == [{"loc": ["body", "start"], "msg": "must not be after end",
                                     "type": "value_error"}]
    assert api.get("/api/reports/summary", role=None).status_code == 401


# --- the sign-in page ---------------------------------------------------------------------------

def _login(client: TestClient, username: str, password: str) -> object:
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": match.group(1)}, follow_redirects=False)


def test_login_sets_a_session_cookie_and_forms_need_csrf(
        client: TestClient, session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    with transaction(session_factory) as s:
        create_user(s, username="ann", password="correct horse battery", role="staff",
                    now=clock.now())
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    wrong = _login(client, "ann", "nope")
    unknown = _login(client, "nobody", "nope")
    assert wrong.status_code == unknown.status_code == 401  # type: ignore[attr-defined]
    assert "Wrong username or password." in wrong.text  # type: ignore[attr-defined]
    assert "Wrong username or password." in unknown.text  # type: ignore[attr-defined]
    ok = _login(client, "ann", "correct horse battery")
    assert ok.status_code == 303  # type: ignore[attr-defined]
    cookie = ok.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "cmp_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/").status_code == 200
    # the API accepts the cookie for reads, and for changes only with the CSRF header
    assert client.get("/api/cases").status_code == 200
    assert client.post("/api/cases", json={}).status_code == 403
    page = client.get("/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    made = client.post("/api/me/tokens", json={"name": "x"},
                       headers={"X-CSRF-Token": token.group(1)})
    assert made.status_code == 201
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    out = client.post("/logout", data={"csrf_token": token.group(1)}, follow_redirects=False)
    assert out.status_code == 303


def test_login_is_rate_limited_per_user_and_ip(
        client: TestClient, session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    with transaction(session_factory) as s:
        create_user(s, username="bob", password="correct horse battery", role="staff",
                    now=clock.now())
    for _ in range(5):
        assert _login(client, "bob", "wrong").status_code == 401  # type: ignore[attr-defined]
    blocked = _login(client, "bob", "correct horse battery")
    assert blocked.status_code == 429  # type: ignore[attr-defined]
    clock.advance(timedelta(minutes=16))
    assert _login(client, "bob", "correct horse battery").status_code == 303  # type: ignore[attr-defined]


def test_login_form_without_its_csrf_cookie_is_refused(client: TestClient) -> None:
    response = client.post("/login", data={"username": "a", "password": "b", "csrf_token": "x"})
    assert response.status_code == 403
