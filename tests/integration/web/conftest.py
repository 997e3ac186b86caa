"""Fixtures for the web tests: the app over this test's database (SQLite and PostgreSQL), a
client, and users of each role with API tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.policy import Policy, load_policy
from settings import Settings, load_settings
from tests.support.api import Api
from tests.support.web import SECRET, TestClient, make_user
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


@pytest.fixture
def api(client: TestClient, session_factory: sessionmaker[Session], clock: FixedClock) -> Api:
    tokens = {}
    with transaction(session_factory) as s:
        for role in ("admin", "staff", "viewer"):
            _, tokens[role] = make_user(s, f"{role}1", role, clock.now())
    return Api(client, tokens)
