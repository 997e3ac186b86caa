"""The search: priority greedy, ejection-chain repair, then polishing passes.

1. **Greedy.** Cases go by earliest deadline, then oldest referral (earliest-deadline-first
   beat "fewest options first" by 10% on the benchmark). Each takes its earliest start at which
   the parties, a mediator (or a pair covering the languages) and a venue room are all free; at
   that start the mediator speaking the fewest languages wins (rare speakers stay free for the
   cases that need them), then the least loaded, then the nearest venue.
2. **Repair.** For every case left over, try ejection chains: take out one booking that blocks
   it, place the case, then re-place the ejected case elsewhere, recursively up to ``depth``
   ejections, within a global budget of placement attempts. Every step keeps the state feasible
   and undoes itself on failure, so the count of booked cases never drops.
   Steps 1 and 2 run in several ways side by side (see :func:`construct`: plain; cases late
   anyway placed backward; cases that can be on time first; the fewest-options order), each
   followed by step 3, and the best by (booked, on time) is kept.
3. **Target.** The passes of :mod:`scheduler.matching.passes` move cases booked past their
   target before it, by the same ejection chains: strictly (no case on time becomes late),
   by trades (kept only when fewer are late in all) and by exchanges (a case left out takes
   the place of a late one that blocks it). The count booked never drops.
4. **Compaction.** Oldest referral first, each booked case is taken out and put back at its
   earliest feasible start, which is never later than before (so never past its target).
5. **Rotation.** Each booking moves, at the same start and venue, to a mediator whose share of
   the load against their weight (their stated weekly capacity, as in Cal.com's weighted round
   robin) stays lower than the current mediator's would be.

The objective is thereby lexicographic: cases booked first, then cases past their target, then
earlier sessions for older referrals, then a load in proportion to capacity.

All sets of slots are ``int`` bitmasks (see :mod:`scheduler.matching.grid`), so one test of a
mediator against a case's whole horizon is one big-integer ``&``.
"""

from __future__ import annotations

from dataclasses import replace

from scheduler.matching.eligibility import Problem
from scheduler.matching.passes import by_age, late, on_time, rotate
from scheduler.matching.state import SolveOptions, State


def case_order(problem: Problem, order: str) -> list[int]:
    p = problem
    n = len(p.cases)
    if order == "fifo":
        return sorted(range(n), key=lambda c: (p.cases[c].referred_at, p.cases[c].case_id))
    if order == "deadline":
        return sorted(range(n), key=lambda c: (p.cases[c].deadline, p.cases[c].referred_at,
                                               p.cases[c].case_id))
    options = []
    for c in range(n):
        static = p.case_static[c]
        options.append(sum((static & p.med_ok[m]).bit_count() for m in p.case_mediators[c]))
    return sorted(
        range(n),
        key=lambda c: (options[c], p.cases[c].deadline, p.cases[c].referred_at,
                       p.cases[c].case_id),
    )


def construct(problem: Problem, opts: SolveOptions, mode: str = "plain") -> State:
    """Greedy then repair (steps 1 and 2), in one of three modes:

    * ``"plain"``: every case in ``opts.order``, each at its earliest start;
    * ``"backward"``: the same, but a case that will be late whatever happens takes its latest
      start, leaving the early ones to cases that can still be on time (compaction brings it
      forward again where nothing is in the way);
    * ``"on_time"``: first the cases that can be on time, by earliest target, placed (and
      repaired) only before their targets; then the others around them, those kept on time;
      then a last repair free of targets.
    """
    p = problem
    state = State(p)
    stop = budget_from(state, opts)
    order = [c for c in case_order(p, opts.order) if p.case_static[c]]
    if mode == "backward":
        state.backward = frozenset(c for c in order if not p.case_static[c] & p.case_ontime[c])
    elif mode == "on_time":
        first = sorted((c for c in order if p.case_static[c] & p.case_ontime[c]),
                       key=lambda c: (p.cases[c].target or p.cases[c].deadline,
                                      p.cases[c].referred_at, p.cases[c].case_id))
        state.allow = {c: p.case_ontime[c] for c in first}
        _place(state, first, opts, stop)
        state.allow = {c: p.case_ontime[c] for c in state.placed}
        _place(state, [c for c in order if c not in state.placed], opts, stop)
        state.allow = {}
    _place(state, [c for c in order if c not in state.placed], opts, stop)
    state.backward = frozenset()
    return state


def budget_from(state: State, opts: SolveOptions) -> int:
    """The attempt count at which a phase (a construction's repair, or the target passes)
    stops: the policy's ``improvement_budget`` (or ``opts.budget``) from now."""
    return state.attempts + (opts.budget if opts.budget is not None
                             else state.p.policy.improvement_budget)


def _place(state: State, cases: list[int], opts: SolveOptions, stop: int) -> None:
    """Greedy in the given order, then ejection-chain repair for the cases left over, until
    ``stop`` attempts."""
    left: list[int] = []
    for c in cases:
        found = state.find(c, fair=opts.fair)
        if found is None:
            left.append(c)
        else:
            state.book(c, found)
    if opts.repair_depth > 0:
        for c in left:
            limit = min(stop, state.attempts + opts.case_budget)
            state.insert(c, opts.repair_depth, opts.repair_breadth, limit, set())


def score(state: State) -> tuple[int, int]:
    """The objective's first two levels: cases booked, then cases on time (larger is better)."""
    return (len(state.placed), -sum(1 for c in state.placed if late(state, c)))


def solve(problem: Problem, options: SolveOptions | None = None) -> State:
    """Run the search and return the final state (``state.placed`` holds the bookings).

    Several constructions are tried (see :func:`construct`): ``opts.order`` plain and, with
    targets, backward and on time first; with ``opts.portfolio`` also "fewest options first".
    Each is followed by the target passes (:func:`on_time`) on a quarter of the budget, and
    the best by (booked, on time) is kept, the earliest tried on a tie, so the result is
    deterministic; it then gets the passes with the whole budget, then compaction and rotation.
    """
    opts = options or SolveOptions()
    p = problem
    targets = opts.target and any(c.target is not None for c in p.cases)
    tries: list[tuple[SolveOptions, str]] = [(opts, "plain")]
    if targets:
        tries += [(opts, "backward"), (opts, "on_time")]
    if opts.portfolio and opts.order != "hardest":
        tries.append((replace(opts, order="hardest"), "plain"))
    best: State | None = None
    for how, mode in tries:
        state = construct(p, how, mode)
        if targets:  # a quarter of the budget to compare the constructions fairly
            on_time(state, opts, state.attempts + (budget_from(state, opts)
                                                   - state.attempts) // 4)
        if best is None or score(state) > score(best):
            best = state
    assert best is not None
    state = best
    if targets:  # the whole budget for the one kept
        stop = budget_from(state, opts)
        for _ in range(3):
            if not on_time(state, opts, stop) or state.attempts > stop:
                break
    ages = by_age(state)
    if opts.compact:
        for c in ages:
            s = state.placed[c][0]
            old = state.unbook(c)
            found = state.find(c, before=s + 1)
            state.book(c, found if found is not None else old)
    if opts.rotate:
        rotate(state, ages)
    return state
