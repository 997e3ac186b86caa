"""Shared fixtures: every database test runs on SQLite and on the real PostgreSQL.

Each test gets a database of its own, cloned from a template migrated once per run (a file copy on
SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL), so tests are isolated and still fast. On
PostgreSQL the next clone is made, and the last one dropped, on a thread while a test runs: a
clone costs 0.1-0.3 s of the server's time (seconds when the server is busy), which the test no
longer waits for. Every test still gets a database no other test has touched.

Tests on PostgreSQL carry the ``postgres`` marker, tests on SQLite the ``sqlite`` marker.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import make_engine, make_session_factory, upgrade

POSTGRES_URL = os.environ.get(
    "CMP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = [b for b in os.environ.get("CMP_TEST_BACKENDS", "sqlite,postgres").split(",") if b]
RUN_ID = uuid.uuid4().hex[:8]


@pytest.fixture(autouse=True)
def _clean_cmp_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from CMP_* variables; a developer's own must not leak into tests."""
    for name in list(os.environ):
        if name.startswith("CMP_") and not name.startswith("CMP_TEST_"):
            monkeypatch.delenv(name)


def _admin_dsn(database: str | None = None) -> str:
    url = make_url(POSTGRES_URL)
    if database:
        url = url.set(database=database)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _worker_suffix() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


class PostgresClones:
    """Fresh copies of the migrated template, made one ahead and dropped behind on one thread."""

    def __init__(self, template: str) -> None:
        self.template = template
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-clones")
        self._next: Future[str] = self._thread.submit(self._create)

    def _create(self) -> str:
        name = f"cmp_t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    @staticmethod
    def _drop(name: str) -> None:
        with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def take(self) -> str:
        """A database no test has used; the thread starts on the next one at once."""
        name = self._next.result()
        self._next = self._thread.submit(self._create)
        return name

    def give_back(self, name: str) -> None:
        self._thread.submit(self._drop, name)

    def close(self) -> None:
        self._drop(self._next.result())
        self._thread.shutdown(wait=True)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresClones]:
    name = f"cmp_tpl_{RUN_ID}_{_worker_suffix()}"
    try:
        admin = psycopg.connect(_admin_dsn(), autocommit=True)
    except psycopg.OperationalError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc}")
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    upgrade(make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False))
    clones = PostgresClones(name)
    yield clones
    clones.close()
    with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test by the backend it runs on (the ``postgres`` or ``sqlite`` parameter of
    ``db_url``: ``-m postgres``, ``-m sqlite``), and keep
    the browser tests on one pytest-xdist worker (``--dist loadgroup``): they write the same
    screenshot files, which two workers must not write at once."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("db_url") if callspec is not None else None
        if backend in ("postgres", "sqlite"):
            item.add_marker(getattr(pytest.mark, backend))
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database URL on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "cmp.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    clones: PostgresClones = request.getfixturevalue("postgres_template")
    name = clones.take()
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    clones.give_back(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arrange/act/assert; the test commits when it means to."""
    session = session_factory()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def clock() -> FixedClock:
    """Wednesday 2026-11-25 09:00 in Chicago."""
    return FixedClock(datetime(2026, 11, 25, 15, 0, tzinfo=UTC))
