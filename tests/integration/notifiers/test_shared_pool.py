"""The dispatcher shares its engine's connection pool with the rest of the process (web requests,
scheduled jobs). Requests that fail and roll back beside it must not make it fail, strand a notice
or send one twice."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.models import Case, Notification, Party
from emulator import EmulatorClient
from notifiers.channels.base import Channel, Notifier, OutgoingMessage, Receipt
from notifiers.outbox.loop import run_dispatcher
from notifiers.wiring import build_dispatcher
from settings import Settings

PARTIES = 30
PER_PARTY = 5  # an SMS and an email each: 300 notices


def _seed(factory: sessionmaker[Session], now: datetime) -> set[int]:
    with factory() as session, session.begin():
        rows: list[dict[str, Any]] = []
        for n in range(PARTIES):
            case = Case(log_number=f"P-{n}", incident_date=date(2026, 10, 1), created_at=now, updated_at=now)
            session.add(case)
            session.flush()
            party = Party(case_id=case.id, role="complainant", full_name=f"Party {n}",
                          phone=f"+1312555{n:04d}", email=f"party{n}@example.org", language="en",
                          channels=["sms", "email"], time_zone="America/Chicago", created_at=now)  # fmt: skip
            session.add(party)
            session.flush()
            for i in range(PER_PARTY):
                for channel, to in (("sms", party.phone), ("email", party.email)):
                    rows.append({
                        "idempotency_key": f"{case.id}:party{party.id}:outcome:{i}:{channel}",
                        "case_id": case.id, "party_id": party.id, "recipient_kind": "party",
                        "kind": "outcome", "channel": channel, "language": "en", "to_address": to,
                        "context": {"case_id": case.id, "outcome": "successful"}, "due_at": now,
                        "status": "pending", "attempts": 0, "attachments": [], "created_at": now,
                    })  # fmt: skip
        session.execute(insert(Notification), rows)
    with factory() as session:
        return set(session.scalars(select(Notification.id)))


class _Paced:
    """The real notifier; each message it sends lets one request run (``requests_due``), so that
    requests keep coming for as long as the dispatcher works, neither starving it nor starved."""

    def __init__(self, inner: Notifier, requests_due: threading.Semaphore) -> None:
        self.inner, self.requests_due, self.channel = inner, requests_due, inner.channel

    def send(self, message: OutgoingMessage) -> Receipt:
        self.requests_due.release()
        return self.inner.send(message)


def _conflicting_requests(
    factory: sessionmaker[Session], now: datetime, due: threading.Semaphore, stop: threading.Event,
    answered: list[int], errors: list[BaseException],
) -> None:  # fmt: skip
    """Ordinary requests that end in a 409: a few reads, then an insert that a unique constraint
    refuses; the transaction rolls back and its connection goes back to the pool."""
    try:
        while not stop.is_set():
            if not due.acquire(timeout=0.05):
                continue
            with factory() as session:
                for _ in range(6):  # the same query repeated, as a page does for its rows
                    session.scalar(select(func.count()).select_from(Case).where(Case.log_number == "P-0"))
                session.add(Case(log_number="P-0", incident_date=date(2026, 10, 1), created_at=now,
                                 updated_at=now))  # fmt: skip
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    answered.append(409)
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def test_requests_rolling_back_on_the_same_pool_leave_every_notice_sent_exactly_once(
    settings: Settings,
    notifiers: dict[Channel, Notifier],
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    ids = _seed(session_factory, clock.now())
    # The pool of a process that has already served a few requests at once: idle connections,
    # handed out oldest first, so each passes from requests to the dispatcher and back.
    engine = session_factory.kw["bind"]
    warm = [engine.connect() for _ in range(engine.pool.size())]
    for connection in warm:
        connection.close()
    due = threading.Semaphore(0)
    paced: dict[Channel, Notifier] = {ch: _Paced(n, due) for ch, n in notifiers.items()}
    dispatcher = build_dispatcher(settings, session_factory, clock, worker_id="pooled", notifiers=paced)
    dispatcher.policy = replace(dispatcher.policy, batch_size=10)  # many batches, many checkouts
    stop = threading.Event()
    answered: list[int] = []
    errors: list[BaseException] = []

    def dispatch() -> None:
        try:
            run_dispatcher(dispatcher, stop, until_idle=True)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    args = (session_factory, clock.now(), due, stop, answered, errors)
    requests = [threading.Thread(target=_conflicting_requests, args=args) for _ in range(2)]
    for thread in requests:
        thread.start()
    worker = threading.Thread(target=dispatch)
    worker.start()
    worker.join(timeout=120)
    stop.set()
    for thread in requests:
        thread.join(timeout=30)
    assert not worker.is_alive() and not any(t.is_alive() for t in requests)
    assert errors == []
    assert len(answered) > 0  # requests really did fail beside the dispatcher

    per_notice = Counter(int(m["notice"]) for m in emulator.messages())
    assert set(per_notice) == ids  # none stranded
    assert {n for n, times in per_notice.items() if times > 1} == set()  # none twice
    with session_factory() as session:
        assert set(session.scalars(select(Notification.status))) == {"sent"}
