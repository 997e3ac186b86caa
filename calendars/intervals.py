"""Availability algebra: half-open UTC intervals and immutable, normalized interval sets.

Every ``Interval`` is ``[start, end)`` with aware datetimes normalized to UTC. An
``IntervalSet`` is sorted and merged (overlapping *and touching* intervals are joined), so two
sets with the same instants are equal. Weekly local windows ("Tuesdays 17:00-19:00 in
America/Chicago") expand to UTC with the DST rule of :mod:`calendars.localtime`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from calendars.localtime import local_to_utc, require_aware
from cases.weekly import WeeklyWindow


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open span of time ``[start, end)`` in UTC. ``start < end`` always holds."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = require_aware(self.start, "Interval start")
        end = require_aware(self.end, "Interval end")
        if not start < end:
            raise ValueError(
                f"Interval start {start.isoformat()} must be before end {end.isoformat()}"
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def overlaps(self, other: Interval) -> bool:
        """True if the two intervals share at least one instant (touching is not overlapping)."""
        return self.start < other.end and other.start < self.end

    def contains(self, item: datetime | Interval) -> bool:
        """True if the instant lies in ``[start, end)`` or the interval lies wholly inside."""
        if isinstance(item, Interval):
            return self.start <= item.start and item.end <= self.end
        instant = require_aware(item, "instant")
        return self.start <= instant < self.end


class IntervalSet:
    """An immutable, normalized set of UTC intervals (sorted, overlaps and touches merged)."""

    __slots__ = ("_items",)
    _items: tuple[Interval, ...]

    def __init__(self, intervals: Iterable[Interval] = ()) -> None:
        object.__setattr__(self, "_items", _normalize(intervals))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("IntervalSet is immutable")

    @classmethod
    def of(cls, *pairs: tuple[datetime, datetime]) -> IntervalSet:
        """Build from ``(start, end)`` pairs."""
        return cls(Interval(s, e) for s, e in pairs)

    # --- container protocol -------------------------------------------------------------
    def __iter__(self) -> Iterator[Interval]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IntervalSet):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        inner = ", ".join(f"{i.start.isoformat()}/{i.end.isoformat()}" for i in self._items)
        return f"IntervalSet([{inner}])"

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, datetime | Interval):
            return False
        return self.contains(item)

    @property
    def intervals(self) -> tuple[Interval, ...]:
        return self._items

    # --- algebra ------------------------------------------------------------------------
    def union(self, other: IntervalSet | Iterable[Interval]) -> IntervalSet:
        return IntervalSet((*self._items, *other))

    def intersection(self, other: IntervalSet) -> IntervalSet:
        result: list[Interval] = []
        a, b = self._items, IntervalSet(other)._items
        i = j = 0
        while i < len(a) and j < len(b):
            start = max(a[i].start, b[j].start)
            end = min(a[i].end, b[j].end)
            if start < end:
                result.append(Interval(start, end))
            if a[i].end < b[j].end:
                i += 1
            else:
                j += 1
        return IntervalSet(result)

    def subtract(self, other: IntervalSet | Iterable[Interval]) -> IntervalSet:
        """The instants of ``self`` that are in no interval of ``other``."""
        cuts = IntervalSet(other)._items
        result: list[Interval] = []
        j = 0
        for item in self._items:
            cursor = item.start
            while j < len(cuts) and cuts[j].end <= cursor:
                j += 1
            k = j
            while k < len(cuts) and cuts[k].start < item.end:
                if cursor < cuts[k].start:
                    result.append(Interval(cursor, cuts[k].start))
                cursor = max(cursor, cuts[k].end)
                k += 1
            if cursor < item.end:
                result.append(Interval(cursor, item.end))
        return IntervalSet(result)

    def buffered(self, before: timedelta, after: timedelta) -> IntervalSet:
        """Each interval widened by ``before`` at its start and ``after`` at its end.

        Use it on *busy* time (travel, set-up, rest between sessions). Negative buffers are
        refused: shrinking is ``subtract``'s job, and could make intervals vanish silently.
        """
        if before < timedelta(0) or after < timedelta(0):
            raise ValueError(f"buffers must not be negative (before={before}, after={after})")
        return IntervalSet(Interval(i.start - before, i.end + after) for i in self._items)

    def clip(self, start: datetime, end: datetime) -> IntervalSet:
        """The part of the set inside ``[start, end)``."""
        return self.intersection(IntervalSet([Interval(start, end)]))

    def contains(self, item: datetime | Interval) -> bool:
        """True if the instant, or the whole interval, lies inside one interval of the set."""
        return any(i.contains(item) for i in self._items)

    def overlaps(self, interval: Interval) -> bool:
        """True if ``interval`` shares any instant with the set (a double-booking check)."""
        return any(i.overlaps(interval) for i in self._items)

    def total_duration(self) -> timedelta:
        return sum((i.duration for i in self._items), timedelta(0))


def _normalize(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    items = sorted(intervals, key=lambda i: (i.start, i.end))
    merged: list[Interval] = []
    for item in items:
        if not isinstance(item, Interval):
            raise TypeError(f"IntervalSet takes Interval items, got {type(item).__name__}")
        if merged and item.start <= merged[-1].end:
            if item.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, item.end)
        else:
            merged.append(item)
    return tuple(merged)


def window_on(window: WeeklyWindow, day: date, tz: ZoneInfo) -> Interval | None:
    """``window`` on local ``day`` as a UTC interval, or None if the day does not match
    or the window vanishes in a DST gap (02:30-03:00 on a spring-forward day: the start
    moves forward to 03:30, past the end)."""
    if day.weekday() != window.weekday:
        return None
    end_day = day if window.end > window.start else day + timedelta(days=1)
    start = local_to_utc(day, window.start, tz)
    end = local_to_utc(end_day, window.end, tz)
    return Interval(start, end) if start < end else None


def weekly_windows(
    windows: Iterable[WeeklyWindow], tz: ZoneInfo, start: datetime, end: datetime
) -> IntervalSet:
    """Expand weekly local windows into UTC intervals overlapping ``[start, end)``, clipped.

    Each occurrence is resolved on its own local date, so "Sunday 10:00" is 16:00 UTC in
    winter and 15:00 UTC in summer in America/Chicago. Gap/fold rule: see
    :mod:`calendars.localtime` (a start in the skipped hour moves forward by the gap).
    """
    bounds = Interval(start, end)
    windows = tuple(windows)
    first = bounds.start.astimezone(tz).date() - timedelta(days=1)
    last = bounds.end.astimezone(tz).date()
    found: list[Interval] = []
    day = first
    while day <= last:
        for window in windows:
            interval = window_on(window, day, tz)
            if interval is not None:
                found.append(interval)
        day += timedelta(days=1)
    return IntervalSet(found).clip(bounds.start, bounds.end)
