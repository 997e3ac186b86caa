"""The rules every booking passes, whoever proposes it: a mediator's weekly limit under a real
race, the matcher's rules re-checked by ``book()``, and a venue not on neutral ground never
offered by the matcher."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import AuditEvent, Case, CaseState, MediationSession, Outcome
from cases.service import WeeklyWindow
from scheduler import booking
from scheduler.booking import NotBookable, book, no_show, reschedule
from scheduler.candidates import match_and_book, read_inputs
from tests.support.booking import RULES, SLOT_START, calendar_read, option, race_bookings
from tests.support.factories import make_mediator_row, make_scheduling_case, make_venue_row


@pytest.mark.parametrize("held", ["successful", "no_show"])
def test_a_session_already_held_this_week_still_counts_towards_the_weekly_limit(
        session_factory: sessionmaker[Session], clock: FixedClock, held: str) -> None:
    """A mediator who takes one session a week mediated on Monday (the outcome is recorded, or
    nobody came): a second session that Friday is refused, by ``book()`` and by the matcher.
    Before, only held and booked sessions were counted, so a week's limit reset as soon as its
    first session was over."""
    now = clock.now()
    with transaction(session_factory) as db:
        mediator = make_mediator_row(db, now, max_sessions_per_week=1)
        venue = make_venue_row(db, now)
        first = make_scheduling_case(db, now)
        monday = SLOT_START - timedelta(days=2)  # Mon 30 Nov 2026, 12:00 in Chicago
        book(db, first, option(mediator, venue, start=monday), RULES, now=now, actor="staff")
        second_id = make_scheduling_case(db, now).id
    after = monday + timedelta(hours=2)  # once the session is over
    with transaction(session_factory) as db:
        case = db.get_one(Case, first.id)
        if held == "successful":
            booking.record_outcome(db, case, Outcome.SUCCESSFUL, now=after, actor="staff")
        else:
            row = db.scalars(select(MediationSession).where(
                MediationSession.case_id == first.id)).one()
            no_show(db, row, RULES, reason="the complainant did not come", now=after,
                    actor="staff")
        assert db.scalars(select(MediationSession.status).where(
            MediationSession.case_id == first.id)).one() != "booked"
    friday = SLOT_START + timedelta(days=2)  # Fri 4 Dec 12:00 in Chicago: the same ISO week
    with transaction(session_factory) as db:
        case = db.get_one(Case, second_id)
        with pytest.raises(NotBookable, match="weekly"):
            book(db, case, option(mediator, venue, start=friday), RULES, now=after,
                 actor="staff")
        offered = read_inputs(db, RULES, now=after)
        profile = next(m for m in offered.mediators if m.mediator_id == str(mediator.id))
        iso = friday.astimezone(ZoneInfo("America/Chicago")).isocalendar()
        assert profile.sessions_by_week.get((iso[0], iso[1])) == 1


def test_eight_concurrent_bookings_of_one_mediator_keep_the_weekly_limit(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    """Eight threads, each with its own session, book eight different slots in one week for a
    mediator who takes two a week: two win, six are refused by the weekly limit."""
    now = clock.now()
    with transaction(session_factory) as db:
        mediator = make_mediator_row(db, now, max_sessions_per_week=2)
        venues = [make_venue_row(db, now) for _ in range(8)]
        case_ids = [make_scheduling_case(db, now).id for _ in range(8)]
        # Wed 2 Dec to Sat 5 Dec 2026, 12:00 and 15:00 in Chicago: one week, no two overlapping
        options = [option(mediator, venues[i],
                          start=SLOT_START + timedelta(days=i % 4, hours=3 * (i // 4)))
                   for i in range(8)]
    outcomes = race_bookings(session_factory, case_ids, options, now)
    refusal = f"not bookable: mediator {mediator.id}: weekly session limit reached (2 a week)"
    assert outcomes == [refusal] * 6 + ["won"] * 2
    with session_factory() as db:
        booked = db.scalars(select(MediationSession.status)).all()
        assert booked == ["booked", "booked"]


def test_the_matcher_never_offers_a_venue_that_is_not_neutral(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        case_id = make_scheduling_case(db, now).id
        make_mediator_row(db, now)
        station = make_venue_row(db, now, neutral=False, name="District 1 station")
        station_id = station.id
    with session_factory() as db:
        assert str(station_id) not in {v.venue_id for v in read_inputs(db, RULES, now=now).venues}
    run = match_and_book(session_factory, RULES, now=now)
    assert run.booked == {} and case_id in run.unbooked
    with transaction(session_factory) as db:
        library_id = make_venue_row(db, now).id
    run = match_and_book(session_factory, RULES, now=now)
    with session_factory() as db:
        row = db.get_one(MediationSession, run.booked[case_id])
        assert row.venue_id == library_id


def test_the_matcher_gives_a_complainant_back_with_a_new_complaint_another_time(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    """The same number in two cases is one person: the matcher offers the second case a time
    the first session leaves free, instead of one the booking must refuse."""
    now = clock.now()
    with transaction(session_factory) as db:
        first = make_scheduling_case(db, now, complainant_phone="+13127469998").id
        for _ in range(2):
            make_mediator_row(db, now)
            make_venue_row(db, now)
    booked = match_and_book(session_factory, RULES, now=now).booked
    with transaction(session_factory) as db:
        second = make_scheduling_case(db, now, complainant_phone="+13127469998").id
    run = match_and_book(session_factory, RULES, now=now)
    assert second in run.booked, run.unbooked
    with session_factory() as db:
        a = db.get_one(MediationSession, booked[first])
        b = db.get_one(MediationSession, run.booked[second])
        assert a.ends_at <= b.starts_at or b.ends_at <= a.starts_at


MONDAY_MORNING = [WeeklyWindow(0, time(9), time(12))]
RULE_CASES = {
    # name: (mediator fields, venue fields, start, minutes, expected)
    "ten years out": ({}, {}, datetime(2036, 12, 3, 18, 0, tzinfo=UTC), 90,
                      "booking deadline"),
    "a 392-day session": ({}, {}, SLOT_START, 392 * 24 * 60,
                          "a session of 392 days is outside the policy's 60 min to 180 min"),
    "too short a session": ({}, {}, SLOT_START, 30, "a session of 30 min is outside"),
    "closed venue": ({}, {"opening_hours": {"0": [["09:00", "12:00"]]}}, SLOT_START, 90,
                     "closed at that time"),
    "a language nobody speaks": ({"languages": ["pl"]}, {}, SLOT_START, 90, "no mediator speaks en"),
    "mediator takes none that week": ({"max_sessions_per_week": 0}, {}, SLOT_START, 90,
                                      "takes no sessions"),
}


@pytest.mark.parametrize("name", RULE_CASES)
def test_book_refuses_what_the_matcher_would_never_propose(
        db: Session, clock: FixedClock, name: str) -> None:
    now = clock.now()
    mediator_fields, venue_fields, start, minutes, expected = RULE_CASES[name]
    case = make_scheduling_case(db, now)
    mediator, venue = make_mediator_row(db, now, **mediator_fields), make_venue_row(db, now, **venue_fields)
    with pytest.raises(NotBookable, match=expected):
        book(db, case, option(mediator, venue, start=start, minutes=minutes), RULES, now=now,
             actor="staff", override_reason="agreed by phone")
    assert case.state == CaseState.SCHEDULING.value
    assert db.scalars(select(MediationSession)).all() == []


def test_calendar_busy_time_refuses_a_booking_but_not_its_own_session(
        db: Session, clock: FixedClock) -> None:
    now = clock.now()
    mediator = make_mediator_row(db, now, calendar_kind="ics", calendar_url="https://c.example/m.ics")
    venue = make_venue_row(db, now)
    dentist = (SLOT_START - timedelta(hours=1), SLOT_START + timedelta(minutes=15))
    calendar_read(db, mediator, now, [dentist])
    with pytest.raises(NotBookable, match="busy in their own calendar"):
        book(db, make_scheduling_case(db, now), option(mediator, venue), RULES, now=now, actor="staff")
    later = SLOT_START + timedelta(hours=2)
    row = book(db, make_scheduling_case(db, now), option(mediator, venue, start=later), RULES, now=now,
               actor="staff")
    # the pushed event of the session itself comes back in the next read: it does not block it
    calendar_read(db, mediator, now, [dentist, (row.starts_at, row.ends_at)])
    moved = reschedule(db, row, option(mediator, venue, start=later + timedelta(minutes=30)),
                       RULES, now=now, actor="staff", reason="later")
    assert moved.session.starts_at == later + timedelta(minutes=30)


def test_windows_are_overridden_only_with_a_reason_that_is_audited(
        db: Session, clock: FixedClock) -> None:
    now = clock.now()
    case = make_scheduling_case(db, now, windows=MONDAY_MORNING)
    mediator, venue = make_mediator_row(db, now, windows=MONDAY_MORNING), make_venue_row(db, now)
    with pytest.raises(NotBookable) as refused:
        book(db, case, option(mediator, venue), RULES, now=now, actor="staff")
    assert [r.split(":")[0] for r in refused.value.reasons] == [
        *(f"party {p.id} ({p.role})" for p in case.parties), f"mediator {mediator.id}"]
    row = book(db, case, option(mediator, venue), RULES, now=now, actor="staff",
               override_reason="agreed by phone")
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "session.booked")).one()
    assert (event.subject_id, event.detail["override_reason"]) == (row.id, "agreed by phone")
    assert len(event.detail["outside_windows"]) == 3
    with pytest.raises(NotBookable, match="override_reason"):
        reschedule(db, row, option(mediator, venue, start=SLOT_START + timedelta(days=1)),
                   RULES, now=now, actor="staff", reason="moved")
