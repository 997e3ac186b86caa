"""Interval algebra, weekly windows and wall-clock rules, across both 2026-27 DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from calendars.intervals import Interval, IntervalSet, WeeklyWindow, weekly_windows
from calendars.localtime import (
    is_ambiguous,
    is_nonexistent,
    local_to_utc,
    shift_local_days,
    zone,
)

CHI = ZoneInfo("America/Chicago")
MON, TUE, SAT, SUN = 0, 1, 5, 6


def u(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def iv(a: datetime, b: datetime) -> Interval:
    return Interval(a, b)


# --- Interval ------------------------------------------------------------------------------


def test_interval_rejects_empty_and_reversed_with_precise_message() -> None:
    with pytest.raises(ValueError, match=r"start 2026-11-01T10:00:00\+00:00 must be before end "
                                         r"2026-11-01T10:00:00\+00:00"):
        Interval(u(2026, 11, 1, 10), u(2026, 11, 1, 10))
    with pytest.raises(ValueError, match="must be before end"):
        Interval(u(2026, 11, 1, 11), u(2026, 11, 1, 10))


def test_interval_rejects_naive_and_normalizes_to_utc() -> None:
    with pytest.raises(ValueError, match="Interval start must be timezone-aware"):
        Interval(datetime(2026, 11, 1, 10), u(2026, 11, 1, 11))
    central = Interval(datetime(2026, 11, 1, 10, tzinfo=CHI), datetime(2026, 11, 1, 11, tzinfo=CHI))
    assert central.start == u(2026, 11, 1, 16) and central.start.tzinfo is UTC
    assert central.duration == timedelta(hours=1)


def test_interval_is_frozen_and_half_open() -> None:
    i = iv(u(2026, 1, 1, 10), u(2026, 1, 1, 11))
    with pytest.raises(AttributeError):
        i.start = u(2026, 1, 1, 9)  # type: ignore[misc]
    assert i.contains(u(2026, 1, 1, 10)) and not i.contains(u(2026, 1, 1, 11))
    assert not i.overlaps(iv(u(2026, 1, 1, 11), u(2026, 1, 1, 12)))  # touching is not overlapping


# --- IntervalSet ---------------------------------------------------------------------------

A = iv(u(2026, 1, 5, 9), u(2026, 1, 5, 12))
B = iv(u(2026, 1, 5, 11), u(2026, 1, 5, 14))
C = iv(u(2026, 1, 5, 14), u(2026, 1, 5, 15))  # touches B
D = iv(u(2026, 1, 6, 9), u(2026, 1, 6, 10))


def test_set_is_sorted_and_merges_overlapping_and_touching() -> None:
    s = IntervalSet([D, C, A, B])
    assert list(s) == [iv(u(2026, 1, 5, 9), u(2026, 1, 5, 15)), D]
    assert len(s) == 2 and s == IntervalSet([A, B, C, D]) and hash(s) == hash(IntervalSet([D, A, B, C]))
    assert not IntervalSet() and s


def test_set_is_immutable() -> None:
    s = IntervalSet([A])
    with pytest.raises(AttributeError):
        s._items = ()  # type: ignore[misc]


def test_union_intersection_subtract() -> None:
    left = IntervalSet([A, D])
    right = IntervalSet([B])
    assert left.union(right) == IntervalSet.of((u(2026, 1, 5, 9), u(2026, 1, 5, 14)),
                                               (D.start, D.end))
    assert left.intersection(right) == IntervalSet.of((u(2026, 1, 5, 11), u(2026, 1, 5, 12)))
    assert left.subtract(right) == IntervalSet.of((u(2026, 1, 5, 9), u(2026, 1, 5, 11)),
                                                  (D.start, D.end))
    assert right.subtract(left) == IntervalSet.of((u(2026, 1, 5, 12), u(2026, 1, 5, 14)))
    assert IntervalSet().intersection(left) == IntervalSet()
    assert left.subtract(IntervalSet()) == left


def test_subtract_punches_several_holes() -> None:
    day = IntervalSet.of((u(2026, 1, 5, 8), u(2026, 1, 5, 18)))
    busy = IntervalSet.of((u(2026, 1, 5, 7), u(2026, 1, 5, 9)), (u(2026, 1, 5, 12), u(2026, 1, 5, 13)),
                          (u(2026, 1, 5, 17), u(2026, 1, 5, 19)))
    assert list(day.subtract(busy)) == [iv(u(2026, 1, 5, 9), u(2026, 1, 5, 12)),
                                        iv(u(2026, 1, 5, 13), u(2026, 1, 5, 17))]
    assert day.subtract(day) == IntervalSet()


def test_buffered_widens_and_merges_and_refuses_negative() -> None:
    sessions = IntervalSet.of((u(2026, 1, 5, 10), u(2026, 1, 5, 11)),
                              (u(2026, 1, 5, 12), u(2026, 1, 5, 13)))
    padded = sessions.buffered(timedelta(minutes=30), timedelta(minutes=30))
    assert list(padded) == [iv(u(2026, 1, 5, 9, 30), u(2026, 1, 5, 13, 30))]
    with pytest.raises(ValueError, match="must not be negative"):
        sessions.buffered(timedelta(minutes=-5), timedelta(0))


def test_clip_contains_overlaps_total_duration() -> None:
    s = IntervalSet([A, D])
    clipped = s.clip(u(2026, 1, 5, 10), u(2026, 1, 6, 9, 30))
    assert list(clipped) == [iv(u(2026, 1, 5, 10), u(2026, 1, 5, 12)),
                             iv(u(2026, 1, 6, 9), u(2026, 1, 6, 9, 30))]
    assert clipped.total_duration() == timedelta(hours=2, minutes=30)
    assert s.contains(u(2026, 1, 5, 9)) and u(2026, 1, 5, 9) in s
    assert u(2026, 1, 5, 12) not in s  # half-open
    assert s.contains(iv(u(2026, 1, 5, 10), u(2026, 1, 5, 11)))
    assert not s.contains(iv(u(2026, 1, 5, 11), u(2026, 1, 5, 13)))
    assert s.overlaps(iv(u(2026, 1, 5, 11), u(2026, 1, 5, 13)))
    assert not s.overlaps(iv(u(2026, 1, 5, 12), u(2026, 1, 6, 9)))
    assert IntervalSet().total_duration() == timedelta(0)


def test_free_slots_from_windows_minus_buffered_busy() -> None:
    """The way the matcher combines them: availability minus (busy + travel buffer)."""
    windows = weekly_windows([WeeklyWindow(TUE, time(17), time(20))], CHI,
                             u(2026, 11, 2), u(2026, 11, 9))
    busy = IntervalSet.of((u(2026, 11, 3, 23), u(2026, 11, 4, 0)))  # 17:00-18:00 CST
    free = windows.subtract(busy.buffered(timedelta(0), timedelta(minutes=30)))
    assert list(free) == [iv(u(2026, 11, 4, 0, 30), u(2026, 11, 4, 2))]


# --- wall clock rules ----------------------------------------------------------------------


def test_skipped_hour_shifts_forward_like_rfc5545() -> None:
    assert is_nonexistent(date(2027, 3, 14), time(2, 30), CHI)
    assert local_to_utc(date(2027, 3, 14), time(2, 30), CHI) == u(2027, 3, 14, 8, 30)  # 03:30 CDT
    assert local_to_utc(date(2027, 3, 14), time(3, 30), CHI) == u(2027, 3, 14, 8, 30)
    assert not is_nonexistent(date(2027, 3, 14), time(3, 30), CHI)


def test_repeated_hour_takes_first_occurrence() -> None:
    assert is_ambiguous(date(2026, 11, 1), time(1, 30), CHI)
    assert local_to_utc(date(2026, 11, 1), time(1, 30), CHI) == u(2026, 11, 1, 6, 30)  # CDT
    assert not is_ambiguous(date(2026, 11, 1), time(2, 30), CHI)
    assert local_to_utc(date(2026, 11, 1), time(2, 30), CHI) == u(2026, 11, 1, 8, 30)  # CST


def test_unknown_zone_is_named() -> None:
    with pytest.raises(ValueError, match="unknown IANA time zone 'America/Chicgo'"):
        zone("America/Chicgo")


@pytest.mark.parametrize(
    ("session", "days", "expected", "hours_apart"),
    [
        # Session Monday 2026-11-02 10:00 CST: day-before reminder Sunday 10:00 CST.
        (u(2026, 11, 2, 16), -1, u(2026, 11, 1, 16), 24),
        # Session Sunday 2026-11-01 10:00 CST: day before is Saturday 10:00 *CDT* (25 h earlier).
        (u(2026, 11, 1, 16), -1, u(2026, 10, 31, 15), 25),
        # Session Sunday 2027-03-14 10:00 CDT: day before is Saturday 10:00 *CST* (23 h earlier).
        (u(2027, 3, 14, 15), -1, u(2027, 3, 13, 16), 23),
        # Three days before, across the spring change.
        (u(2027, 3, 16, 15), -3, u(2027, 3, 13, 16), 71),
    ],
)
def test_day_before_reminders_keep_local_time_across_dst(
    session: datetime, days: int, expected: datetime, hours_apart: int
) -> None:
    reminder = shift_local_days(session, days, CHI)
    assert reminder == expected
    assert session - reminder == timedelta(hours=hours_apart)
    assert reminder.astimezone(CHI).time() == session.astimezone(CHI).time()


def test_reminder_for_a_session_at_a_skipped_time_rule() -> None:
    # A session at 02:30 CST on Saturday, reminded "same time next day": 02:30 does not exist
    # on 2027-03-14, so the reminder moves forward to 03:30 CDT.
    assert shift_local_days(u(2027, 3, 13, 8, 30), 1, CHI) == u(2027, 3, 14, 8, 30)


# --- weekly windows ------------------------------------------------------------------------


def test_weekly_window_same_local_time_across_fall_back() -> None:
    got = weekly_windows([WeeklyWindow(SUN, time(10), time(12))], CHI,
                         u(2026, 10, 20), u(2026, 11, 10))
    assert list(got) == [
        iv(u(2026, 10, 25, 15), u(2026, 10, 25, 17)),  # CDT, UTC-5
        iv(u(2026, 11, 1, 16), u(2026, 11, 1, 18)),    # the change day itself: CST, UTC-6
        iv(u(2026, 11, 8, 16), u(2026, 11, 8, 18)),
    ]


def test_weekly_window_same_local_time_across_spring_forward() -> None:
    got = weekly_windows([WeeklyWindow(SUN, time(10), time(12))], CHI,
                         u(2027, 3, 1), u(2027, 3, 22))
    assert list(got) == [
        iv(u(2027, 3, 7, 16), u(2027, 3, 7, 18)),
        iv(u(2027, 3, 14, 15), u(2027, 3, 14, 17)),
        iv(u(2027, 3, 21, 15), u(2027, 3, 21, 17)),
    ]


def test_window_starting_in_the_skipped_hour() -> None:
    # Sunday 02:30-04:00 on 2027-03-14: 02:30 does not exist -> 03:30 CDT (08:30 UTC);
    # 04:00 CDT is 09:00 UTC. The week before it is 02:30-04:00 CST.
    got = weekly_windows([WeeklyWindow(SUN, time(2, 30), time(4))], CHI,
                         u(2027, 3, 7), u(2027, 3, 15))
    assert list(got) == [
        iv(u(2027, 3, 7, 8, 30), u(2027, 3, 7, 10)),
        iv(u(2027, 3, 14, 8, 30), u(2027, 3, 14, 9)),
    ]


def test_window_wholly_inside_the_skipped_hour_moves_forward_whole() -> None:
    # 02:00-02:45 both ends are in the gap: both shift by the gap -> 03:00-03:45 CDT.
    got = weekly_windows([WeeklyWindow(SUN, time(2), time(2, 45))], CHI,
                         u(2027, 3, 13), u(2027, 3, 15))
    assert list(got) == [iv(u(2027, 3, 14, 8), u(2027, 3, 14, 8, 45))]


def test_window_ending_at_the_gap_end_vanishes() -> None:
    # 02:30-03:00: the start moves to 03:30 CDT, after the end (03:00 CDT): nothing is left.
    got = weekly_windows([WeeklyWindow(SUN, time(2, 30), time(3))], CHI,
                         u(2027, 3, 13), u(2027, 3, 15))
    assert got == IntervalSet()


def test_window_in_the_repeated_hour_uses_first_occurrence() -> None:
    # Sunday 01:00-03:00 on 2026-11-01 lasts three real hours: 01:00 CDT (06:00Z) - 03:00 CST (09:00Z)
    got = weekly_windows([WeeklyWindow(SUN, time(1), time(3))], CHI,
                         u(2026, 10, 31), u(2026, 11, 2))
    assert list(got) == [iv(u(2026, 11, 1, 6), u(2026, 11, 1, 9))]


def test_overnight_window_and_weekday_mapping_and_clip() -> None:
    # Saturday 22:00 - Sunday 06:00 (a night-shift officer), over the fall-back night.
    got = weekly_windows([WeeklyWindow(SAT, time(22), time(6))], CHI,
                         u(2026, 10, 31, 12), u(2026, 11, 1, 10))
    assert list(got) == [iv(u(2026, 11, 1, 3), u(2026, 11, 1, 10))]  # clipped at 10:00Z
    whole = weekly_windows([WeeklyWindow(SAT, time(22), time(6))], CHI,
                           u(2026, 10, 31), u(2026, 11, 2))
    assert whole.total_duration() == timedelta(hours=9)  # 8 wall-clock hours + the repeated one


def test_weekly_windows_in_a_zone_given_by_offset_free_zone() -> None:
    got = weekly_windows([WeeklyWindow(MON, time(9), time(10))], ZoneInfo("America/Phoenix"),
                         u(2027, 3, 8), u(2027, 3, 16))
    assert list(got) == [iv(u(2027, 3, 8, 16), u(2027, 3, 8, 17)),
                         iv(u(2027, 3, 15, 16), u(2027, 3, 15, 17))]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weekday": 7, "start": time(9), "end": time(10)}, "weekday must be 0"),
        ({"weekday": 1, "start": time(9), "end": time(9)}, "both 09:00:00"),
        ({"weekday": 1, "start": time(9, tzinfo=UTC), "end": time(10)}, "naive"),
    ],
)
def test_weekly_window_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WeeklyWindow(**kwargs)  # type: ignore[arg-type]
