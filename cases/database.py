"""Engines, sessions and migrations. Built by the composition root, never at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings each backend needs to be safe under concurrent workers.

    SQLite: WAL (readers never block the writer), foreign keys on, a generous busy timeout, and
    every transaction opened with ``BEGIN IMMEDIATE`` so that two writers queue up instead of
    failing half-way with "database is locked" at commit.

    Statement parameters are left out of logs and error messages (``hide_parameters``): they hold
    names and contacts, and a logged error must not.
    """
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _make_sqlite_safe(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _make_sqlite_safe(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def insert_ignoring_duplicates(session: Session, model: type[Any], columns: list[str]) -> Any:
    """``INSERT … ON CONFLICT (columns) DO NOTHING`` for the session's backend: a concurrent or
    repeated insert of the same key is a no-op (add ``.returning(...)`` to learn which it was)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing(index_elements=columns)
    return sqlite.insert(model).on_conflict_do_nothing(index_elements=columns)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The caller's unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


#: pg_advisory_xact_lock(int4, int4) keys of the calendar push: one push run at a time, and a
#: change of a mediator's calendar waits for a run in progress (two-key space, apart from the
#: scheduler leader's one-key lock).
CALENDAR_PUSH_LOCK = (0x434D50, 0x50555348)  # "CMP", "PUSH"


def lock_calendar_pushes(session: Session, *, wait: bool) -> bool:
    """Take the calendar-push lock for the rest of the session's transaction. ``wait=False``
    returns False at once if a push run holds it. SQLite serialises writers itself: always True."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    keys = {"a": CALENDAR_PUSH_LOCK[0], "b": CALENDAR_PUSH_LOCK[1]}
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), keys)
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:a, :b)"), keys))


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to run on every start."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
