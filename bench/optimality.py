"""The matcher against proven optima on small seeded instances, and the model against the rules.

Run (from the repository root)::

    .venv/bin/python -m bench.optimality                 # 30 instances: 10 seeds x 3 shapes
    .venv/bin/python -m bench.optimality --seeds 3 --cases 60

Each instance is :func:`bench.workload.generate` with a shape (``default``, ``comediation``,
``scarce``) at a small size. CP-SAT solves :mod:`bench.model` with the lexicographic objective
(:func:`bench.bounds.cpsat`: cases booked, then fewest past their target) until it proves the
optimum; the matcher "reaches the optimum" when its (booked, past target) equals CP-SAT's. Every
solution, CP-SAT's included, is re-checked from the raw inputs (:func:`bench.workload.violations`):
an optimum that broke a rule would mean the model is looser than the rules, and a matcher
solution better than a proven optimum would mean it is tighter; either stops the run.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# run as a script (``python bench/x.py``), the project root is not on the path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.aims import Aims, key, measure
from bench.bounds import cpsat
from bench.model import build
from bench.workload import SHAPES, Workload, generate, violations
from scheduler.matching import bookings_of, match
from scheduler.matching.eligibility import prepare


@dataclass(frozen=True, slots=True)
class Instance:
    shape: str
    seed: int
    matcher: Aims
    optimum: Aims
    proven: bool
    cpsat_seconds: float
    matcher_seconds: float

    @property
    def reached(self) -> bool:
        return key(self.matcher) == key(self.optimum)


def solve_instance(w: Workload, shape: str, seed: int, seconds: float,
                   workers: int) -> Instance:
    problem = prepare(w.cases, w.mediators, w.venues, w.policy, w.now)
    started = time.perf_counter()
    result = match(w.cases, w.mediators, w.venues, now=w.now, policy=w.policy)
    matcher_seconds = time.perf_counter() - started
    out = cpsat(build(problem), seconds, workers)
    if out.placed is None:
        raise SystemExit(f"{shape} seed {seed}: CP-SAT found no solution ({out.status})")
    optimum = bookings_of(problem, out.placed)
    for name, bookings in (("matcher", result.bookings), ("CP-SAT", optimum)):
        bad = violations(w.cases, w.mediators, w.venues, w.policy, w.now, bookings)
        if bad:
            raise SystemExit(f"{shape} seed {seed}: {name} broke hard rules: {bad[:3]}")
    mine, best = measure(problem, result.bookings), measure(problem, optimum)
    proven = out.status.startswith("optimal")
    if proven and key(mine) > key(best):
        raise SystemExit(f"{shape} seed {seed}: the matcher beat a proven optimum "
                         f"({key(mine)} > {key(best)}): the model is tighter than the rules")
    return Instance(shape, seed, mine, best, proven, out.seconds, matcher_seconds)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10, help="seeds per shape")
    ap.add_argument("--cases", type=int, default=80)
    ap.add_argument("--mediators", type=int, default=12)
    ap.add_argument("--venues", type=int, default=4)
    ap.add_argument("--days", type=int, default=12, help="business days in the horizon")
    ap.add_argument("--cpsat-seconds", type=float, default=120.0,
                    help="limit per instance; an instance not proven in time is reported")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    print(f"{args.seeds} seeds x {len(SHAPES)} shapes: {args.cases} cases, {args.mediators} "
          f"mediators, {args.venues} venues, {args.days} business days")
    print(f"\n{'shape':<12} {'seed':>4}  matcher {Aims.header()}   optimum (booked, late)  "
          f"cp-sat  matcher")
    runs: list[Instance] = []
    for shape in SHAPES:
        for seed in range(1, args.seeds + 1):
            w = generate(seed, args.cases, args.mediators, args.venues, args.days, shape=shape)
            run = solve_instance(w, shape, seed, args.cpsat_seconds, args.workers)
            runs.append(run)
            flag = "=" if run.reached else "<"
            proof = "" if run.proven else " (not proven)"
            print(f"{shape:<12} {seed:>4}  {run.matcher.row()}   {flag} "
                  f"({run.optimum.booked}, {run.optimum.late}){proof:<13} "
                  f"{run.cpsat_seconds:5.1f} s {run.matcher_seconds:5.2f} s")
    proven = [r for r in runs if r.proven]
    reached = [r for r in proven if r.reached]
    print(f"\nproven optimal: {len(proven)} of {len(runs)}; the matcher reaches the optimum "
          f"(booked, then past target) on {len(reached)} of {len(proven)}")
    for shape in SHAPES:
        mine = [r for r in proven if r.shape == shape]
        print(f"  {shape:<12} {sum(r.reached for r in mine)} of {len(mine)}; booked "
              f"{sum(r.matcher.booked for r in mine)} vs {sum(r.optimum.booked for r in mine)}, "
              f"late {sum(r.matcher.late for r in mine)} vs {sum(r.optimum.late for r in mine)}")
    print("no solution of the matcher or CP-SAT broke a rule (bench.workload.violations)")


if __name__ == "__main__":
    main()
