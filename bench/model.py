"""The exact assignment model of a prepared :class:`~scheduler.matching.eligibility.Problem`.

Modelling choice: a case picks a start ``s`` (``z[c,s]``), then, *separately*, its mediator(s)
(``x[c,s,m]``) and its venue (``y[c,s,v]``) at that start. Given the start, the mediator and the
venue do not interact, so this is exact, and it has ``sum(|M_cs| + |V_cs|)`` columns instead of
``sum(|M_cs| * |V_cs|)``. Candidates are exactly the matcher's static options: a start is kept
when the parties, at least one eligible mediator and at least one compatible venue are all
available there.

Rows:
* each case at most one start;  ``sum_m x[c,s,m] = k * z[c,s]`` (k = 2 when the case needs
  co-mediators, :func:`~scheduler.matching.eligibility.mediators_needed`);
  ``sum_v y[c,s,v] = z[c,s]``;
* co-mediation, per session language ``l`` of the case: ``sum_{m speaks l} x[c,s,m] >= z[c,s]``
  (the pair covers every language; each candidate already speaks one of them, so together with
  ``k = 2`` this is exactly :func:`~scheduler.matching.eligibility.pair_problem`);
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
    pair: list[int] = field(default_factory=list)  # mediators per z column (1 or 2)
    cover_rows: list[tuple[int, list[int]]] = field(default_factory=list)  # z >= sum of x
    late: list[bool] = field(default_factory=list)  # z column starts past the case's target

    @property
    def size(self) -> str:
        rows = (len(self.case_rows) + 2 * len(self.z) + len(self.mediator_rows)
                + len(self.week_rows) + len(self.venue_rows) + len(self.party_rows)
                + len(self.cover_rows))
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
    model = Model()
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
            model.pair.append(p.case_pair[c])
            model.late.append(not p.case_ontime[c] >> s & 1)
            row.append(zi)
            bit = 1 << s
            speakers: dict[str, list[int]] = defaultdict(list)
            for m in p.case_mediators[c]:
                if p.med_ok[m] & bit:
                    for lang in p.case_languages[c] & p.mediators[m].languages:
                        speakers[lang].append(len(model.x))
                    by_mediator[m][s].append(len(model.x))
                    model.x.append((zi, m))
            if p.case_pair[c] == 2:
                model.cover_rows.extend((zi, speakers[lang])
                                        for lang in sorted(p.case_languages[c]))
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


def reduce(model: Model) -> tuple[Model, str]:
    """An exact, smaller model: dominated venue and mediator options and redundant rows dropped.

    Same ``z`` columns (so the same candidate starts and the same optimum); fewer ``x``/``y``
    columns and rows. Two rules, applied until nothing changes:

    * **Redundant row.** A resource row (mediator clique, mediator week, venue slot, party
      clique) whose columns come from at most ``cap`` distinct cases can never be violated: a
      case takes at most one start, and at that start at most one column of one mediator's or
      one venue's row. Dropping it changes no feasible set.
    * **Dominated option.** If at start ``(c, s)`` some venue column is in no row any more, that
      venue can host the session whatever else is booked, so every other venue of ``(c, s)`` is
      dominated: any solution using another venue stays feasible after moving the session there
      (it only frees capacity elsewhere). The nearest such venue is kept and the others dropped.
      The same holds for a mediator column in no row (single mediation only; a pair must cover
      the languages, so a co-mediation case's mediators are never dropped).

    Every solution of the reduced model is a solution of the full one, and every solution of the
    full one maps to a reduced one booking the same cases at the same starts, so both have the
    same integer optimum. The dropped rows are redundant for the LP relaxation too (a case adds
    at most ``sum_s z[c,s] <= 1`` to any one row), and dropping columns can only lower the LP
    optimum, never below the integer optimum: the reduced LP is a valid and at least as tight
    upper bound.
    """
    nz = len(model.z)
    case_of = [c for c, _ in model.z]
    x_case = [case_of[zi] for zi, _ in model.x]
    y_case = [case_of[zi] for zi, _ in model.y]
    x_alive = [True] * len(model.x)
    y_alive = [True] * len(model.y)
    xs_of: list[list[int]] = [[] for _ in range(nz)]
    ys_of: list[list[int]] = [[] for _ in range(nz)]
    for i, (zi, _) in enumerate(model.x):
        xs_of[zi].append(i)
    for i, (zi, _) in enumerate(model.y):
        ys_of[zi].append(i)
    x_rows: list[tuple[list[int], int]] = [(r, 1) for r in model.mediator_rows]
    x_rows += [(r, cap) for r, cap in model.week_rows]
    n_clique = len(model.mediator_rows)
    x_kind = [True] * n_clique + [False] * len(model.week_rows)
    y_rows = list(model.venue_rows)

    def live(rows: list[tuple[list[int], int]], alive: list[bool], case: list[int],
             kinds: list[bool] | None = None) -> tuple[list[tuple[list[int], int]], list[bool]]:
        out: list[tuple[list[int], int]] = []
        out_kinds: list[bool] = []
        for k, (row, cap) in enumerate(rows):
            cols = [i for i in row if alive[i]]
            if len({case[i] for i in cols}) > cap:
                out.append((cols, cap))
                out_kinds.append(kinds[k] if kinds is not None else False)
        return out, out_kinds

    while True:
        x_rows, x_kind = live(x_rows, x_alive, x_case, x_kind)
        y_rows, _ = live(y_rows, y_alive, y_case)
        x_in = [False] * len(model.x)
        y_in = [False] * len(model.y)
        for row, _cap in x_rows:
            for i in row:
                x_in[i] = True
        for row, _cap in y_rows:
            for i in row:
                y_in[i] = True
        changed = False
        for zi in range(nz):
            for group, alive, used in ((ys_of[zi], y_alive, y_in),
                                       (xs_of[zi] if model.pair[zi] == 1 else [], x_alive,
                                        x_in)):
                cols = [i for i in group if alive[i]]
                if len(cols) < 2:
                    continue
                free = next((i for i in cols if not used[i]), None)
                if free is None:
                    continue
                for i in cols:
                    if i != free:
                        alive[i] = False
                changed = True
        if not changed:
            break

    out = Model(z=list(model.z), case_rows=[list(r) for r in model.case_rows],
                pair=list(model.pair), late=list(model.late))
    x_new = [-1] * len(model.x)
    y_new = [-1] * len(model.y)
    for i, col in enumerate(model.x):
        if x_alive[i]:
            x_new[i] = len(out.x)
            out.x.append(col)
    for i, col in enumerate(model.y):
        if y_alive[i]:
            y_new[i] = len(out.y)
            out.y.append(col)
    for (row, cap), clique in zip(x_rows, x_kind, strict=True):
        cols = [x_new[i] for i in row]
        if clique:
            out.mediator_rows.append(cols)
        else:
            out.week_rows.append((cols, cap))
    out.venue_rows = [([y_new[i] for i in row], cap) for row, cap in y_rows]
    out.party_rows = [row for row in model.party_rows if len({case_of[i] for i in row}) > 1]
    # only single-mediator options are ever dropped, so a pair's cover rows are intact
    out.cover_rows = [(zi, [x_new[i] for i in row]) for zi, row in model.cover_rows]
    note = (f"{len(model.x) - len(out.x):,} dominated mediator and "
            f"{len(model.y) - len(out.y):,} dominated venue options dropped")
    return out, note


def _party_counts(p: Problem) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for c in range(len(p.cases)):
        if p.case_static[c]:
            for q in p.case_parties[c]:
                counts[q] += 1
    return counts
