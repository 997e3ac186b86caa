"""Real dispatcher processes: four racing over one PostgreSQL, and one killed mid-batch."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from cases.models import AuditEvent, Case, Notification, Party
from emulator import EmulatorClient, EmulatorHTTPServer
from tests.support import ROOT
from tests.support.notify import WebhookServer, emulator_env

CONCURRENCY = 64  # settings.dispatch_concurrency's default: sends one process has in flight
pytestmark = pytest.mark.slow


def _seed(factory: sessionmaker[Session], count: int, parties: int = 50) -> list[int]:
    """``count`` due SMS notices spread over ``parties`` parties, written in bulk."""
    now = datetime.now(UTC)
    with factory() as session, session.begin():
        party_ids = []
        for n in range(parties):
            case = Case(log_number=f"R-{n}", incident_date=date(2026, 10, 1), created_at=now, updated_at=now)
            session.add(case)
            session.flush()
            party = Party(
                case_id=case.id,
                role="complainant",
                full_name=f"Party {n}",
                phone=f"+1312555{n:04d}",
                language="en",
                channels=["sms"],
                created_at=now,
            )
            session.add(party)
            session.flush()
            party_ids.append((case.id, party.id, party.phone))
        rows = [
            {
                "idempotency_key": f"{case_id}:party{party_id}:outcome:{i}:sms",
                "case_id": case_id,
                "party_id": party_id,
                "recipient_kind": "party",
                "kind": "outcome",
                "channel": "sms",
                "language": "en",
                "to_address": phone,
                "context": {"case_id": case_id, "outcome": "successful"},
                "due_at": now,
                "status": "pending",
                "attempts": 0,
                "attachments": [],
                "created_at": now,
            }
            for i in range(count)
            for case_id, party_id, phone in [party_ids[i % parties]]
        ]
        session.execute(insert(Notification), rows)
    with factory() as session:
        return list(session.scalars(select(Notification.id).order_by(Notification.id)))


def _dispatcher(
    db_url: str, emulator_url: str, public_url: str, worker: str, log: Path, *extra: str
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMP_")}
    env.update(emulator_env(emulator_url, public_url))
    env.update(
        {
            "CMP_DATABASE_URL": db_url,
            "CMP_QUIET_HOURS_START": "0",
            "CMP_QUIET_HOURS_END": "0",
            "CMP_DISPATCH_INTERVAL_SECONDS": "0.05",
            "CMP_TWILIO_SENDER_TYPE": "short_code",  # paced at 100/s, shared by every process
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(dict(pair.split("=", 1) for pair in extra if "=" in pair and pair.startswith("CMP_")))
    extra = tuple(arg for arg in extra if not arg.startswith("CMP_"))
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "main.py", "dispatch", "--worker-id", worker, *extra],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def _wait_for(condition: object, timeout: float = 60.0) -> None:
    """Wait on an observable condition (not on time): poll it, give up after ``timeout``."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        pause.wait(0.005)


def test_four_dispatchers_send_each_of_1000_notices_exactly_once(
    db_url: str,
    session_factory: sessionmaker[Session],
    emulator: EmulatorClient,
    emulator_server: EmulatorHTTPServer,
    webhook_server: WebhookServer,
    tmp_path: Path,
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several dispatcher processes need PostgreSQL (SQLite has a single writer)")
    ids = _seed(session_factory, 1000)
    workers = [
        _dispatcher(
            db_url,
            emulator_server.url,
            webhook_server.url,
            f"racer-{n}",
            tmp_path / f"w{n}.log",
            "--until-idle",
            "--batch-size",
            "20",
        )
        for n in range(4)
    ]
    for worker in workers:
        assert worker.wait(timeout=120) == 0, (tmp_path / "w0.log").read_text()
    messages = emulator.messages()
    per_notice = Counter(m["notice"] for m in messages)
    assert len(messages) == 1000
    assert set(per_notice) == {str(i) for i in ids} and max(per_notice.values()) == 1
    with session_factory() as session:
        rows = session.execute(
            select(Notification.status, Notification.claimed_by, Notification.provider_message_id)
        ).all()
    assert {r.status for r in rows} == {"sent"}
    assert len({r.provider_message_id for r in rows}) == 1000
    # each process ends with its totals ("sent 250, retried 0, ..."): the work really was shared
    sent = [re.search(r"^sent (\d+),", log.read_text(), re.MULTILINE) for log in tmp_path.glob("w*.log")]
    assert len([m for m in sent if m is not None and int(m.group(1)) > 0]) >= 2


def test_killed_dispatcher_restarts_and_every_notice_is_delivered(
    db_url: str,
    session_factory: sessionmaker[Session],
    emulator: EmulatorClient,
    emulator_server: EmulatorHTTPServer,
    webhooks_live_system_clock: WebhookServer,
    tmp_path: Path,
) -> None:
    ids = _seed(session_factory, 150, parties=10)
    emulator.fault(channel="sms", delay_ms=15, times=None)  # slow provider: the kill lands mid-batch
    log = tmp_path / "dispatcher.log"
    webhooks_url = webhooks_live_system_clock.url
    first = _dispatcher(db_url, emulator_server.url, webhooks_url, "worker-1", log, "--batch-size", "50")
    _wait_for(lambda: emulator.stats()["requests"] >= 70)  # in the middle of the second batch
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL
    received_before_restart = emulator.stats()["count"]
    assert 0 < received_before_restart < 150
    with session_factory() as session:
        leased = len(session.scalars(select(Notification.id).where(Notification.status == "sending")).all())
    emulator.clear_faults()

    # The same worker comes back (systemd, a Kubernetes pod name): it expires its own old leases.
    second = _dispatcher(db_url, emulator_server.url, webhooks_url, "worker-1", log, "--until-idle")
    assert second.wait(timeout=60) == 0, log.read_text()

    messages = emulator.messages()
    per_notice = Counter(int(m["notice"]) for m in messages)
    assert set(per_notice) == set(ids)  # every notice was delivered
    duplicates = {notice for notice, n in per_notice.items() if n > 1}
    with session_factory() as session:
        assert set(session.scalars(select(Notification.status))) == {"sent"}
        in_doubt = set(
            session.scalars(
                select(AuditEvent.subject_id).where(AuditEvent.action == "notice.resent_in_doubt")
            )
        )
        found = set(
            session.scalars(
                select(AuditEvent.subject_id).where(AuditEvent.action == "notice.found_already_sent")
            )
        )
    # A worker has at most one accepted-but-unrecorded message per send in flight when it dies
    # (each record commits before its thread sends again). The restarted dispatcher asks Twilio
    # before sending a notice in doubt again, finds it and records it: nothing reaches anyone twice.
    assert duplicates == set()
    assert len(found) <= CONCURRENCY and not found & in_doubt
    assert 0 < len(in_doubt | found) == leased  # every row the dead worker held, and only those

    # Delivery reports bring the duplicate home: the orphan message's callback names the notice.
    results = emulator._post("status-callbacks", {"all": True, "status": "delivered"})["results"]
    assert {r["http_status"] for r in results} == {204}
    with session_factory() as session:
        detected = set(
            session.scalars(
                select(AuditEvent.subject_id).where(AuditEvent.action == "notice.duplicate_detected")
            )
        )
        delivered = set(session.scalars(select(Notification.status).where(Notification.kind == "outcome")))
        alerts = [
            n.context for n in session.scalars(select(Notification).where(Notification.kind == "staff_alert"))
        ]
    assert detected == duplicates
    assert delivered == {"delivered"}
    assert [a["alert"] for a in alerts] == ["duplicate_send"] * len(duplicates)  # staff are told
    logging.getLogger(__name__).warning(
        f"kill test: {received_before_restart} received before the kill, "
        f"{len(in_doubt | found)} reclaimed in doubt, {len(found)} of them found already sent, "
        f"duplicates: {sorted(duplicates) or 'none'}"
    )


def test_a_dispatcher_killed_with_several_sends_in_flight_sends_nothing_twice(
    db_url: str,
    session_factory: sessionmaker[Session],
    emulator: EmulatorClient,
    emulator_server: EmulatorHTTPServer,
    webhooks_live_system_clock: WebhookServer,
    tmp_path: Path,
) -> None:
    """Eight sends in flight, each held 300 ms by the provider, when the process is killed: the
    provider still accepts those it had received. The restarted worker finds every one of them
    at Twilio and records it; the rest it sends once."""
    ids = _seed(session_factory, 80, parties=10)
    emulator.fault(channel="sms", delay_ms=300, times=None)
    log = tmp_path / "dispatcher.log"
    url = webhooks_live_system_clock.url
    settings = ("CMP_DISPATCH_CONCURRENCY=8", "CMP_SMS_RATE_SHORT_CODE=1000")
    first = _dispatcher(db_url, emulator_server.url, url, "worker-1", log, *settings)

    def in_flight() -> int:
        stats = emulator.stats()
        return int(stats["requests"] - stats["count"] - stats["rejected"])

    _wait_for(lambda: emulator.stats()["count"] >= 8 and in_flight() >= 4)
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL
    _wait_for(lambda: in_flight() == 0)  # the provider has answered (into the void) all it held
    accepted_unrecorded = emulator.stats()["count"]
    emulator.clear_faults()
    with session_factory() as session:
        recorded = len(session.scalars(select(Notification.id).where(Notification.status == "sent")).all())
    assert accepted_unrecorded - recorded >= 2  # several sends were lost mid-flight

    second = _dispatcher(db_url, emulator_server.url, url, "worker-1", log, "--until-idle", *settings)
    assert second.wait(timeout=60) == 0, log.read_text()
    per_notice = Counter(int(m["notice"]) for m in emulator.messages())
    assert set(per_notice) == set(ids) and max(per_notice.values()) == 1  # each once, none twice
    with session_factory() as session:
        assert set(session.scalars(select(Notification.status))) == {"sent"}
        found = set(session.scalars(select(AuditEvent.subject_id)
                                    .where(AuditEvent.action == "notice.found_already_sent")))  # fmt: skip
    assert len(found) == accepted_unrecorded - recorded
