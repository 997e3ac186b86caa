"""No SMS at night in the recipient's zone. Pure: give it the due instant, get the first instant
the message may go."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def in_quiet_hours(at: datetime, zone: str | ZoneInfo, start: int = 21, end: int = 8) -> bool:
    """True when ``at`` falls in [start:00, end:00) local time (the window may wrap midnight)."""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    hour = at.astimezone(tz).hour
    if start == end:
        return False
    if start > end:  # e.g. 21 -> 8, wraps midnight
        return hour >= start or hour < end
    return start <= hour < end


def next_allowed_sms_time(due: datetime, zone: str | ZoneInfo, start: int = 21, end: int = 8) -> datetime:
    """``due`` itself if it is outside quiet hours, else the next local ``end:00`` (as aware UTC).

    Wall-clock arithmetic is done on local dates, so a DST change inside the night still opens the
    window at 08:00 local, not 07:00 or 09:00.
    """
    if due.tzinfo is None:
        raise ValueError("next_allowed_sms_time needs an aware datetime")
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    if not in_quiet_hours(due, tz, start, end):
        return due.astimezone(UTC)
    local = due.astimezone(tz)
    day = local.date() if local.hour < end else local.date() + timedelta(days=1)
    opens = datetime.combine(day, time(end), tzinfo=tz)
    # A wall time inside a spring-forward gap does not exist; normalising through UTC moves it
    # forward by the gap, which is the first real instant after it.
    return opens.astimezone(UTC)
