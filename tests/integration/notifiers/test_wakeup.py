"""A notice written while the dispatcher is idle goes out at once, not at the next poll: by this
process's commit (both backends) or, on PostgreSQL, by NOTIFY from any other process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import make_engine, make_session_factory
from cases.outbox import Channel, NoticeKind, enqueue
from emulator import EmulatorClient
from notifiers.channels.base import Notifier
from notifiers.outbox.loop import run_dispatcher
from notifiers.wiring import build_dispatcher, build_wakeup
from settings import Settings
from tests.support.notify import add_case, add_party

POLL = 600.0  # the safety-net poll: far longer than any wait below


def _until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait on an observable condition, not on time (``timeout`` only bounds a failure)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        pause.wait(0.005)


def _write_notice(factory: sessionmaker[Session], clock: FixedClock) -> None:
    with factory() as session, session.begin():
        now = clock.now()
        case = add_case(session, now)
        party = add_party(session, case, now)
        enqueue(session, kind=NoticeKind.ELIGIBILITY_NOTICE, recipient=party, due_at=now, now=now,
                case_id=case.id, context={"case_id": case.id}, channels=[Channel.SMS])  # fmt: skip


@pytest.mark.parametrize("writer", ["this process", "another process"])
def test_a_notice_written_while_the_dispatcher_sleeps_wakes_it(
    writer: str,
    db_url: str,
    settings: Settings,
    notifiers: dict[Channel, Notifier],
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    engine = session_factory.kw["bind"]
    if writer == "another process" and engine.dialect.name != "postgresql":
        pytest.skip("SQLite wakes only its own process (another one is found by the poll)")
    dispatcher = build_dispatcher(settings, session_factory, clock, worker_id="w", notifiers=notifiers)
    wakeup = build_wakeup(engine)
    stop = threading.Event()
    loop = threading.Thread(target=run_dispatcher, args=(dispatcher, stop),
                            kwargs={"idle_wait": POLL, "wakeup": wakeup})  # fmt: skip
    loop.start()
    other = make_engine(db_url) if writer == "another process" else None  # its own pool, no hooks
    try:
        for n in range(1, 4):
            _until(wakeup.idle.is_set)  # asleep, until the poll ten minutes from now
            _write_notice(make_session_factory(other) if other else session_factory, clock)
            _until(lambda n=n: len(emulator.messages()) == n)  # type: ignore[misc]
    finally:
        stop.set()
        loop.join(timeout=30)
        wakeup.close()
        if other is not None:
            other.dispose()
    assert not loop.is_alive()
