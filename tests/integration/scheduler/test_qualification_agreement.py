"""The staff directory, booking and the matcher agree on who may mediate, for every combination
of training hours, expiry date and former police employment, under the default policy and under
one that changes every threshold (so the numbers are read from the policy, not written in code).

Before ``cases.qualification`` the three disagreed: with no expiry date on record the directory
said "qualified" while booking and matching refused, and the directory did not check former
police employment at all.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from cases.clock import FixedClock
from cases.directory import qualification_problems
from cases.policy import policy_from_mapping
from cases.qualification import QualificationRules
from cases.service import WeeklyWindow
from scheduler.booking.constraints import problems
from scheduler.candidates import read_inputs
from scheduler.matching import match
from tests.support.booking import POLICY, RULES, SLOT_START, option
from tests.support.factories import make_mediator_row, make_scheduling_case, make_venue_row

CHICAGO = ZoneInfo("America/Chicago")
#: the session day: Wednesday 2026-12-02 in Chicago, the only day both sides are free
DAY = SLOT_START.astimezone(CHICAGO).date()
WEDNESDAYS = [WeeklyWindow(DAY.weekday(), time(8), time(21))]

STRICTER = policy_from_mapping({"mediators": {
    "min_mediation_hours": 60, "min_community_police_hours": 30.5,
    "allow_former_police": True}})


def test_the_policy_file_sets_the_thresholds() -> None:
    assert POLICY.qualification == QualificationRules(40, 25, allow_former_police=False)
    assert STRICTER.qualification == QualificationRules(60, 30.5, allow_former_police=True)


@pytest.mark.parametrize("rules", [POLICY.qualification, STRICTER.qualification],
                         ids=["default policy", "changed policy"])
def test_directory_booking_and_matching_agree(db: Session, clock: FixedClock,
                                              rules: QualificationRules) -> None:
    now = clock.now()
    today = now.astimezone(CHICAGO).date()
    booking_rules = replace(RULES, policy=replace(POLICY, qualification=rules))
    expiries: dict[str, date | None] = {
        "none": None, "past": today - timedelta(days=1), "the day before": DAY - timedelta(days=1),
        "the session day": DAY, "future": DAY + timedelta(days=1)}
    venue = make_venue_row(db, now)
    checked = 0
    for general, special, (label, expires), former in itertools.product(
            (rules.min_mediation_hours - 0.5, rules.min_mediation_hours),
            (rules.min_community_police_hours - 0.5, rules.min_community_police_hours),
            expiries.items(), (False, True)):
        what = f"{general} h, {special} h, expiry {label}, former police {former}"
        case = make_scheduling_case(db, now, windows=WEDNESDAYS)
        case.booking_deadline = datetime.combine(DAY, time(23), tzinfo=CHICAGO)
        mediator = make_mediator_row(db, now, windows=WEDNESDAYS, general_training_hours=general,
                                 specialized_training_hours=special,
                                 training_expires_on=expires, former_police=former)
        db.flush()
        expected = (general >= rules.min_mediation_hours
                    and special >= rules.min_community_police_hours
                    and expires is not None and expires >= DAY
                    and (rules.allow_former_police or not former))

        directory = qualification_problems(mediator, DAY, rules)
        booking = problems(db, case, option(mediator, venue), booking_rules, now=now).hard
        inputs = read_inputs(db, booking_rules, now=now, case_ids=[case.id])
        result = match(inputs.cases,
                       [m for m in inputs.mediators if m.mediator_id == str(mediator.id)],
                       inputs.venues, now=now, policy=inputs.policy)

        assert (not directory) is expected, (what, directory)
        assert (not booking) is expected, (what, booking)
        assert bool(result.bookings) is expected, (what, result.unbooked)
        if not expected:  # staff read the same reasons on the directory and in a refusal
            assert booking == tuple(f"mediator {mediator.id}: {r}" for r in directory), what
        else:
            assert result.bookings[0].start.astimezone(CHICAGO).date() == DAY, what
        mediator.active = False  # out of the next round's matching
        checked += 1
    assert checked == 2 * 2 * len(expiries) * 2
