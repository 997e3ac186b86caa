"""The simulation loop: one step is one simulated hour.

In each step the people's and staff's actions that fall due run at their own instants; then, at
the hour, faults may start, the scheduler's jobs run (consent expiry, reminder plans, the
matcher every three hours, the daily digest, staff's morning sweep), the outbox is dispatched
through the real SDKs to the emulator, the provider's delivery reports come back through the
webhooks, and every invariant is checked. Nothing sleeps; the clock only moves when told.
"""

from __future__ import annotations

import heapq
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.database import transaction
from cases.errors import DomainError
from cases.models import (
    AvailabilityWindow,
    Case,
    CaseState,
    MediationSession,
    Notification,
    NotificationStatus,
    Party,
    PartyRole,
    SessionStatus,
)
from scheduler import jobs
from sim import faults
from sim.faults import FaultLog, FaultRates
from sim.invariants import Invariant, Message, all_invariants, messages_of
from sim.population import BEHAVIOURS, Ledger, Rates, build_directory
from sim.staff import STAFF_ACTIONS, plan_session, referral, staff_sweep
from sim.world import Parts, World

log = logging.getLogger(__name__)
STEP = timedelta(hours=1)
#: actions after which the matcher has something new to look at
MATCH_AFTER = frozenset({"give_availability", "staff_cancel", "staff_reschedule", "staff_no_show",
                         "mediator_declines", "party_withdraws"})


@dataclass(order=True)
class Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    data: dict[str, Any] = field(compare=False, default_factory=dict)


@dataclass(frozen=True)
class Violation:
    step: int
    at: datetime
    invariant: str
    text: str


@dataclass
class Result:
    steps: int = 0
    checks: Counter[str] = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)


class Sim:
    def __init__(self, world: World, *, days: float, rates: Rates | None = None,
                 fault_rates: FaultRates | None = None,
                 invariants: list[Invariant] | None = None) -> None:
        self.world = world
        self.rng = random.Random(world.seed)
        self.rates = rates or Rates()
        self.fault_rates = fault_rates or FaultRates()
        self.days = days
        self.zone = ZoneInfo("America/Chicago")
        self.ledger = Ledger()
        self.faults = FaultLog()
        self.invariants = invariants if invariants is not None else all_invariants()
        self.result = Result()
        self.events: list[Event] = []
        self.seq = 0
        self.numbers = 0
        self.referrals = 0
        self.case_people: dict[int, dict[int, int]] = {}
        self.planned_sessions: set[tuple[int, str]] = set()
        self.availability_asked: set[int] = set()
        self.reminder_counts: dict[int, int] = {}
        self.no_shows: dict[int, bool] = {}
        self.broken_calendars: dict[int, tuple[str, datetime]] = {}
        self.new_messages: list[Message] = []
        self.seen_messages = 0
        self.match_wanted = False
        self.last_match = world.now() - timedelta(days=1)
        self.handlers: dict[str, Callable[..., Any]] = {**BEHAVIOURS, **STAFF_ACTIONS}
        world.calendar_for = lambda m: faults.calendar_for(self, m.id)
        for invariant in self.invariants:
            capture = getattr(invariant, "capture", None)
            if capture is not None:
                logging.getLogger().addHandler(capture)
                if logging.getLogger().level > logging.INFO or logging.getLogger().level == 0:
                    logging.getLogger().setLevel(logging.INFO)

    # -- helpers the behaviours use ---------------------------------------------------------
    def now(self) -> datetime:
        return self.world.now()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.world.factory) as session:
            yield session

    def override(self, name: str, default: Any) -> Any:
        return self.world.parts.overrides.get(name, default)

    def schedule(self, at: datetime, kind: str, **data: Any) -> None:
        self.seq += 1
        heapq.heappush(self.events, Event(at, self.seq, kind, data))

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    def at_local(self, day: date, hour: int) -> datetime:
        return datetime.combine(day, time(hour), self.zone).astimezone(ZoneInfo("UTC"))

    def business_time(self, at: datetime) -> datetime:
        """The next staff working moment (Mon-Fri 09:00-17:00 Chicago) at or after ``at``."""
        local = self.local(at)
        for _ in range(10):
            if local.weekday() < 5 and 9 <= local.hour < 16:
                break
            day = local.date() + timedelta(days=0 if local.hour < 9 else 1)
            local = self.local(self.at_local(day, 9))
        return local.astimezone(ZoneInfo("UTC")) + timedelta(minutes=self.rng.uniform(5, 120))

    def reminders_received(self, session: Session, row: MediationSession) -> int:
        """Reminders the complainant got for this session, on any channel."""
        complainants = [p.id for p in session.scalars(select(Party).where(
            Party.case_id == row.case_id, Party.role == PartyRole.COMPLAINANT.value))]
        return session.scalar(select(func.count(Notification.id)).where(
            Notification.session_id == row.id, Notification.kind == "reminder",
            Notification.party_id.in_(complainants),
            Notification.status.in_([NotificationStatus.SENT.value,
                                     NotificationStatus.DELIVERED.value]))) or 0

    # -- the loop ---------------------------------------------------------------------------
    def run(self, until_step: int | None = None) -> Result:
        world = self.world
        build_directory(self)
        end = self.now() + timedelta(days=self.days)
        per_hour = self.rates.referrals_per_year / (365 * 24)
        next_referral = self.now() + timedelta(hours=self.rng.expovariate(per_hour))
        step = 0
        while self.now() < end and (until_step is None or step <= until_step):
            self.faults.step = step
            before = self.now()
            step_end = before + STEP
            while next_referral <= step_end:
                self.schedule(self.business_time(next_referral), "referral")
                next_referral += timedelta(hours=self.rng.expovariate(per_hour))
            while self.events and self.events[0].at <= step_end:
                event = heapq.heappop(self.events)
                world.clock.set(max(event.at, self.now()))
                self._act(event)
                self.match_wanted = self.match_wanted or event.kind in MATCH_AFTER
            world.clock.set(step_end)
            faults.count_dst(self, before, step_end)
            faults.inject(self)
            self._jobs(step)
            self._dispatch()
            self._discover()
            self._check(step)
            step += 1
        self.result.steps = step
        return self.result

    def _act(self, event: Event) -> None:
        handler = referral if event.kind == "referral" else self.handlers[event.kind]
        self.result.actions[event.kind] += 1
        try:
            if event.kind == "referral":
                handler(self)
            else:
                handler(self, **event.data)
        except DomainError as exc:  # the world moved on (a case closed meanwhile): refused
            self.result.refused[f"{event.kind}: {type(exc).__name__}"] += 1

    def _jobs(self, step: int) -> None:
        world, local = self.world, self.local(self.now())
        self.override("expire_consents", jobs.expire_consents)(world.factory, world.clock,
                                                                world.deps)
        if step % 6 == 0:
            jobs.plan_reminders(world.factory, world.clock, world.deps)
        if self._match_due() and self._waiting():
            self.last_match = self.now()
            self.match_wanted = False
            jobs.match_new_cases(world.factory, world.clock, world.deps)
            if self.rng.random() < 0.02:  # a second scheduler, after a failover, runs it again
                jobs.match_new_cases(world.factory, world.clock, world.deps)
                self.faults.count("two schedulers' match runs")
        if local.hour == 8:
            jobs.daily_digest(world.factory, world.clock, world.deps)
        if local.hour == 9 and local.weekday() < 5:
            staff_sweep(self)

    def _match_due(self) -> bool:
        """The matcher runs when something changed (windows given, a session freed) and at
        least once a day while cases wait: the rows decide, so running it more often books
        nothing more."""
        return (self.match_wanted and self.now() - self.last_match >= timedelta(hours=3)) or (
            self.now() - self.last_match >= timedelta(hours=24))

    def _waiting(self) -> bool:
        with self.world.factory() as session:
            return session.scalar(select(Case.id).where(
                Case.state == CaseState.SCHEDULING.value).limit(1)) is not None

    def _dispatch(self) -> None:
        world = self.world
        world.sync_provider_clock()
        faults.dispatch(self)
        run = self.override("dispatch", jobs.dispatch_outbox)
        run(world.factory, world.clock, world.deps)
        new = world.emulator.messages(since=self.seen_messages)
        self.seen_messages += len(new)
        self.new_messages = messages_of(self, new)
        landlines = {p.phone for p in self.ledger.people if p.landline}
        for m in new:  # the provider's delivery reports, back through the webhooks
            if m["channel"] == "sms" and m.get("status_callback"):
                if m["to"] in landlines:
                    world.twilio_status(m["status_callback"], m["sid"], m["to"], "undelivered",
                                        "30006")
                else:
                    world.twilio_status(m["status_callback"], m["sid"], m["to"], "delivered")
            elif m["channel"] == "email":
                world.sendgrid_event(m, "delivered")

    def _discover(self) -> None:
        """New bookings get their plan; cases now being scheduled get the parties' windows."""
        with self.transaction() as session:
            rows = session.scalars(select(MediationSession).where(
                MediationSession.status == SessionStatus.BOOKED.value,
                MediationSession.starts_at > self.now())).all()
            fresh = [r for r in rows if (r.id, r.starts_at.isoformat()) not in self.planned_sessions]
            for row in fresh:
                self.planned_sessions.add((row.id, row.starts_at.isoformat()))
                plan_session(self, row)
            waiting = session.execute(select(Party.id, Party.case_id).join(
                Case, Case.id == Party.case_id).where(
                Case.state == CaseState.SCHEDULING.value)).all()
            have = set(session.scalars(select(AvailabilityWindow.owner_id).where(
                AvailabilityWindow.owner_kind == "party")))
        for party_id, case_id in waiting:
            if party_id not in have and party_id not in self.availability_asked:
                self.availability_asked.add(party_id)
                self.schedule(self.now() + timedelta(hours=self.rng.uniform(1, 72)),
                              "give_availability", case_id=case_id, party_id=party_id)


    def _check(self, step: int) -> None:
        seen = {v.text for v in self.result.violations}
        for invariant in self.invariants:
            checked, problems = invariant.check(self)
            self.result.checks[invariant.name] += checked
            for text in problems:
                if text not in seen:
                    seen.add(text)
                    self.result.violations.append(Violation(step, self.now(), invariant.name,
                                                            text))


def start_of(seed: int) -> datetime:
    """A Monday 09:00 in Chicago somewhere in 2027, chosen by the seed (a year crosses both DST
    changes; where they fall in the run depends on the seed)."""
    return datetime(2027, 1, 4, 15, 0, tzinfo=UTC) + timedelta(weeks=seed % 52)


def simulate(url: str, *, seed: int, days: float, backend: str = "", parts: Parts | None = None,
             rates: Rates | None = None, fault_rates: FaultRates | None = None,
             until_step: int | None = None, command: str = "python -m sim") -> tuple[Sim, str]:
    """One run on the migrated database at ``url``: the finished simulation and its report."""
    from sim.report import render

    world = World(url, start_of(seed), seed, parts)
    began = monotonic()
    sim = Sim(world, days=days, rates=rates, fault_rates=fault_rates)
    try:
        sim.run(until_step)
        report = render(sim, backend or world.engine.dialect.name, monotonic() - began)
    finally:
        for invariant in sim.invariants:
            capture = getattr(invariant, "capture", None)
            if capture is not None:
                logging.getLogger().removeHandler(capture)
        world.close()
    if sim.result.violations:
        first = sim.result.violations[0].step
        report += (f"\nreplay: {command} --backend {backend or world.engine.dialect.name} "
                   f"--seed {seed} --days {days:g} --until-step {first}")
    return sim, report
