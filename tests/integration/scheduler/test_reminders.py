"""Reminder plans (pure), their outbox rows, and what the dispatcher actually sends."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.errors import DomainError, InvalidInput
from cases.models import MediationSession
from cases.policy import load_policy, policy_from_mapping
from notifiers.channels.base import Channel
from notifiers.channels.memory import MemoryNotifier
from notifiers.compose.context import ProgramInfo
from notifiers.compose.rendering import Renderer
from notifiers.outbox.dispatcher import Dispatcher
from scheduler import jobs
from scheduler.booking import book, cancel, reschedule
from scheduler.jobs import JobDeps
from scheduler.reminders import (
    ReminderOffsets,
    SessionValues,
    apply_plan,
    plan_reminders,
    trigger_reminder,
)
from tests.support.booking import RULES, SLOT_START, notices, option
from tests.support.factories import make_mediator_row, make_scheduling_case, make_venue_row

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
PROGRAM = ProgramInfo(name="Community Mediation Program", phone="+13127463594",
                      email="mediation@example.org", public_base_url="http://127.0.0.1:8000",
                      link_secret="test-secret-0123456789abcdef0123456789")


class Outbox:
    """The real dispatcher over memory notifiers; ``sent()`` counts sends per outbox row."""

    def __init__(self) -> None:
        self.sms, self.email = MemoryNotifier(Channel.SMS), MemoryNotifier(Channel.EMAIL)
        self.renderer = Renderer()

    def dispatcher(self, factory: sessionmaker[Session], clock: FixedClock,
                   worker: str) -> Dispatcher:
        return Dispatcher(factory, {Channel.SMS: self.sms, Channel.EMAIL: self.email}, clock,
                          renderer=self.renderer, program=PROGRAM, worker_id=worker)

    def sent(self) -> Counter[int]:
        return Counter(m.notice_id for m in [*self.sms.sent, *self.email.sent])


def test_the_policy_declares_seven_three_and_one_days_and_a_last_text() -> None:
    offsets = RULES.offsets
    assert offsets == ReminderOffsets.from_policy(load_policy().reminders)
    assert (offsets.party_hours, offsets.sms_hours, offsets.mediator_hours) == (
        (7 * 24, 3 * 24, 24), 2, (3 * 24, 24))
    values = SessionValues(session_id=7, sequence=2, starts_at=SLOT_START, status="booked")
    plan = plan_reminders(values, offsets, NOW)
    assert [(p.audience, p.offset_hours, p.sms_only, p.occurrence) for p in plan] == [
        ("parties", 168, False, "s7-q2-168h"), ("mediators", 72, False, "s7-q2-72h"),
        ("parties", 72, False, "s7-q2-72h"), ("mediators", 24, False, "s7-q2-24h"),
        ("parties", 24, False, "s7-q2-24h"), ("parties", 2, True, "s7-q2-2h")]
    assert all(p.due_at == SLOT_START - timedelta(hours=p.offset_hours) for p in plan)


def test_an_agency_changes_the_plan_in_its_policy_file() -> None:
    policy = policy_from_mapping({"reminders": {"party_days": [2], "mediator_days": [5],
                                                "last_sms_hours": 0, "confirm_by_hours": 24}})
    offsets = ReminderOffsets.from_policy(policy.reminders)
    assert (offsets.party_hours, offsets.mediator_hours, offsets.sms_hours) == ((48,), (120,), None)
    assert policy.reminders.confirm_by_hours == 24
    for bad in ({"party_days": [0]}, {"party_days": ["7"]}, {"last_sms_hours": 30},
                {"confirm_by_hours": 0}):
        with pytest.raises(InvalidInput, match="reminders"):
            policy_from_mapping({"reminders": bad})


def test_plan_is_pure_and_leaves_out_what_is_already_past() -> None:
    values = SessionValues(session_id=7, sequence=2, starts_at=SLOT_START, status="booked")
    short_notice = SLOT_START - timedelta(hours=30)
    assert [p.offset_hours for p in plan_reminders(values, RULES.offsets, short_notice)] == \
        [24, 24, 2]
    for status in ("cancelled", "completed", "no_show"):  # cancelled, or an outcome recorded
        assert plan_reminders(SessionValues(7, 2, SLOT_START, status), RULES.offsets, NOW) == []
    with pytest.raises(ValueError):
        ReminderOffsets(party_hours=(0,), mediator_hours=(), sms_hours=None)


def test_a_reschedule_replans_from_the_new_time(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    mediator, venue = make_mediator_row(db, now), make_venue_row(db, now)
    row = book(db, make_scheduling_case(db, now), option(mediator, venue), RULES, now=now, actor="staff")
    later = SLOT_START + timedelta(days=2)
    reschedule(db, row, option(mediator, venue, later), RULES, now=now, actor="staff",
               reason="the complainant works that day")
    old = [n for n in notices(db, kind="reminder") if "-q0-" in n.idempotency_key]
    new = [n for n in notices(db, kind="reminder") if "-q1-" in n.idempotency_key]
    assert old and {n.status for n in old} == {"cancelled"}
    assert {n.due_at for n in new} == {later - timedelta(hours=h) for h in (168, 72, 24, 2)}
    assert {n.status for n in new} == {"pending"}


def test_replanning_is_idempotent(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    row = book(db, make_scheduling_case(db, now),
               option(make_mediator_row(db, now), make_venue_row(db, now)), RULES, now=now, actor="staff")
    before = len(notices(db, kind="reminder"))
    apply_plan(db, row, RULES.offsets, now)
    apply_plan(db, row, RULES.offsets, now + timedelta(hours=1))
    # 7, 3 and 1 days to three party channels (a complainant by text and email, an officer by
    # email), 3 and 1 days to the mediator, the last text to the complainant
    assert len(notices(db, kind="reminder")) == before == 3 * 3 + 2 + 1


def test_a_reminder_due_while_the_service_was_down_is_sent_exactly_once(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        row = book(db, make_scheduling_case(db, now),
                   option(make_mediator_row(db, now), make_venue_row(db, now)), RULES, now=now, actor="staff")
        session_id = row.id
    outbox = Outbox()
    deps = JobDeps(RULES, dispatcher=outbox.dispatcher(session_factory, clock, "before"))
    jobs.dispatch_outbox(session_factory, clock, deps)  # the confirmations go out
    confirmations = set(outbox.sent())

    clock.set(SLOT_START - timedelta(hours=23))  # down through the 7-day to 1-day reminders
    for worker in ("after-restart", "second-worker", "after-restart"):
        deps = JobDeps(RULES, dispatcher=outbox.dispatcher(session_factory, clock, worker))
        jobs.dispatch_outbox(session_factory, clock, deps)

    with session_factory() as db:
        due = [n for n in notices(db, kind="reminder", session_id=session_id)
               if n.due_at <= clock.now()]
        assert len(due) == 3 * 3 + 2  # all but the 2 h SMS
        sent = outbox.sent()
        assert max(sent.values()) == 1
        assert {n.id for n in due} == set(sent) - confirmations
        assert {n.status for n in due} == {"sent"}
        assert [n.status for n in notices(db, kind="reminder") if n.due_at > clock.now()] == \
            ["pending"]


def test_a_cancelled_sessions_reminders_are_never_sent(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        row = book(db, make_scheduling_case(db, now),
                   option(make_mediator_row(db, now), make_venue_row(db, now)), RULES, now=now, actor="staff")
    with transaction(session_factory) as db:
        cancel(db, db.get(MediationSession, row.id), RULES, reason="venue closed",  # type: ignore[arg-type]
               now=clock.advance(timedelta(hours=1)), actor="staff")
    outbox = Outbox()
    clock.set(SLOT_START - timedelta(minutes=30))  # every reminder would be due by now
    jobs.dispatch_outbox(session_factory, clock,
                         JobDeps(RULES, dispatcher=outbox.dispatcher(session_factory, clock, "w")))
    with session_factory() as db:
        reminder_ids = {n.id for n in notices(db, kind="reminder")}
        assert reminder_ids and not reminder_ids & set(outbox.sent())
        assert {n.status for n in notices(db, kind="reminder")} == {"cancelled"}
        assert {n.status for n in notices(db, kind="cancellation")} == {"sent"}


def test_reminders_of_a_session_that_already_started_are_withdrawn_not_sent_late(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        book(db, make_scheduling_case(db, now),
             option(make_mediator_row(db, now), make_venue_row(db, now)), RULES, now=now, actor="staff")
    outbox = Outbox()
    clock.set(SLOT_START + timedelta(minutes=10))  # the service was down until after the start
    jobs.dispatch_outbox(session_factory, clock,
                         JobDeps(RULES, dispatcher=outbox.dispatcher(session_factory, clock, "w")))
    with session_factory() as db:
        assert {n.status for n in notices(db, kind="reminder")} == {"cancelled"}


def test_staff_reminder_goes_at_once_but_quiet_hours_hold_the_sms(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        case = make_scheduling_case(db, now)
        book(db, case, option(make_mediator_row(db, now), make_venue_row(db, now)), RULES, now=now,
             actor="staff")
        case_id = case.id
    night = clock.advance(timedelta(hours=12))  # 03:00 in Chicago
    with transaction(session_factory) as db:
        rows = trigger_reminder(db, case_id=case_id, now=night, actor="staff")
        assert {(n.recipient_kind, n.channel) for n in rows} == {
            ("party", "sms"), ("party", "email"), ("mediator", "email")}
        assert trigger_reminder(db, case_id=case_id, now=night, actor="staff") == rows  # retry
        with pytest.raises(DomainError):
            trigger_reminder(db, now=night, actor="staff")
    outbox = Outbox()
    jobs.dispatch_outbox(session_factory, clock,
                         JobDeps(RULES, dispatcher=outbox.dispatcher(session_factory, clock, "w")))
    with session_factory() as db:
        manual = [n for n in notices(db, kind="reminder") if "manual-" in n.idempotency_key]
        assert {(n.channel, n.status) for n in manual} == {("email", "sent"), ("sms", "pending")}
        held = next(n for n in manual if n.channel == "sms")
        assert held.next_attempt_at == datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # 08:00 Chicago


def test_the_last_text_before_a_morning_session_waits_for_the_morning(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    early = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # Monday 09:00 in Chicago
    with transaction(session_factory) as db:
        book(db, make_scheduling_case(db, now),
             option(make_mediator_row(db, now), make_venue_row(db, now), early), RULES, now=now,
             actor="staff")
    clock.set(early - timedelta(hours=2))  # 07:00 in Chicago: quiet hours until 08:00
    outbox = Outbox()
    jobs.dispatch_outbox(session_factory, clock,
                         JobDeps(RULES, dispatcher=outbox.dispatcher(session_factory, clock, "w")))
    with session_factory() as db:
        last = [n for n in notices(db, kind="reminder") if n.idempotency_key.endswith("-2h:sms")]
        assert [(n.status, n.next_attempt_at) for n in last] == [
            ("pending", datetime(2026, 11, 30, 14, 0, tzinfo=UTC))]  # 08:00, before the session
        assert not {n.id for n in last} & set(outbox.sent())
