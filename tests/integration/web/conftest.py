"""Fixtures for the web tests: the app over this test's database (SQLite and PostgreSQL), a
client, and users of each role with API tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from web_support import SECRET, TestClient, case_body, make_user

from cases.clock import FixedClock
from cases.database import transaction
from cases.policy import Policy, load_policy
from settings import Settings, load_settings
from web.app import create_app


@pytest.fixture
def web_settings() -> Settings:
    return load_settings(secret_key=SECRET, public_base_url="http://testserver")


@pytest.fixture
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def app(web_settings: Settings, session_factory: sessionmaker[Session], clock: FixedClock,
        policy: Policy) -> FastAPI:
    return create_app(web_settings, session_factory, clock, policy)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@dataclass
class Api:
    """The client with a token per role: ``api.post(path, role='staff', json=...)``."""

    client: TestClient
    tokens: dict[str, str]

    def headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def get(self, path: str, role: str | None = "staff", **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(role), **kw)

    def post(self, path: str, role: str | None = "staff", **kw: Any) -> Any:
        return self.client.post(path, headers=self.headers(role), **kw)

    def put(self, path: str, role: str | None = "staff", **kw: Any) -> Any:
        return self.client.put(path, headers=self.headers(role), **kw)

    def patch(self, path: str, role: str | None = "staff", **kw: Any) -> Any:
        return self.client.patch(path, headers=self.headers(role), **kw)

    def delete(self, path: str, role: str | None = "staff", **kw: Any) -> Any:
        return self.client.delete(path, headers=self.headers(role), **kw)

    def new_case(self, **changes: Any) -> dict[str, Any]:
        response = self.post("/api/cases", json=case_body(**changes))
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def api(client: TestClient, session_factory: sessionmaker[Session], clock: FixedClock) -> Api:
    tokens = {}
    with transaction(session_factory) as s:
        for role in ("admin", "staff", "viewer"):
            _, tokens[role] = make_user(s, f"{role}1", role, clock.now())
    return Api(client, tokens)
