"""The pure matcher: consented cases in, proposed sessions (or reasons) out.

``match(cases, mediators, venues, now=..., policy=...)`` reads nothing but its arguments: the
database is read before and written after, and the clock is the ``now`` parameter. See
:mod:`scheduler.matching.solver` for the algorithm and ``bench/matching.py`` for how it compares
with a greedy baseline, CP-SAT and the LP bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from scheduler.matching.eligibility import Problem, prepare
from scheduler.matching.model import (
    Booking,
    CaseRequest,
    Interval,
    MatchPolicy,
    MatchResult,
    MediatorProfile,
    Party,
    VenueProfile,
)
from scheduler.matching.reasons import explain
from scheduler.matching.solver import solve
from scheduler.matching.state import Placement, SolveOptions, State

__all__ = [
    "Booking",
    "CaseRequest",
    "Interval",
    "MatchPolicy",
    "MatchResult",
    "MediatorProfile",
    "Party",
    "SolveOptions",
    "VenueProfile",
    "bookings_of",
    "match",
    "result_of",
]


def bookings_of(problem: Problem, placed: Mapping[int, Placement]) -> list[Booking]:
    """Placements (case index -> start slot, mediator indices, venue index) as bookings."""
    p = problem
    step = p.grid.step
    bookings = []
    for c, (s, ms, v) in placed.items():
        start = p.grid.at(s)
        bookings.append(Booking(
            case_id=p.cases[c].case_id,
            mediator_ids=tuple(p.mediators[m].mediator_id for m in ms),
            venue_id=p.venues[v].venue_id,
            start=start,
            end=start + step * p.length,
        ))
    bookings.sort(key=lambda b: (b.start, b.case_id))
    return bookings


def result_of(problem: Problem, state: State) -> MatchResult:
    """Turn a solved state into bookings (ordered by start) and reasons."""
    p = problem
    bookings = bookings_of(p, state.placed)
    unbooked = {p.cases[c].case_id: explain(p, state, c)
                for c in range(len(p.cases)) if c not in state.placed}
    return MatchResult(bookings=bookings, unbooked=unbooked)


def match(
    cases: Sequence[CaseRequest],
    mediators: Sequence[MediatorProfile],
    venues: Sequence[VenueProfile],
    *,
    now: datetime,
    policy: MatchPolicy | None = None,
    options: SolveOptions | None = None,
) -> MatchResult:
    """Book as many cases as possible before their deadlines; explain the rest.

    Objective, in order: the number of cases booked; earlier sessions for older cases; a fair
    load across mediators (rotation); venues near the complainant. Hard constraints (training,
    conflicts of interest, languages, neutral and accessible venues, video only when accepted,
    minimum notice, holidays, buffers, weekly limits, no double booking of a mediator, a room or
    a party) are never relaxed.
    """
    problem = prepare(cases, mediators, venues, policy or MatchPolicy(), now)
    return result_of(problem, solve(problem, options))
