"""The search's state and knobs, shared by the solver and its passes (both move bookings in and
out of a :class:`State`), so the passes the solver runs need not import the solver.

A :class:`State` keeps, for every mediator, venue and party, the starts at which it is still
free as ``int`` bitmasks (:mod:`scheduler.matching.grid`); every move keeps it feasible.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from scheduler.matching.eligibility import Problem
from scheduler.matching.grid import lowest_bit, span_mask, touching

Placement = tuple[int, tuple[int, ...], int]
"""(start slot, mediator indices, venue index)."""


@dataclass(frozen=True, slots=True)
class SolveOptions:
    """Knobs of the search; the defaults are the project's matcher."""

    order: str = "deadline"  # or "fifo" (referral order), or "hardest" (fewest options)
    fair: bool = True  # thriftiest, then least-loaded mediator at the start; else first by index
    repair_depth: int = 3
    repair_breadth: int = 30
    budget: int | None = None  # placement attempts in repair; None reads the policy
    case_budget: int = 4_000  # placement attempts for one left-over case
    compact: bool = True
    rotate: bool = True
    target: bool = True  # move cases booked past their target before it
    portfolio: bool = True  # also try the "hardest" order, keep the better construction


class State:
    """Bookings plus, for every resource, the starts at which it is still free."""

    def __init__(self, problem: Problem) -> None:
        p = problem
        self.p = p
        size = p.grid.size
        self.size = size
        self.mfree = list(p.med_ok)
        self.m_cases: list[set[int]] = [set() for _ in p.mediators]
        self.m_week: list[dict[tuple[int, int], int]] = [{} for _ in p.mediators]
        self.load = list(p.med_base_load)
        self.extra = [len(m.languages) for m in p.mediators]
        self.vcount = [dict(b) for b in p.venue_base]
        self.vfull = [0 for _ in p.venues]
        for v, counts in enumerate(self.vcount):
            rooms = p.venues[v].rooms
            for t, n in counts.items():
                if n >= rooms:
                    self.vfull[v] |= 1 << t
        self.vfree = list(p.venue_ok)
        self.v_cases: list[set[int]] = [set() for _ in p.venues]
        self.pblock = [0 for _ in p.party_ids]
        self.p_cases: list[set[int]] = [set() for _ in p.party_ids]
        self.placed: dict[int, Placement] = {}
        self.attempts = 0
        #: starts a case may take in :meth:`find` (absent: any); the target pass sets them
        self.allow: dict[int, int] = {}
        #: cases :meth:`find` places as late as it can (see :func:`construct`)
        self.backward: frozenset[int] = frozenset()
        self.weight = [max(m.max_sessions_per_week, 1) for m in p.mediators]

    # -- moves -----------------------------------------------------------------------------
    def window(self, s: int) -> int:
        span = self.p.span
        return span_mask(s - span + 1, s + span, self.size)

    def book(self, c: int, placement: Placement) -> None:
        p = self.p
        s, ms, v = placement
        blocked = ~self.window(s)
        week = p.grid.week_of_slot[s]
        for m in ms:
            self.mfree[m] &= blocked
            n = self.m_week[m].get(week, 0) + 1
            self.m_week[m][week] = n
            if n >= p.med_cap[m][week]:
                self.mfree[m] &= ~p.grid.week_masks[week]
            self.m_cases[m].add(c)
            self.load[m] += 1
        for q in p.case_parties[c]:
            self.pblock[q] |= ~blocked
            self.p_cases[q].add(c)
        rooms = p.venues[v].rooms
        counts = self.vcount[v]
        for t in range(s, s + p.span):
            n = counts.get(t, 0) + 1
            counts[t] = n
            if n >= rooms:
                self.vfull[v] |= 1 << t
        self.vfree[v] = p.venue_ok[v] & ~touching(self.vfull[v], p.span)
        self.v_cases[v].add(c)
        self.placed[c] = placement

    def unbook(self, c: int) -> Placement:
        p = self.p
        s, ms, v = placement = self.placed.pop(c)
        week = p.grid.week_of_slot[s]
        for m in ms:
            self.m_cases[m].discard(c)
            self.m_week[m][week] -= 1
            self.load[m] -= 1
            free = p.med_ok[m]
            for other in self.m_cases[m]:
                free &= ~self.window(self.placed[other][0])
            for wk, n in self.m_week[m].items():
                if n >= p.med_cap[m][wk]:
                    free &= ~p.grid.week_masks[wk]
            self.mfree[m] = free
        for q in p.case_parties[c]:
            self.p_cases[q].discard(c)
            block = 0
            for other in self.p_cases[q]:
                block |= self.window(self.placed[other][0])
            self.pblock[q] = block
        rooms = p.venues[v].rooms
        counts = self.vcount[v]
        for t in range(s, s + p.span):
            counts[t] -= 1
            if counts[t] < rooms:
                self.vfull[v] &= ~(1 << t)
        self.vfree[v] = p.venue_ok[v] & ~touching(self.vfull[v], p.span)
        self.v_cases[v].discard(c)
        return placement

    # -- search ----------------------------------------------------------------------------
    def open_starts(self, c: int) -> int:
        """Starts at which the parties and at least one of the case's venues are free."""
        p = self.p
        starts = p.case_static[c]
        for q in p.case_parties[c]:
            starts &= ~self.pblock[q]
        if not starts:
            return 0
        rooms = 0
        for v in p.case_venues[c]:
            rooms |= self.vfree[v]
        return starts & rooms

    def share(self, m: int) -> Fraction:
        """The mediator's load with one more session, against their weight (capacity)."""
        return Fraction(self.load[m] + 1, self.weight[m])

    def pick_mediators(self, c: int, s: int, fair: bool,
                       by_share: bool = False) -> tuple[int, ...] | None:
        """Free mediators (or a pair covering the languages) for ``c`` at ``s``: with ``fair``
        the thriftiest in languages then least loaded first; with ``by_share`` the lowest share
        against weight first (ties: higher weight, then index)."""
        p = self.p
        bit = 1 << s
        free = [m for m in p.case_mediators[c] if self.mfree[m] & bit]
        if not free:
            return None
        if by_share:
            weight = self.weight
            free.sort(key=lambda m: (self.share(m), -weight[m], m))
        elif fair:
            load = self.load
            extra = self.extra
            free.sort(key=lambda m: (extra[m], load[m]))
        if p.case_pair[c] == 1:
            return (free[0],)
        need = p.case_languages[c]
        langs = [p.mediators[m].languages for m in free]
        best: tuple[int, int, int] | None = None
        for i in range(len(free)):
            for j in range(i + 1, len(free)):
                if need <= langs[i] | langs[j]:
                    key = (i + j, i, j)
                    if best is None or key < best:
                        best = key
                    break
        if best is None:
            return None
        return (free[best[1]], free[best[2]])

    def pick_venue(self, c: int, s: int) -> int | None:
        bit = 1 << s
        for v in self.p.case_venues[c]:
            if self.vfree[v] & bit:
                return v
        return None

    def find(self, c: int, fair: bool = True, before: int | None = None) -> Placement | None:
        """The earliest feasible placement of case ``c`` in the current state (the latest for a
        case in ``backward``)."""
        self.attempts += 1
        starts = self.open_starts(c) & self.allow.get(c, -1)
        if before is not None:
            starts &= (1 << before) - 1
        if not starts:
            return None
        mfree = self.mfree
        union = 0
        for m in self.p.case_mediators[c]:
            union |= mfree[m]
        starts &= union
        backward = c in self.backward
        while starts:
            s = starts.bit_length() - 1 if backward else lowest_bit(starts)
            ms = self.pick_mediators(c, s, fair)
            if ms is not None:
                v = self.pick_venue(c, s)
                assert v is not None
                return (s, ms, v)
            starts &= ~(1 << s)
        return None

    def blockers(self, c: int) -> list[int]:
        """Booked cases whose removal could free an option for ``c``, most flexible first."""
        p = self.p
        static = p.case_static[c]
        found: set[int] = set()
        placed = self.placed
        for q in p.case_parties[c]:
            for other in self.p_cases[q]:
                if static & self.window(placed[other][0]):
                    found.add(other)
        for m in p.case_mediators[c]:
            mine = static & p.med_ok[m]
            if not mine:
                continue
            for other in self.m_cases[m]:
                s = placed[other][0]
                if mine & self.window(s):
                    found.add(other)
                else:
                    week = p.grid.week_of_slot[s]
                    if (self.m_week[m][week] >= p.med_cap[m][week]
                            and mine & p.grid.week_masks[week]):
                        found.add(other)
        for v in p.case_venues[c]:
            if not static & p.venue_ok[v] & ~self.vfree[v]:
                continue
            found.update(o for o in self.v_cases[v] if static & self.window(placed[o][0]))
        slack = p.case_static
        return sorted(found, key=lambda o: -slack[o].bit_count())

    def insert(self, c: int, depth: int, breadth: int, budget: int, banned: set[int]) -> bool:
        """Place ``c``, ejecting and re-placing up to ``depth`` bookings; undo on failure."""
        if self.attempts > budget:
            return False
        found = self.find(c)
        if found is not None:
            self.book(c, found)
            return True
        if depth == 0:
            return False
        banned.add(c)
        try:
            for other in self.blockers(c)[:breadth]:
                if other in banned or self.attempts > budget:
                    continue
                old = self.unbook(other)
                found = self.find(c)
                if found is not None:
                    self.book(c, found)
                    if self.insert(other, depth - 1, breadth, budget, banned):
                        return True
                    self.unbook(c)
                self.book(other, old)
            return False
        finally:
            banned.discard(c)
