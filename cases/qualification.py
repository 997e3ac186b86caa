"""Who may mediate: the one definition of a mediator's qualification.

COPA assigns a mediator only with at least 40 h of mediation-skills training and 25 h of
community–police training, still valid on the day of the session, and never a former police
employee (a conflict of interest the program rules out). The numbers and the former-police rule
are policy (``[mediators]`` in ``cases/default_policy.toml``); this module only applies them.

The staff directory (:mod:`cases.directory`), booking (:mod:`scheduler.booking.constraints`)
and the matcher (:mod:`scheduler.matching.eligibility`) all ask :func:`qualification_problems`,
so they cannot disagree. A training with no expiry date on record is not valid: the program cannot show
that it still is, and assignment is blocked when training is missing or expired. The expiry date
is the last day the training is valid.

Pure and stdlib-only, so that the matcher can use it without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class QualificationRules:
    """The policy's thresholds (``[mediators]`` in the policy file)."""

    min_mediation_hours: float = 40.0
    min_community_police_hours: float = 25.0
    allow_former_police: bool = False


@dataclass(frozen=True, slots=True)
class Training:
    """What a mediator's record says about them, whatever holds it (a row or a profile)."""

    mediation_hours: float
    community_police_hours: float
    expires_on: date | None
    former_police: bool


def qualification_problems(training: Training, rules: QualificationRules, on: date) -> list[str]:
    """Why a mediator with this ``training`` may not mediate on the local day ``on``, in the
    order staff fix them (empty: qualified). Texts carry no personal data."""
    problems = []
    if training.mediation_hours < rules.min_mediation_hours:
        problems.append(f"fewer than {rules.min_mediation_hours:g} h of mediation training")
    if training.community_police_hours < rules.min_community_police_hours:
        problems.append(
            f"fewer than {rules.min_community_police_hours:g} h of community-police training")
    if training.expires_on is None:
        problems.append("no training expiry date on record")
    elif training.expires_on < on:
        problems.append(f"training expired (valid until {training.expires_on.isoformat()})")
    if training.former_police and not rules.allow_former_police:
        problems.append("former police employee")
    return problems
