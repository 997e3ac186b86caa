"""Pacing per sending identity, held in the database so that every dispatcher process keeps one rate.

A provider limits each *sender*, not each process: a Twilio long code takes 1 message/s, a
toll-free number 3/s, a short code 100/s (``settings.Settings.sms_rate_*``); a SendGrid key its
plan's rate. Each sender has one ``sender_pace`` row whose ``next_slot`` is the earliest moment its
next message may start (a token bucket one token deep, i.e. the GCRA's "theoretical arrival
time"). Taking a slot is one atomic statement on either backend::

    UPDATE sender_pace SET next_slot = max(next_slot, :now) + 1/rate WHERE sender = :s RETURNING next_slot

so two processes can never take the same slot: PostgreSQL re-evaluates the ``SET`` on the row
version a concurrent update left, SQLite has a single writer. The taker then waits until its slot
(``slot = returned - 1/rate``) and sends. A 429's Retry-After moves ``next_slot`` to then
(:meth:`Pacer.pause`): every process holds that sender back, and the notice itself is retried
after it (``notifiers.outbox.dispatcher``). Slots are spaced at the start of each send; the provider
sees them spaced by the same amount, give or take the network's jitter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Table, case, update
from sqlalchemy.orm import Session

from cases.clock import Clock
from cases.database import insert_ignoring_duplicates
from cases.models import SenderPace


@dataclass(frozen=True)
class Sender:
    """One sending identity and the rate its provider allows it."""

    key: str
    per_second: float

    @property
    def interval(self) -> float:
        return 1.0 / self.per_second


def twilio_sender(from_number: str, per_second: float) -> Sender:
    return Sender(f"twilio:{from_number}", per_second)


def sendgrid_sender(api_key: str, per_second: float) -> Sender:
    """Named by a digest of the key: the key itself never reaches the database."""
    return Sender(f"sendgrid:{hashlib.sha256(api_key.encode()).hexdigest()[:16]}", per_second)


_TABLE: Table = SenderPace.__table__  # type: ignore[assignment]

Sleep = Callable[[float], bool]
"""Wait this many seconds; true if cut short (``threading.Event.wait`` on the dispatcher's stop
event; a test's clock moves instead)."""


class Pacer:
    """Hands out send slots per sender; ``clock`` and ``sleep`` are injected (tests move time)."""

    def __init__(self, engine: Engine, clock: Clock, sleep: Sleep) -> None:
        self._engine = engine
        self._clock = clock
        self._sleep = sleep
        self._known: set[str] = set()

    def _ensure(self, sender: Sender) -> None:
        if sender.key in self._known:
            return
        with Session(self._engine) as session, session.begin():
            session.execute(
                insert_ignoring_duplicates(session, SenderPace, ["sender"]).values(
                    sender=sender.key, next_slot=0.0
                )
            )
        self._known.add(sender.key)

    def reserve(self, sender: Sender) -> float:
        """Take the sender's next slot (seconds since the epoch), without waiting for it."""
        self._ensure(sender)
        now = self._clock.now().timestamp()
        table = _TABLE
        column = table.c.next_slot
        statement = (
            update(table)
            .where(table.c.sender == sender.key)
            .values(next_slot=case((column > now, column), else_=now) + sender.interval)
            .returning(column)
        )
        with self._engine.begin() as connection:
            taken = float(connection.execute(statement).scalar_one())
        return taken - sender.interval

    def take(self, sender: Sender) -> bool:
        """Take the next slot and wait for it. False if the wait was cut short (``sleep``
        returned true: the dispatcher is stopping); the slot is then left unused."""
        slot = self.reserve(sender)
        while (wait := slot - self._clock.now().timestamp()) > 0:
            if self._sleep(wait):
                return False
        return True

    def pause(self, sender: Sender, until: datetime) -> None:
        """The provider said "not before ``until``" (a 429's Retry-After): no process sends from
        this sender before then."""
        self._ensure(sender)
        table = _TABLE
        column = table.c.next_slot
        moment = until.timestamp()
        with self._engine.begin() as connection:
            connection.execute(
                update(table)
                .where(table.c.sender == sender.key)
                .values(next_slot=case((column > moment, column), else_=moment))
            )
