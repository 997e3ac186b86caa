"""Electing the one worker whose APScheduler runs the timed jobs.

APScheduler 3 keeps no cross-process lock of its own: two schedulers over one persistent job
store run a job twice (we measured it). So each worker keeps its jobs in memory and only the
holder of a lock runs them; the others wait as standbys and poll.

- **PostgreSQL**: a session-level advisory lock, ``pg_try_advisory_lock(key)``, taken on a
  connection of its own (no pool: closing it really ends the backend). PostgreSQL releases the lock
  the moment that backend ends, which happens at once when the leader process dies — even by
  SIGKILL, since the kernel closes its socket. A standby polling ``pg_try_advisory_lock`` every few
  seconds takes over on its next poll. The leader checks its lock connection on every poll and
  steps down when it is gone (database restart, network cut), so two leaders never run for longer
  than one poll interval plus the server's detection of a dead client (TCP keepalives).
- **SQLite**: an exclusive ``fcntl.flock`` on ``<database file>.leader``. The kernel drops it when
  the process exits, however it exits. It only coordinates processes on one machine — which is
  all SQLite supports anyway. An in-memory database has a single process: it is always leader.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

DEFAULT_KEY = int.from_bytes(b"cmpsched", "big") & 0x7FFF_FFFF_FFFF_FFFF
"""The advisory-lock key: one per database; change it to run two programs on one database."""


class LeaderLock(Protocol):
    def try_acquire(self) -> bool:
        """Take the lock if free; never blocks, never raises for a database outage (False)."""
        ...

    def still_held(self) -> bool:
        """True while the lock is certainly ours."""
        ...

    def release(self) -> None: ...


class PostgresAdvisoryLock:
    def __init__(self, engine: Engine, key: int = DEFAULT_KEY, *, keepalive_seconds: int = 10) -> None:
        self.key = key
        self._engine = create_engine(
            engine.url, poolclass=NullPool,
            connect_args={"keepalives": 1, "keepalives_idle": keepalive_seconds,
                          "keepalives_interval": max(1, keepalive_seconds // 3),
                          "keepalives_count": 3, "application_name": "cmp-scheduler-leader"})
        self._conn: Connection | None = None
        self._held = False

    def try_acquire(self) -> bool:
        try:
            if self._conn is None:
                self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                          {"k": self.key}).scalar())
        except DBAPIError as exc:
            log.warning("leader lock: database unreachable (%s)", type(exc.orig).__name__)
            self._drop()
            return False
        self._held = got
        return got

    def still_held(self) -> bool:
        if not self._held or self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except DBAPIError:
            log.warning("leader lock: lost the lock connection; stepping down")
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None and self._held:
            with contextlib.suppress(DBAPIError):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        self._drop()
        self._engine.dispose()

    def _drop(self) -> None:
        self._held = False
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None


class FileLock:
    """An exclusive ``flock`` on a file next to the SQLite database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        import fcntl

        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def still_held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


class AlwaysLeader:
    """A single-process database (SQLite in memory): there is nobody to elect against."""

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        return None


def lock_for(engine: Engine, key: int = DEFAULT_KEY) -> LeaderLock:
    """The right lock for the engine's backend."""
    backend = engine.url.get_backend_name()
    if backend == "postgresql":
        return PostgresAdvisoryLock(engine, key)
    database = engine.url.database
    if backend == "sqlite" and database and database != ":memory:":
        return FileLock(Path(database).with_name(Path(database).name + ".leader"))
    return AlwaysLeader()
