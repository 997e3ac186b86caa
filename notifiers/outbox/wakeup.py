"""Waking an idle dispatcher as soon as a notice is written, instead of at its next poll.

- **PostgreSQL:** a statement trigger on ``notifications`` runs ``pg_notify('cmp_outbox', '')``
  (migration 0014), delivered by PostgreSQL when the writing transaction commits, to every
  process listening: the dispatcher keeps one autocommit psycopg connection that ``LISTEN``\\s and
  reads ``Connection.notifies()`` on a thread (psycopg's documented API).
- **SQLite** (one machine, and in practice one process): an engine event marks a connection
  that inserted into ``notifications``; its ``commit`` wakes the dispatcher in this process. The
  event fires just before the commit itself; the dispatcher's claim begins with ``BEGIN
  IMMEDIATE``, which waits for that commit to finish, so the claim sees the new row.

Either way the poll (``settings.dispatch_interval_seconds``) stays as a safety net: a lost
notification (the listening connection dropped, a notice written by another SQLite process)
costs at most one interval.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

CHANNEL = "cmp_outbox"
_WROTE_NOTICE = "cmp_wrote_notice"


class Wakeup:
    """A flag the dispatcher sleeps on; :meth:`notify` from any thread ends the sleep."""

    def __init__(self) -> None:
        self._event = threading.Event()
        #: set while a dispatcher sleeps here (observable by tests and the benchmark)
        self.idle = threading.Event()
        self._threads: list[threading.Thread] = []
        self._closed = threading.Event()

    def notify(self) -> None:
        self._event.set()

    def wait(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """Sleep up to ``timeout`` seconds or until notified (or ``stop`` is set, checked at
        least every 0.2 s). True if notified. The flag is cleared on the way out: a notice
        written before the clear is seen by the claim that follows."""
        remaining = timeout
        fired = False
        self.idle.set()
        while remaining > 0 and not (stop is not None and stop.is_set()):
            step = min(remaining, 0.2) if stop is not None else remaining
            if self._event.wait(step):
                fired = True
                break
            remaining -= step
        self.idle.clear()
        self._event.clear()
        return fired

    def close(self) -> None:
        self._closed.set()
        for thread in self._threads:
            thread.join(timeout=5)

    # -- sources ----------------------------------------------------------------------------
    def watch_engine(self, engine: Engine) -> Wakeup:
        """This process's commits that inserted notices wake it (both backends)."""

        @event.listens_for(engine, "after_cursor_execute")
        def _mark(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip()[:32].upper().startswith("INSERT INTO NOTIFICATIONS"):
                conn.info[_WROTE_NOTICE] = True

        @event.listens_for(engine, "commit")
        def _commit(conn: Any) -> None:
            if conn.info.pop(_WROTE_NOTICE, False):
                self.notify()

        @event.listens_for(engine, "rollback")
        def _rollback(conn: Any) -> None:
            conn.info.pop(_WROTE_NOTICE, None)

        return self

    def listen_postgres(self, engine: Engine) -> Wakeup:
        """``LISTEN cmp_outbox`` on a connection of its own, read on a daemon thread; reconnects
        after an error (the poll covers the gap). No-op on other backends."""
        if engine.dialect.name != "postgresql":
            return self
        conninfo = make_url(engine.url).set(drivername="postgresql").render_as_string(hide_password=False)
        ready = threading.Event()
        thread = threading.Thread(target=self._listen, args=(conninfo, ready), name="outbox-listen",
                                  daemon=True)  # fmt: skip
        thread.start()
        self._threads.append(thread)
        ready.wait(10)
        return self

    def _listen(self, conninfo: str, ready: threading.Event) -> None:
        import psycopg

        while not self._closed.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    ready.set()
                    self.notify()  # whatever was written while we were not listening
                    while not self._closed.is_set():
                        for _ in connection.notifies(timeout=1.0):
                            self.notify()
            except psycopg.Error as exc:
                log.warning("outbox listener: %s; reconnecting (the poll covers the gap)",
                            type(exc).__name__)  # fmt: skip
                ready.set()
                self._closed.wait(1.0)
