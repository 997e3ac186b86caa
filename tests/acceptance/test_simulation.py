"""A simulated month of the program (``sim/``), on SQLite and PostgreSQL: every invariant holds
after every step, with faults arriving as they do. ``make simulate`` runs the full year."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.runner import simulate
from tests.support import ROOT


@pytest.mark.own_clock
def test_a_month_of_the_program_keeps_every_invariant(db_url: str) -> None:
    sim, report = simulate(db_url, seed=11, days=30)
    last = report.splitlines()[-1]
    assert last.startswith("invariants: ") and last.endswith(" checks, 0 violations"), report
    assert sim.result.steps == 30 * 24
    # the month did what a month does: people referred, sessions held, faults survived
    assert sim.referrals >= 20
    assert sum(sim.faults.injected.values()) >= 20
    assert all(sim.result.checks[i.name] > 0 for i in sim.invariants), report


@pytest.mark.own_clock
def test_parties_answer_reminders_use_their_booking_page_and_unsubscribe(tmp_path: Path
                                                                         ) -> None:
    """The parties' own doors, at raised rates: "1"/YES and "2" replies to reminders, moves and
    withdrawals on the booking page, unsubscribes and spam reports; every invariant holds.
    SQLite only: the behaviours go through the web app, the month above covers both backends."""
    from cases.database import upgrade
    from sim.doubles import CALM, CHATTY

    url = f"sqlite:///{tmp_path}/sim.db"
    upgrade(url)
    sim, report = simulate(url, seed=7, days=9, rates=CHATTY, fault_rates=CALM)
    assert sim.result.violations == [], report
    actions = sim.result.actions
    # every link a party tapped opened their page (an Arabic link once kept an invisible mark)
    assert not [k for k in actions if k.startswith("booking page") and "http 4" in k], report
    assert actions["reminder reply: session_confirmed"] > 0, report
    assert actions["reminder reply: change_requested"] > 0, report
    assert actions["booking page move: moved"] > 0, report
    assert actions["booking page withdraw: withdrawn"] > 0, report
    assert sum(n for k, n in actions.items() if k.startswith("email ") and "http 2" in k) > 0, report


@pytest.mark.own_clock
def test_a_seed_replays_exactly(tmp_path: Path) -> None:
    """The same seed twice gives the same run, action for action: the replay command a
    violation prints reproduces it. (The dispatcher sends concurrently, so the provider's log
    arrives in any order; the simulation takes it in notice order.)"""
    from cases.database import upgrade
    from sim.doubles import CALM, CHATTY

    reports = []
    for run in ("first", "second"):
        url = f"sqlite:///{tmp_path}/{run}.db"
        upgrade(url)
        sim, report = simulate(url, seed=6, days=4, rates=CHATTY, fault_rates=CALM)
        reports.append((report.splitlines()[1:], sim.result.actions, sim.rng.random()))
    assert reports[0] == reports[1]
    assert sum(reports[0][1].values()) > 50  # a run that did something


def test_a_run_with_a_violation_exits_non_zero_and_prints_the_replay_command(
        tmp_path: Path) -> None:
    """``python -m sim`` on a broken double (``sim.doubles``): exit 1, and the command that
    replays the run up to the first violating step."""
    run = subprocess.run(
        [sys.executable, "-m", "sim.doubles", "night_sms", "--days", "3", "--seed", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.strip().splitlines()
    assert "VIOLATION" in run.stdout and "quiet hours" in run.stdout
    assert lines[-1].startswith("replay: python -m sim.doubles night_sms --backend sqlite "
                                "--seed 5 --days 3 --until-step ")
    assert lines[-2].startswith("invariants: ") and not lines[-2].endswith(" 0 violations")
