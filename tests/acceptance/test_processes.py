"""Real dispatcher processes: four racing over one PostgreSQL, and one killed mid-batch."""

from __future__ import annotations

import logging
import os
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
from notifiers.emulator import EmulatorClient, EmulatorHTTPServer
from tests.support import ROOT
from tests.support.notify import WebhookServer, emulator_env

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
            "PYTHONPATH": str(ROOT),
        }
    )
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "notifiers.dispatcher", "--worker-id", worker, *extra],
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
    shares = Counter(log.name for log in tmp_path.iterdir() if log.stat().st_size)
    assert len(shares) >= 2  # the work really was shared


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
    # A worker has at most one accepted-but-unrecorded message when it dies (each record commits
    # before the next send). The restarted dispatcher asks Twilio before sending a notice in doubt
    # again, finds it and records it: nothing reaches anyone twice.
    assert duplicates == set()
    assert len(found) <= 1 and not found & in_doubt
    assert 0 < len(in_doubt | found) <= 50

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
