"""Pulling a mediator's busy time with a fallback: use the last good copy, marked stale.

Pure logic: the caller passes the source, the previous snapshot (from
``cases.models.MediatorCalendarSnapshot``, see :func:`busy_to_json` / :func:`busy_from_json`)
and ``now`` from its clock, persists the returned snapshot and, when ``snapshot.error`` is
set, tells staff. Only ``CalendarSourceError`` counts as "the source failed"; anything else is
a bug and propagates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from calendars.base import CalendarSource, CalendarSourceError
from calendars.intervals import Interval, IntervalSet
from calendars.localtime import require_aware

#: How far ahead busy time is pulled: the booking hard limit (~60 days) plus margin.
DEFAULT_HORIZON = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Busy time of one calendar as last known.

    ``fetched_at``: when this pull was attempted. ``last_ok_at``: when ``busy`` was actually
    read (None: never). ``coverage``: the window ``busy`` describes; outside it nothing is
    known. ``stale``: ``busy`` is not from this attempt. ``error``: why the attempt failed.
    """

    busy: IntervalSet
    fetched_at: datetime
    last_ok_at: datetime | None
    coverage: Interval | None
    stale: bool
    error: str | None

    @property
    def known(self) -> bool:
        """False when the calendar was never read: treat the mediator as *not* available."""
        return self.last_ok_at is not None and self.coverage is not None

    def covers(self, interval: Interval) -> bool:
        """True if busy time is known for the whole ``interval``."""
        return self.coverage is not None and self.coverage.contains(interval)


def pull_with_fallback(
    source: CalendarSource,
    previous: Snapshot | None,
    now: datetime,
    *,
    horizon: timedelta = DEFAULT_HORIZON,
) -> Snapshot:
    """Read ``source`` over ``[now, now + horizon)``; on failure keep ``previous``, stale."""
    now = require_aware(now, "now")
    window = Interval(now, now + horizon)
    try:
        busy = source.busy(window.start, window.end)
    except CalendarSourceError as exc:
        return failed_pull(previous, now, str(exc) or type(exc).__name__)
    return Snapshot(busy, now, now, window, stale=False, error=None)


def failed_pull(previous: Snapshot | None, now: datetime, error: str) -> Snapshot:
    """The snapshot after a pull attempted at ``now`` failed: ``previous`` kept, marked stale."""
    now = require_aware(now, "now")
    if previous is None or not previous.known:
        return Snapshot(IntervalSet(), now, None, None, stale=True, error=error)
    return Snapshot(previous.busy, now, previous.last_ok_at, previous.coverage, stale=True,
                    error=error)


def busy_to_json(busy: IntervalSet) -> list[list[str]]:
    """``[[start_iso, end_iso], ...]`` in UTC, for the snapshot's JSON column."""
    return [[i.start.isoformat(), i.end.isoformat()] for i in busy]


def busy_from_json(rows: list[list[str]]) -> IntervalSet:
    """Inverse of :func:`busy_to_json`; raises ``ValueError`` on a malformed row."""
    intervals: list[Interval] = []
    for row in rows:
        if len(row) != 2:
            raise ValueError(f"busy row must be [start_iso, end_iso], got {row!r}")
        intervals.append(Interval(datetime.fromisoformat(row[0]), datetime.fromisoformat(row[1])))
    return IntervalSet(intervals)
