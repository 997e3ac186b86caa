"""What one simulated run holds, and the few helpers every behaviour, job and invariant uses.

Behaviours (``sim.population``, ``sim.parties``, ``sim.staff``), faults and invariants all take
the :class:`Sim` defined here; the loop that moves it (``sim.runner``) is the only module that
knows them all, so nothing here imports them back.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.database import transaction
from cases.models import MediationSession, Notification, NotificationStatus, Party, PartyRole
from sim.world import World


@dataclass(frozen=True)
class Rates:
    """How often people do each thing; a test raises one to make sure a behaviour happens."""

    referrals_per_year: float = 600
    excluded_category: float = 0.08
    injury: float = 0.05
    staff_override: float = 0.25  # of the cases the policy finds ineligible
    repeat_complainant: float = 0.08
    officer_pool: int = 220  # officers drawn from a pool: some are named again
    officer_sms: float = 0.3
    landline: float = 0.06
    consent_yes: float = 0.72
    consent_no: float = 0.08
    consent_late: float = 0.05
    consent_question: float = 0.05  # the rest never answer
    stop: float = 0.04
    stop_within_days: float = 20
    consent_within_days: float = 9
    restart: float = 0.4
    reschedule: float = 0.08
    staff_cancel: float = 0.02
    withdraw: float = 0.03
    no_show: float = 0.22
    reminder_effect: float = 0.85  # each reminder received multiplies the no-show chance
    confirmed_effect: float = 0.6  # a complainant who confirmed still may not come
    impasse: float = 0.3
    mediator_decline: float = 0.04
    calendar_change: float = 0.05
    staff_reminder: float = 0.05
    manual_booking_after_days: float = 14  # staff book by hand a case the matcher has not placed
    reminder_confirm: float = 0.45  # of the parties a reminder text reaches: reply "1" / YES
    reminder_change: float = 0.05  # ... reply "2": another time, please
    self_move: float = 0.05  # of the parties a booking email reaches: move it on their page
    self_withdraw: float = 0.015  # ... withdraw on their page
    unsubscribe: float = 0.006  # of the emails a party gets: unsubscribe
    spam_report: float = 0.003  # ... report it as spam


@dataclass
class Person:
    """One human, who may be a party to several cases (same number, same email)."""

    key: int
    role: str
    full_name: str
    language: str
    phone: str | None
    email: str | None
    channels: str
    landline: bool = False
    star: str | None = None
    answers: str = "yes"


@dataclass
class Ledger:
    """What people did, as they did it: the oracle the invariants compare the service with."""

    stops: dict[str, list[tuple[datetime, datetime | None]]] = field(default_factory=dict)
    session_closed: dict[int, datetime] = field(default_factory=dict)
    people: list[Person] = field(default_factory=list)
    #: email address -> when its owner unsubscribed or reported spam
    email_suppressed: dict[str, datetime] = field(default_factory=dict)
    #: number -> when the provider's lookup first answered "landline" for it
    landline_reported: dict[str, datetime] = field(default_factory=dict)

    def stop(self, phone: str, at: datetime) -> None:
        spans = self.stops.setdefault(phone, [])
        if not spans or spans[-1][1] is not None:
            spans.append((at, None))

    def start(self, phone: str, at: datetime) -> None:
        spans = self.stops.get(phone)
        if spans and spans[-1][1] is None:
            spans[-1] = (spans[-1][0], at)

    def stopped_at(self, phone: str, at: datetime) -> bool:
        return any(since <= at and (until is None or at < until)
                   for since, until in self.stops.get(phone, ()))


@dataclass(frozen=True)
class FaultRates:
    """Chance per simulated hour of each fault starting."""

    provider_5xx: float = 0.02
    provider_429: float = 0.02
    answer_lost: float = 0.02
    request_dropped: float = 0.01
    crash_mid_batch: float = 0.01
    two_workers: float = 0.01
    db_connection_dropped: float = 0.005
    calendar_fails: float = 0.004
    calendar_malformed: float = 0.002
    calendar_hostile: float = 0.002


@dataclass
class FaultLog:
    injected: Counter[str] = field(default_factory=Counter)
    steps: list[tuple[int, str]] = field(default_factory=list)
    step: int = 0

    def count(self, name: str) -> None:
        self.injected[name] += 1
        self.steps.append((self.step, name))

    def survived(self, violation_steps: list[int], window: int = 48) -> Counter[str]:
        """Faults with no violation in the ``window`` steps after them."""
        out: Counter[str] = Counter()
        for step, name in self.steps:
            if not any(step <= v <= step + window for v in violation_steps):
                out[name] += 1
        return out


@dataclass
class Message:
    """One message the provider received, with the notice it belongs to (None: no notice)."""

    sid: str
    channel: str
    to: str
    body: str
    at: datetime
    notice_id: int | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


class Invariant(Protocol):
    name: str

    def check(self, sim: Sim) -> tuple[int, list[str]]: ...


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
    """The run's state: the world, the seeded choices, the people's ledger, the event queue."""

    def __init__(self, world: World, *, days: float, handlers: dict[str, Callable[..., Any]],
                 invariants: list[Invariant], rates: Rates | None = None,
                 fault_rates: FaultRates | None = None) -> None:
        self.world = world
        self.rng = random.Random(world.seed)
        self.rates = rates or Rates()
        self.fault_rates = fault_rates or FaultRates()
        self.days = days
        self.zone = ZoneInfo("America/Chicago")
        self.ledger = Ledger()
        self.faults = FaultLog()
        self.invariants = invariants
        self.handlers = handlers
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
        self.confirmed: dict[int, bool] = {}  # session id -> the complainant had confirmed
        self.answered: set[tuple[int, int]] = set()  # (notice id, person) already acted on
        self.broken_calendars: dict[int, tuple[str, datetime]] = {}
        self.new_messages: list[Message] = []
        self.seen_messages = 0
        self.match_wanted = False
        self.last_match = world.now() - timedelta(days=1)

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
