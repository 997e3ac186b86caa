"""The outbox path end to end against the provider emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from cases import suppressions
from cases.clock import FixedClock
from cases.models import AuditEvent, Case, Notification, Party
from cases.outbox import Channel, NoticeKind, enqueue
from emulator import EmulatorClient
from notifiers.channels.base import Notifier, OutgoingMessage, Receipt, SentLookup
from notifiers.outbox.dispatcher import Dispatcher
from notifiers.outbox.report import DispatchReport
from notifiers.wiring import build_dispatcher
from settings import Settings
from tests.support.notify import add_case, add_party


def _enqueue(
    factory: sessionmaker[Session],
    clock: FixedClock,
    kind: NoticeKind = NoticeKind.ELIGIBILITY_NOTICE,
    channels: list[Channel] | None = None,
    **party: object,
) -> tuple[int, list[int]]:
    with factory() as session, session.begin():
        now = clock.now()
        case = add_case(session, now)
        person = add_party(session, case, now, **party)
        rows = enqueue(
            session,
            kind=kind,
            recipient=person,
            due_at=now,
            now=now,
            case_id=case.id,
            context={"case_id": case.id},
            channels=channels,
        )
        return person.id, [r.id for r in rows]


def _rows(factory: sessionmaker[Session]) -> list[Notification]:
    with factory() as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def _drain(dispatcher: Dispatcher, clock: FixedClock, steps: int = 10) -> None:
    for _ in range(steps):
        report = dispatcher.run_once()
        if report.touched == 0:
            clock.advance(timedelta(hours=3))  # past any backoff
            if dispatcher.run_once().touched == 0:
                return


def test_a_notice_is_sent_once(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    _, ids = _enqueue(session_factory, clock)
    # enqueueing the same notice again (a retried job) is a no-op
    with session_factory() as session, session.begin():
        person = session.scalars(select(Party)).one()
        again = enqueue(
            session,
            kind=NoticeKind.ELIGIBILITY_NOTICE,
            recipient=person,
            due_at=clock.now(),
            now=clock.now(),
            case_id=person.case_id,
            context={"case_id": person.case_id},
        )
        assert [r.id for r in again] == ids
    report = dispatcher.run_once()
    assert report.sent == 2
    assert dispatcher.run_once().touched == 0
    messages = emulator.messages()
    assert sorted(m["channel"] for m in messages) == ["email", "sms"]
    assert {m["notice"] for m in messages} == {str(i) for i in ids}
    rows = _rows(session_factory)
    assert {r.status for r in rows} == {"sent"}
    assert {r.provider_message_id for r in rows} == {m["sid"] for m in messages}
    sms = next(m for m in messages if m["channel"] == "sms")
    assert "Maria" not in sms["body"] and "Lopez" not in sms["body"]  # no name given for messages
    assert sms["status_callback"].endswith(f"/webhooks/twilio/status?notice={rows[0].id}")
    email = next(m for m in messages if m["channel"] == "email")
    assert email["html"].startswith("<!DOCTYPE html>") and email["subject"]
    assert rows[1].body_text == email["body"]


def test_transient_500_is_retried_and_sent_once(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    _enqueue(session_factory, clock, channels=[Channel.SMS])
    emulator.fault(to="+13127460001", status=500, times=1)
    first = dispatcher.run_once()
    assert (first.sent, first.retried) == (0, 1)
    row = _rows(session_factory)[0]
    assert row.status == "pending" and row.attempts == 1 and "500" in (row.last_error or "")
    assert row.next_attempt_at is not None and row.next_attempt_at <= clock.now() + timedelta(seconds=30)
    clock.advance(timedelta(seconds=31))
    assert dispatcher.run_once().sent == 1
    assert len(emulator.messages()) == 1
    row = _rows(session_factory)[0]
    assert (row.status, row.attempts) == ("sent", 2)


def test_transient_errors_until_the_limit_dead_letter_and_tell_staff(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    _enqueue(session_factory, clock, channels=[Channel.SMS], email=None)
    emulator.fault(to="+13127460001", status=503, times=None)
    _drain(dispatcher, clock)
    rows = _rows(session_factory)
    original = rows[0]
    assert original.status == "dead" and original.attempts == 3  # max_send_attempts
    alerts = [r for r in rows if r.kind == "staff_alert"]
    assert len(alerts) == 1 and alerts[0].status == "sent"
    assert alerts[0].context["alert"] == "notice_dead"
    stats = emulator.stats()
    assert stats["count"] == 1  # only the staff alert got through
    with session_factory() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert "notice.dead" in actions


def test_permanent_error_is_not_retried_and_falls_back_to_email(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    _enqueue(session_factory, clock, channels=[Channel.SMS], phone="+15005550001")  # 21211
    _drain(dispatcher, clock)
    rows = _rows(session_factory)
    sms = rows[0]
    assert sms.status == "failed" and sms.attempts == 1 and "21211" in (sms.last_error or "")
    fallback = next(r for r in rows if r.fallback_of_id == sms.id)
    assert (fallback.channel, fallback.status) == ("email", "sent")
    alert = next(r for r in rows if r.kind == "staff_alert")
    assert alert.context["alert"] == "invalid_contact" and alert.status == "sent"
    assert "+15005550001" not in (alert.body_text or "")
    stats = emulator.stats()
    assert stats["requests"] == 3 and stats["rejected"] == 1  # one refused SMS, never retried


def test_provider_opt_out_marks_the_party(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    party_id, _ = _enqueue(session_factory, clock, phone="+15005550004")  # 21610
    _drain(dispatcher, clock)
    with session_factory() as session:
        party = session.get(Party, party_id)
        assert party is not None and party.sms_opted_out
    rows = _rows(session_factory)
    assert [r.status for r in rows if r.channel == "sms"] == ["failed"]
    assert [r.status for r in rows if r.channel == "email"] == ["sent"]  # no second email


def test_opted_out_party_gets_no_sms_but_email_still_goes(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    with session_factory() as session, session.begin():  # the number opted out, in any case
        suppressions.suppress(session, Channel.SMS, "(312) 746-0001", source="sms_keyword",
                              now=clock.now())  # fmt: skip
    _enqueue(session_factory, clock, phone="+13127460001")
    dispatcher.run_once()
    rows = _rows(session_factory)
    assert [(r.channel, r.status) for r in rows] == [("sms", "cancelled"), ("email", "sent")]
    assert "opted out" in (rows[0].last_error or "")
    assert [m["channel"] for m in emulator.messages()] == ["email"]


def test_sms_waits_for_quiet_hours_to_end_email_does_not(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    clock.advance(timedelta(hours=13))  # 22:00 in Chicago
    _enqueue(session_factory, clock)
    report = dispatcher.run_once()
    assert (report.sent, report.deferred) == (1, 1)
    sms = _rows(session_factory)[0]
    assert sms.status == "pending"
    assert sms.next_attempt_at is not None
    assert sms.next_attempt_at.isoformat() == "2026-11-26T14:00:00+00:00"  # 08:00 CST
    clock.advance(timedelta(hours=9, minutes=59))
    assert dispatcher.run_once().touched == 0
    clock.advance(timedelta(minutes=1))
    assert dispatcher.run_once().sent == 1
    assert sorted(m["channel"] for m in emulator.messages()) == ["email", "sms"]


def test_staff_alert_goes_to_the_program_address(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    with session_factory() as session, session.begin():
        enqueue(
            session,
            kind=NoticeKind.STAFF_ALERT,
            recipient=None,
            due_at=clock.now(),
            now=clock.now(),
            context={"alert": "case_returned", "reason": "declined"},
        )
    assert dispatcher.run_once().sent == 1
    (message,) = emulator.messages()
    assert message["to"] == "mediation@example.org"
    assert "case returned to investigation" in message["subject"]


def test_a_lapsed_lease_is_reclaimed_and_flagged_in_doubt(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    _enqueue(session_factory, clock, channels=[Channel.EMAIL])
    from notifiers.outbox.report import DispatchReport

    claimed = dispatcher.claim(DispatchReport())  # a worker claims, then dies before recording
    assert len(claimed) == 1
    assert dispatcher.run_once().touched == 0  # leased: nobody else takes it
    clock.advance(dispatcher.policy.lease + timedelta(seconds=1))
    report = dispatcher.run_once()
    assert (report.sent, report.in_doubt) == (1, 1)
    with session_factory() as session:
        assert "notice.resent_in_doubt" in set(session.scalars(select(AuditEvent.action)))


class _StolenDuringFirstSend:
    """A notifier that, while the first message of either channel is on its way, lets another
    worker take over every leased row (its clock is past the lease) — as if this one had stalled."""

    def __init__(self, inner: Notifier, thief: Dispatcher, theft: list[int], lock: threading.Lock) -> None:
        self.inner, self.thief, self.theft, self.lock = inner, thief, theft, lock
        self.channel = inner.channel

    def send(self, message: OutgoingMessage) -> Receipt:
        with self.lock:  # the two messages may be on their way at once (concurrent sends)
            if not self.theft:
                self.theft.append(self.thief.run_once().in_doubt)
        return self.inner.send(message)


def test_a_record_after_the_lease_was_taken_over_is_refused_and_reported(
    settings: Settings,
    notifiers: dict[Channel, Notifier],
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    _enqueue(session_factory, clock, channels=[Channel.SMS, Channel.EMAIL])
    later = FixedClock(clock.now() + timedelta(hours=1))
    thief = build_dispatcher(settings, session_factory, later, worker_id="thief", notifiers=notifiers)
    theft: list[int] = []
    lock = threading.Lock()
    wrapped = {ch: _StolenDuringFirstSend(n, thief, theft, lock) for ch, n in notifiers.items()}
    stalled = build_dispatcher(settings, session_factory, clock, worker_id="stalled",
                               notifiers=cast(dict[Channel, Notifier], wrapped))  # fmt: skip
    report = stalled.run_once()
    assert theft == [2]  # the thief resent both, "in doubt"
    # Both messages went out twice (the thief's and ours), but neither of our records landed.
    assert (report.claimed, report.sent, report.lost_lease) == (2, 0, 2)
    assert len(emulator.messages()) == 4
    rows = _rows(session_factory)
    assert {r.status for r in rows} == {"sent"} and {r.claimed_by for r in rows} == {None}
    with session_factory() as session:
        lost = list(session.scalars(select(AuditEvent.subject_id)
                                    .where(AuditEvent.action == "notice.sent_after_lease_lost")))  # fmt: skip
    assert set(lost) == {r.id for r in rows}


def test_the_records_connection_goes_back_to_the_pool_as_it_came(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    """Records commit one by one (autocommit on PostgreSQL); the next user of that pooled
    connection still gets ordinary transactions: what it rolls back is not kept."""
    dispatcher.policy = replace(dispatcher.policy, concurrency=1)  # one send, one connection at a time
    _enqueue(session_factory, clock)
    assert dispatcher.run_once().sent == 2
    engine = session_factory.kw["bind"]
    assert engine.pool.checkedin() == 1  # the batch's one connection, claim and records alike
    with session_factory() as session:
        add_case(session, clock.now(), log_number="ROLLED-BACK")
        session.rollback()
    with session_factory() as session:
        assert session.scalar(select(Case).where(Case.log_number == "ROLLED-BACK")) is None


def _crash_after_first_send(
    dispatcher: Dispatcher, emulator: EmulatorClient, factory: sessionmaker[Session], clock: FixedClock
) -> int:
    """Two parties, an SMS and an email each. The database refuses the first notice's ``sent``
    record (a trigger), as if the worker had died between Twilio's acceptance and the record:
    ``run_once`` raises, the batch stops, and every row keeps its lease. Returns the first notice's
    id, once the lease has run out. Sent one at a time (the guarantee of a serial dispatcher:
    at most one message in doubt; with ``concurrency`` sends in flight, at most that many)."""
    dispatcher.policy = replace(dispatcher.policy, concurrency=1)
    for _ in range(2):
        _enqueue(factory, clock)
    first = _rows(factory)[0].id
    engine = factory.kw["bind"]
    postgres = engine.dialect.name == "postgresql"
    refuse = (
        [f"CREATE FUNCTION refuse_sent() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
         f"IF NEW.status = 'sent' AND NEW.id = {first} THEN RAISE EXCEPTION 'refused by test'; END IF; "
         f"RETURN NEW; END $$",
         "CREATE TRIGGER refuse_sent BEFORE UPDATE ON notifications FOR EACH ROW "
         "EXECUTE FUNCTION refuse_sent()"]
        if postgres else
        [f"CREATE TRIGGER refuse_sent BEFORE UPDATE ON notifications WHEN NEW.status = 'sent' "
         f"AND NEW.id = {first} BEGIN SELECT RAISE(ABORT, 'refused by test'); END"]
    )  # fmt: skip
    with engine.begin() as connection:
        for statement in refuse:
            connection.exec_driver_sql(statement)
    with pytest.raises(DBAPIError, match="refused by test"):
        dispatcher.run_once()
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER refuse_sent" + (" ON notifications" if postgres else ""))
    # The batch stopped at its first record, before anything else was sent.
    assert len(emulator.messages()) == 1
    assert {r.status for r in _rows(factory)} == {"sending"}
    clock.advance(dispatcher.policy.lease + timedelta(seconds=1))
    return first


def _audited(factory: sessionmaker[Session], action: str) -> list[int | None]:
    with factory() as session:
        return list(session.scalars(select(AuditEvent.subject_id).where(AuditEvent.action == action)))


def test_a_record_the_database_refuses_stops_the_batch_and_loses_nothing(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    """A ``sent`` record that fails raises out of ``run_once``, and the next run sends and records
    everything. The rows come back "in doubt"; the SMS that Twilio already holds is found there
    and recorded, not sent twice."""
    emulator.set_clock(clock.now())  # the provider's clock agrees with ours
    first = _crash_after_first_send(dispatcher, emulator, session_factory, clock)
    report = dispatcher.run_once()
    assert (report.sent, report.in_doubt, report.found_sent) == (4, 4, 1)
    rows = _rows(session_factory)
    assert {r.status for r in rows} == {"sent"} and all(r.provider_message_id for r in rows)
    assert rows[0].provider_message_id == emulator.messages()[0]["sid"]
    assert len(emulator.messages()) == 4  # nothing twice
    assert _audited(session_factory, "notice.found_already_sent") == [first]
    assert sorted(_audited(session_factory, "notice.resent_in_doubt")) == [r.id for r in rows[1:]]


def test_an_older_message_with_the_same_text_is_not_taken_for_the_lost_attempt(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    """Twilio's copy is stamped well before the lost attempt was claimed (here: the provider's
    clock an hour behind): it could be an earlier orphan with the same text, so the notice is
    sent again rather than risk never sending it."""
    emulator.set_clock(clock.now() - timedelta(hours=1))
    first = _crash_after_first_send(dispatcher, emulator, session_factory, clock)
    report = dispatcher.run_once()
    assert (report.sent, report.found_sent) == (4, 0)
    assert first in _audited(session_factory, "notice.resent_in_doubt")
    assert sum(1 for m in emulator.messages() if m["notice"] == str(first)) == 2


def test_a_records_connection_lost_mid_batch_raises_and_loses_nothing(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    """PostgreSQL ends the records connection during a record (the server's own
    ``pg_terminate_backend``): ``run_once`` raises, and the next run, on a new connection,
    delivers everything."""
    engine = session_factory.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no connection to lose")
    emulator.set_clock(clock.now())
    for _ in range(2):
        _enqueue(session_factory, clock)
    first = _rows(session_factory)[0].id
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE FUNCTION end_backend() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.status = 'sent' AND NEW.id = {first} THEN "
            f"PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END $$")  # fmt: skip
        connection.exec_driver_sql("CREATE TRIGGER end_backend BEFORE UPDATE ON notifications "
                                   "FOR EACH ROW EXECUTE FUNCTION end_backend()")  # fmt: skip
    with pytest.raises(OperationalError):
        dispatcher.run_once()
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER end_backend ON notifications")
    clock.advance(dispatcher.policy.lease + timedelta(seconds=1))
    report = dispatcher.run_once()
    # The emails went out beside the SMS and were recorded; the rest is recorded now, the first
    # SMS found at Twilio, not sent again.
    assert report.found_sent == 1
    assert {r.status for r in _rows(session_factory)} == {"sent"}
    assert len(emulator.messages()) == 4


def test_a_notice_in_doubt_in_quiet_hours_is_looked_up_and_otherwise_held_till_morning(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    """The worker comes back at 21:30 in Chicago. The SMS Twilio already holds is recorded (that
    texts nobody); the one it does not hold was never sent, and waits for 08:00 like any SMS in
    quiet hours. Email is not held."""
    emulator.set_clock(clock.now())
    first = _crash_after_first_send(dispatcher, emulator, session_factory, clock)
    sent_before = len(emulator.messages())
    clock.advance(timedelta(hours=12, minutes=30) - dispatcher.policy.lease - timedelta(seconds=1))
    assert clock.now() == datetime(2026, 11, 26, 3, 30, tzinfo=UTC)  # 21:30 CST
    report = dispatcher.run_once()
    assert (report.found_sent, report.deferred) == (1, 1)
    rows = {r.id: r for r in _rows(session_factory)}
    held = [r for r in rows.values() if r.status == "pending"]
    assert len(held) == 1 and held[0].channel == "sms" and held[0].id != first
    assert held[0].next_attempt_at == datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # 08:00 CST
    new = emulator.messages()[sent_before:]
    assert {m["channel"] for m in new} == {"email"}  # nothing texted in quiet hours
    assert _audited(session_factory, "notice.held_in_doubt") == [held[0].id]
    assert rows[first].status == "sent"


def test_an_sms_whose_attempts_were_lost_twice_is_found_and_not_sent_a_third_time(
    dispatcher: Dispatcher,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    """A worker claims the SMS, Twilio accepts it, the worker dies before the record. The lease
    lapses; another claims it in doubt and dies too, before asking Twilio. The third claim asks
    Twilio about every attempt since the first unconfirmed one: it finds the first attempt's
    message and records it instead of texting the person again."""
    emulator.set_clock(clock.now())
    _, (notice,) = _enqueue(session_factory, clock, channels=[Channel.SMS])
    (first,) = dispatcher.claim(DispatchReport())
    accepted = dispatcher.send(first)
    assert isinstance(accepted, Receipt)  # ... and the worker dies: no record
    clock.advance(dispatcher.policy.lease + timedelta(seconds=1))
    (second,) = dispatcher.claim(DispatchReport())
    assert second.in_doubt  # ... and this worker dies before asking Twilio
    clock.advance(dispatcher.policy.lease + timedelta(seconds=1))
    report = dispatcher.run_once()
    assert (report.in_doubt, report.found_sent, report.sent) == (1, 1, 1)
    assert [m["sid"] for m in emulator.messages()] == [accepted.provider_message_id]  # texted once
    (row,) = _rows(session_factory)
    assert (row.status, row.provider_message_id) == ("sent", accepted.provider_message_id)
    assert _audited(session_factory, "notice.found_already_sent") == [notice]


class _SlowLookup:
    """Twilio's message list, answering so slowly the first time that the batch's lease is about
    to lapse when it returns (the clock moves on by ``delay``)."""

    def __init__(self, inner: Notifier, clock: FixedClock, delay: timedelta) -> None:
        self.inner, self.clock, self.delay, self.channel = inner, clock, delay, inner.channel

    def send(self, message: OutgoingMessage) -> Receipt:
        return self.inner.send(message)

    def recent_matching(self, message: OutgoingMessage, limit: int = 20) -> list[Receipt]:
        found = cast(SentLookup, self.inner).recent_matching(message, limit)
        self.clock.advance(self.delay)
        self.delay = timedelta(0)
        return found


def test_a_notice_in_doubt_released_before_it_was_looked_up_is_still_looked_up(
    settings: Settings,
    notifiers: dict[Channel, Notifier],
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    """Two SMS accepted by Twilio, their worker dead before recording either. The next worker
    finds the first, but that lookup is slow and the lease nearly lapses: the second is released
    unasked. Released, it is still in doubt: the next run asks Twilio and finds it too."""
    emulator.set_clock(clock.now())
    for phone in ("+13127460001", "+13127460002"):
        _enqueue(session_factory, clock, channels=[Channel.SMS], phone=phone)
    lost = build_dispatcher(settings, session_factory, clock, worker_id="lost", notifiers=notifiers)
    for item in lost.claim(DispatchReport()):
        assert isinstance(lost.send(item), Receipt)  # ... and the worker dies: no record
    clock.advance(lost.policy.lease + timedelta(seconds=1))
    slow = {Channel.SMS: _SlowLookup(notifiers[Channel.SMS], clock, lost.policy.lease * 4 / 5)}
    dispatcher = build_dispatcher(settings, session_factory, clock, worker_id="next",
                                  notifiers=cast(dict[Channel, Notifier], slow))  # fmt: skip
    first = dispatcher.run_once()
    assert (first.found_sent, first.released) == (1, 1)
    second = dispatcher.run_once()
    assert (second.in_doubt, second.found_sent) == (1, 1)
    assert len(emulator.messages()) == 2  # each texted once
    assert {r.status for r in _rows(session_factory)} == {"sent"}


def test_an_sms_whose_answer_timed_out_is_looked_up_before_the_retry(
    settings: Settings,
    notifiers: dict[Channel, Notifier],
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    """Twilio takes the message but its answer comes after our client gave up: the send is a
    transient failure whose outcome is unknown. The retry asks Twilio first and records the
    message it holds instead of texting the person again."""
    from notifiers.channels.twilio_sms import TwilioSmsNotifier
    from tests.support.notify import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER

    emulator.set_clock(clock.now())
    impatient = TwilioSmsNotifier(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=FROM_NUMBER,
                                  status_callback_url=None, base_url=settings.twilio_base_url,
                                  timeout=0.2)  # fmt: skip
    dispatcher = build_dispatcher(settings, session_factory, clock, worker_id="w",
                                  notifiers={**notifiers, Channel.SMS: impatient})  # fmt: skip
    _enqueue(session_factory, clock, channels=[Channel.SMS])
    emulator.fault(channel="sms", delay_ms=600, times=1)
    assert dispatcher.run_once().retried == 1  # a timeout
    deadline, pause = time.monotonic() + 10, threading.Event()
    while emulator.stats()["count"] < 1:  # the message lands once the emulator's delay is over
        assert time.monotonic() < deadline, "the emulator never took the message"
        pause.wait(0.01)
    clock.advance(timedelta(hours=3))  # past any backoff
    report = dispatcher.run_once()
    assert (report.in_doubt, report.found_sent, report.sent) == (1, 1, 1)
    assert len(emulator.messages()) == 1
