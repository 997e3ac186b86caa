"""Wall-clock time <-> UTC, with one documented rule for DST gaps and folds.

The rule (the same as RFC 5545 section 3.3.5 and PEP 495 with ``fold=0``):

- A local time that does not exist (the skipped spring-forward hour) is read with the UTC
  offset in force *before* the gap, i.e. it is shifted forward by the gap's length:
  02:30 on 2027-03-14 in America/Chicago -> 03:30 CDT (08:30 UTC).
- A local time that happens twice (the repeated fall-back hour) is the *first* occurrence:
  01:30 on 2026-11-01 in America/Chicago -> 01:30 CDT (06:30 UTC), not 01:30 CST.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def zone(name: str) -> ZoneInfo:
    """Return the IANA zone ``name`` or raise ``ValueError`` naming it."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown IANA time zone {name!r}") from exc


def require_aware(value: datetime, what: str) -> datetime:
    """Return ``value`` in UTC; raise ``ValueError`` if it is naive."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``tz`` (module rule for gaps/folds)."""
    local = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=tz)
    return local.astimezone(UTC)


def is_nonexistent(day: date, at: time, tz: ZoneInfo) -> bool:
    """True if wall-clock ``at`` on ``day`` falls in a DST gap of ``tz``."""
    instant = local_to_utc(day, at, tz)
    back = instant.astimezone(tz)
    return (back.date(), back.time().replace(fold=0)) != (day, at.replace(tzinfo=None, fold=0))


def is_ambiguous(day: date, at: time, tz: ZoneInfo) -> bool:
    """True if wall-clock ``at`` on ``day`` happens twice in ``tz`` (a DST fold)."""
    naive = datetime.combine(day, at.replace(tzinfo=None))
    first = naive.replace(tzinfo=tz, fold=0).utcoffset()
    second = naive.replace(tzinfo=tz, fold=1).utcoffset()
    return first != second and not is_nonexistent(day, at, tz)


def shift_local_days(instant: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The same wall-clock time ``days`` calendar days away, in UTC.

    This is a *nominal* day shift (RFC 5545 ``P1D``): "the day before at the same local time".
    Across a DST change it is 23 or 25 hours, not 24. Gaps and folds follow the module rule.
    """
    local = require_aware(instant, "instant").astimezone(tz)
    return local_to_utc(local.date() + timedelta(days=days), local.time(), tz)
