"""The target passes and the rotation: the matcher's aims after the count booked.

Every pass keeps the state feasible and never lowers the count booked; the target passes only
lower the count of cases booked past their target (``Problem.case_ontime``), oldest referral
first, and stop at an attempt budget so that large inputs stay bounded. See
:mod:`scheduler.matching.solver` for where they run.
"""

from __future__ import annotations

from scheduler.matching.state import Placement, SolveOptions, State


def by_age(state: State) -> list[int]:
    """Booked cases, oldest referral first."""
    cases = state.p.cases
    return sorted(state.placed, key=lambda c: (cases[c].referred_at, cases[c].case_id))


def late(state: State, c: int) -> bool:
    """Case ``c`` is booked past its target."""
    return not state.p.case_ontime[c] >> state.placed[c][0] & 1


def on_time(state: State, opts: SolveOptions, stop: int) -> int:
    """The target passes (step 3 of the module's docstring): strict moves, trades and
    exchanges, until ``stop`` attempts; returns how many cases they moved."""
    return strict(state, opts, stop) + trade(state, opts, stop) + exchange(state, opts, stop)


def strict(state: State, opts: SolveOptions, stop: int) -> int:
    """Late cases re-inserted before their targets, every case on time kept on time."""
    p = state.p
    state.allow = {c: p.case_ontime[c] for c in state.placed if not late(state, c)}
    moved = 0
    for c in by_age(state):
        if state.attempts > stop:
            break
        if not late(state, c) or not p.case_static[c] & p.case_ontime[c]:
            continue
        old = state.unbook(c)
        state.allow[c] = p.case_ontime[c]
        if state.insert(c, opts.repair_depth, opts.repair_breadth,
                        min(stop, state.attempts + opts.case_budget), set()):
            moved += 1
        else:
            del state.allow[c]
            state.book(c, old)
    state.allow = {}
    return moved


def exchange(state: State, opts: SolveOptions, stop: int) -> int:
    """Book a case left out before its target in place of a late booking that blocks it.

    The count booked stays (or grows, if the case fits without taking any place), and one
    case fewer is late. Cases on time stay on time throughout; the case let go is then tried
    again anywhere, so it is booked after all when it still fits.
    """
    p = state.p
    moved = 0
    cases = p.cases
    waiting = sorted((c for c in range(len(cases)) if c not in state.placed
                      and p.case_static[c] & p.case_ontime[c]),
                     key=lambda c: (cases[c].referred_at, cases[c].case_id))
    for u in waiting:
        if state.attempts > stop:
            break
        state.allow = {c: p.case_ontime[c] for c in state.placed if not late(state, c)}
        state.allow[u] = p.case_ontime[u]
        budget = min(stop, state.attempts + opts.case_budget)
        if state.insert(u, opts.repair_depth, opts.repair_breadth, budget, set()):
            moved += 1
            continue
        for other in state.blockers(u):
            if not late(state, other) or state.attempts > budget:
                continue
            old = state.unbook(other)
            if state.insert(u, opts.repair_depth - 1, opts.repair_breadth, budget, set()):
                moved += 1
                state.allow.pop(other, None)
                state.insert(other, opts.repair_depth, opts.repair_breadth,
                             min(stop, state.attempts + opts.case_budget), set())
                break
            state.book(other, old)
    state.allow = {}
    return moved


def late_count(state: State) -> int:
    return sum(1 for c in state.placed if late(state, c))


def restore(state: State, old: dict[int, Placement]) -> None:
    """Put every booking back as in ``old`` (a copy of ``state.placed`` taken earlier)."""
    changed = [c for c in state.placed if old.get(c) != state.placed[c]]
    for c in changed:
        state.unbook(c)
    for c, placement in old.items():
        if c not in state.placed:
            state.book(c, placement)


def trade(state: State, opts: SolveOptions, stop: int) -> int:
    """Each late case that could be on time is put before its target even if the cases it
    ejects become late, and the change is kept only when fewer cases are late in all."""
    p = state.p
    moved = 0
    for c in by_age(state):
        if state.attempts > stop:
            break
        if c not in state.placed or not late(state, c) or \
                not p.case_static[c] & p.case_ontime[c]:
            continue
        before, old = late_count(state), dict(state.placed)
        state.unbook(c)
        state.allow = {c: p.case_ontime[c]}
        placed = state.insert(c, opts.repair_depth, opts.repair_breadth,
                              min(stop, state.attempts + opts.case_budget), set())
        state.allow = {}
        if placed and late_count(state) < before:
            moved += 1
        elif placed:
            restore(state, old)
        else:
            state.book(c, old[c])
    return moved


def rotate(state: State, ages: list[int], rounds: int = 3) -> None:
    """Move bookings, at the same start and venue, towards loads in proportion to weight.

    A booking moves when the highest share among its new mediators (with it) is below the
    highest among its current ones (with it), so the largest share never grows; it stops when
    a round moves nothing.
    """
    for _ in range(rounds):
        moved = 0
        for c in ages:
            s, ms, v = state.placed[c]
            state.unbook(c)
            better = state.pick_mediators(c, s, fair=True, by_share=True)
            if better is not None and set(better) != set(ms) and \
                    max(map(state.share, better)) < max(map(state.share, ms)):
                state.book(c, (s, better, v))
                moved += 1
            else:
                state.book(c, (s, ms, v))
        if not moved:
            break
