"""A session a party has not confirmed goes to the staff work queue ``confirm_by_hours`` (48 in
the policy) before it starts — elapsed hours, so a DST change in between moves nothing — and
leaves it when the party confirms or staff record that they confirmed by phone. A reschedule
asks again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from cases import confirmations
from cases.clock import FixedClock
from scheduler.booking import book, reschedule
from tests.support.booking import RULES, option
from tests.support.factories import make_mediator_row, make_scheduling_case, make_venue_row
from web import queue

CHICAGO = ZoneInfo("America/Chicago")
#: Monday 2 November 2026, 12:00 in Chicago: the day after clocks went back (1 November, 02:00)
AFTER_DST = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
WITHIN = timedelta(hours=RULES.policy.reminders.confirm_by_hours)


def test_the_48_hour_rule_counts_real_hours_across_a_dst_change(db: Session) -> None:
    clock = FixedClock(AFTER_DST - timedelta(days=10))
    now = clock.now()
    mediator, venue = make_mediator_row(db, now), make_venue_row(db, now)
    row = book(db, make_scheduling_case(db, now), option(mediator, venue, AFTER_DST), RULES, now=now,
               actor="staff")
    parties = sorted(p.id for p in row.case.parties)
    assert timedelta(hours=48) == WITHIN

    just_before = AFTER_DST - WITHIN - timedelta(minutes=1)
    # 47 hours on the wall clock: the hour from 01:00 to 02:00 on Sunday happened twice.
    wall = AFTER_DST.astimezone(CHICAGO).replace(tzinfo=None) - \
        (AFTER_DST - WITHIN).astimezone(CHICAGO).replace(tzinfo=None)
    assert wall == timedelta(hours=47)
    assert queue.build(db, RULES, now=just_before).not_confirmed == []
    at_48 = queue.build(db, RULES, now=AFTER_DST - WITHIN).not_confirmed
    assert [(u.session.id, sorted(p.id for p in u.parties)) for u in at_48] == [(row.id, parties)]

    later = AFTER_DST - timedelta(hours=30)
    complainant, officer = row.case.parties[0], row.case.parties[1]
    confirmations.confirm(db, row, complainant, now=later, channel="sms", actor="party-sms")
    left = confirmations.unconfirmed_parties(db, now=later, within=WITHIN)
    assert [[p.id for p in u.parties] for u in left] == [[officer.id]]
    confirmations.confirm_by_staff(db, row, [officer.id], now=later, actor="coordinator")
    assert confirmations.unconfirmed_parties(db, now=later, within=WITHIN) == []
    assert confirmations.unconfirmed_parties(db, now=AFTER_DST, within=WITHIN) == []  # started


def test_a_reschedule_asks_the_parties_again(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    mediator, venue = make_mediator_row(db, now), make_venue_row(db, now)
    start = now + timedelta(days=5)  # Monday 09:00 in Chicago
    row = book(db, make_scheduling_case(db, now), option(mediator, venue, start), RULES, now=now,
               actor="staff")
    for party in row.case.parties:
        confirmations.confirm(db, row, party, now=now, channel="sms", actor="party-sms")
    assert confirmations.current(db, [row]).keys() == {(row.id, p.id) for p in row.case.parties}
    moved = start + timedelta(hours=1)
    reschedule(db, row, option(mediator, venue, moved), RULES, now=now, actor="staff",
               reason="venue asked")
    assert confirmations.current(db, [row]) == {}
    waiting = confirmations.unconfirmed_parties(db, now=moved - WITHIN, within=WITHIN)
    assert [u.session.id for u in waiting] == [row.id]
