"""The policy engine: a recommendation with its reasons. A person always makes the decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cases.policy import Policy


@dataclass(frozen=True)
class Recommendation:
    eligible: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Complaint:
    """What screening looks at: the allegation categories and the exclusion flags."""

    categories: tuple[str, ...]
    injury: bool = False
    criminal_conduct: bool = False
    pending_litigation: bool = False
    officer_last_mediated_on: date | None = None


def _months_between(earlier: date, later: date) -> float:
    return (later - earlier).days / 30.4375


def evaluate(complaint: Complaint, policy: Policy, *, today: date) -> Recommendation:
    """Apply every rule and keep every reason, so staff see the whole picture at once."""
    blockers: list[str] = []
    categories = set(complaint.categories)
    for category in sorted(categories & policy.excluded_categories):
        blockers.append(f"allegation '{category}' is excluded from mediation by policy")
    if not categories:
        blockers.append("no allegation category recorded")
    not_eligible = categories - policy.eligible_categories - policy.excluded_categories
    for category in sorted(not_eligible):
        blockers.append(f"allegation '{category}' is not an eligible category")
    if policy.exclude_injury and complaint.injury:
        blockers.append("the complaint involves an injury")
    if policy.exclude_criminal_conduct and complaint.criminal_conduct:
        blockers.append("the complaint alleges criminal conduct")
    if policy.exclude_pending_litigation and complaint.pending_litigation:
        blockers.append("a related criminal or civil case is pending")
    months = policy.officer_recent_mediation_months
    last = complaint.officer_last_mediated_on
    if months and last is not None and _months_between(last, today) < months:
        blockers.append(
            f"the officer took part in a mediation on {last.isoformat()}, within {months} months"
        )
    if blockers:
        return Recommendation(eligible=False, reasons=tuple(blockers))
    eligible = ", ".join(sorted(categories))
    return Recommendation(eligible=True, reasons=(f"eligible allegation(s): {eligible}",))
