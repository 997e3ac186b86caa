"""Booking: reservations, the no-double-booking guarantee under a real race, hard constraints."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import Case, CaseState, MediationSession, Reservation
from scheduler.booking import (
    BookingOption,
    NotBookable,
    SlotTaken,
    book,
    book_first_available,
)
from scheduler.profiles import person_key
from tests.support.booking import (
    POLICY,
    RULES,
    SLOT_START,
    add_conflict,
    notices,
    option,
    race_bookings,
)
from tests.support.factories import make_mediator_row, make_scheduling_case, make_venue_row


def active_reservations(db: Session) -> list[tuple[str, object, object]]:
    rows = db.scalars(select(Reservation).where(Reservation.active.is_(True))
                      .order_by(Reservation.resource))
    return [(r.resource, r.starts_at, r.ends_at) for r in rows]


def test_booking_reserves_every_resource_and_tells_everyone(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    case = make_scheduling_case(db, now)
    mediator, venue = make_mediator_row(db, now), make_venue_row(db, now)
    row = book(db, case, option(mediator, venue), RULES, now=now, actor="staff")
    db.commit()

    assert (row.status, row.sequence, case.state) == ("booked", 0, CaseState.BOOKED.value)
    end = SLOT_START + timedelta(minutes=90)
    padded = end + POLICY.buffer
    complainant, officer = case.parties
    assert active_reservations(db) == sorted([
        (f"mediator:{mediator.id}", SLOT_START, padded),
        (f"venue:{venue.id}", SLOT_START, padded),
        (f"party:{complainant.id}", SLOT_START, end),
        (f"party:{officer.id}", SLOT_START, end),
        (f"officer:{officer.officer_star}", SLOT_START, end),
        (person_key(complainant), SLOT_START, end),
    ])
    confirmations = notices(db, kind="booking_confirmation")
    assert {(n.recipient_kind, n.channel) for n in confirmations} == {
        ("party", "sms"), ("party", "email"), ("mediator", "email")}
    assert all(n.context["session_id"] == row.id and n.context["sequence"] == 0
               for n in confirmations)
    planned = {(n.recipient_kind, n.channel, n.due_at) for n in notices(db, kind="reminder")}
    assert planned == {  # the policy's plan: 7, 3 and 1 days; mediators 3 days and 1 day
        *(("party", channel, SLOT_START - timedelta(days=days))
          for channel in ("sms", "email") for days in (7, 3, 1)),
        *(("mediator", "email", SLOT_START - timedelta(days=days)) for days in (3, 1)),
        ("party", "sms", SLOT_START - timedelta(hours=2)),  # the last short text, SMS only
    }


def test_eight_concurrent_bookings_for_one_slot_exactly_one_wins(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        mediator = make_mediator_row(db, now)
        venues = [make_venue_row(db, now) for _ in range(8)]  # only the mediator is contended
        case_ids = [make_scheduling_case(db, now).id for _ in range(8)]
        options = [option(mediator, v) for v in venues]
    outcomes = race_bookings(session_factory, case_ids, options, now)
    assert [o.partition(":")[0] for o in outcomes] == ["slot taken"] * 7 + ["won"]
    with session_factory() as db:
        booked = db.scalars(select(MediationSession)).all()
        assert [s.status for s in booked] == ["booked"]
        assert db.scalars(select(Reservation.resource).where(
            Reservation.resource == f"mediator:{mediator.id}")).all() == [f"mediator:{mediator.id}"]
        states = sorted(db.scalars(select(Case.state).where(Case.id.in_(case_ids))))
        assert states == ["booked"] + ["scheduling"] * 7


def test_buffer_keeps_a_mediator_and_room_apart_but_lets_them_follow(
        db: Session, clock: FixedClock) -> None:
    now = clock.now()
    mediator, venue = make_mediator_row(db, now), make_venue_row(db, now)
    book(db, make_scheduling_case(db, now), option(mediator, venue), RULES, now=now, actor="staff")
    end = SLOT_START + timedelta(minutes=90)
    second = make_scheduling_case(db, now)
    with pytest.raises(SlotTaken):
        book(db, second, option(mediator, venue, start=end), RULES, now=now, actor="staff")
    # the savepoint rolled back: the transaction is usable and the case untouched
    assert second.state == CaseState.SCHEDULING.value
    row = book(db, second, option(mediator, venue, start=end + POLICY.buffer), RULES, now=now,
               actor="staff")
    db.commit()
    assert row.status == "booked"


def test_an_officer_in_two_cases_is_never_double_booked(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    first = make_scheduling_case(db, now, officer_star="4242")
    second = make_scheduling_case(db, now, officer_star="4242")
    book(db, first, option(make_mediator_row(db, now), make_venue_row(db, now)), RULES, now=now, actor="s")
    with pytest.raises(SlotTaken):
        book(db, second, option(make_mediator_row(db, now), make_venue_row(db, now)), RULES, now=now,
             actor="s")


def test_a_complainant_in_two_cases_is_never_double_booked(db: Session, clock: FixedClock
                                                            ) -> None:
    """A repeat complainant is one person across their cases, known by their number (as their
    opt-out is): found by the simulation, two of their cases booked by hand at the same hour."""
    now = clock.now()
    first = make_scheduling_case(db, now, complainant_phone="+13127469999")
    second = make_scheduling_case(db, now, complainant_phone="+13127469999")
    book(db, first, option(make_mediator_row(db, now), make_venue_row(db, now)), RULES, now=now,
         actor="s")
    with pytest.raises(SlotTaken):
        book(db, second, option(make_mediator_row(db, now), make_venue_row(db, now)), RULES,
             now=now, actor="s")


HARD_CASES = {
    "untrained mediator": ({"general_training_hours": 12}, {}, None, "mediation training"),
    "expired training": ({"training_expires_on": date(2026, 11, 30)}, {}, None, "expired"),
    "former police": ({"former_police": True}, {}, None, "former police"),
    "inactive mediator": ({"active": False}, {}, None, "inactive"),
    "police facility": ({}, {"neutral": False, "name": "District 1 station"}, None, "police"),
    "video not accepted": ({}, {"kind": "video"}, None, "video"),
    "too small a room": ({}, {"capacity": 2}, None, "seats"),
    "conflict with the officer": ({}, {}, ("officer", "7777"), "conflict of interest"),
    "conflict with the complainant": ({}, {}, ("person", "jane roe"), "conflict of interest"),
}


def test_hard_constraints_are_rechecked_against_the_rows(db: Session, clock: FixedClock) -> None:
    """book() is handed options naming each forbidden choice; it refuses every one, by reason."""
    now = clock.now()
    for name, (mediator_fields, venue_fields, conflict, expected) in HARD_CASES.items():
        case = make_scheduling_case(db, now, officer_star="7777", complainant="Jane Roe")
        mediator = make_mediator_row(db, now, **mediator_fields)
        if conflict:
            add_conflict(db, mediator, *conflict)
        venue = make_venue_row(db, now, **venue_fields)
        with pytest.raises(NotBookable, match=expected):
            book(db, case, option(mediator, venue), RULES, now=now, actor="staff")
        assert case.state == CaseState.SCHEDULING.value, name
    fine = make_scheduling_case(db, now)
    for start, expected in [
        (datetime(2026, 11, 26, 18, 0, tzinfo=UTC), "notice"),  # tomorrow: under 72 h away
        (datetime(2026, 12, 25, 18, 0, tzinfo=UTC), "holiday"),
    ]:
        with pytest.raises(NotBookable, match=expected):
            book(db, fine, option(make_mediator_row(db, now), make_venue_row(db, now), start=start),
                 RULES, now=now, actor="staff")
    db.commit()
    assert db.scalars(select(MediationSession)).all() == []
    assert active_reservations(db) == []


def test_co_mediated_case_needs_two_mediators(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    case = make_scheduling_case(db, now)
    case.co_mediation = True
    first, second, venue = make_mediator_row(db, now), make_mediator_row(db, now), make_venue_row(db, now)
    with pytest.raises(NotBookable, match="2 distinct"):
        book(db, case, option(first, venue), RULES, now=now, actor="staff")
    pair = BookingOption((first.id, second.id), venue.id, SLOT_START,
                         SLOT_START + timedelta(minutes=90))
    row = book(db, case, pair, RULES, now=now, actor="staff")
    assert row.co_mediator_id == second.id
    assert {r for r, _, _ in active_reservations(db)} >= {f"mediator:{first.id}",
                                                          f"mediator:{second.id}"}


def test_book_first_available_falls_through_to_the_next_option(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        mediator, venue = make_mediator_row(db, now), make_venue_row(db, now)
        book(db, make_scheduling_case(db, now), option(mediator, venue), RULES, now=now, actor="staff")
        case_id = make_scheduling_case(db, now).id
    later = option(mediator, venue, start=SLOT_START + timedelta(days=1))
    result = book_first_available(session_factory, case_id, [option(mediator, venue), later],
                                  RULES, now=now)
    assert result.option == later and result.session is not None
    assert [why for _, why in result.failures] == [f"slot taken: {SLOT_START.isoformat()}"]


def test_a_case_gets_one_active_session(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    case = make_scheduling_case(db, now)
    mediator, venue = make_mediator_row(db, now), make_venue_row(db, now)
    book(db, case, option(mediator, venue), RULES, now=now, actor="staff")
    with pytest.raises(NotBookable, match="booked, not scheduling"):
        book(db, case, option(mediator, venue, start=SLOT_START + timedelta(days=2)),
             replace(RULES), now=now, actor="staff")
