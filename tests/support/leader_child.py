"""One worker process for ``tests/acceptance/test_leader.py`` (``python -m tests.support.leader_child``).

It is what ``main.py worker`` does, with two test doubles: a clock read from a file (the test
moves time by rewriting it) and a notifier that appends ``<notice id> <worker>`` to a shared log
file opened in append mode, so a message sent twice — by either process — shows up as two lines.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from cases.database import make_engine, make_session_factory
from notifiers.channels.base import Channel, OutgoingMessage, Receipt
from notifiers.compose.context import ProgramInfo
from notifiers.compose.rendering import Renderer
from notifiers.outbox.dispatcher import Dispatcher
from scheduler.jobs import JobDeps
from scheduler.service import WorkerConfig, run_worker


class FileClock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text().strip())


class AppendLogNotifier:
    provider: ClassVar[str] = "append-log"
    max_body_chars: ClassVar[int] = 1_000_000
    rate_per_second: ClassVar[float] = 1_000_000.0

    def __init__(self, path: Path, channel: Channel, worker: str) -> None:
        self.path, self.channel, self.worker = path, channel, worker
        self._ids = itertools.count(1)

    def send(self, message: OutgoingMessage) -> Receipt:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{message.notice_id} {self.worker}\n".encode())
        finally:
            os.close(fd)
        return Receipt(self.provider, f"log-{self.worker}-{message.notice_id}-{next(self._ids)}",
                       "written")


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("url", "clock", "log", "status", "worker"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args()
    from tests.support.booking import RULES

    engine = make_engine(args.url)
    factory = make_session_factory(engine)
    clock = FileClock(Path(args.clock))
    log = Path(args.log)
    notifiers: dict[Channel, Any] = {c: AppendLogNotifier(log, c, args.worker) for c in Channel}
    program = ProgramInfo(name="CMP", phone="+13127463594", email="mediation@example.org",
                          public_base_url="http://127.0.0.1:8000",
                          link_secret="test-secret-0123456789abcdef0123456789")
    dispatcher = Dispatcher(factory, notifiers, clock, renderer=Renderer(), program=program,
                            worker_id=args.worker)
    config = WorkerConfig(worker_id=args.worker, dispatch_interval_seconds=0.2,
                          leader_poll_seconds=0.5, expire_interval_seconds=0.3,
                          status_path=Path(args.status))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run_worker(config, factory, clock, stop, JobDeps(RULES, dispatcher=dispatcher))
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
