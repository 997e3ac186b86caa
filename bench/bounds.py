"""Solve :mod:`bench.model` with CP-SAT (integer) or HiGHS (LP relaxation, an upper bound)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix, vstack
from scipy.sparse.csgraph import maximum_flow

from bench.model import Model
from scheduler.matching.eligibility import Problem


@dataclass(frozen=True, slots=True)
class Outcome:
    value: float
    seconds: float
    status: str
    placed: dict[int, tuple[int, tuple[int, ...], int]] | None = None
    bound: float = float("nan")


@dataclass(frozen=True, slots=True)
class LinearProgram:
    """``max c x  s.t.  a_ub x <= b_ub,  a_eq x = 0,  0 <= x <= 1`` (columns z, then x, then y)."""

    c: np.ndarray
    a_ub: csr_matrix
    b_ub: np.ndarray
    a_eq: csr_matrix

    def dual_bound(self, y_ub: np.ndarray, y_eq: np.ndarray) -> float:
        """Weak duality: a valid upper bound on the LP (so on the model) for *any* duals.

        For ``y_ub >= 0`` (negative entries are clipped) and any ``y_eq``, every feasible ``x``
        has ``c x = (c - a_ub' y_ub - a_eq' y_eq) x + y_ub' a_ub x <= sum(max(reduced, 0)) +
        b_ub' y_ub`` because ``0 <= x <= 1``. So an unconverged or inexact dual still gives a
        rigorous bound; it is only tighter the closer it is to optimal.
        """
        y_ub = np.maximum(y_ub, 0.0)
        reduced = self.c - self.a_ub.T @ y_ub - self.a_eq.T @ y_eq
        return float(self.b_ub @ y_ub + np.maximum(reduced, 0.0).sum())


def linear_program(model: Model) -> LinearProgram:
    nz, nx, ny = len(model.z), len(model.x), len(model.y)
    ox, oy = nz, nz + nx
    n = nz + nx + ny
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    rhs: list[float] = []

    def add(columns: list[int], cap: float, sign: float = 1.0) -> None:
        rows.extend([len(rhs)] * len(columns))
        cols.extend(columns)
        vals.extend([sign] * len(columns))
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
    for zi, row in model.cover_rows:  # z - sum of the speakers' x <= 0
        add([ox + i for i in row], 0, -1.0)
        rows.append(len(rhs) - 1)
        cols.append(zi)
        vals.append(1.0)
    a_ub = coo_matrix((np.array(vals), (rows, cols)), shape=(len(rhs), n)).tocsr()
    erows = np.concatenate([
        np.array([zi for zi, _ in model.x], dtype=np.int64),
        np.array([nz + zi for zi, _ in model.y], dtype=np.int64),
        np.arange(nz, dtype=np.int64), nz + np.arange(nz, dtype=np.int64),
    ])
    ecols = np.concatenate([
        ox + np.arange(nx, dtype=np.int64), oy + np.arange(ny, dtype=np.int64),
        np.arange(nz, dtype=np.int64), np.arange(nz, dtype=np.int64),
    ])
    evals = np.concatenate([np.ones(nx), np.ones(ny), -np.array(model.pair, dtype=float),
                            -np.ones(nz)])
    a_eq = coo_matrix((evals, (erows, ecols)), shape=(2 * nz, n)).tocsr()
    c = np.zeros(n)
    c[:nz] = 1.0
    return LinearProgram(c, a_ub, np.array(rhs), a_eq)


def lp_bound(model: Model, time_limit: float = 600.0) -> Outcome:
    """Optimal value of the LP relaxation (HiGHS via scipy); NaN when not solved in time."""
    started = time.perf_counter()
    lp = linear_program(model)
    res = linprog(-lp.c, A_ub=lp.a_ub, b_ub=lp.b_ub, A_eq=lp.a_eq,
                  b_eq=np.zeros(lp.a_eq.shape[0]), bounds=(0, 1), method="highs",
                  options={"time_limit": time_limit})
    seconds = time.perf_counter() - started
    if res.status != 0:
        return Outcome(float("nan"), seconds, f"HiGHS status {res.status}: {res.message}")
    return Outcome(-float(res.fun), seconds, "optimal")


def pdlp_bound(model: Model, time_limit: float = 60.0, threads: int = 2) -> Outcome:
    """A rigorous LP upper bound from PDLP's duals (first-order, so it scales to this size).

    PDLP (OR-Tools' primal-dual hybrid gradient) runs for at most ``time_limit`` seconds; the
    bound reported is :meth:`LinearProgram.dual_bound` of the duals it returns, recomputed here
    in float64 from the model, so it is valid whether or not PDLP converged. The status says how
    far from the LP optimum it stopped (PDLP's own relative gap).
    """
    from ortools.pdlp import solve_log_pb2, solvers_pb2
    from ortools.pdlp.python import pdlp

    started = time.perf_counter()
    lp = linear_program(model)
    m_ub, m_eq = lp.a_ub.shape[0], lp.a_eq.shape[0]
    n = lp.c.shape[0]
    qp = pdlp.QuadraticProgram()
    qp.resize_and_initialize(n, m_ub + m_eq)
    qp.objective_vector = -lp.c  # PDLP minimises
    qp.constraint_matrix = vstack([lp.a_ub, lp.a_eq]).tocsc()
    qp.constraint_lower_bounds = np.concatenate([np.full(m_ub, -np.inf), np.zeros(m_eq)])
    qp.constraint_upper_bounds = np.concatenate([lp.b_ub, np.zeros(m_eq)])
    qp.variable_lower_bounds = np.zeros(n)
    qp.variable_upper_bounds = np.ones(n)
    params = solvers_pb2.PrimalDualHybridGradientParams()
    params.termination_criteria.time_sec_limit = max(time_limit - (time.perf_counter() - started),
                                                     1.0)
    params.termination_criteria.simple_optimality_criteria.eps_optimal_relative = 1e-6
    params.num_threads = threads
    result = pdlp.primal_dual_hybrid_gradient(qp, params)
    log = result.solve_log
    dual = np.asarray(result.dual_solution)
    # Minimising -c x with upper-bounded rows, PDLP's duals are the negatives of ours.
    value = lp.dual_bound(-dual[:m_ub], -dual[m_ub:])
    reason = solve_log_pb2.TerminationReason.Name(log.termination_reason).lower()
    reason = reason.removeprefix("termination_reason_")
    gap = log.solution_stats.convergence_information
    primal = -gap[0].primal_objective if len(gap) else float("nan")
    return Outcome(value, time.perf_counter() - started,
                   f"PDLP {reason} after {log.iteration_count:,} iterations, "
                   f"primal objective {primal:,.1f}")


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

CPSAT_PARAMS: dict[str, object] = {
    # Presolve stays on (it removes the y columns of venues that never bind, merges at-most-ones,
    # finds the implied clauses) but is kept from eating the whole budget: one round of the
    # expensive passes and no probing, which alone took most of the 60 s on this model.
    "max_presolve_iterations": 1,
    "cp_model_probing_level": 0,
    "presolve_inclusion_work_limit": 10_000_000,
    "merge_at_most_one_work_limit": 10_000_000,
    "symmetry_level": 0,  # no useful symmetry: every mediator and venue has its own calendar
    "linearization_level": 1,  # the LP of the at-most-ones gives the dual bound
}


def cpsat(
    model: Model,
    seconds: float,
    workers: int = 2,
    presolve: bool = True,
    hint: dict[int, tuple[int, tuple[int, ...], int]] | None = None,
    params: dict[str, object] | None = None,
    lexicographic: bool = True,
) -> Outcome:
    """CP-SAT on the same model: the number of cases booked first, then (``lexicographic``)
    the fewest booked past their target.

    The two aims are one weighted objective, ``sum z * (W - late)`` with ``W`` one more than
    the number of cases: one more case booked outweighs any number of cases on time, so its
    optimum is the lexicographic one. The later aims (earlier sessions for older referrals, a
    load in proportion to capacity) are not in it; the benchmark measures them apart.

    ``hint`` is a complete solution (case -> start, mediators, venue), e.g. the greedy
    baseline's, given to CP-SAT as a full solution hint. ``params`` override
    :data:`CPSAT_PARAMS`; ``presolve=False`` turns presolve off altogether.
    """
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    cp = cp_model.CpModel()
    z = [cp.new_bool_var(f"z{i}") for i in range(len(model.z))]
    xs: list[list[int]] = [[] for _ in model.z]
    ys: list[list[int]] = [[] for _ in model.z]
    for i, (zi, _) in enumerate(model.x):
        xs[zi].append(i)
    for i, (zi, _) in enumerate(model.y):
        ys[zi].append(i)
    # A z with a single venue (or, with one mediator per session, a single mediator) needs no
    # column of its own: that column equals z.
    x: list[cp_model.IntVar] = [
        z[zi] if model.pair[zi] == 1 and len(xs[zi]) == 1 else cp.new_bool_var(f"x{i}")
        for i, (zi, _) in enumerate(model.x)
    ]
    y: list[cp_model.IntVar] = [
        z[zi] if len(ys[zi]) == 1 else cp.new_bool_var(f"y{i}")
        for i, (zi, _) in enumerate(model.y)
    ]
    for zi in range(len(model.z)):
        if model.pair[zi] == 1:
            if len(xs[zi]) > 1:
                cp.add_exactly_one([x[i] for i in xs[zi]] + [~z[zi]])
        else:
            cp.add(sum(x[i] for i in xs[zi]) == model.pair[zi] * z[zi])
        if len(ys[zi]) > 1:
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
    for zi, row in model.cover_rows:
        cp.add(sum(x[i] for i in row) >= z[zi])
    if lexicographic:
        weight = len(model.case_rows) + 1
        cp.maximize(sum(var * (weight - int(model.late[zi])) for zi, var in enumerate(z)))
    else:
        cp.maximize(sum(z))
    if hint is not None:
        chosen = {(c, s) for c, (s, _, _) in hint.items()}
        on_z = [(c, s) in chosen for c, s in model.z]
        for zi, var in enumerate(z):
            cp.add_hint(var, on_z[zi])
        for i, (zi, m) in enumerate(model.x):
            if x[i] is not z[zi]:
                c = model.z[zi][0]
                cp.add_hint(x[i], on_z[zi] and m in hint[c][1])
        for i, (zi, v) in enumerate(model.y):
            if y[i] is not z[zi]:
                c = model.z[zi][0]
                cp.add_hint(y[i], on_z[zi] and v == hint[c][2])
    built = time.perf_counter() - started
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = workers
    solver.parameters.log_search_progress = LOG
    for key, value in {**CPSAT_PARAMS, **(params or {})}.items():
        setattr(solver.parameters, key, value)
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
                   f"{name}, model built in {built:.1f} s, CP-SAT bound {bound:.0f}", placed,
                   bound)
