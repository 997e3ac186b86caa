"""``python -m sim``: a seeded year (or ``--days``) of the program on SQLite or PostgreSQL.

Exits 1 when an invariant was violated, after printing the command that replays the run up to
the first violating step."""

from __future__ import annotations

import argparse
import sys
from time import monotonic

from sim.runner import Progress, simulate
from sim.state import Sim


def database(backend: str, seed: int) -> tuple[str, object]:
    """A fresh migrated database; returns its URL and a function that drops it."""
    import os
    import tempfile
    import uuid

    from cases.database import upgrade

    if backend == "sqlite":
        path = f"{tempfile.mkdtemp(prefix='cmp-sim-db-')}/sim.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        return url, lambda: None
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(os.environ.get("CMP_SIM_POSTGRES_URL",
                                   "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    name = f"cmp_sim_{seed}_{uuid.uuid4().hex[:8]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    upgrade(url)

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return url, drop


def progress_printer() -> Progress:
    """A line on stderr per simulated week, and each violation as soon as it is found: a long
    run shows where it is, and a broken one need not be waited out to be seen."""
    began, told = monotonic(), 0

    def tell(sim: Sim, step: int) -> None:
        nonlocal told
        result = sim.result
        for violation in result.violations[told:]:
            sys.stderr.write(f"VIOLATION at step {violation.step} ({violation.at:%Y-%m-%d %H:%M}"
                             f" UTC), {violation.invariant}: {violation.text}\n")
        told = len(result.violations)
        sys.stderr.write(f"step {step}, simulated {sim.now():%Y-%m-%d}, "
                         f"{sum(result.checks.values())} checks, {told} violations, "
                         f"{monotonic() - began:.0f} s\n")
        sys.stderr.flush()
    return tell


def run(backend: str, seed: int, days: float, until_step: int | None = None,
        progress: bool = False) -> tuple[str, bool]:
    url, drop = database(backend, seed)
    try:
        sim, report = simulate(url, seed=seed, days=days, backend=backend, until_step=until_step,
                               progress=progress_printer() if progress else None)
    finally:
        drop()  # type: ignore[operator]
    return report, not sim.result.violations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), action="append")
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--days", type=float, default=365)
    parser.add_argument("--until-step", type=int, default=None,
                        help="stop after this step (replaying a violation)")
    parser.add_argument("--progress", action="store_true",
                        help="a line on stderr per simulated week, and violations as found")
    args = parser.parse_args(argv)
    ok = True
    for backend in args.backend or ["sqlite"]:
        report, good = run(backend, args.seed, args.days, args.until_step, args.progress)
        sys.stdout.write(report + "\n\n")
        sys.stdout.flush()
        ok = ok and good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
