"""The benchmark's exact model and checker against the rules: they never accept a solution the
rules refuse, and the matcher never beats a proven optimum (that would mean the model is too
tight). Small instances, so CP-SAT proves its optimum in well under a second each."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bench.aims import key, measure
from bench.bounds import cpsat
from bench.model import build
from bench.workload import SHAPES, generate, violations
from scheduler.matching import Booking, bookings_of, match
from scheduler.matching.eligibility import prepare
from tests.support.matching import NOW, POLICY, at, case, mediator, venue

pytest.importorskip("ortools")


def booking(case_id: str, mediators: tuple[str, ...], start_hour: int = 13,
            venue_id: str = "V1") -> Booking:
    start = at(3, start_hour)
    return Booking(case_id, mediators, venue_id, start, start + timedelta(minutes=90))


def test_the_checker_sees_a_prebooked_session_that_starts_during_a_booking() -> None:
    # the room is taken from 14:00, half an hour into a session booked at 13:00
    room = venue(booked=((at(3, 14), at(3, 15)),))
    k = case()
    bad = violations([k], [mediator()], [room], POLICY, NOW, [booking("K1", ("M1",))])
    assert any("more than 1 rooms" in b for b in bad), bad
    later = venue(booked=((at(3, 15), at(3, 16)),))  # 15:00 is the end of 13:00 + 90 + buffer
    assert violations([k], [mediator()], [later], POLICY, NOW, [booking("K1", ("M1",))]) == []


@pytest.mark.parametrize(
    ("session", "pair", "expected"),
    [
        ({"pl", "en"}, ({"en"}, {"en"}), "mediators do not speak ['pl']"),
        ({"pl"}, ({"pl"}, {"en"}), "a co-mediator speaks none of ['pl']"),
        ({"pl", "en"}, ({"pl"}, {"en"}), None),
    ],
)
def test_the_checker_applies_the_pair_language_rule(session: set[str], pair: tuple[set[str], ...],
                                                    expected: str | None) -> None:
    k = case(co_mediation=True, languages=frozenset(session))
    ms = [mediator(f"M{i}", languages=frozenset(lang)) for i, lang in enumerate(pair)]
    bad = violations([k], ms, [venue()], POLICY, NOW, [booking("K1", ("M0", "M1"))])
    assert (bad == []) if expected is None else any(expected in b for b in bad), bad


def test_the_exact_model_books_no_pair_that_misses_a_language() -> None:
    # two English speakers are free; the Polish speaker is busy all day: no pair covers Polish
    k = case(co_mediation=True, languages=frozenset({"pl", "en"}),
             windows=((at(3, 13), at(3, 17)),))
    busy = mediator("PL", languages=frozenset({"pl", "en"}), busy=((at(3, 12), at(3, 18)),))
    mediators = [mediator("EN1"), mediator("EN2"), busy]
    problem = prepare([k], mediators, [venue()], POLICY, NOW)
    out = cpsat(build(problem), 10, 1)
    assert out.status.startswith("optimal") and out.placed == {}
    assert match([k], mediators, [venue()], now=NOW, policy=POLICY).bookings == []
    free = replace(busy, busy=())
    problem = prepare([k], [*mediators[:2], free], [venue()], POLICY, NOW)
    out = cpsat(build(problem), 10, 1)
    assert out.placed is not None and "PL" in bookings_of(problem, out.placed)[0].mediator_ids


@pytest.mark.parametrize("shape", SHAPES)
def test_optima_keep_the_rules_and_the_matcher_never_beats_them(shape: str) -> None:
    w = generate(3, n_cases=60, n_mediators=10, n_venues=4, business_days=10, shape=shape)
    problem = prepare(w.cases, w.mediators, w.venues, w.policy, w.now)
    out = cpsat(build(problem), 30, 2)
    assert out.status.startswith("optimal") and out.placed is not None
    optimum = bookings_of(problem, out.placed)
    assert optimum, "an instance with nothing to book proves nothing"
    assert violations(w.cases, w.mediators, w.venues, w.policy, w.now, optimum) == []
    mine = match(w.cases, w.mediators, w.venues, now=w.now, policy=w.policy).bookings
    assert key(measure(problem, mine)) <= key(measure(problem, optimum))
