"""A weekly wall-clock window ("Tuesdays 17:00-20:00"): the one value for a party's answer, a
mediator's standing hours and a venue's opening hours. Expanded into UTC intervals, day by day in
its zone, by :func:`calendars.intervals.weekly_windows`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """A weekly wall-clock window: ``weekday`` (0 = Monday ... 6 = Sunday), ``start``-``end``.

    ``end <= start`` means the window runs past midnight into the next day (22:00-06:00);
    ``end == start`` is refused as ambiguous. Times are naive wall-clock times.
    """

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) .. 6 (Sunday), got {self.weekday}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("WeeklyWindow times are wall-clock times and must be naive")
        if self.start == self.end:
            raise ValueError(f"WeeklyWindow start and end are both {self.start.isoformat()}")
