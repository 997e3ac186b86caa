"""Solve :mod:`bench.model` with CP-SAT (integer) or HiGHS (LP relaxation, an upper bound)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import maximum_flow

from bench.model import Model
from scheduler.matching.eligibility import Problem


@dataclass(frozen=True, slots=True)
class Outcome:
    value: float
    seconds: float
    status: str
    placed: dict[int, tuple[int, tuple[int, ...], int]] | None = None


def lp_bound(model: Model, time_limit: float = 600.0) -> Outcome:
    """Optimal value of the LP relaxation (HiGHS dual simplex / IPM via scipy)."""
    started = time.perf_counter()
    nz, nx, ny = len(model.z), len(model.x), len(model.y)
    ox, oy = nz, nz + nx
    n = nz + nx + ny
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    rhs: list[float] = []

    def add(columns: list[int], cap: float) -> None:
        r = len(rhs)
        rows.extend([r] * len(columns))
        cols.extend(columns)
        vals.extend([1.0] * len(columns))
        rhs.append(cap)

    for row in model.case_rows:
        add(row, 1)
    for row in model.mediator_rows:
        add([ox + i for i in row], 1)
    for row, cap in model.week_rows:
        add([ox + i for i in row], cap)
    for row, cap in model.venue_rows:
        add([oy + i for i in row], cap)
    for row in model.party_rows:
        add(row, 1)
    a_ub = coo_matrix((vals, (rows, cols)), shape=(len(rhs), n)).tocsr()

    erows = np.concatenate([
        np.array([zi for zi, _ in model.x], dtype=np.int64),
        np.array([nz + zi for zi, _ in model.y], dtype=np.int64),
        np.arange(nz, dtype=np.int64), nz + np.arange(nz, dtype=np.int64),
    ])
    ecols = np.concatenate([
        ox + np.arange(nx, dtype=np.int64), oy + np.arange(ny, dtype=np.int64),
        np.arange(nz, dtype=np.int64), np.arange(nz, dtype=np.int64),
    ])
    evals = np.concatenate([np.ones(nx), np.ones(ny), -model.pair * np.ones(nz), -np.ones(nz)])
    a_eq = coo_matrix((evals, (erows, ecols)), shape=(2 * nz, n)).tocsr()
    cost = np.zeros(n)
    cost[:nz] = -1.0
    res = linprog(cost, A_ub=a_ub, b_ub=np.array(rhs), A_eq=a_eq, b_eq=np.zeros(2 * nz),
                  bounds=(0, 1), method="highs", options={"time_limit": time_limit})
    seconds = time.perf_counter() - started
    if res.status != 0:
        return Outcome(float("nan"), seconds, f"HiGHS status {res.status}: {res.message}")
    return Outcome(-float(res.fun), seconds, "optimal")


def flow_bound(problem: Problem) -> Outcome:
    """Max flow: cases -> (mediator, ISO week) with a static option -> weekly cap.

    A relaxation of the model (it drops the time of day, venues and parties, and keeps each case
    at most once and every mediator's weekly cap), so its value is a valid upper bound. With
    co-mediation each case needs two units, which this bound does not see; it is then only the
    count of cases with an option.
    """
    started = time.perf_counter()
    p = problem
    n = len(p.cases)
    node: dict[tuple[int, tuple[int, int]], int] = {}
    src: list[int] = []
    dst: list[int] = []
    cap: list[int] = []
    for c in range(n):
        static = p.case_static[c]
        if not static:
            continue
        src.append(0)
        dst.append(1 + c)
        cap.append(1)
        for m in p.case_mediators[c]:
            mine = static & p.med_ok[m]
            if not mine:
                continue
            for week, mask in p.grid.week_masks.items():
                if mine & mask:
                    key = (m, week)
                    k = node.setdefault(key, 1 + n + len(node))
                    src.append(1 + c)
                    dst.append(k)
                    cap.append(1)
    sink = 1 + n + len(node)
    for (m, week), k in node.items():
        src.append(k)
        dst.append(sink)
        cap.append(max(p.med_cap[m][week], 0))
    size = sink + 1
    graph = csr_matrix((np.array(cap, dtype=np.int32), (np.array(src), np.array(dst))),
                       shape=(size, size))
    value = maximum_flow(graph, 0, sink).flow_value
    return Outcome(float(value), time.perf_counter() - started, "optimal")


LOG = False


def cpsat(
    model: Model, seconds: float, workers: int = 2, presolve: bool = True
) -> Outcome:
    """CP-SAT on the same model, maximising the number of cases booked."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    cp = cp_model.CpModel()
    z = [cp.new_bool_var("") for _ in model.z]
    x = [cp.new_bool_var("") for _ in model.x]
    y = [cp.new_bool_var("") for _ in model.y]
    xs: list[list[int]] = [[] for _ in model.z]
    ys: list[list[int]] = [[] for _ in model.z]
    for i, (zi, _) in enumerate(model.x):
        xs[zi].append(i)
    for i, (zi, _) in enumerate(model.y):
        ys[zi].append(i)
    for zi in range(len(model.z)):
        cp.add(sum(x[i] for i in xs[zi]) == model.pair * z[zi])
        cp.add_exactly_one([y[i] for i in ys[zi]] + [~z[zi]])
    for row in model.case_rows:
        cp.add_at_most_one(z[i] for i in row)
    for row in model.mediator_rows:
        cp.add_at_most_one(x[i] for i in row)
    for row, cap in model.week_rows:
        cp.add(sum(x[i] for i in row) <= cap)
    for row, cap in model.venue_rows:
        if cap == 1:
            cp.add_at_most_one(y[i] for i in row)
        else:
            cp.add(sum(y[i] for i in row) <= cap)
    for row in model.party_rows:
        cp.add_at_most_one(z[i] for i in row)
    cp.maximize(sum(z))
    built = time.perf_counter() - started
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = workers
    solver.parameters.log_search_progress = LOG
    if not presolve:
        solver.parameters.cp_model_presolve = False
    status = solver.solve(cp)
    placed: dict[int, tuple[int, tuple[int, ...], int]] | None = None
    value = float("nan")
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        value = solver.objective_value
        placed = {}
        chosen_m: dict[int, list[int]] = {}
        chosen_v: dict[int, int] = {}
        for i, (zi, m) in enumerate(model.x):
            if solver.boolean_value(x[i]):
                chosen_m.setdefault(zi, []).append(m)
        for i, (zi, v) in enumerate(model.y):
            if solver.boolean_value(y[i]):
                chosen_v[zi] = v
        for zi, (c, s) in enumerate(model.z):
            if solver.boolean_value(z[zi]):
                placed[c] = (s, tuple(chosen_m[zi]), chosen_v[zi])
    name = solver.status_name(status).lower()
    bound = solver.best_objective_bound if placed is not None else float("nan")
    return Outcome(value, time.perf_counter() - started,
                   f"{name}, model built in {built:.1f} s, CP-SAT bound {bound:.0f}", placed)
