"""Measure what the ``ics`` package (0.7.x) gets wrong for this service. Not a test.

Run:  .venv/bin/pip install -e '.[measure-ics]'   # ``ics`` is not a dependency of the service
      .venv/bin/python bench/measure_ics_library.py

It prints one line per requirement of issue 4, OK or FAIL with what was observed, and for
contrast the answer of ``calendars`` (icalendar + recurring-ical-events). It uses only the
fixtures in ``tests/fixtures/calendars`` and touches no network.
"""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import ics
from ics import Calendar, Event
from ics.attendee import Attendee

from calendars.feeds import parse_busy

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "calendars" / "outlook_central.ics"
CHI = ZoneInfo("America/Chicago")


def report(ok: bool, what: str, seen: str) -> None:
    print(f"{'OK  ' if ok else 'FAIL'} {what}: {seen}")


def main() -> None:
    print(f"ics {ics.__version__}")
    event = Event(name="Mediation session", begin=datetime(2026, 11, 3, 17, tzinfo=CHI),
                  end=datetime(2026, 11, 3, 18, tzinfo=CHI), uid="s1@example.org")
    calendar = Calendar(events=[event])
    calendar.method = "REQUEST"
    text = calendar.serialize()

    report("TZID=" in text and "BEGIN:VTIMEZONE" in text, "TZID + VTIMEZONE",
           next(line for line in text.splitlines() if line.startswith("DTSTART")))
    report("SEQUENCE" in text and hasattr(event, "sequence"), "SEQUENCE",
           "no attribute, not written" if not hasattr(event, "sequence") else "present")
    report("DTSTAMP" in text, "DTSTAMP (required by RFC 5545)",
           "written" if "DTSTAMP" in text else "missing")
    lines = text.splitlines()
    method_at = next((i for i, line in enumerate(lines) if line.startswith("METHOD")), -1)
    event_at = lines.index("BEGIN:VEVENT")
    report(0 <= method_at < event_at, "METHOD before the VEVENT",
           f"METHOD on line {method_at}, BEGIN:VEVENT on line {event_at}")

    try:
        event.attendees.add(Attendee("ana@example.com", rsvp=True))
        Calendar(events=[event]).serialize()
        report(True, "ATTENDEE;RSVP=TRUE", "serialized")
    except Exception as exc:  # what ics raises is what we measure
        last = traceback.extract_tb(exc.__traceback__)[-1]
        report(False, "ATTENDEE;RSVP=TRUE",
               f"{type(exc).__name__}: {exc} (at {Path(last.filename).name}:{last.lineno})")

    feed = FIXTURE.read_text()
    parsed = Calendar(feed)
    standups = sorted((e for e in parsed.events if e.name == "Day job standup"),
                      key=lambda e: e.begin)
    report(len(standups) > 1, "RRULE expansion",
           f"{len(standups)} standup event(s) for an 11-week series (no expansion API)")
    first = standups[0].begin.datetime.astimezone(UTC) if standups else None
    truth = datetime(2026, 10, 6, 14, tzinfo=UTC)  # 09:00 CDT
    report(first == truth, "'TZID:Central Standard Time' read correctly",
           f"09:00 CDT standup read as {first.isoformat() if first else None} "
           f"(truth {truth.isoformat()}), no error raised")

    ours = parse_busy(feed, datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))
    print(f"calendars.parse_busy on the same feed: {len(ours)} busy intervals, "
          f"first {next(iter(ours)).start.isoformat()}")


if __name__ == "__main__":
    main()
