"""Leader election: one active scheduler, a standby that takes over when it dies, no double sends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cases import referrals, service
from cases.clock import FixedClock
from cases.database import transaction
from cases.models import AuditEvent, Case, Notification
from scheduler.booking import book
from scheduler.leader import lock_for
from tests.support import ROOT
from tests.support.booking import POLICY, RULES, SLOT_START, option
from tests.support.factories import make_mediator_row, make_scheduling_case, make_venue_row


def wait_for(condition: Callable[[], object], what: str, timeout: float = 20.0) -> float:
    """Poll an observable condition until it holds; return how long it took. Never a fixed sleep."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - start


def test_one_lock_holder_at_a_time(engine: Engine) -> None:
    first, second = lock_for(engine), lock_for(engine)
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert first.still_held() and not second.still_held()
        first.release()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()


class Workers:
    def __init__(self, url: str, tmp: Path, clock_file: Path) -> None:
        self.url, self.tmp, self.clock_file = url, tmp, clock_file
        self.log = tmp / "sent.log"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with open(self.tmp / f"{name}.err", "wb") as errors:  # the child keeps its own copy
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "tests.support.leader_child", "--url", self.url,
                 "--clock", str(self.clock_file), "--log", str(self.log),
                 "--status", str(self.status_path(name)), "--worker", name],
                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors)

    def status_path(self, name: str) -> Path:
        return self.tmp / f"{name}.status.json"

    def role(self, name: str) -> str | None:
        try:
            return str(json.loads(self.status_path(name).read_text())["role"])
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def sends(self) -> Counter[int]:
        if not self.log.exists():
            return Counter()
        return Counter(int(line.split()[0]) for line in self.log.read_text().splitlines())

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(db_url: str, tmp_path: Path) -> Iterator[Workers]:
    group = Workers(db_url, tmp_path, tmp_path / "clock.txt")
    yield group
    group.stop_all()


@pytest.mark.slow
def test_standby_takes_over_within_30_s_and_nothing_is_sent_twice(
        workers: Workers, session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        row = book(db, make_scheduling_case(db, now),
                   option(make_mediator_row(db, now), make_venue_row(db, now)), RULES, now=now, actor="staff")
        waiting = service.add_case(db, service.NewCase(
            log_number="LOG-LEADER", incident_date=now.date() - timedelta(days=20),
            allegation_categories=["unprofessionalism"],
            parties=[service.NewParty(role="complainant", full_name="C", email="c@example.org"),
                     service.NewParty(role="officer", full_name="O", email="o@example.org",
                                      officer_star="31337")]), POLICY, now=now, actor="staff")
        referrals.decide(db, waiting, eligible=True, reason=None, policy=POLICY, now=now,
                         actor="staff")
        session_id, waiting_id = row.id, waiting.id

    def set_clock(at: datetime) -> None:
        workers.clock_file.write_text(at.isoformat())

    def elected(name: str) -> bool:
        with session_factory() as db:
            return db.scalar(select(AuditEvent.id).where(
                AuditEvent.action == "scheduler.elected", AuditEvent.actor == name)) is not None

    def all_due_sent() -> bool:
        at = datetime.fromisoformat(workers.clock_file.read_text())
        with session_factory() as db:
            due = db.scalars(select(Notification.status).where(Notification.due_at <= at)).all()
        return bool(due) and set(due) <= {"sent", "cancelled"}

    set_clock(now)
    workers.start("alpha")
    wait_for(lambda: elected("alpha"), "alpha to become the active scheduler")
    workers.start("beta")
    wait_for(lambda: workers.role("beta") == "standby", "beta to start as a standby")
    wait_for(all_due_sent, "confirmations and consent requests to go out")
    set_clock(SLOT_START - timedelta(hours=23))  # the 7-day to 1-day reminders fall due
    wait_for(all_due_sent, "the due reminders to go out")
    assert workers.role("alpha") == "active" and workers.role("beta") == "standby"

    workers.procs["alpha"].send_signal(signal.SIGKILL)  # the leader dies while idle
    workers.procs["alpha"].wait()
    takeover = wait_for(lambda: elected("beta"), "beta to take over", timeout=30.0)
    print(f"\ntakeover after SIGKILL: {takeover:.2f} s")  # noqa: T201

    set_clock(SLOT_START - timedelta(hours=1))  # the 2 h SMS, sent by the survivor alone
    wait_for(all_due_sent, "the last-minute SMS to go out")
    set_clock(now + POLICY.consent_deadline + timedelta(days=1))  # a leader-only job's work
    wait_for(lambda: _state(session_factory, waiting_id) == "returned" and all_due_sent(),
             "the new leader to expire the unanswered consent and tell staff")

    workers.stop_all()
    sends = workers.sends()
    with session_factory() as db:
        rows = db.scalars(select(Notification)).all()
        sent_ids = {n.id for n in rows if n.status == "sent"}
        reminders = {n.id for n in rows if n.kind == "reminder" and n.session_id == session_id}
        alert = [n for n in rows if n.kind == "staff_alert"]
    assert max(sends.values()) == 1, "a notice was sent twice"
    assert set(sends) == sent_ids == {n.id for n in rows}
    assert len(reminders) == 3 * 3 + 2 + 1 and reminders <= sent_ids  # see test_reminders
    assert [a.context["alert"] for a in alert] == ["case_returned"]


def _state(factory: sessionmaker[Session], case_id: int) -> str:
    with factory() as db:
        case = db.get(Case, case_id)
        return case.state if case is not None else ""
