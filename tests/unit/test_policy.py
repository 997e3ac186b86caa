from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from cases.eligibility import Complaint, evaluate
from cases.errors import InvalidInput
from cases.policy import load_policy, policy_from_mapping

POLICY = load_policy()
TODAY = date(2026, 11, 25)


def test_default_policy_follows_copa_launch_rules() -> None:
    assert POLICY.excluded_categories == {"excessive_force", "domestic_violence"}
    assert {"perceived_bias", "failure_to_provide_service", "unnecessary_physical_conduct",
            "unprofessionalism"} == POLICY.eligible_categories
    assert POLICY.consent_deadline == timedelta(days=14)
    assert POLICY.booking_limit == timedelta(days=60)


@pytest.mark.parametrize(("complaint", "eligible", "reason"), [
    (Complaint(("perceived_bias",)), True, "eligible allegation(s): perceived_bias"),
    (Complaint(("perceived_bias", "excessive_force")), False,
     "'excessive_force' is excluded from mediation"),
    (Complaint(("domestic_violence",)), False, "'domestic_violence' is excluded"),
    (Complaint(("illegal_search",)), False, "'illegal_search' is not an eligible category"),
    (Complaint(()), False, "no allegation category"),
    (Complaint(("unprofessionalism",), injury=True), False, "involves an injury"),
    (Complaint(("unprofessionalism",), criminal_conduct=True), False, "criminal conduct"),
    (Complaint(("unprofessionalism",), pending_litigation=True), False, "is pending"),
    (Complaint(("unprofessionalism",), officer_last_mediated_on=date(2026, 8, 1)), False,
     "took part in a mediation on 2026-08-01"),
    (Complaint(("unprofessionalism",), officer_last_mediated_on=date(2026, 3, 1)), True,
     "eligible"),
])
def test_engine_gives_a_recommendation_with_reasons(
        complaint: Complaint, eligible: bool, reason: str) -> None:
    result = evaluate(complaint, POLICY, today=TODAY)
    assert result.eligible is eligible
    assert any(reason in r for r in result.reasons), result.reasons


def test_every_blocking_reason_is_listed_together() -> None:
    result = evaluate(Complaint(("excessive_force",), injury=True), POLICY, today=TODAY)
    assert len(result.reasons) == 2


def test_optional_rules_can_be_switched_off() -> None:
    lenient = policy_from_mapping({"eligibility": {
        "eligible_categories": ["unprofessionalism"], "exclude_injury": False,
        "officer_recent_mediation_months": 0}})
    result = evaluate(Complaint(("unprofessionalism",), injury=True,
                                officer_last_mediated_on=TODAY), lenient, today=TODAY)
    assert result.eligible


@pytest.mark.parametrize(("text", "message"), [
    ("[eligibility]\neligible_categories = 'x'", "eligibility.eligible_categories: must be list"),
    ("[eligibility]\neligible_categories=['a']\nexcluded_categories=['a']", "both eligible and excluded"),
    ("[consent]\norder = 'complainant_first'", "consent.order"),
    ("[consent]\ndeadline_days = -1", "consent.deadline_days: must not be negative"),
    ("[booking]\ntarget_days = 90\nlimit_days = 60", "must not exceed limit_days"),
    ("[booking]\nholidays = ['Christmas']", "'Christmas' is not YYYY-MM-DD"),
    ("[booking]\nsession_minutes = 5", "between 15 and 480"),
    ("[limits]\nmax_reschedules = true", "must be a whole number"),
    ("[mediators]\nmin_mediation_hours = -1", "mediators.min_mediation_hours: must be a non-neg"),
    ("[mediators]\nmin_community_police_hours = 'x'", "mediators.min_community_police_hours"),
    ("[mediators]\nallow_former_police = 'yes'", "mediators.allow_former_police: must be bool"),
    ("eligibility = 3", "must be a table"),
    ("[eligibility", "not valid TOML"),
])
def test_bad_policy_files_are_refused_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=message):
        load_policy(path)


def test_missing_policy_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        load_policy(tmp_path / "nope.toml")


def test_categories_are_normalised_and_unknown_ones_refused() -> None:
    assert POLICY.normalise_category("  Perceived  Bias ") == "perceived_bias"
    assert POLICY.normalise_category("failure-to-provide-service") == "failure_to_provide_service"
    with pytest.raises(InvalidInput, match="unknown category 'rudeness'"):
        POLICY.normalise_category("rudeness")
