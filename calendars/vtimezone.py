"""Compact, exact VTIMEZONE components for the calendars this service writes.

Why not ``icalendar.Timezone.from_tzid``: in icalendar 7.3 it writes the DAYLIGHT onset as
the wall-clock time *after* the jump (``DTSTART:20260308T030000`` with
``TZOFFSETFROM:-0600``), which a strict reader takes as 09:00 UTC instead of 08:00 UTC, and by
default it spans decades. Here every transition is found in UTC from ``zoneinfo`` and written
as RFC 5545 wants it: the onset in the wall-clock time of the offset being left
(``TZOFFSETFROM``), one observance per transition, only around the event.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

#: How far around an event transitions are written. Half a year each side is enough for a
#: client to place the event (each reschedule sends a fresh one).
DEFAULT_MARGIN = timedelta(days=183)

_STEP = timedelta(days=7)  # zones change offset at most a few times a year


def compact_vtimezone(
    tzid: str, start: datetime, end: datetime, margin: timedelta = DEFAULT_MARGIN
) -> Timezone:
    """A VTIMEZONE for ``tzid`` covering ``[start - margin, end + margin]``.

    The first observance is the one in force at the window's beginning (dated at its real
    onset when that is within a year before, else 1970-01-01); then one observance per
    transition inside the window. A zone without DST yields a single STANDARD observance.
    """
    tz = ZoneInfo(tzid)
    lo = start.astimezone(UTC) - margin
    hi = end.astimezone(UTC) + margin
    transitions = _transitions(tz, lo - timedelta(days=366), hi)
    before = [t for t in transitions if t <= lo]
    inside = [t for t in transitions if lo < t <= hi]

    component = Timezone()
    component.add("TZID", tzid)
    if before:
        component.add_component(_observance(tz, before[-1]))
    else:
        component.add_component(_initial_observance(tz, lo))
    for moment in inside:
        component.add_component(_observance(tz, moment))
    return component


def _offset(tz: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None  # zoneinfo always answers for aware datetimes
    return offset


def _transitions(tz: ZoneInfo, lo: datetime, hi: datetime) -> list[datetime]:
    """UTC instants in ``(lo, hi]`` at which ``tz`` changes its offset (to the second)."""
    found: list[datetime] = []
    cursor = lo
    while cursor < hi:
        nxt = min(cursor + _STEP, hi)
        if _offset(tz, cursor) != _offset(tz, nxt):
            a, b = cursor, nxt  # offset(a) != offset(b); find the first instant of b's offset
            while b - a > timedelta(seconds=1):
                mid = a + (b - a) / 2
                mid = mid.replace(microsecond=0)
                if _offset(tz, mid) == _offset(tz, a):
                    a = mid
                else:
                    b = mid
            found.append(b)
        cursor = nxt
    return found


def _observance(tz: ZoneInfo, moment: datetime) -> TimezoneStandard | TimezoneDaylight:
    before = _offset(tz, moment - timedelta(seconds=1))
    after_local = moment.astimezone(tz)
    after = after_local.utcoffset()
    assert after is not None
    is_dst = bool(after_local.dst())
    sub: TimezoneStandard | TimezoneDaylight = TimezoneDaylight() if is_dst else TimezoneStandard()
    # RFC 5545 3.6.5: DTSTART is the onset in the local time of the offset being left.
    onset = (moment + before).replace(tzinfo=None)
    sub.add("DTSTART", onset)
    sub.add("TZOFFSETFROM", before)
    sub.add("TZOFFSETTO", after)
    name = after_local.tzname()
    if name:
        sub.add("TZNAME", name)
    return sub


def _initial_observance(tz: ZoneInfo, at: datetime) -> TimezoneStandard | TimezoneDaylight:
    local = at.astimezone(tz)
    offset = local.utcoffset()
    assert offset is not None
    sub: TimezoneStandard | TimezoneDaylight = (
        TimezoneDaylight() if local.dst() else TimezoneStandard()
    )
    sub.add("DTSTART", datetime(1970, 1, 1))
    sub.add("TZOFFSETFROM", offset)
    sub.add("TZOFFSETTO", offset)
    name = local.tzname()
    if name:
        sub.add("TZNAME", name)
    return sub
