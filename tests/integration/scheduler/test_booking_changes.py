"""Reschedule, cancel, no-show and withdrawal: reservations, reminders, notices and limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.clock import FixedClock
from cases.errors import DomainError
from cases.models import CaseState, Reservation
from scheduler.booking import SlotTaken, book, cancel, no_show, reschedule, withdraw
from tests.support.booking import POLICY, RULES, SLOT_START, notices, option
from tests.support.factories import make_mediator_row, make_scheduling_case, make_venue_row


def resources(db: Session, session_id: int, active: bool = True) -> set[tuple[str, object]]:
    rows = db.scalars(select(Reservation).where(Reservation.session_id == session_id,
                                                Reservation.active.is_(active)))
    return {(r.resource, r.starts_at) for r in rows}


def test_reschedule_moves_everything_and_replans(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    case = make_scheduling_case(db, now)
    mediator, venue = make_mediator_row(db, now), make_venue_row(db, now)
    row = book(db, case, option(mediator, venue), RULES, now=now, actor="staff")
    later = SLOT_START + timedelta(days=2)
    result = reschedule(db, row, option(mediator, venue, start=later), RULES, now=now,
                        actor="staff", reason="party asked")
    db.commit()
    assert not result.case_returned
    assert (row.sequence, row.starts_at, case.reschedule_count, case.state) == \
        (1, later, 1, "booked")
    assert {t for _, t in resources(db, row.id)} == {later}
    assert {t for _, t in resources(db, row.id, active=False)} == {SLOT_START}
    old = [n for n in notices(db, kind="reminder") if "-q0-" in n.idempotency_key]
    new = [n for n in notices(db, kind="reminder") if "-q1-" in n.idempotency_key]
    assert old and {n.status for n in old} == {"cancelled"}
    assert {n.due_at for n in new} == {later - timedelta(hours=h) for h in (168, 72, 24, 2)}
    moved = notices(db, kind="reschedule")
    assert len(moved) == 4 and all(n.context["sequence"] == 1 for n in moved)
    assert moved[0].context["previous_starts_at"] == SLOT_START.isoformat()


def test_a_failed_reschedule_leaves_the_booking_as_it_was(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    mediator, venue = make_mediator_row(db, now), make_venue_row(db, now)
    row = book(db, make_scheduling_case(db, now), option(mediator, venue), RULES, now=now, actor="staff")
    taken = SLOT_START + timedelta(days=1)
    book(db, make_scheduling_case(db, now), option(mediator, make_venue_row(db, now), start=taken), RULES,
         now=now, actor="staff")
    with pytest.raises(SlotTaken):
        reschedule(db, row, option(mediator, venue, start=taken), RULES, now=now, actor="staff",
                   reason="x")
    db.commit()
    db.expire_all()
    assert (row.sequence, row.starts_at, row.case.reschedule_count) == (0, SLOT_START, 0)
    assert {t for _, t in resources(db, row.id)} == {SLOT_START}


def test_past_the_reschedule_limit_the_case_returns(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    rules = replace(RULES, policy=replace(POLICY, max_reschedules=1))
    case = make_scheduling_case(db, now)
    mediator, venue = make_mediator_row(db, now), make_venue_row(db, now)
    row = book(db, case, option(mediator, venue), rules, now=now, actor="staff")
    reschedule(db, row, option(mediator, venue, start=SLOT_START + timedelta(days=1)), rules,
               now=now, actor="staff", reason="one")
    result = reschedule(db, row, option(mediator, venue, start=SLOT_START + timedelta(days=2)),
                        rules, now=now, actor="staff", reason="two")
    assert result.case_returned
    assert (row.status, case.state, case.reschedule_count) == ("cancelled", "returned", 1)
    assert resources(db, row.id) == set()
    assert [n.context["alert"] for n in notices(db, kind="staff_alert")] == ["case_returned"]
    assert len(notices(db, kind="cancellation")) == 4
    told = notices(db, kind="case_returned")  # every party, on each of their channels
    assert {(n.party_id, n.channel) for n in told} == {
        (p.id, c) for p in case.parties for c in p.channels}
    assert {n.context["why"] for n in told} == {"reschedule_limit"}


def test_cancel_frees_the_slot_withdraws_reminders_and_tells_everyone(
        db: Session, clock: FixedClock) -> None:
    now = clock.now()
    case = make_scheduling_case(db, now)
    mediator, venue = make_mediator_row(db, now), make_venue_row(db, now)
    row = book(db, case, option(mediator, venue), RULES, now=now, actor="staff")
    cancel(db, row, RULES, reason="mediator ill", now=now, actor="staff")
    db.commit()
    assert (row.status, row.sequence, case.state) == ("cancelled", 1, CaseState.SCHEDULING.value)
    assert resources(db, row.id) == set()
    assert {n.status for n in notices(db, kind="reminder")} == {"cancelled"}
    sent = notices(db, kind="cancellation")
    assert len(sent) == 4 and {n.context["session_id"] for n in sent} == {row.id}
    again = book(db, case, option(mediator, venue), RULES, now=now, actor="staff")  # slot free
    assert again.status == "booked"
    with pytest.raises(DomainError):
        cancel(db, row, RULES, reason="twice", now=now, actor="staff")


def test_no_shows_go_back_to_scheduling_until_the_limit(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    case = make_scheduling_case(db, now)
    mediator, venue = make_mediator_row(db, now), make_venue_row(db, now)
    first = book(db, case, option(mediator, venue), RULES, now=now, actor="staff")
    with pytest.raises(DomainError, match="not started"):
        no_show(db, first, RULES, reason="x", now=now, actor="staff")
    after = clock.advance(SLOT_START + timedelta(hours=1) - now)
    result = no_show(db, first, RULES, reason="officer absent", now=after, actor="staff")
    assert not result.case_returned and case.state == "scheduling" and case.no_show_count == 1
    second = book(db, case, option(mediator, venue, start=after + timedelta(days=5)), RULES,
                  now=after, actor="staff")
    final = clock.advance(second.starts_at + timedelta(minutes=20) - after)
    result = no_show(db, second, RULES, reason="again", now=final, actor="staff")
    assert result.case_returned
    assert (case.state, case.outcome, case.no_show_count) == ("returned", "no_show", 2)
    alerts = [n.context["alert"] for n in notices(db, kind="staff_alert")]
    assert alerts == ["no_show", "case_returned"]
    told = notices(db, kind="case_returned")  # told once, not also by an "outcome" notice
    assert {n.party_id for n in told} == {p.id for p in case.parties}
    assert {n.context["why"] for n in told} == {"no_show"} and notices(db, kind="outcome") == []


def test_withdrawal_cancels_the_session_and_returns_the_case(
        db: Session, clock: FixedClock) -> None:
    now = clock.now()
    case = make_scheduling_case(db, now)
    row = book(db, case, option(make_mediator_row(db, now), make_venue_row(db, now)), RULES, now=now,
               actor="staff")
    withdraw(db, case, RULES, reason="complainant changed mind", now=now, actor="party",
             party_id=case.parties[0].id)
    db.commit()
    assert (row.status, case.state, case.outcome) == ("cancelled", "returned", "withdrawn")
    assert resources(db, row.id) == set()
    assert len(notices(db, kind="cancellation")) == 4
    assert {n.status for n in notices(db, kind="reminder")} == {"cancelled"}
    told = notices(db, kind="case_returned")
    assert {n.party_id for n in told} == {p.id for p in case.parties}
    assert {n.context["why"] for n in told} == {"withdrawn"}
