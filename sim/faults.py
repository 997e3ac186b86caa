"""Faults, each arriving at seeded random moments, and the counts of those injected and survived.

Provider faults go through the emulator's own controls (5xx, 429 with Retry-After, a dropped
request, an accepted send whose answer is lost). A dispatcher killed mid-batch and two workers at
once are played in-process, deterministically: a notifier wrapper raises a crash after the
provider has accepted a message (the lease then lapses, as a dead worker's does), or runs a second
worker's whole batch while the first one is mid-send. Dropped database connections are closed
under the pool; mediators' calendars fail, come back malformed or hostile (an expansion bomb);
DST changes are counted as the clock crosses them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from calendars.base import CalendarSourceError
from calendars.feeds import parse_busy
from calendars.intervals import IntervalSet
from notifiers.channels.base import Notifier, OutgoingMessage, Receipt
from sim.state import Sim

if TYPE_CHECKING:
    from notifiers.outbox.dispatcher import Dispatcher


class SimulatedCrash(BaseException):
    """A worker dying: not an ``Exception``, so nothing in the service catches it."""


class CrashingNotifier:
    """Sends through the real notifier, then dies before the dispatcher records the result."""

    def __init__(self, inner: Notifier, after: int) -> None:
        self.inner, self.left = inner, after
        self.channel = inner.channel

    def send(self, message: OutgoingMessage) -> Receipt:
        receipt = self.inner.send(message)
        self.left -= 1
        if self.left <= 0:
            raise SimulatedCrash(f"worker killed after notice {message.notice_id} was accepted")
        return receipt

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


class InterleavingNotifier:
    """Before its first send, lets a second worker run a whole batch: two workers at once."""

    def __init__(self, inner: Notifier, other: Callable[[], object]) -> None:
        self.inner, self.other = inner, other
        self.channel = inner.channel

    def send(self, message: OutgoingMessage) -> Receipt:
        other, self.other = self.other, lambda: None
        other()
        return self.inner.send(message)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


class FailingCalendar:
    def busy(self, start: datetime, end: datetime) -> IntervalSet:
        raise CalendarSourceError("the calendar server answered 503")


class FeedCalendar:
    """A feed whose body is what the mediator's calendar serves: read by the real parser."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def busy(self, start: datetime, end: datetime) -> IntervalSet:
        return parse_busy(self.body, start, end)


MALFORMED = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:2027-13-45T99\r\nEND:VCALENDAR\r\n"
HOSTILE = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//x//EN\r\nBEGIN:VEVENT\r\n"
           b"UID:bomb@x\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270101T000000Z\r\n"
           b"DTEND:20270101T000001Z\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def _provider(sim: Sim, name: str, **fault: object) -> None:
    sim.world.emulator.fault(**fault)  # type: ignore[arg-type]
    sim.faults.count(name)


def inject(sim: Sim) -> None:
    """Called once a simulated hour: each fault starts with its chance."""
    rng, rates = sim.rng, sim.fault_rates
    channel = rng.choice(("sms", "email"))
    if rng.random() < rates.provider_5xx:
        _provider(sim, "provider 5xx", channel=channel, status=rng.choice((500, 503)),
                  times=rng.randint(1, 3))
    if rng.random() < rates.provider_429:
        _provider(sim, "provider 429 Retry-After", channel=channel, status=429,
                  times=rng.randint(1, 5))
    if rng.random() < rates.answer_lost:
        sim.world.emulator.answer_fault(mode="lost", channel=channel)
        sim.faults.count(f"accepted, answer lost ({channel})")
    if rng.random() < rates.request_dropped:
        sim.world.emulator.answer_fault(mode="dropped", channel=channel)
        sim.faults.count("request timed out unsent")
    if rng.random() < rates.db_connection_dropped:
        drop_connections(sim)
    for kind, chance in (("fails", rates.calendar_fails), ("malformed", rates.calendar_malformed),
                         ("hostile", rates.calendar_hostile)):
        if rng.random() < chance and sim.world.calendars:
            mediator_id = rng.choice(sorted(sim.world.calendars))
            sim.broken_calendars[mediator_id] = (kind, sim.now() + timedelta(days=rng.uniform(1, 5)))
            sim.faults.count(f"calendar {kind}")


def calendar_for(sim: Sim, mediator_id: int) -> object:
    """The mediator's calendar as the service reads it now (broken for a while, then healed)."""
    broken = sim.broken_calendars.get(mediator_id)
    if broken is not None and broken[1] > sim.now():
        return {"fails": FailingCalendar(), "malformed": FeedCalendar(MALFORMED),
                "hostile": FeedCalendar(HOSTILE)}[broken[0]]
    return sim.world.calendars.get(mediator_id)


def dispatch(sim: Sim) -> str | None:
    """One dispatch round, sometimes with a worker killed mid-batch or two workers at once.
    Returns the fault played, if any."""
    rng, rates, world = sim.rng, sim.fault_rates, sim.world
    if rng.random() < rates.crash_mid_batch:
        crashing = {c: CrashingNotifier(n, rng.randint(1, 5)) for c, n in world.notifiers.items()}
        worker = world.new_dispatcher("sim-worker-crashing", crashing)  # type: ignore[arg-type]
        try:
            worker.run_once()
        except SimulatedCrash:
            sim.faults.count("dispatcher killed mid-batch")
            return "crash"
        return None
    if rng.random() < rates.two_workers:
        second: Dispatcher = world.new_dispatcher("sim-worker-2")
        both = {c: InterleavingNotifier(n, second.run_once) for c, n in world.notifiers.items()}
        first = world.new_dispatcher("sim-worker-3", both)  # type: ignore[arg-type]
        first.run_once()
        sim.faults.count("two workers at once")
        return "two"
    return None


def drop_connections(sim: Sim) -> None:
    """Every pooled connection dies under the service (PostgreSQL: the server ends the
    backends; SQLite: the pool's connections are closed)."""
    from sqlalchemy import text

    engine = sim.world.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            conn.commit()
            conn.invalidate()
    else:
        engine.pool.dispose()
    sim.faults.count("database connections dropped")


def count_dst(sim: Sim, before: datetime, after: datetime) -> None:
    zone = sim.zone
    if before.astimezone(zone).utcoffset() != after.astimezone(zone).utcoffset():
        sim.faults.count("DST change")
