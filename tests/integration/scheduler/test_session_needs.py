"""The session's own needs, apart from how each party reads, reach the matcher and the booking
rules from the rows: the session language decides the mediators, a case that needs two is
booked as a pair, and a venue lacking a needed access feature is never chosen. Both backends."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import MediationSession
from scheduler.booking import NotBookable, book
from scheduler.candidates import match_and_book
from tests.support.booking import RULES, notices, option
from tests.support.factories import make_mediator_row, make_scheduling_case, make_venue_row


def _session(factory: sessionmaker[Session], session_id: int) -> MediationSession:
    with factory() as db:
        return db.get_one(MediationSession, session_id)


def test_a_polish_reading_officer_is_booked_with_an_english_speaking_mediator(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        case_id = make_scheduling_case(db, now, officer_language="pl").id
        english = make_mediator_row(db, now, languages=["en"]).id
        make_venue_row(db, now)
    run = match_and_book(session_factory, RULES, now=now)
    assert case_id in run.booked, run.unbooked
    assert _session(session_factory, run.booked[case_id]).mediator_id == english
    with session_factory() as db:
        officer_notice = [n for n in notices(db, case_id=case_id, kind="booking_confirmation")
                          if n.language == "pl"]
        assert officer_notice, "the officer still reads their notices in Polish"


def test_a_session_held_in_polish_needs_a_polish_speaking_mediator(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        case_id = make_scheduling_case(db, now, session_language="pl").id
        make_mediator_row(db, now, languages=["en"])
        make_venue_row(db, now)
    run = match_and_book(session_factory, RULES, now=now)
    assert run.booked == {}
    assert run.unbooked[case_id].startswith("no qualified Polish-speaking mediator")
    with transaction(session_factory) as db:
        polish = make_mediator_row(db, now, languages=["pl", "en"]).id
    run = match_and_book(session_factory, RULES, now=now)
    assert _session(session_factory, run.booked[case_id]).mediator_id == polish


def test_a_case_that_needs_two_mediators_is_booked_as_a_pair_automatically(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    assert not RULES.policy.co_mediation  # the case asks for two, not the policy
    with transaction(session_factory) as db:
        case_id = make_scheduling_case(db, now, co_mediation=True).id
        ids = {make_mediator_row(db, now).id, make_mediator_row(db, now).id}
        make_venue_row(db, now)
    run = match_and_book(session_factory, RULES, now=now)
    assert case_id in run.booked, run.unbooked
    row = _session(session_factory, run.booked[case_id])
    assert {row.mediator_id, row.co_mediator_id} == ids


def test_no_pair_is_booked_when_together_they_do_not_cover_the_session_language(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        case = make_scheduling_case(db, now, co_mediation=True, session_language="pl")
        case_id = case.id
        polish = make_mediator_row(db, now, languages=["pl"])
        english = make_mediator_row(db, now, languages=["en"])
        venue = make_venue_row(db, now)
        with pytest.raises(NotBookable, match="a co-mediator speaks none of"), db.begin_nested():
            book(db, case, replace(option(polish, venue), mediator_ids=(polish.id, english.id)),
                 RULES, now=now, actor="staff")
        polish_id = polish.id
    run = match_and_book(session_factory, RULES, now=now)
    assert run.booked == {}
    assert "pair of mediators" in run.unbooked[case_id]
    with transaction(session_factory) as db:
        second = make_mediator_row(db, now, languages=["pl", "en"]).id
    run = match_and_book(session_factory, RULES, now=now)
    row = _session(session_factory, run.booked[case_id])
    assert {row.mediator_id, row.co_mediator_id} == {polish_id, second}


def test_a_venue_without_a_needed_access_feature_is_never_chosen(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with transaction(session_factory) as db:
        case = make_scheduling_case(db, now, access_needs=["hearing_loop"])
        case_id = case.id
        mediator = make_mediator_row(db, now)
        plain = make_venue_row(db, now, features=[])
        with pytest.raises(NotBookable, match="lacks hearing_loop"), db.begin_nested():
            book(db, case, option(mediator, plain), RULES, now=now, actor="staff")
    run = match_and_book(session_factory, RULES, now=now)
    assert run.booked == {}
    assert run.unbooked[case_id].startswith("no neutral venue with hearing loop")
    with transaction(session_factory) as db:
        looped = make_venue_row(db, now, features=["hearing_loop"]).id
    run = match_and_book(session_factory, RULES, now=now)
    assert _session(session_factory, run.booked[case_id]).venue_id == looped
    with session_factory() as db:
        assert db.scalars(select(MediationSession.venue_id)).all() == [looped]
