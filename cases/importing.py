"""Bulk import of cases, mediators and venues from CSV, with an error per bad row.

Each row is its own savepoint: a bad row is reported with its line number and the field at
fault, and every good row is kept.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cases.calendar_urls import NO_ALLOWED_HOSTS, AllowedHosts
from cases.directory import NewMediator, NewVenue, add_mediator, add_venue, parse_opening_hours
from cases.errors import DomainError, InvalidInput
from cases.policy import Policy
from cases.service import NewCase, NewParty, add_case

REQUIRED_COLUMNS = {
    "cases": {"log_number", "incident_date", "categories", "complainant_name", "officer_name",
              "officer_star"},
    "mediators": {"full_name", "email", "general_hours", "specialized_hours"},
    "venues": {"name", "kind", "neutral"},
}


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    kind: str
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)


def _text(row: dict[str, str], key: str) -> str:
    return (row.get(key) or "").strip()


def _optional(row: dict[str, str], key: str) -> str | None:
    return _text(row, key) or None


def _flag(row: dict[str, str], key: str, default: bool | None = False) -> bool:
    """yes/no; an empty cell is ``default``, or refused when ``default`` is None (required)."""
    value = _text(row, key).lower()
    if not value:
        if default is None:
            raise InvalidInput(key, "is required (yes or no)")
        return default
    if value in ("1", "yes", "y", "true", "t"):
        return True
    if value in ("0", "no", "n", "false", "f"):
        return False
    raise InvalidInput(key, f"{value!r} is not yes/no")


def _date(row: dict[str, str], key: str, required: bool = False) -> date | None:
    value = _text(row, key)
    if not value:
        if required:
            raise InvalidInput(key, "is required")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(key, f"{value!r} is not a date (YYYY-MM-DD)") from exc


def _number(row: dict[str, str], key: str, kind: type[Any] = float, default: Any = 0) -> Any:
    value = _text(row, key)
    if not value:
        return default
    try:
        return kind(value)
    except ValueError as exc:
        raise InvalidInput(key, f"{value!r} is not a number") from exc


def _list(row: dict[str, str], key: str) -> list[str]:
    return [v.strip() for v in _text(row, key).replace(",", ";").split(";") if v.strip()]


def case_from_row(row: dict[str, str]) -> NewCase:
    complainant = NewParty(
        role="complainant", full_name=_text(row, "complainant_name"),
        message_name=_optional(row, "complainant_message_name"),
        phone=_optional(row, "complainant_phone"), email=_optional(row, "complainant_email"),
        language=_text(row, "complainant_language") or "en",
        channels=_text(row, "complainant_channels") or "sms,email",
        time_zone=_text(row, "complainant_time_zone") or "America/Chicago",
        interpreter=_optional(row, "complainant_interpreter"),
        accessibility=_optional(row, "complainant_accessibility"),
        area=_optional(row, "complainant_area"),
    )
    officer = NewParty(
        role="officer", full_name=_text(row, "officer_name"),
        message_name=_optional(row, "officer_message_name"),
        phone=_optional(row, "officer_phone"), email=_optional(row, "officer_email"),
        language=_text(row, "officer_language") or "en",
        channels=_text(row, "officer_channels") or "email,sms",
        officer_star=_optional(row, "officer_star"),
    )
    incident = _date(row, "incident_date", required=True)
    assert incident is not None
    return NewCase(
        log_number=_text(row, "log_number"), incident_date=incident,
        allegation_categories=_list(row, "categories"), parties=[complainant, officer],
        injury=_flag(row, "injury"), criminal_conduct=_flag(row, "criminal_conduct"),
        pending_litigation=_flag(row, "pending_litigation"),
        accepts_video=_flag(row, "accepts_video"), staff_notes=_text(row, "notes"),
    )


def mediator_from_row(row: dict[str, str]) -> NewMediator:
    return NewMediator(
        full_name=_text(row, "full_name"), email=_text(row, "email"),
        phone=_optional(row, "phone"), languages=_list(row, "languages") or ["en"],
        general_training_hours=_number(row, "general_hours"),
        general_training_on=_date(row, "general_on"),
        specialized_training_hours=_number(row, "specialized_hours"),
        specialized_training_on=_date(row, "specialized_on"),
        training_expires_on=_date(row, "expires_on"),
        max_sessions_per_week=_number(row, "max_per_week", int, 3),
        former_police=_flag(row, "former_police"),
        time_zone=_text(row, "time_zone") or "America/Chicago",
        calendar_kind=_text(row, "calendar_kind") or "none",
        calendar_url=_optional(row, "calendar_url"),
        conflict_officer_stars=_list(row, "conflict_stars"),
    )


def venue_from_row(row: dict[str, str]) -> NewVenue:
    return NewVenue(
        name=_text(row, "name"), kind=_text(row, "kind") or "in_person",
        address=_text(row, "address"), neutral=_flag(row, "neutral", default=None),
        accessible=_flag(row, "accessible", default=True),
        features=_list(row, "features"),
        capacity=_number(row, "capacity", int, 6),
        opening_hours=parse_opening_hours(_text(row, "opening_hours")),
        latitude=_number(row, "latitude", float, None),
        longitude=_number(row, "longitude", float, None),
        video_url=_optional(row, "video_url"),
    )


def read_rows(stream: TextIO, kind: str) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """The rows with their line numbers; raises ``InvalidInput`` if required columns are missing."""
    reader = csv.DictReader(stream)
    columns = {c.strip() for c in (reader.fieldnames or [])}
    missing = REQUIRED_COLUMNS[kind] - columns
    if missing:
        raise InvalidInput("csv", f"missing column(s): {', '.join(sorted(missing))}")
    rows = []
    for row in reader:
        if None in row:
            raise InvalidInput("csv", f"line {reader.line_num}: more values than columns")
        rows.append((reader.line_num, {k.strip(): v for k, v in row.items() if k}))
    return rows, sorted(columns)


def import_csv(
    session: Session,
    path: Path,
    kind: str,
    *,
    policy: Policy,
    now: datetime,
    actor: str,
    progress: Callable[[int], object] | None = None,
    calendar_hosts: AllowedHosts = NO_ALLOWED_HOSTS,
) -> ImportReport:
    """``calendar_hosts``: ``CMP_CALENDAR_ALLOWED_HOSTS``, for the mediators' calendar URLs."""
    if kind not in REQUIRED_COLUMNS:
        raise InvalidInput("kind", "must be cases, mediators or venues")
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            rows, _ = read_rows(stream, kind)
    except FileNotFoundError as exc:
        raise InvalidInput("file", f"{path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput("file", f"{path} is not UTF-8 text") from exc
    except csv.Error as exc:
        raise InvalidInput("file", f"{path} is not valid CSV: {exc}") from exc
    return import_rows(session, rows, kind, policy=policy, now=now, actor=actor,
                       progress=progress, calendar_hosts=calendar_hosts)


def import_rows(
    session: Session,
    rows: Iterable[tuple[int, dict[str, str]]],
    kind: str,
    *,
    policy: Policy,
    now: datetime,
    actor: str,
    progress: Callable[[int], object] | None = None,
    calendar_hosts: AllowedHosts = NO_ALLOWED_HOSTS,
) -> ImportReport:
    report = ImportReport(kind=kind)
    for line, row in rows:
        savepoint = session.begin_nested()
        try:
            if kind == "cases":
                add_case(session, case_from_row(row), policy, now=now, actor=actor)
            elif kind == "mediators":
                add_mediator(session, mediator_from_row(row), now=now, actor=actor,
                             qualification=policy.qualification, allowed=calendar_hosts)
            else:
                add_venue(session, venue_from_row(row), now=now, actor=actor)
            savepoint.commit()
            report.imported += 1
        except (DomainError, IntegrityError) as exc:
            savepoint.rollback()
            message = str(exc) if isinstance(exc, DomainError) else "conflicts with existing data"
            report.errors.append(RowError(line, message))
        if progress is not None:
            progress(1)
    return report
