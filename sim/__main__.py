"""``python -m sim``: a seeded year (or ``--days``) of the program on SQLite or PostgreSQL.

Exits 1 when an invariant was violated, after printing the command that replays the run up to
the first violating step."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta

from sim.runner import Sim
from sim.world import World


def start_of(seed: int) -> datetime:
    """A Monday 09:00 in Chicago somewhere in 2027, chosen by the seed (every year crosses both
    DST changes; where they fall in the run depends on the seed)."""
    monday = datetime(2027, 1, 4, 15, 0, tzinfo=UTC)
    return monday + timedelta(weeks=seed % 52)


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


def run(backend: str, seed: int, days: float, until_step: int | None = None) -> tuple[str, bool]:
    from sim.report import render

    url, drop = database(backend, seed)
    world = World(url, start_of(seed), seed)
    began = time.monotonic()
    try:
        sim = Sim(world, days=days)
        sim.run(until_step)
        report = render(sim, backend, time.monotonic() - began)
        violations = sim.result.violations
    finally:
        world.close()
        drop()  # type: ignore[operator]
    if violations:
        report += (f"\nreplay: python -m sim --backend {backend} --seed {seed} --days {days:g} "
                   f"--until-step {violations[0].step}")
    return report, not violations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), action="append")
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--days", type=float, default=365)
    parser.add_argument("--until-step", type=int, default=None,
                        help="stop after this step (replaying a violation)")
    args = parser.parse_args(argv)
    ok = True
    for backend in args.backend or ["sqlite"]:
        report, good = run(backend, args.seed, args.days, args.until_step)
        sys.stdout.write(report + "\n\n")
        sys.stdout.flush()
        ok = ok and good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
