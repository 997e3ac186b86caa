"""Deadlines a person can keep: a deadline stated as a date means the end of that day where the
person lives.

"Please answer by December 15" is read as "any time on December 15", so the stored instant is
the last microsecond of December 15 in the party's zone (23:59:59.999999 local), whatever the
time of day the case was referred and across daylight-saving changes. An answer is in time when
``now <= deadline``; silence is late when ``now > deadline``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LAST_MOMENT = timedelta(microseconds=1)


def end_of_day(day: date, zone: str) -> datetime:
    """The last instant of ``day`` in ``zone``, in UTC (the next local midnight minus 1 µs)."""
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone))
    return next_midnight.astimezone(UTC) - LAST_MOMENT


def deadline_after(now: datetime, days: int, zone: str) -> datetime:
    """The end of the local day ``days`` days after ``now``'s local date in ``zone``."""
    return end_of_day(now.astimezone(ZoneInfo(zone)).date() + timedelta(days=days), zone)


def deadline_day(deadline: datetime, zone: str) -> date:
    """The local date a deadline is stated as."""
    return deadline.astimezone(ZoneInfo(zone)).date()


def is_past(deadline: datetime | None, now: datetime) -> bool:
    return deadline is not None and now > deadline
