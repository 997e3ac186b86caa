"""Which phone numbers can receive texts: the line type a provider's lookup gave each number.

At intake (and whenever a party's phone changes) the number is *noted*: a ``PhoneLine`` row in the
caller's transaction, ``unchecked``. Nothing waits for the provider there, so a slow or failing
lookup can neither block intake nor lose what staff typed. A scheduled job
(``scheduler.jobs.check_phone_lines``) asks the provider, through the small ``LineTypeLookup``
protocol below, about each number that is due: never checked, a failed check whose retry time has
come, or an answer older than the configured age. A number on several cases is one row, looked up
once.

The one rule that uses the answer: a number known to be a landline gets no texts (``can_text``).
Every other answer, and "not checked yet", lets texts go out as before a lookup existed: the
provider itself refuses a number that cannot take them, and the dispatcher falls back then.

Services on the caller's ``Session``; they never commit. Nothing here logs or audits a number.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from cases.database import insert_ignoring_duplicates
from cases.models import PhoneLine


class LineType(enum.StrEnum):
    UNCHECKED = "unchecked"  # no lookup has succeeded yet (or no lookup is configured)
    MOBILE = "mobile"
    LANDLINE = "landline"
    VOIP = "voip"
    OTHER = "other"  # toll-free, pager, personal, premium...: the provider's word is kept
    UNKNOWN = "unknown"  # the provider answered but could not tell


#: what staff read next to a number
LABELS: dict[LineType, str] = {
    LineType.UNCHECKED: "not checked",
    LineType.MOBILE: "mobile",
    LineType.LANDLINE: "landline",
    LineType.VOIP: "VoIP",
    LineType.OTHER: "other line",
    LineType.UNKNOWN: "line type unknown",
}

#: the reason written on an SMS notice withdrawn because its number is a landline (the work
#: queue finds such notices by it)
LANDLINE_REASON = "landline: this number cannot receive texts"


@dataclass(frozen=True, slots=True)
class LineCheck:
    """One lookup's answer. ``provider_type`` is the provider's own word ('nonFixedVoip')."""

    line_type: LineType
    provider_type: str | None = None


class LookupFailed(Exception):
    """The provider could not be asked or did not answer (timeout, 5xx, refused credentials).
    ``detail`` is short and holds no phone number."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class LineTypeLookup(Protocol):
    """A provider that says what kind of line a number is (``notifiers.channels.twilio_lookup``)."""

    def check(self, number: str) -> LineCheck:
        """The line type of ``number`` (E.164). Raises ``LookupFailed`` when there is no answer."""
        ...


@dataclass(frozen=True)
class LineChecker:
    """The provider to ask, and how often to ask again (built from ``settings`` by
    ``notifiers.wiring.build_line_checker``)."""

    lookup: LineTypeLookup
    max_age: timedelta = timedelta(days=180)
    retry_base: timedelta = timedelta(minutes=5)
    retry_cap: timedelta = timedelta(hours=12)
    batch_size: int = 50


def can_text(line_type: LineType) -> bool:
    """The one rule: a landline gets no texts; anything else (or not known yet) may."""
    return line_type is not LineType.LANDLINE


def note_numbers(session: Session, numbers: Iterable[str | None], *, now: datetime) -> None:
    """Make sure each number has a row; a new one is ``unchecked`` and due at once. A number
    already known keeps its answer (it is looked up again only when that answer is too old).
    Safe under concurrent intake: ON CONFLICT DO NOTHING."""
    for number in sorted({n for n in numbers if n}):
        session.execute(
            insert_ignoring_duplicates(session, PhoneLine, ["number"]).values(
                number=number, line_type=LineType.UNCHECKED.value, failures=0,
                next_check_at=now, created_at=now)
        )


def due_numbers(session: Session, *, now: datetime, max_age: timedelta, limit: int) -> list[str]:
    """Numbers to look up now: unchecked and due (new, or a failed check's retry time has come),
    or checked longer ago than ``max_age`` (numbers move between carriers and line types)."""
    rows = session.scalars(
        select(PhoneLine.number)
        .where(or_(PhoneLine.next_check_at <= now,
                   and_(PhoneLine.next_check_at.is_(None), PhoneLine.checked_at < now - max_age)))
        .order_by(PhoneLine.next_check_at.is_(None), PhoneLine.next_check_at, PhoneLine.id)
        .limit(limit)
    )
    return list(rows)


def _row(session: Session, number: str, now: datetime) -> PhoneLine:
    row = session.scalar(select(PhoneLine).where(PhoneLine.number == number))
    if row is None:  # a number noted outside intake (never expected): kept all the same
        row = PhoneLine(number=number, line_type=LineType.UNCHECKED.value, failures=0,
                        created_at=now)
        session.add(row)
    return row


def record_check(session: Session, number: str, check: LineCheck, *, now: datetime) -> None:
    row = _row(session, number, now)
    row.line_type = check.line_type.value
    row.provider_type = (check.provider_type or "")[:32] or None
    row.checked_at = now
    row.next_check_at = None
    row.failures = 0
    row.last_error = None


def record_failure(session: Session, number: str, detail: str, *, now: datetime,
                   retry_base: timedelta, retry_cap: timedelta) -> datetime:
    """A lookup that got no answer: the number keeps what it was (``unchecked``, or an older
    answer) and is tried again after an exponential delay. Returns when."""
    row = _row(session, number, now)
    row.failures += 1
    row.last_error = detail[:200]
    retry_at = now + min(retry_cap, retry_base * (2 ** (row.failures - 1)))
    row.next_check_at = retry_at
    return retry_at


def line_types(session: Session, numbers: Iterable[str | None]) -> dict[str, LineType]:
    """Each number's line type, one query for many (``UNCHECKED`` for numbers without a row)."""
    wanted = {n for n in numbers if n}
    if not wanted:
        return {}
    rows = session.execute(
        select(PhoneLine.number, PhoneLine.line_type).where(PhoneLine.number.in_(wanted)))
    found: dict[str, str] = dict(rows.all())
    return {n: LineType(found.get(n, LineType.UNCHECKED.value)) for n in wanted}
