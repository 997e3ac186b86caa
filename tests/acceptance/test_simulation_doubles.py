"""Each invariant of the simulation catches its bug: with a deliberately broken double of one part
of the service in place (``sim.doubles``), re-creating a known kind of past failure, a short run
reports a violation of exactly that invariant, with the seed and step to replay it.

The doubles change behaviour, not storage, so these run on SQLite only; the real service runs on
both backends in ``tests/acceptance/test_simulation.py``. They run on the simulation's own clock,
so the moved-clock runs leave them out (``own_clock``)."""

from __future__ import annotations

import pytest

from sim.doubles import DOUBLES, run_double

pytestmark = pytest.mark.own_clock


@pytest.mark.parametrize("name", sorted(DOUBLES))
def test_the_invariant_reports_the_broken_double(name: str) -> None:
    sim, report = run_double(name)
    double = DOUBLES[name]
    caught = {v.invariant for v in sim.result.violations}
    assert any(double.invariant in invariant for invariant in caught), report
    assert report.splitlines()[-1].startswith(f"replay: python -m sim.doubles {name} ")


def test_without_a_double_the_same_short_runs_are_clean() -> None:
    """The same population and seed with the real parts: the violations above are the doubles'."""
    import tempfile

    from cases.database import upgrade
    from sim.doubles import BUSY, CALM
    from sim.runner import simulate

    url = f"sqlite:///{tempfile.mkdtemp(prefix='cmp-sim-clean-')}/sim.db"
    upgrade(url)
    sim, report = simulate(url, seed=5, days=4, rates=BUSY, fault_rates=CALM)
    assert sim.result.violations == [], report
