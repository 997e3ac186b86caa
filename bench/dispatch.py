"""Notices per second through the whole outbox path, beside bare SDK calls, against the emulator.

    python bench/dispatch.py [--count 1000] [--backend sqlite|postgres] [--channel sms|email]

Both measurements run in this process against the same emulator (a separate process, as the
providers would be), after the same warm-up (one batch each), interleaved in rounds of ``--batch``
so that both see the same machine; each is sequential:

- **bare**: ``client.messages.create(...)`` (or SendGrid ``send``) in a loop, nothing else;
- **outbox**: due notices already in the database, drained by ``Dispatcher.run_once`` — claim
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), load the recipient, render the template, store the
  body, send through the same SDK, record the provider id in its own transaction.

Prints both rates and their ratio (target: outbox >= 0.8 x bare and >= 200 notices/s); that
comparison runs serially and unpaced (the machinery's own cost). With ``--latency-ms N`` one
dispatcher loop then sends ``--count`` more, concurrent and paced to the sender's configured rate
(``--sender``, from ``settings.py``), and the last line is ``throughput N/s, limit L/s, ratio R,
duplicates D`` (N from the emulator's receipt times; the zero-latency ratio beside it).
``--latency-ms N`` makes the emulator hold every send N ms, as a real provider's round trip would
(over the internet, typically 100 ms or more); the targets are for the emulator's own speed.

Measured 2026-11-25 on the 2-core KVM dev box, quiet (load < 0.8 before the runs), 1000 notices,
batch 100, durable pipelined records (since replaced, below), three runs each, bare/outbox per
second and ratio:

    sqlite/sms      968/729 0.75, 977/731 0.75, 986/749 0.76
    sqlite/email    1183/940 0.79, 1236/944 0.76, 1243/958 0.77
    postgres/sms    913/740 0.81, 932/739 0.79, 967/719 0.74
    postgres/email  1255/842 0.67, 1300/845 0.66, 1305/862 0.66
    --latency-ms 20 (300 notices): 0.98, 0.98, 0.97, 0.98 (about 45/s either way)

Every rate is far above 200/s; the 0.8 ratio is met only by PostgreSQL SMS in some runs. Where the
rest goes, measured with this harness and the dispatcher patched one piece at a time (bare sends
cost 750-1050 us here, most of it the SDKs' own Python):

- the claim (select, recipients, rendering, lease) costs 80-140 us a notice and slows the sends
  after it by a further 40-70 us (their caches are cold): with records replaced by nothing the
  ratio is 0.86 (SQLite SMS), 0.80 (SQLite email), 0.85 and 0.84 (PostgreSQL);
- the per-message ``sent`` record costs the rest, 0.09-0.15 of the ratio. On PostgreSQL that is
  the round trip itself: a record that is a bare ``SELECT`` of its four parameters, writing
  nothing, costs as much as the real UPDATE (0.70 against 0.69 for email), asynchronous commit
  gains 0.01, and the next send runs ~150 us slower whenever a round trip to PostgreSQL sat
  between two sends, pipelined or not. On SQLite an append to a narrow side table instead of the
  UPDATE (two fewer indexes) would gain ~0.04, at the price of a second place where "sent" lives.

So the target needs both near zero, and the record can only get there by recording several
messages per round trip, which widens what a crash can send twice from one or two messages to
a batch. We keep one durable record per message: a text sent twice is a real harm, COPA sends a
few hundred notices a month, and at any real provider latency the outbox costs 2-3%.

2026-12-01: the record is now one ordinary SQLAlchemy ``UPDATE`` committed before the next send
(autocommit on PostgreSQL), on both backends. The pipelined ``psycopg.pq`` record it replaces
(prepared once per connection, remembered process-wide) was wrong on a shared pool: any request
rolling back on a connection made psycopg ``DEALLOCATE ALL``, the next batch on it failed and its
notices were resent after the lease. Old against new, interleaved, 500 notices, on this box while
it was shared (load 4-8 on 2 cores: rates a fifth to a tenth of the quiet ones above, so the
ratios are rough): PostgreSQL SMS 0.68-0.80 -> 0.46-0.51, email 0.52-0.65 -> 0.26-0.49; SQLite
within the noise (0.7-1.0 either way); with ``--latency-ms 20``, 0.83-0.84 (PostgreSQL, new). On
PostgreSQL the record's round trip and WAL flush now sit between two sends instead of beside the
next one: the price of at most one message in doubt after a crash, and of no driver internals.

2026-12-01, concurrent paced sending (``--latency-ms 200``: the last line, ``throughput N/s,
limit L/s, ratio R, duplicates D``, L the configured short-code rate, 100/s; one dispatcher
process, 1000 notices to 50 parties). Measured on the shared box under load 14-16 on 2 cores (bare
SDK calls ran at 107-140/s against ~950/s quiet: the machine was 7-9 times oversubscribed, so
these are floors): concurrency 32, SQLite 73.9/s R 0.74, PostgreSQL 65.5/s R 0.65; concurrency
64 (now the default), SQLite 89.0/s R 0.89 and 84.3/s R 0.84, PostgreSQL 58.3/s R 0.58 and
63.7/s R 0.64; D = 0 in every run. Unpaced
(``--limit 1000``) the loop reached 78.5/s at 32 in flight and 129.6/s at 64: under this load the
bound was sends in flight (each cost ~0.4 s, not 0.2), not the pacing. R >= 0.9 was not shown on
this box. Long code (``--sender long_code --count 20``): 1.0/s, at most 1 message received in any
one second. Before this change: 4.8/s, R ~ 0.05.

Earlier changes measured here (interleaved A/B runs): the record through ``psycopg.pq`` (a
prepared statement and a Sync) instead of ``Cursor.execute`` in a psycopg ``Pipeline``: PostgreSQL
email 0.66 -> 0.69 (``rest`` of a notice 236 -> 200 us; since replaced, above). Not kept: a
two-query claim that walks the due index to the batch size (PostgreSQL SMS 0.80 -> 0.73 here, for
a gain only with large backlogs); a thread for SQLite records (0.76 -> 0.71: GIL hand-offs); not
storing the HTML part (< 0.01); recipients joined into the claim's select (no change);
``gc.freeze()`` after start-up and a larger first-generation threshold (+0.02-0.03 on SQLite SMS;
process-wide tuning for a benchmark). Earlier passes (git log of this file) took the ratio from
0.46-0.70 to about here.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import Engine, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from cases.clock import FixedClock, SystemClock  # noqa: E402
from cases.database import make_engine, make_session_factory, upgrade  # noqa: E402
from cases.models import Case, Notification, Party  # noqa: E402
from emulator import EmulatorClient, EmulatorConfig  # noqa: E402
from notifiers.channels.base import Channel, OutgoingMessage  # noqa: E402
from notifiers.channels.sendgrid_email import SendGridEmailNotifier  # noqa: E402
from notifiers.channels.twilio_sms import TwilioSmsNotifier  # noqa: E402
from notifiers.compose.context import ProgramInfo  # noqa: E402
from notifiers.compose.rendering import Renderer  # noqa: E402
from notifiers.outbox.dispatcher import Dispatcher  # noqa: E402
from notifiers.outbox.loop import run_dispatcher  # noqa: E402
from notifiers.outbox.pacing import Pacer, sendgrid_sender, twilio_sender  # noqa: E402
from notifiers.outbox.policy import DispatchPolicy  # noqa: E402
from settings import Settings  # noqa: E402

CONFIG = EmulatorConfig()
FROM = "+13125550100"
POSTGRES = os.environ.get("CMP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.readline()  # "emulator listening on ..."
    return process, f"http://127.0.0.1:{port}"


def database(backend: str, workdir: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
        upgrade(url)
        return url, None
    name = f"cmp_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(POSTGRES).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url, name


def seed(url: str, count: int, channel: Channel, now: datetime, tag: str = "B") -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        parties = []
        for n in range(50):
            case = Case(log_number=f"{tag}-{n}", incident_date=date(2026, 10, 1), created_at=now,
                        updated_at=now)  # fmt: skip
            session.add(case)
            session.flush()
            party = Party(
                case_id=case.id, role="complainant", full_name=f"Party {n}", phone=f"+1312555{n:04d}",
                email=f"party{n}@example.org", language=("en", "es", "pl", "zh", "ar")[n % 5],
                channels=[channel.value], created_at=now,
            )  # fmt: skip
            session.add(party)
            session.flush()
            parties.append(party)
        rows = []
        for i in range(count):
            party = parties[i % len(parties)]
            rows.append(
                {
                    "idempotency_key": f"{tag}:{party.case_id}:party{party.id}:outcome:{i}:{channel.value}",
                    "case_id": party.case_id, "party_id": party.id, "recipient_kind": "party",
                    "kind": "outcome", "channel": channel.value, "language": party.language,
                    "to_address": party.phone if channel is Channel.SMS else party.email,
                    "context": {"case_id": party.case_id, "outcome": "successful"}, "due_at": now,
                    "status": "pending", "attempts": 0, "attachments": [], "created_at": now,
                }
            )  # fmt: skip
        session.execute(insert(Notification), rows)
    engine.dispose()


def notifier(channel: Channel, base_url: str) -> TwilioSmsNotifier | SendGridEmailNotifier:
    if channel is Channel.SMS:
        return TwilioSmsNotifier(
            account_sid=CONFIG.twilio_account_sid, auth_token=CONFIG.twilio_auth_token, from_number=FROM,
            status_callback_url="https://cmp.example.org/webhooks/twilio/status", base_url=base_url,
        )  # fmt: skip
    return SendGridEmailNotifier(
        api_key=CONFIG.sendgrid_api_key, from_email="cmp@example.org", base_url=base_url
    )


Payload = tuple[str, str | None, str, str | None]
"""(to, subject, text, html) of one message the outbox really sent."""


def sent_payloads(engine: Engine, channel: Channel) -> list[Payload]:
    """The messages the warm-up sent (every language of the seed), for bare to send again: both
    measurements then carry the same bytes, and the ratio compares machinery, not message size."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Notification.to_address, Notification.subject, Notification.body_text,
                   Notification.body_html)
            .where(Notification.status == "sent", Notification.channel == channel.value)
        ).all()
    return [(r[0], r[1], r[2] or "", r[3]) for r in rows]


def bare_seconds(sender: TwilioSmsNotifier | SendGridEmailNotifier, count: int, offset: int,
                 payloads: list[Payload]) -> float:  # fmt: skip
    """The SDK alone: the same client object the outbox uses, one call per message."""
    channel = sender.channel
    started = time.perf_counter()
    if isinstance(sender, TwilioSmsNotifier):
        client, callback = sender._client, sender.status_callback_for
        for i in range(offset, offset + count):
            to, _, text, _ = payloads[i % len(payloads)]
            client.messages.create(to=to, from_=FROM, body=text, status_callback=callback(i))
    else:
        for i in range(offset, offset + count):
            to, subject, text, html = payloads[i % len(payloads)]
            sender._client.send(sender.build(OutgoingMessage(i, channel, to, text, subject, html)))
    return time.perf_counter() - started


def make_dispatcher(engine: Engine, sender: TwilioSmsNotifier | SendGridEmailNotifier, now: datetime,
                    batch: int, concurrency: int = 1, rate: float | None = None) -> Dispatcher:  # fmt: skip
    """The outbox as the service wires it; with ``rate``, paced to it on the real clock (the
    dispatcher's own clock stays fixed at ``now``, so the seeded notices are due)."""
    stopping = threading.Event()
    paced = rate is not None
    identity = None
    if rate is not None:
        identity = (twilio_sender(FROM, rate) if sender.channel is Channel.SMS
                    else sendgrid_sender(CONFIG.sendgrid_api_key, rate))  # fmt: skip
    return Dispatcher(
        make_session_factory(engine),
        {sender.channel: sender},
        FixedClock(now),
        renderer=Renderer(),
        program=ProgramInfo("Community Mediation Program", "+13127463594", "cmp@example.org",
                            "https://cmp.example.org", "secret" * 8),
        worker_id="bench",
        policy=DispatchPolicy(batch_size=batch, concurrency=concurrency),
        senders={sender.channel: identity} if identity is not None else None,
        pacer=Pacer(engine, SystemClock(), stopping.wait) if paced else None,
        stopping=stopping,
    )  # fmt: skip


def outbox_seconds(dispatcher: Dispatcher, count: int) -> float:
    """Drain ``count`` due notices: claim, render, send, record."""
    sent = 0
    started = time.perf_counter()
    while sent < count:
        report = dispatcher.run_once()
        if report.touched == 0:
            raise SystemExit(f"only {sent} of {count} notices were sent")
        sent += report.sent
    return time.perf_counter() - started


RATE_SETTING = {"long_code": "sms_rate_long_code", "toll_free": "sms_rate_toll_free",
                "short_code": "sms_rate_short_code"}


def configured(name: str) -> Any:
    """A setting's default, from ``settings.py`` (the one place rates are written down)."""
    return Settings.model_fields[name].default


def paced_run(url: str, sender: TwilioSmsNotifier | SendGridEmailNotifier, control: EmulatorClient,
              now: datetime, count: int, batch: int, concurrency: int,
              rate: float) -> tuple[float, int, int]:  # fmt: skip
    """``count`` due notices drained by one dispatcher loop (``run_dispatcher``), paced to
    ``rate``: (seconds per message at the provider, duplicates, most receipts in any second)."""
    seed(url, count, sender.channel, now, tag="P")
    engine = make_engine(url)
    dispatcher = make_dispatcher(engine, sender, now, batch, concurrency, rate)
    since = control.stats()["count"]
    totals = run_dispatcher(dispatcher, threading.Event(), until_idle=True)
    engine.dispose()
    messages = control.messages(since)
    if totals.sent != count or len(messages) != count:
        raise SystemExit(f"paced run: {totals.sent} sent, {len(messages)} received of {count}: {totals}")
    notices = [m["notice"] for m in messages]
    duplicates = len(notices) - len(set(notices))
    receipts = sorted(m["received_at"] for m in messages)
    per_second = max(Counter(int(t) for t in receipts).values())
    # the sustained rate at the provider: count - 1 intervals between the first and last receipt
    return (receipts[-1] - receipts[0]) / (count - 1), duplicates, per_second


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--channel", choices=["sms", "email"], default="sms")
    parser.add_argument("--batch", type=int, default=100, help="dispatcher batch size and round size")
    parser.add_argument("--latency-ms", type=int, default=0,
                        help="then also: the emulator holds every send this long before answering, "
                             "as a real provider's round trip would, and one dispatcher sends "
                             "--count notices paced to the sender's configured rate")
    parser.add_argument("--sender", choices=sorted(RATE_SETTING), default="short_code",
                        help="the Twilio sender type whose configured rate paces the SMS run")
    parser.add_argument("--concurrency", type=int, default=configured("dispatch_concurrency"))
    parser.add_argument("--limit", type=float, default=None,
                        help="pace to this rate instead of the sender type's configured one")
    args = parser.parse_args()
    channel = Channel(args.channel)
    now = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # 10:00 in Chicago: outside quiet hours
    emulator, base_url = start_emulator()
    workdir = Path(tempfile.mkdtemp(prefix="cmp-bench-"))
    url, pg_name = database(args.backend, workdir)
    control = EmulatorClient(base_url)
    try:
        seed(url, args.count + args.batch, channel, now)  # one batch more, for the warm-up
        engine = make_engine(url)
        sender = notifier(channel, base_url)
        # The machinery at the emulator's own speed: serial, unpaced, against bare SDK calls.
        dispatcher = make_dispatcher(engine, sender, now, args.batch)
        # The same warm-up for both: connections, templates, compiled statements. The outbox
        # goes first so that bare can send exactly what it sent.
        outbox_seconds(dispatcher, args.batch)
        payloads = sent_payloads(engine, channel)
        bare_seconds(sender, args.batch, 10**6, payloads)
        control.reset()
        # Interleave the two in rounds so that both see the same machine (other load comes
        # and goes on a shared 2-core box); sum the times.
        rounds = max(1, args.count // args.batch)
        bare_time = outbox_time = 0.0
        for r in range(rounds):
            bare_time += bare_seconds(sender, args.batch, 10**7 + r * args.batch, payloads)
            outbox_time += outbox_seconds(dispatcher, args.batch)
        engine.dispose()
        stats = control.stats()
        assert stats["count"] == 2 * rounds * args.batch and stats["distinct_notices"] == stats["count"], (
            stats
        )
        bare = rounds * args.batch / bare_time
        outbox = rounds * args.batch / outbox_time
        ratio = outbox / bare
        print(f"backend={args.backend} channel={channel.value} notices={args.count}")
        print(f"bare SDK calls : {bare:8.1f} /s")
        print(f"outbox path    : {outbox:8.1f} /s")
        print(f"ratio          : {ratio:8.2f}  (zero latency, serial; target >= 0.80, and outbox >= 200/s)")
        if not args.latency_ms:
            if ratio < 0.8 or outbox < 200:
                print("BELOW TARGET")
            return
        limit = args.limit or float(configured(RATE_SETTING[args.sender]) if channel is Channel.SMS
                                    else configured("email_rate_per_second"))  # fmt: skip
        control.reset()
        control.fault(channel=channel.value, delay_ms=args.latency_ms, times=None)
        seconds, duplicates, per_second = paced_run(url, sender, control, now, args.count, args.batch,
                                                    args.concurrency, limit)  # fmt: skip
        throughput = 1 / seconds
        print(f"paced run      : {args.count} notices, provider latency {args.latency_ms} ms, "
              f"{args.sender if channel is Channel.SMS else 'sendgrid key'}, concurrency {args.concurrency}, "
              f"at most {per_second} received in any one second")
        print(f"throughput {throughput:.1f}/s, limit {limit:g}/s, ratio {throughput / limit:.2f}, "
              f"duplicates {duplicates}  (zero-latency ratio {ratio:.2f})")
    finally:
        control.close()
        emulator.terminate()
        emulator.wait()
        if pg_name:
            admin = make_url(POSTGRES).set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
