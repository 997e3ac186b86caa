"""The two real-world calendar feeds in ``tests/fixtures/calendars`` and the busy time each holds.

The feeds are fixtures for every test that reads them (the parser's unit tests, the ICS source
over HTTP, the CalDAV contract); the busy times are the one statement of what they contain.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from calendars.intervals import IntervalSet
from tests.support import FIXTURES

CALENDAR_FIXTURES = FIXTURES / "calendars"


def u(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


OUTLOOK_BUSY = IntervalSet.of(
    # Weekly Tuesday 09:00-10:00 "Central Standard Time": 14:00Z while CDT ...
    (u(2026, 10, 6, 14), u(2026, 10, 6, 15)),
    (u(2026, 10, 13, 14), u(2026, 10, 13, 15)),
    (u(2026, 10, 20, 14), u(2026, 10, 20, 15)),
    (u(2026, 10, 27, 14), u(2026, 10, 27, 15)),
    # ... and 15:00Z once CST (after 2026-11-01)
    (u(2026, 11, 3, 15), u(2026, 11, 3, 16)),
    (u(2026, 11, 10, 20), u(2026, 11, 10, 21, 30)),  # RECURRENCE-ID override: 14:00-15:30 CST
    (u(2026, 11, 17, 15), u(2026, 11, 17, 16)),
    # 2026-11-24 is an EXDATE
    (u(2026, 12, 1, 15), u(2026, 12, 1, 16)),
    (u(2026, 12, 8, 15), u(2026, 12, 8, 16)),
    (u(2026, 12, 15, 15), u(2026, 12, 15, 16)),  # UNTIL is inclusive
    # All-day vacation on Monday 2026-10-26: local midnight to midnight (CDT)
    (u(2026, 10, 26, 5), u(2026, 10, 27, 5)),
    # Two all-day days over the fall-back night: 49 hours
    (u(2026, 10, 31, 5), u(2026, 11, 2, 6)),
    # Three-day all-day conference (DTEND exclusive), CST
    (u(2026, 11, 18, 6), u(2026, 11, 21, 6)),
    # Timed multi-day trip 2026-12-30 18:00 - 2027-01-02 12:00 CST
    (u(2026, 12, 31, 0), u(2027, 1, 2, 18)),
    # Weekly Sunday 10:00-12:00 over the spring-forward day
    (u(2027, 3, 7, 16), u(2027, 3, 7, 18)),
    (u(2027, 3, 14, 15), u(2027, 3, 14, 17)),
    (u(2027, 3, 21, 15), u(2027, 3, 21, 17)),
)
# TRANSPARENT "Focus time" (2026-10-14), the free all-day holiday (2026-11-26) and the
# CANCELLED dentist appointment (2026-10-15) are absent.

GOOGLE_BUSY = IntervalSet.of(
    (u(2026, 10, 29, 22), u(2026, 10, 29, 23)),  # Thu 17:00 CDT
    (u(2026, 11, 3, 20), u(2026, 11, 3, 21)),  # a UTC 'Z' event
    (u(2026, 11, 6, 0), u(2026, 11, 6, 1)),  # override: moved to 18:00 CST
    # 2026-11-12 instance is a STATUS:CANCELLED override
    (u(2026, 11, 9, 6), u(2026, 11, 10, 6)),  # all-day OPAQUE "Out of office"
    # X-WR-TIMEZONE: a UTC-written weekly event keeps 09:00 Chicago time over 2027-03-14
    (u(2027, 3, 10, 15), u(2027, 3, 10, 16)),
    (u(2027, 3, 17, 14), u(2027, 3, 17, 15)),
)


@pytest.fixture
def outlook_feed() -> bytes:
    return (CALENDAR_FIXTURES / "outlook_central.ics").read_bytes()


@pytest.fixture
def google_feed() -> bytes:
    return (CALENDAR_FIXTURES / "google_chicago.ics").read_bytes()
