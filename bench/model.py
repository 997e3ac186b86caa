"""The exact assignment model of a prepared :class:`~scheduler.matching.eligibility.Problem`.

Modelling choice: a case picks a start ``s`` (``z[c,s]``), then, *separately*, its mediator(s)
(``x[c,s,m]``) and its venue (``y[c,s,v]``) at that start. Given the start, the mediator and the
venue do not interact, so this is exact, and it has ``sum(|M_cs| + |V_cs|)`` columns instead of
``sum(|M_cs| * |V_cs|)``. Candidates are exactly the matcher's static options: a start is kept
when the parties, at least one eligible mediator and at least one compatible venue are all
available there.

Rows:
* each case at most one start;  ``sum_m x[c,s,m] = k * z[c,s]`` (k = 2 with co-mediation);
  ``sum_v y[c,s,v] = z[c,s]``;
* per mediator and start slot ``t``: the sessions whose occupancy ``[s, s + span)`` contains
  ``t`` sum to at most 1 (interval cliques; ``span`` = session + buffer);
* per mediator and ISO week: at most the remaining weekly cap;
* per venue and slot: at most the free rooms at that slot;
* per party in several cases and start slot: at most 1.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from scheduler.matching.eligibility import Problem
from scheduler.matching.grid import bits


@dataclass(slots=True)
class Model:
    """Column lists and rows (lists of column indices) of the model above."""

    z: list[tuple[int, int]] = field(default_factory=list)  # (case, start)
    x: list[tuple[int, int]] = field(default_factory=list)  # (z index, mediator)
    y: list[tuple[int, int]] = field(default_factory=list)  # (z index, venue)
    case_rows: list[list[int]] = field(default_factory=list)  # z columns
    mediator_rows: list[list[int]] = field(default_factory=list)  # x columns, cap 1
    week_rows: list[tuple[list[int], int]] = field(default_factory=list)  # x columns, cap
    venue_rows: list[tuple[list[int], int]] = field(default_factory=list)  # y columns, cap
    party_rows: list[list[int]] = field(default_factory=list)  # z columns, cap 1
    pair: int = 1

    @property
    def size(self) -> str:
        rows = (len(self.case_rows) + 2 * len(self.z) + len(self.mediator_rows)
                + len(self.week_rows) + len(self.venue_rows) + len(self.party_rows))
        return f"{len(self.z) + len(self.x) + len(self.y):,} columns, {rows:,} rows"


def _cliques(starts: dict[int, list[int]], span: int) -> list[list[int]]:
    """Maximal cliques of the intervals ``[s, s + span)`` grouped by start ``s``.

    Intervals that pairwise overlap share their latest start, so the cliques are the windows
    ``(t - span, t]`` for each start ``t``; a window is kept only when the next one drops a member
    (otherwise it is contained in the next) and it has more than one column.
    """
    keys = sorted(starts)
    lows = []
    lo = 0
    for t in keys:
        while keys[lo] <= t - span:
            lo += 1
        lows.append(lo)
    out = []
    for i, _t in enumerate(keys):
        if i + 1 < len(keys) and lows[i + 1] == lows[i]:
            continue
        members = [col for k in keys[lows[i]:i + 1] for col in starts[k]]
        if len(members) > 1:
            out.append(members)
    return out


def build(problem: Problem) -> Model:
    p = problem
    model = Model(pair=2 if p.policy.co_mediation else 1)
    span = p.span
    by_mediator: list[dict[int, list[int]]] = [defaultdict(list) for _ in p.mediators]
    by_venue: list[dict[int, list[int]]] = [defaultdict(list) for _ in p.venues]
    by_party: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    shared = {q for q, n in _party_counts(p).items() if n > 1}
    for c in range(len(p.cases)):
        row = []
        for s in bits(p.case_static[c]):
            zi = len(model.z)
            model.z.append((c, s))
            row.append(zi)
            bit = 1 << s
            for m in p.case_mediators[c]:
                if p.med_ok[m] & bit:
                    by_mediator[m][s].append(len(model.x))
                    model.x.append((zi, m))
            for v in p.case_venues[c]:
                if p.venue_ok[v] & bit:
                    by_venue[v][s].append(len(model.y))
                    model.y.append((zi, v))
            for q in p.case_parties[c]:
                if q in shared:
                    by_party[q][s].append(zi)
        if row:
            model.case_rows.append(row)
    for m, starts in enumerate(by_mediator):
        if not starts:
            continue
        model.mediator_rows.extend(_cliques(starts, span))
        weeks: dict[tuple[int, int], list[int]] = defaultdict(list)
        for s, cols in starts.items():
            weeks[p.grid.week_of_slot[s]].extend(cols)
        for week, cols in weeks.items():
            cap = p.med_cap[m][week]
            if len(cols) > cap:
                model.week_rows.append((cols, cap))
    for v, starts in enumerate(by_venue):
        rooms = p.venues[v].rooms
        base = p.venue_base[v]
        cover: dict[int, list[int]] = defaultdict(list)
        for s, cols in starts.items():
            for t in range(s, s + span):
                cover[t].extend(cols)
        seen: set[tuple[tuple[int, ...], int]] = set()
        for t in sorted(cover):
            cols = cover[t]
            cap = rooms - base.get(t, 0)
            key = (tuple(cols), cap)
            if len(cols) > cap and key not in seen:
                seen.add(key)
                model.venue_rows.append((cols, cap))
    for starts in by_party.values():
        model.party_rows.extend(_cliques(starts, span))
    return model


def _party_counts(p: Problem) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for c in range(len(p.cases)):
        if p.case_static[c]:
            for q in p.case_parties[c]:
                counts[q] += 1
    return counts
