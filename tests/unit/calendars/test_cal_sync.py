"""The stale-copy rule: a failing source never erases what we last knew, and says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calendars.base import CalendarEvent
from calendars.intervals import Interval, IntervalSet
from calendars.memory import MemoryCalendar
from calendars.sync import Snapshot, busy_from_json, busy_to_json, pull_with_fallback

NOW = datetime(2026, 10, 1, 12, tzinfo=UTC)
EVENT = CalendarEvent(uid="s1@m.example.org", start=datetime(2026, 10, 27, 22, tzinfo=UTC),
                      end=datetime(2026, 10, 27, 23, tzinfo=UTC), summary="Mediation session")


class Exploding:
    """A source with a bug (not a CalendarSourceError)."""

    def busy(self, start: datetime, end: datetime) -> IntervalSet:
        raise KeyError("DTSTART")


def test_success_gives_a_fresh_snapshot_over_the_horizon() -> None:
    source = MemoryCalendar([EVENT])
    snap = pull_with_fallback(source, None, NOW, horizon=timedelta(days=60))
    assert snap == Snapshot(IntervalSet([EVENT.interval]), NOW, NOW,
                            Interval(NOW, NOW + timedelta(days=60)), stale=False, error=None)
    assert snap.known and snap.covers(EVENT.interval)
    assert not snap.covers(Interval(NOW + timedelta(days=59), NOW + timedelta(days=61)))


def test_failure_keeps_the_last_good_copy_marked_stale() -> None:
    source = MemoryCalendar([EVENT])
    good = pull_with_fallback(source, None, NOW)
    source.fail_with = "CalDAV calendar at https://dav.example.org: read refused"
    later = NOW + timedelta(hours=6)
    snap = pull_with_fallback(source, good, later)
    assert snap.busy == good.busy and snap.coverage == good.coverage
    assert snap.stale and snap.fetched_at == later and snap.last_ok_at == NOW
    assert snap.error == "CalDAV calendar at https://dav.example.org: read refused"
    # still failing: still the same good copy, not a copy of a copy
    again = pull_with_fallback(source, snap, later + timedelta(hours=6))
    assert again.busy == good.busy and again.last_ok_at == NOW and again.stale
    # recovered: fresh again, error cleared
    source.fail_with = None
    fresh = pull_with_fallback(source, again, later + timedelta(hours=12))
    assert not fresh.stale and fresh.error is None and fresh.last_ok_at == fresh.fetched_at


def test_failure_without_any_copy_is_unknown_not_free() -> None:
    source = MemoryCalendar()
    source.fail_with = "ICS feed at https://calendar.google.com answered HTTP 404"
    snap = pull_with_fallback(source, None, NOW)
    assert snap.stale and not snap.known and snap.coverage is None
    assert not snap.covers(EVENT.interval)
    assert snap.error is not None and "404" in snap.error


def test_bugs_are_not_swallowed() -> None:
    with pytest.raises(KeyError):
        pull_with_fallback(Exploding(), None, NOW)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        pull_with_fallback(MemoryCalendar(), None, datetime(2026, 10, 1))


def test_busy_json_round_trip() -> None:
    busy = IntervalSet([EVENT.interval, Interval(NOW, NOW + timedelta(hours=1))])
    rows = busy_to_json(busy)
    assert rows[0] == ["2026-10-01T12:00:00+00:00", "2026-10-01T13:00:00+00:00"]
    assert busy_from_json(rows) == busy
    with pytest.raises(ValueError, match="must be \\[start_iso, end_iso\\]"):
        busy_from_json([["2026-10-01T12:00:00+00:00"]])
    with pytest.raises(ValueError, match="timezone-aware"):
        busy_from_json([["2026-10-01T12:00:00", "2026-10-01T13:00:00"]])
