"""The agency's policy, read from a TOML file that staff can edit without touching code."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cases.errors import InvalidInput
from cases.qualification import QualificationRules

DEFAULT_POLICY_FILE = Path(__file__).with_name("default_policy.toml")


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    """When reminders go out and when an unconfirmed session needs a person (``[reminders]``).

    The defaults follow the evidence in DOMAIN.md: New Hampshire's courts text mediation parties
    7, 3 and 1 days before; NYC's trials found a text shortly before helps people plan. Mediators
    hear 3 days before (time to check with the parties) and the day before.
    """

    party_hours: tuple[int, ...] = (168, 72, 24)
    mediator_hours: tuple[int, ...] = (72, 24)
    #: a short last SMS to parties who get texts (None: none)
    last_sms_hours: int | None = 2
    #: a session a party has not confirmed this close to its start goes to the staff work queue
    confirm_by_hours: int = 48


@dataclass(frozen=True)
class Policy:
    eligible_categories: frozenset[str]
    excluded_categories: frozenset[str]
    other_categories: frozenset[str]
    exclude_injury: bool
    exclude_criminal_conduct: bool
    exclude_pending_litigation: bool
    officer_recent_mediation_months: int
    consent_order: str
    consent_deadline: timedelta
    booking_target: timedelta
    booking_limit: timedelta
    session_length: timedelta
    buffer: timedelta
    min_notice: timedelta
    co_mediation: bool
    holidays: frozenset[date]
    max_reschedules: int
    max_no_shows: int
    min_session_length: timedelta = timedelta(minutes=60)
    max_session_length: timedelta = timedelta(minutes=180)
    reminders: ReminderPolicy = ReminderPolicy()
    qualification: QualificationRules = field(default_factory=QualificationRules)
    #: the language sessions are held in unless staff set another for a case
    working_language: str = "en"

    @property
    def known_categories(self) -> frozenset[str]:
        return self.eligible_categories | self.excluded_categories | self.other_categories

    def normalise_category(self, raw: str) -> str:
        """'Perceived Bias' -> 'perceived_bias'; unknown categories are refused by name."""
        slug = "_".join(raw.strip().lower().replace("-", " ").split())
        if slug not in self.known_categories:
            known = ", ".join(sorted(self.known_categories))
            raise InvalidInput("allegation_categories", f"unknown category {raw!r} (known: {known})")
        return slug


def load_policy(path: Path | None = None) -> Policy:
    """Read and validate a policy file; every problem is reported with its TOML key."""
    source = path or DEFAULT_POLICY_FILE
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInput("policy_file", f"{source} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput("policy_file", f"{source} is not valid TOML: {exc}") from exc
    return policy_from_mapping(data, source=str(source))


def policy_from_mapping(data: dict[str, Any], source: str = "policy") -> Policy:
    def section(name: str) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise InvalidInput(f"{source}:[{name}]", "must be a table")
        return value

    def get(sec: str, key: str, kind: type[Any], default: Any) -> Any:
        value = section(sec).get(key, default)
        if kind is int and isinstance(value, bool):
            raise InvalidInput(f"{source}:{sec}.{key}", "must be a whole number")
        if not isinstance(value, kind):
            raise InvalidInput(f"{source}:{sec}.{key}", f"must be {kind.__name__}, got {value!r}")
        if kind is int and value < 0:
            raise InvalidInput(f"{source}:{sec}.{key}", "must not be negative")
        return value

    def categories(key: str) -> frozenset[str]:
        values = get("eligibility", key, list, [])
        if not all(isinstance(v, str) and v for v in values):
            raise InvalidInput(f"{source}:eligibility.{key}", "must be a list of names")
        return frozenset("_".join(v.lower().split()) for v in values)

    eligible = categories("eligible_categories")
    excluded = categories("excluded_categories")
    overlap = eligible & excluded
    if overlap:
        raise InvalidInput(
            f"{source}:eligibility", f"categories both eligible and excluded: {sorted(overlap)}"
        )
    order = get("consent", "order", str, "simultaneous")
    if order not in ("simultaneous", "officer_first"):
        raise InvalidInput(f"{source}:consent.order", "must be 'simultaneous' or 'officer_first'")
    holidays = set()
    for raw in get("booking", "holidays", list, []):
        try:
            holidays.add(date.fromisoformat(str(raw)))
        except ValueError as exc:
            raise InvalidInput(f"{source}:booking.holidays", f"{raw!r} is not YYYY-MM-DD") from exc
    target = get("booking", "target_days", int, 30)
    limit = get("booking", "limit_days", int, 60)
    if target > limit:
        raise InvalidInput(f"{source}:booking.target_days", "must not exceed limit_days")
    session_minutes = get("booking", "session_minutes", int, 90)
    if not 15 <= session_minutes <= 480:
        raise InvalidInput(f"{source}:booking.session_minutes", "must be between 15 and 480")
    shortest = get("booking", "min_session_minutes", int, 60)
    longest = get("booking", "max_session_minutes", int, 180)
    if not shortest <= session_minutes <= longest:
        raise InvalidInput(f"{source}:booking.session_minutes",
                           "must be between min_session_minutes and max_session_minutes")
    def hours(key: str, default: float) -> float:
        value = section("mediators").get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidInput(f"{source}:mediators.{key}",
                               f"must be a non-negative number of hours, got {value!r}")
        return float(value)

    qualification = QualificationRules(
        min_mediation_hours=hours("min_mediation_hours", 40.0),
        min_community_police_hours=hours("min_community_police_hours", 25.0),
        allow_former_police=get("mediators", "allow_former_police", bool, False))
    return Policy(
        reminders=_reminders(get, source),
        eligible_categories=eligible,
        excluded_categories=excluded,
        other_categories=categories("other_categories"),
        exclude_injury=get("eligibility", "exclude_injury", bool, True),
        exclude_criminal_conduct=get("eligibility", "exclude_criminal_conduct", bool, True),
        exclude_pending_litigation=get("eligibility", "exclude_pending_litigation", bool, True),
        officer_recent_mediation_months=get(
            "eligibility", "officer_recent_mediation_months", int, 6),
        consent_order=order,
        consent_deadline=timedelta(days=get("consent", "deadline_days", int, 14)),
        booking_target=timedelta(days=target),
        booking_limit=timedelta(days=limit),
        session_length=timedelta(minutes=session_minutes),
        buffer=timedelta(minutes=get("booking", "buffer_minutes", int, 30)),
        min_notice=timedelta(hours=get("booking", "min_notice_hours", int, 72)),
        co_mediation=get("booking", "co_mediation", bool, False),
        holidays=frozenset(holidays),
        max_reschedules=get("limits", "max_reschedules", int, 2),
        max_no_shows=get("limits", "max_no_shows", int, 1),
        min_session_length=timedelta(minutes=shortest),
        max_session_length=timedelta(minutes=longest),
        qualification=qualification,
        working_language=get("booking", "working_language", str, "en").strip().lower() or "en",
    )


def _reminders(get: Callable[[str, str, type[Any], Any], Any], source: str) -> ReminderPolicy:
    """``[reminders]``: days before for parties and mediators, hours for the last SMS and for
    the confirmation that staff chase."""
    def days(key: str, default: list[int]) -> tuple[int, ...]:
        values = get("reminders", key, list, default)
        if not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 30 for v in values):
            raise InvalidInput(f"{source}:reminders.{key}", "must be a list of days from 1 to 30")
        return tuple(sorted({v * 24 for v in values}, reverse=True))

    last = get("reminders", "last_sms_hours", int, 2)
    if last > 23:
        raise InvalidInput(f"{source}:reminders.last_sms_hours",
                           "must be under 24 (0 = no last text)")
    confirm = get("reminders", "confirm_by_hours", int, 48)
    if not 1 <= confirm <= 24 * 14:
        raise InvalidInput(f"{source}:reminders.confirm_by_hours", "must be from 1 to 336")
    return ReminderPolicy(party_hours=days("party_days", [7, 3, 1]),
                          mediator_hours=days("mediator_days", [3, 1]),
                          last_sms_hours=last or None, confirm_by_hours=confirm)
