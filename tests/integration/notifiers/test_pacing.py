"""Pacing per sender: slots shared through the database by every dispatcher, a long code never
carrying two messages in one second at the provider, and a 429's Retry-After honoured."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.models import AuditEvent, Notification, SenderPace
from cases.outbox import Channel, NoticeKind, enqueue
from emulator import EmulatorClient
from notifiers.channels.base import Notifier
from notifiers.outbox.dispatcher import Dispatcher
from notifiers.outbox.pacing import Pacer, Sender
from notifiers.wiring import build_dispatcher
from settings import Settings
from tests.support.notify import FROM_NUMBER, add_case, add_party


def _sms(factory: sessionmaker[Session], clock: FixedClock, count: int) -> list[int]:
    """``count`` SMS notices due now, to ``count`` parties."""
    with factory() as session, session.begin():
        now = clock.now()
        ids = []
        for n in range(count):
            case = add_case(session, now)
            party = add_party(session, case, now, phone=f"+1312746{n:04d}")
            rows = enqueue(session, kind=NoticeKind.ELIGIBILITY_NOTICE, recipient=party, due_at=now,
                           now=now, case_id=case.id, context={"case_id": case.id},
                           channels=[Channel.SMS])  # fmt: skip
            ids += [r.id for r in rows]
        return ids


class _TestTime:
    """The one clock of a test: a paced send "sleeps" by moving it, and the emulator's clock is
    held at it too, so a receipt time is exactly the slot the dispatcher sent in."""

    def __init__(self, clock: FixedClock, emulator: EmulatorClient) -> None:
        self.clock, self.emulator, self.sleeps = clock, emulator, 0
        emulator.freeze_clock(clock.now())

    def sleep(self, seconds: float) -> bool:
        self.sleeps += 1
        self.clock.advance(timedelta(seconds=seconds))
        self.emulator.freeze_clock(self.clock.now())
        return False


def test_slots_taken_by_many_pacers_at_once_are_distinct_and_a_rate_apart(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    """Four "processes" (pacers on their own engines' connections), four threads each, racing
    for one sender's slots: each slot is handed out once, spaced exactly 1/rate."""
    engine = session_factory.kw["bind"]
    sender = Sender("twilio:+13125550100", 3.0)  # a toll-free number
    pacers = [Pacer(engine, clock, lambda _s: False) for _ in range(4)]
    slots: list[float] = []
    lock = threading.Lock()

    def take(pacer: Pacer) -> None:
        for _ in range(5):
            slot = pacer.reserve(sender)
            with lock:
                slots.append(slot)

    threads = [threading.Thread(target=take, args=(p,)) for p in pacers for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    start = clock.now().timestamp()
    assert sorted(round((s - start) * 3) for s in slots) == list(range(80))  # 0, 1/3 s, 2/3 s, ...
    with session_factory() as session:
        assert session.scalar(select(SenderPace.next_slot)) == pytest.approx(start + 80 / 3, abs=1e-3)


def test_a_pause_holds_every_pacer_of_that_sender_and_no_other(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    engine = session_factory.kw["bind"]
    paused, other = Sender("twilio:+13125550100", 1.0), Sender("sendgrid:abc", 100.0)
    Pacer(engine, clock, lambda _s: False).pause(paused, clock.now() + timedelta(seconds=30))
    elsewhere = Pacer(engine, clock, lambda _s: False)
    assert elsewhere.reserve(paused) == clock.now().timestamp() + 30
    assert elsewhere.reserve(other) == clock.now().timestamp()


def _paced(settings: Settings, factory: sessionmaker[Session], clock: FixedClock,
           notifiers: dict[Channel, Notifier], time: _TestTime, worker: str) -> Dispatcher:  # fmt: skip
    """A dispatcher paced on the test's clock, one send at a time: with several in flight, one
    thread's "sleep" would move the clock under another's send (real time needs no such care;
    pacers racing for slots are tested above)."""
    dispatcher = build_dispatcher(settings, factory, clock, worker_id=worker, notifiers=notifiers,
                                  sleep=time.sleep)  # fmt: skip
    dispatcher.policy = replace(dispatcher.policy, concurrency=1, batch_size=2)
    return dispatcher


def test_a_long_code_never_carries_two_messages_in_one_second(
    settings: Settings,
    notifiers: dict[Channel, Notifier],
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    """Two dispatchers take turns over eight SMS from one long code (1/s): the emulator, which
    refuses a second message within a second with 429 as Twilio would, refuses none, and its
    receipt times fall in eight different seconds."""
    assert settings.twilio_sender_type == "long_code" and settings.sms_rate_per_second == 1.0
    ids = _sms(session_factory, clock, 8)
    time = _TestTime(clock, emulator)
    emulator.rate_limit(FROM_NUMBER, per_second=1.0, retry_after=5)
    first, second = (_paced(settings, session_factory, clock, notifiers, time, w) for w in ("a", "b"))
    while any(d.run_once().touched for d in (first, second)):
        pass
    messages = emulator.messages()
    assert sorted(int(m["notice"]) for m in messages) == ids
    assert emulator.stats()["rate_limited"] == 0
    per_second = Counter(int(m["received_at"]) for m in messages)
    assert len(per_second) == 8 and max(per_second.values()) == 1
    assert time.sleeps >= 7  # the pacing waited, it was not the emulator that spread them


def test_a_429_is_honoured_the_sender_pauses_and_the_notice_is_not_counted_as_failing(
    settings: Settings,
    notifiers: dict[Channel, Notifier],
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    """The dispatcher believes it has a short code (100/s); the provider allows 1/s and answers
    the second message 429 with Retry-After 7. That notice waits 7 s, its attempt not counted,
    nothing fails, nobody is alerted, and the sender's next slot is after the pause."""
    short = settings.model_copy(update={"twilio_sender_type": "short_code"})
    first_id, second_id = _sms(session_factory, clock, 2)
    time = _TestTime(clock, emulator)
    emulator.rate_limit(FROM_NUMBER, per_second=1.0, retry_after=7)
    dispatcher = _paced(short, session_factory, clock, notifiers, time, "w")
    report = dispatcher.run_once()
    assert (report.sent, report.rate_limited, report.retried, report.failed, report.dead) == (1, 1, 0, 0, 0)
    with session_factory() as session:
        row = session.get_one(Notification, second_id)
        assert (row.status, row.attempts) == ("pending", 0)
        assert row.next_attempt_at is not None
        wait = (row.next_attempt_at - clock.now()).total_seconds()
        assert 6.9 < wait <= 7.0
        slot = session.scalar(select(SenderPace.next_slot))
        assert slot is not None and slot >= row.next_attempt_at.timestamp()
        assert not set(session.scalars(select(AuditEvent.action))) & {"notice.dead", "notice.failed"}
    assert dispatcher.run_once().touched == 0  # not before the Retry-After
    time.sleep(7)
    assert dispatcher.run_once().sent == 1
    with session_factory() as session:
        row = session.get_one(Notification, second_id)
        assert (row.status, row.attempts) == ("sent", 1)
        assert session.scalar(select(Notification.kind).where(Notification.kind == "staff_alert")) is None
    assert sorted(int(m["notice"]) for m in emulator.messages()) == [first_id, second_id]
