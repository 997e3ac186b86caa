"""The matcher's aims measured on a booking list, the same way for every method.

In the order of the objective: cases booked; cases booked past their target (the session
starts after ``CaseRequest.target``) and the waiting days from referral to session (median,
90th percentile); then the load against the mediators' weights (their stated weekly capacity),
as Cal.com's weighted round robin would have it: mediator ``m``'s share of the bookings divided
by their share of the total weight, ``r_m = (n_m / N) / (w_m / W)``, over every mediator
offered to at least one case. ``r = 1`` for all is a load exactly in proportion to capacity;
the figures reported are the largest and the smallest ``r``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta

from scheduler.matching import Booking
from scheduler.matching.eligibility import Problem


@dataclass(frozen=True, slots=True)
class Aims:
    booked: int
    late: int
    median_days: float
    p90_days: float
    max_share: float
    min_share: float

    def row(self) -> str:
        return (f"{self.booked:>7,}  {self.late:>5,}  {self.median_days:>6.1f}  "
                f"{self.p90_days:>6.1f}  {self.max_share:>5.2f} / {self.min_share:.2f}")

    @staticmethod
    def header() -> str:
        return f"{'booked':>7}  {'late':>5}  {'median':>6}  {'p90':>6}  load max/min r"


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def measure(problem: Problem, bookings: list[Booking]) -> Aims:
    p = problem
    by_id = {c.case_id: c for c in p.cases}
    waits = []
    late = 0
    for b in bookings:
        case = by_id[b.case_id]
        waits.append((b.start - case.referred_at) / timedelta(days=1))
        if case.target is not None and b.start > case.target:
            late += 1
    offered = sorted({m for ms in p.case_mediators for m in ms if p.med_ok[m]})
    load = dict.fromkeys(offered, 0)
    index = {m.mediator_id: i for i, m in enumerate(p.mediators)}
    for b in bookings:
        for mid in b.mediator_ids:
            load[index[mid]] = load.get(index[mid], 0) + 1
    weight = {m: max(p.mediators[m].max_sessions_per_week, 1) for m in offered}
    total, total_w = sum(load.values()), sum(weight.values())
    shares = [(load[m] / total) / (weight[m] / total_w) for m in offered] if total else [0.0]
    return Aims(len(bookings), late, statistics.median(waits) if waits else float("nan"),
                _percentile(waits, 0.9), max(shares), min(shares))


def key(aims: Aims) -> tuple[int, int]:
    """The lexicographic objective's first two levels (larger is better)."""
    return (aims.booked, -aims.late)
