"""Reminder lateness: from a notice's due time (or the staff click that wrote it) to the
provider's receipt, through the running dispatcher loop, against the emulator.

    python bench/lateness.py [--backend sqlite|postgres] [--latency-ms 200] [--sender short_code]

One dispatcher loop (``run_dispatcher``, as the worker runs it: woken by new notices, sleeping
until the next due one, the poll at ``settings.dispatch_interval_seconds``) on the real clock,
paced to the sender's configured rate. Three workloads, one after another:

- **clicks**: staff press "send reminder now" 30 times, one every 0.1-0.9 s; each writes one SMS
  due at once (in another engine on PostgreSQL, as another process would; this process's own on
  SQLite, as ``main.py serve`` does);
- **scheduled**: 30 reminders written ahead, due 1-8 s later at scattered times;
- **burst**: 40 reminders due at the same instant (sessions starting in the same half hour).

Lateness is the emulator's receipt time minus the due time (or the click's commit); the provider's
round trip (``--latency-ms``) is part of it, as it is of what a party waits. Target: p99 < 1 s.
The burst's tail is bounded by the sender's rate (40 at 100/s: 0.4 s), not by the loop.

Measured 2026-12-01 on the shared box under load 12-16 on 2 cores (7-9 times oversubscribed),
overall p50 / p99 (clicks' p99, burst's p99):

    concurrency 32  sqlite    0.303 / 1.280 (1.084, 1.459);  0.290 / 0.710 (1.190, 0.710)
                    postgres  0.410 / 1.643 (2.316, 1.176);  0.421 / 1.455 (1.670, 1.455)
    concurrency 64  sqlite    0.280 / 0.961 (0.451, 0.961)   (load 13.8)
                    postgres  0.350 / 0.947 (0.623, 0.965)   (load 12.5)

The medians are the provider's 200 ms plus 30-200 ms. The p99 < 1 s target was met in the one
run each at the default concurrency (64), narrowly; under this load it is not a margin to rely
on (the tails are single clicks or the burst's last sends delayed by the CPU queue).
Before: p50 2.4 s, p99 4.9 s at the 5 s poll; a burst of 40 reached p99 11 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from bench.dispatch import (  # noqa: E402
    FROM,
    POSTGRES,
    RATE_SETTING,
    configured,
    database,
    notifier,
    start_emulator,
)
from cases.clock import SystemClock  # noqa: E402
from cases.database import make_engine, make_session_factory  # noqa: E402
from cases.models import Case, Notification, Party  # noqa: E402
from emulator import EmulatorClient  # noqa: E402
from notifiers.channels.base import Channel  # noqa: E402
from notifiers.compose.context import ProgramInfo  # noqa: E402
from notifiers.compose.rendering import Renderer  # noqa: E402
from notifiers.outbox.dispatcher import Dispatcher  # noqa: E402
from notifiers.outbox.loop import run_dispatcher  # noqa: E402
from notifiers.outbox.pacing import Pacer, twilio_sender  # noqa: E402
from notifiers.outbox.policy import DispatchPolicy  # noqa: E402
from notifiers.wiring import build_wakeup  # noqa: E402


def parties(factory: sessionmaker[Session], count: int) -> list[Party]:
    now = datetime.now(UTC)
    with factory() as session, session.begin():
        found = []
        for n in range(count):
            case = Case(log_number=f"L-{n}", incident_date=date(2026, 10, 1), created_at=now, updated_at=now)
            session.add(case)
            session.flush()
            party = Party(case_id=case.id, role="complainant", full_name=f"Party {n}",
                          phone=f"+1312555{n:04d}", language="en", channels=["sms"],
                          created_at=now)  # fmt: skip
            session.add(party)
            session.flush()
            found.append(party)
        session.expunge_all()
        return found


def write(factory: sessionmaker[Session], party: Party, due: datetime, key: str) -> None:
    """One reminder-like SMS notice, committed (what a staff click or the planner writes)."""
    with factory() as session, session.begin():
        session.execute(insert(Notification), [{
            "idempotency_key": key, "case_id": party.case_id, "party_id": party.id,
            "recipient_kind": "party", "kind": "outcome", "channel": "sms", "language": "en",
            "to_address": party.phone, "context": {"case_id": party.case_id, "outcome": "successful"},
            "due_at": due, "status": "pending", "attempts": 0, "attachments": [], "created_at": due,
        }])  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--sender", choices=sorted(RATE_SETTING), default="short_code")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    emulator, base_url = start_emulator()
    workdir = Path(tempfile.mkdtemp(prefix="cmp-lateness-"))
    url, pg_name = database(args.backend, workdir)
    control = EmulatorClient(base_url)
    engine = make_engine(url)
    writer_engine = make_engine(url) if args.backend == "postgres" else engine
    stop = threading.Event()
    try:
        factory, writer = make_session_factory(engine), make_session_factory(writer_engine)
        people = parties(factory, 50)
        control.fault(channel="sms", delay_ms=args.latency_ms, times=None)
        rate = float(configured(RATE_SETTING[args.sender]))
        stopping = threading.Event()
        clock = SystemClock()
        dispatcher = Dispatcher(
            factory, {Channel.SMS: notifier(Channel.SMS, base_url)}, clock, renderer=Renderer(),
            program=ProgramInfo("Community Mediation Program", "+13127463594", "cmp@example.org",
                                "https://cmp.example.org", "secret" * 8),
            worker_id="lateness",
            policy=DispatchPolicy(batch_size=configured("dispatch_batch_size"), quiet_hours_start=0,
                                  quiet_hours_end=0, concurrency=configured("dispatch_concurrency")),
            senders={Channel.SMS: twilio_sender(FROM, rate)}, pacer=Pacer(engine, clock, stopping.wait),
            stopping=stopping,
        )  # fmt: skip
        wakeup = build_wakeup(engine)
        loop = threading.Thread(target=run_dispatcher, args=(dispatcher, stop), kwargs={
            "idle_wait": configured("dispatch_interval_seconds"), "wakeup": wakeup})  # fmt: skip
        loop.start()
        due: dict[str, datetime] = {}  # idempotency key -> when it was due (or clicked)
        pause = threading.Event()

        def drain(expected: int) -> None:
            deadline = datetime.now(UTC) + timedelta(seconds=120)
            while control.stats()["count"] < expected:
                if datetime.now(UTC) > deadline:
                    raise SystemExit(f"only {control.stats()['count']} of {expected} received")
                pause.wait(0.05)

        workloads: dict[str, list[str]] = {"clicks": [], "scheduled": [], "burst": []}
        for n in range(30):  # staff clicks
            pause.wait(rng.uniform(0.1, 0.9))
            key = f"click-{n}"
            write(writer, people[n % 50], datetime.now(UTC), key)
            due[key] = datetime.now(UTC)  # the click returns once the notice is committed
            workloads["clicks"].append(key)
        drain(30)
        start = datetime.now(UTC)
        for n in range(30):  # written ahead, due at scattered times
            key = f"scheduled-{n}"
            due[key] = start + timedelta(seconds=rng.uniform(1, 8))
            write(writer, people[n % 50], due[key], key)
            workloads["scheduled"].append(key)
        drain(60)
        instant = datetime.now(UTC) + timedelta(seconds=2)
        for n in range(40):
            key = f"burst-{n}"
            due[key] = instant
            write(writer, people[n % 50], instant, key)
            workloads["burst"].append(key)
        drain(100)
        stop.set()
        loop.join(timeout=30)
        wakeup.close()
        with factory() as session:
            ids = dict(session.query(Notification.id, Notification.idempotency_key).all())
        received = {ids[int(m["notice"])]: m["received_at"] for m in control.messages()}
        duplicates = len(control.messages()) - len(received)
        print(f"backend={args.backend} provider latency={args.latency_ms} ms sender={args.sender} "
              f"({rate:g}/s) poll={configured('dispatch_interval_seconds')} s duplicates={duplicates}")
        everything: list[float] = []
        for name, keys in workloads.items():
            late = [received[k] - due[k].timestamp() for k in keys]
            everything += late
            print(f"{name:10s} n={len(late):3d}  p50 {statistics.median(late):6.3f} s  "
                  f"p99 {percentile(late, 0.99):6.3f} s  max {max(late):6.3f} s")
        print(f"lateness p50 {statistics.median(everything):.3f} s, p99 {percentile(everything, 0.99):.3f} s "
              f"(target p99 < 1 s)")
    finally:
        stop.set()
        control.close()
        emulator.terminate()
        emulator.wait()
        engine.dispose()
        if writer_engine is not engine:
            writer_engine.dispose()
        if pg_name:
            admin = make_url(POSTGRES).set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
