"""Sessions that end when they should, a sign-in limit that holds across processes and restarts,
and an admin role that cannot be lost by accident."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import make_engine, make_session_factory, transaction
from cases.errors import InvalidInput
from cases.models import LoginAttempt, StaffUser
from cases.policy import Policy, load_policy
from main import build_app
from settings import Settings
from tests.support.api import Api
from tests.support.web import TestClient
from web.app import create_app
from web.auth import change_user, create_user, issue_api_token

OLD_BUILT_IN_KEY = "dev-only-change-me-0123456789abcdef"  # printed in settings.py until now
PASSWORD = "correct horse battery"


def _forged_cookie(secret: str, user_id: int, now: float) -> str:
    """A session cookie made the way web.auth signs them, with a key the forger knows."""
    payload = json.dumps({"u": user_id, "e": 0, "i": int(now), "n": "forged"},
                         separators=(",", ":")).encode()
    mac = hmac.new(f"session:{secret}".encode(), payload, hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return f"{b64(payload)}.{b64(mac)}"


def test_a_cookie_forged_with_the_old_built_in_key_is_refused(
        tmp_path: Path, session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    app = build_app(database_url=f"sqlite:///{tmp_path / 'cmp.db'}",
                    public_base_url="https://cmp.example.org")
    with transaction(session_factory) as s:
        admin = StaffUser(username="root", password_hash="x", role="admin", active=True,
                          created_at=clock.now())
        s.add(admin)
        s.flush()
        admin_id = admin.id
    web = create_app(app.settings, session_factory, clock, load_policy())
    with TestClient(web, base_url="https://testserver") as client:
        client.cookies.set("cmp_session", _forged_cookie(OLD_BUILT_IN_KEY, admin_id,
                                                         clock.now().timestamp()))
        assert client.get("/api/me").status_code == 401
        assert client.get("/api/users").status_code == 401


# --- sessions end ----------------------------------------------------------------------------

def _login(client: TestClient, username: str, password: str) -> object:
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": match.group(1)}, follow_redirects=False)


def _signed_in(app: object, username: str) -> tuple[TestClient, str]:
    """A client signed in as ``username``, and its session cookie."""
    client = TestClient(app)  # type: ignore[arg-type]
    assert _login(client, username, PASSWORD).status_code == 303  # type: ignore[attr-defined]
    cookie = client.cookies.get("cmp_session")
    assert cookie
    return client, cookie


def _with_cookie(app: object, cookie: str) -> TestClient:
    client = TestClient(app)  # type: ignore[arg-type]
    client.cookies.set("cmp_session", cookie)
    return client


def _user_id(session_factory: sessionmaker[Session], username: str) -> int:
    with transaction(session_factory) as s:
        found = s.scalar(select(StaffUser.id).where(StaffUser.username == username))
    assert found is not None
    return found


@pytest.fixture
def ann(session_factory: sessionmaker[Session], clock: FixedClock) -> int:
    with transaction(session_factory) as s:
        return create_user(s, username="ann", password=PASSWORD, role="staff",
                           now=clock.now()).id


def test_a_cookie_stops_working_after_logout(app: object, ann: int) -> None:
    client, cookie = _signed_in(app, "ann")
    other_browser, _ = _signed_in(app, "ann")
    page = client.get("/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    assert client.post("/logout", data={"csrf_token": token.group(1)},
                       follow_redirects=False).status_code == 303
    replayed = _with_cookie(app, cookie)
    assert replayed.get("/api/me").status_code == 401
    assert replayed.get("/", follow_redirects=False).headers["location"].startswith("/login")
    assert other_browser.get("/api/me").status_code == 401  # signing out ends every session


@pytest.mark.parametrize("change", [{"password": "a brand new password"}, {"role": "viewer"},
                                    {"active": False}])
def test_an_admin_change_ends_the_users_sessions_at_once(
        api: Api, app: object, ann: int, change: dict[str, object]) -> None:
    client, cookie = _signed_in(app, "ann")
    assert client.get("/api/me").status_code == 200
    assert api.patch(f"/api/users/{ann}", role="admin", json=change).status_code == 200
    assert _with_cookie(app, cookie).get("/api/me").status_code == 401
    if change.get("active") is False:
        assert _login(TestClient(app), "ann", PASSWORD).status_code == 401  # type: ignore
    else:
        again = "a brand new password" if "password" in change else PASSWORD
        assert _login(TestClient(app), "ann", again).status_code == 303  # type: ignore


def test_a_disabled_users_api_tokens_stop(api: Api) -> None:
    me = api.get("/api/me").json()
    assert api.patch(f"/api/users/{me['id']}", role="admin",
                     json={"active": False}).status_code == 200
    assert api.get("/api/cases").status_code == 401
    assert api.patch(f"/api/users/{me['id']}", role="admin",
                     json={"active": True}).status_code == 200
    assert api.get("/api/cases").status_code == 200


def test_the_last_admin_cannot_demote_or_disable_themselves(
        api: Api, session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    admin = api.get("/api/me", role="admin").json()
    for change, field in (({"role": "staff"}, "role"), ({"active": False}, "active")):
        refused = api.patch(f"/api/users/{admin['id']}", role="admin", json=change)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"][0]["loc"][-1] == field
        assert "last active admin" in refused.json()["detail"][0]["msg"]
    assert api.get("/api/me", role="admin").json()["role"] == "admin"
    other = api.post("/api/users", role="admin", json={"username": "second", "role": "admin",
                                                         "password": PASSWORD}).json()
    assert api.patch(f"/api/users/{admin['id']}", role="admin",
                     json={"role": "staff"}).status_code == 200
    # now `second` is the last admin, and cannot disable themselves either
    with transaction(session_factory) as s:
        user = s.get(StaffUser, other["id"])
        assert user is not None
        _, token = issue_api_token(s, user, "test", clock.now())
    refused = api.client.patch(f"/api/users/{other['id']}", json={"active": False},
                               headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 422 and "last active admin" in refused.text


def test_two_admins_demoting_each_other_at_once_leave_one(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    with transaction(session_factory) as s:
        ids = [create_user(s, username=name, password=PASSWORD, role="admin",
                           now=clock.now()).id for name in ("a1", "a2")]
    gate = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(user_id: int) -> None:
        gate.wait()
        try:
            with transaction(session_factory) as s:
                user = s.get(StaffUser, user_id)
                assert user is not None
                change_user(s, user, role="staff")
            outcomes.append("demoted")
        except InvalidInput:
            outcomes.append("refused")

    threads = [threading.Thread(target=demote, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with transaction(session_factory) as s:
        admins = s.scalar(select(func.count()).select_from(StaffUser)
                          .where(StaffUser.role == "admin"))
    assert sorted(outcomes) == ["demoted", "refused"] and admins == 1


# --- sign-in limit ---------------------------------------------------------------------------

def _second_process(db_url: str, settings: Settings, clock: FixedClock,
                    policy: Policy) -> tuple[object, Engine]:
    """Another server on the same database: its own engine, its own app."""
    engine = make_engine(db_url)
    return create_app(settings, make_session_factory(engine), clock, policy), engine


def test_the_sign_in_limit_is_shared_by_processes_and_survives_a_restart(
        db_url: str, web_settings: Settings, clock: FixedClock, policy: Policy, app: object,
        ann: int) -> None:
    other, engine = _second_process(db_url, web_settings, clock, policy)
    try:
        for target in (app, other, app, other, app):
            assert _login(TestClient(target), "ann", "wrong").status_code == 401  # type: ignore
        assert _login(TestClient(other), "ann", PASSWORD).status_code == 429  # type: ignore
    finally:
        engine.dispose()
    restarted, engine = _second_process(db_url, web_settings, clock, policy)
    try:
        assert _login(TestClient(restarted), "ann", PASSWORD).status_code == 429  # type: ignore
        clock.advance(timedelta(minutes=16))
        assert _login(TestClient(restarted), "ann", PASSWORD).status_code == 303  # type: ignore
    finally:
        engine.dispose()


def test_one_password_tried_across_many_accounts_is_limited_per_address(
        app: object, session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    with transaction(session_factory) as s:
        create_user(s, username="user12", password=PASSWORD, role="staff", now=clock.now())
    statuses = [_login(TestClient(app), f"user{n}", "Winter2026!!").status_code  # type: ignore
                for n in range(1, 13)]
    assert statuses == [401] * 10 + [429] * 2
    # the account itself is not locked: from another address, its owner signs in
    owner = TestClient(app, client=("203.0.113.7", 50000))  # type: ignore[arg-type]
    assert _login(owner, "user12", PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_parallel_guesses_cannot_slip_past_the_limit(
        app: object, ann: int, session_factory: sessionmaker[Session]) -> None:
    gate = threading.Barrier(12)
    statuses: list[int] = []

    def guess(n: int) -> None:
        client = TestClient(app, client=(f"198.51.100.{n}", 40000))  # type: ignore[arg-type]
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        gate.wait()
        statuses.append(client.post("/login", data={"username": "ann", "password": f"guess{n}",
                                                     "csrf_token": token.group(1)}).status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # each attempt is counted before its password is checked: racing guesses may be refused
    # early, never checked beyond the limit
    assert len(statuses) == 12 and set(statuses) <= {401, 429}
    assert statuses.count(401) <= 5
    with transaction(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(LoginAttempt)) == 12


def test_a_successful_sign_in_forgives_the_accounts_failures(app: object, ann: int) -> None:
    for _ in range(4):
        assert _login(TestClient(app), "ann", "wrong").status_code == 401  # type: ignore
    assert _login(TestClient(app), "ann", PASSWORD).status_code == 303  # type: ignore
    for _ in range(5):
        assert _login(TestClient(app), "ann", "wrong").status_code == 401  # type: ignore
    assert _login(TestClient(app), "ann", PASSWORD).status_code == 429  # type: ignore

