"""ICS in: the busy time in a calendar (a feed, a CalDAV calendar's objects). Writing our own
events is ``calendars.rendering``.

Reading (``parse_busy``) is strict where guessing would give a wrong answer: a property that
does not parse, an event without a start, or a TZID that is neither defined by a VTIMEZONE,
an IANA name, nor a Windows name (``Central Standard Time``, mapped by icalendar) raises
``CalendarFeedError``. Expansion (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides and Google's
``X-WR-TIMEZONE``) is done by ``recurring-ical-events``.

Interpretation rules:

- ``TRANSP:TRANSPARENT`` ("show as free") and ``STATUS:CANCELLED`` events are not busy.
- All-day events (``VALUE=DATE``) are busy from local midnight of their first day to local
  midnight after their last day in ``default_zone`` (DTEND is exclusive; no DTEND = one day).
- Floating times (no TZID, no ``Z``) are read in ``default_zone``.
- A timed event without DTEND/DURATION lasts zero time (RFC 5545) and so is not busy.

Expansion is bounded (:class:`ExpansionLimits`): a feed may have at most ``max_instances``
occurrences in the window, and its events may repeat at most ``max_repetitions`` times from
their DTSTART to the window's end (``FREQ=SECONDLY`` since last year is refused before any
expansion, from the rule alone); what is expanded is expanded a month of the window at a time,
counted as it goes, within a ``max_seconds`` monotonic deadline. Any limit reached raises
``CalendarFeedError`` saying which.
"""

from __future__ import annotations

import time as monotonic_time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import recurring_ical_events
from icalendar import Calendar, Component

from calendars.base import CalendarFeedError
from calendars.intervals import Interval, IntervalSet
from calendars.localtime import local_to_utc, zone

_TIME_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE", "DUE")

#: The window is expanded this much at a time, so that the limits are checked as it goes.
EXPANSION_STEP = timedelta(days=31)


@dataclass(frozen=True, slots=True)
class ExpansionLimits:
    """How much one read of a calendar may expand (see the module doc)."""

    max_instances: int = 10_000
    max_seconds: float = 5.0
    max_repetitions: int = 100_000

    def __post_init__(self) -> None:
        if self.max_instances <= 0 or self.max_repetitions <= 0 or self.max_seconds < 0:
            raise ValueError("expansion limits must be positive")


DEFAULT_LIMITS = ExpansionLimits()


@dataclass(slots=True)
class ExpansionMeter:
    """What one read has used so far; shared by the objects of one CalDAV calendar."""

    limits: ExpansionLimits = field(default_factory=ExpansionLimits)
    instances: int = 0
    estimated: int = 0
    repetitions: int = 0
    deadline: float = -1.0

    def __post_init__(self) -> None:
        self.deadline = monotonic_time.monotonic() + self.limits.max_seconds

    def check_time(self) -> None:
        if monotonic_time.monotonic() > self.deadline:
            raise CalendarFeedError(
                f"expanding the calendar's events took more than {self.limits.max_seconds:g} s "
                f"(too many repeating events)")

    def count(self, window: Interval) -> None:
        self.instances += 1
        if self.instances > self.limits.max_instances:
            raise CalendarFeedError(_too_many(self.limits.max_instances, window))
        if self.instances % 64 == 0:
            self.check_time()


def parse_busy(
    ics: bytes | str,
    start: datetime,
    end: datetime,
    *,
    default_zone: str = "America/Chicago",
    own_domain: str | None = None,
    limits: ExpansionLimits | None = None,
    meter: ExpansionMeter | None = None,
) -> IntervalSet:
    """Busy time of an ICS calendar within ``[start, end)``, as a UTC ``IntervalSet``.

    ``own_domain``: events whose UID ends in ``@own_domain`` are our own sessions (pushed by
    CalDAV, or accepted from an invite into the mediator's calendar); they are left out, as
    the database already knows them and a reschedule must not collide with its old slot.

    ``limits`` / ``meter``: the expansion bounds (defaults: :class:`ExpansionLimits`); pass one
    ``meter`` to several calls to bound them together.

    :raises CalendarFeedError: the content is not a calendar, an event cannot be read without
        guessing (the message names the property and the event's UID), or the expansion
        reached a limit (the message says which).
    """
    window = Interval(start, end)
    tz = zone(default_zone)
    meter = meter or ExpansionMeter(limits or ExpansionLimits())
    calendar = _parse_calendar(ics)
    for component in calendar.walk():
        if component.name in ("VEVENT", "VTIMEZONE", "STANDARD", "DAYLIGHT"):
            _check_component(component)
    own_suffix = f"@{own_domain.lower()}" if own_domain else None
    busy: list[Interval] = []
    seen: set[tuple[str, str]] = set()
    try:
        for component in calendar.walk("VEVENT"):
            _check_repetitions(component, window, tz, meter)
        meter.check_time()
        query = recurring_ical_events.of(calendar)
        step_start = window.start
        while step_start < window.end:
            step_end = min(step_start + EXPANSION_STEP, window.end)
            for occurrence in query.between(step_start, step_end):
                uid = str(occurrence.get("UID", ""))
                key = (uid, repr(occurrence["DTSTART"].dt))
                if key in seen:  # an event across a step boundary comes in both steps
                    continue
                seen.add(key)
                meter.count(window)
                if not _is_busy(occurrence):
                    continue
                if own_suffix and uid.lower().endswith(own_suffix):
                    continue
                interval = _occurrence_interval(occurrence, tz)
                if interval is not None:
                    busy.append(interval)
            meter.check_time()
            step_start = step_end
    except (ValueError, KeyError, TypeError) as exc:
        raise CalendarFeedError(f"cannot expand the calendar's events: {exc}") from exc
    return IntervalSet(busy).clip(window.start, window.end)


# --- bounding the expansion from the rules alone -----------------------------------------

_FREQ_SECONDS = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400,
                 "WEEKLY": 7 * 86400, "MONTHLY": 28 * 86400, "YEARLY": 365 * 86400}
_FREQ_WORDS = {"SECONDLY": "second", "MINUTELY": "minute", "HOURLY": "hour", "DAILY": "day",
               "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
#: BY parts that add occurrences within one period of each FREQ (upper bound per value).
_EXPANDING = {
    "YEARLY": {"BYMONTH": 1, "BYWEEKNO": 7, "BYYEARDAY": 1, "BYMONTHDAY": 12, "BYDAY": 53,
               "BYHOUR": 1, "BYMINUTE": 1, "BYSECOND": 1},
    "MONTHLY": {"BYMONTHDAY": 1, "BYDAY": 5, "BYHOUR": 1, "BYMINUTE": 1, "BYSECOND": 1},
    "WEEKLY": {"BYDAY": 1, "BYHOUR": 1, "BYMINUTE": 1, "BYSECOND": 1},
    "DAILY": {"BYHOUR": 1, "BYMINUTE": 1, "BYSECOND": 1},
    "HOURLY": {"BYMINUTE": 1, "BYSECOND": 1},
    "MINUTELY": {"BYSECOND": 1},
    "SECONDLY": {},
}


def _too_many(limit: int, window: Interval) -> str:
    days = round((window.end - window.start) / timedelta(days=1))
    return f"the calendar has more than {limit} busy times in the {days}-day window read"


def _check_repetitions(component: Component, window: Interval, tz: Any,
                       meter: ExpansionMeter) -> None:
    """Refuse, before expanding, an event whose rules alone exceed the limits."""
    rdates = component.get("RDATE")
    if rdates is not None:  # each date is one more occurrence (an upper bound: all of them)
        meter.estimated += sum(len(getattr(r, "dts", [])) for r in
                               (rdates if isinstance(rdates, list) else [rdates]))
        if meter.estimated > meter.limits.max_instances:
            raise CalendarFeedError(f"{_too_many(meter.limits.max_instances, window)} "
                                    f"(VEVENT UID {_uid(component)!r} lists too many RDATEs)")
    rules = component.get("RRULE")
    if rules is None:
        return
    dtstart: Any = component["DTSTART"]
    first = _to_utc(dtstart.dt, tz)
    for rule in rules if isinstance(rules, list) else [rules]:
        freq = str((rule.get("FREQ") or ["?"])[0]).upper()
        if freq not in _FREQ_SECONDS:
            raise CalendarFeedError(f"VEVENT UID {_uid(component)!r}: RRULE has no valid FREQ")
        interval = max(int((rule.get("INTERVAL") or [1])[0]), 1)
        period = timedelta(seconds=_FREQ_SECONDS[freq] * interval)
        factor = 1
        for part, per_value in _EXPANDING[freq].items():
            if rule.get(part):
                factor *= len(rule[part]) * per_value
        last = window.end
        if rule.get("UNTIL"):
            last = min(last, _to_utc(rule["UNTIL"][0], tz))
        count = int(rule["COUNT"][0]) if rule.get("COUNT") else None

        def occurrences(lo: datetime, hi: datetime, *, period: timedelta = period,
                        factor: int = factor, count: int | None = count) -> int:
            n = 0 if hi <= lo else (int((hi - lo) / period) + 1) * factor
            return n if count is None else min(n, count)

        in_window = occurrences(max(first, window.start), last)
        total = occurrences(first, last)
        every = f"every {interval} {_FREQ_WORDS[freq]}s" if interval > 1 \
            else f"every {_FREQ_WORDS[freq]}"
        meter.estimated += in_window
        if meter.estimated > meter.limits.max_instances:
            raise CalendarFeedError(f"{_too_many(meter.limits.max_instances, window)} "
                                    f"(VEVENT UID {_uid(component)!r} repeats {every})")
        meter.repetitions += total
        if meter.repetitions > meter.limits.max_repetitions:
            raise CalendarFeedError(
                f"VEVENT UID {_uid(component)!r} repeats {every} from "
                f"{first.date().isoformat()}: more than {meter.limits.max_repetitions} "
                f"repetitions to expand")


def _parse_calendar(ics: bytes | str) -> Calendar:
    text = ics.decode("utf-8-sig", errors="replace") if isinstance(ics, bytes) else ics
    head = text.lstrip()[:15].upper()
    if not head.startswith("BEGIN:VCALENDAR"):
        shown = text.lstrip()[:30].replace("\r", " ").replace("\n", " ")
        raise CalendarFeedError(f"not an iCalendar stream: it begins with {shown!r}")
    try:
        return Calendar.from_ical(text)
    except ValueError as exc:
        raise CalendarFeedError(f"malformed iCalendar content: {_short(exc)}") from exc


def _uid(component: Component) -> str:
    uid = str(component.get("UID", "?"))
    return uid if len(uid) <= 60 else uid[:57] + "..."


def _check_component(component: Component) -> None:
    name = str(component.name)
    where = f"{name} UID {_uid(component)!r}" if name == "VEVENT" else name
    if component.errors:
        prop, message = component.errors[0]
        raise CalendarFeedError(f"{where}: property {prop} is malformed ({message})")
    if name != "VEVENT":
        return
    if "DTSTART" not in component:
        raise CalendarFeedError(f"{where} has no DTSTART")
    for prop in _TIME_PROPERTIES:
        values = component.get(prop)
        if values is None:
            continue
        for value in values if isinstance(values, list) else [values]:
            _check_tzid(where, prop, value)


def _check_tzid(where: str, name: str, value: Any) -> None:
    tzid = value.params.get("TZID") if hasattr(value, "params") else None
    if tzid is None:
        return
    dts = [p[0] if isinstance(p, tuple) else p for p in getattr(value, "dts", [])] or [
        getattr(value, "dt", None)
    ]
    for dt in (getattr(d, "dt", d) for d in dts):
        if isinstance(dt, datetime) and dt.tzinfo is None:
            raise CalendarFeedError(
                f"{where}: {name} uses TZID {str(tzid)!r}, which is neither defined by a "
                f"VTIMEZONE nor a known IANA or Windows zone name"
            )


def _is_busy(event: Component) -> bool:
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    return str(event.get("STATUS", "")).upper() != "CANCELLED"


def _occurrence_interval(event: Component, tz: Any) -> Interval | None:
    props: Any = event
    start_value: Any = props["DTSTART"].dt
    end_value: Any
    end_prop: Any = props.get("DTEND")
    if end_prop is not None:
        end_value = end_prop.dt
    elif "DURATION" in event:
        end_value = start_value + props["DURATION"].dt
    elif isinstance(start_value, datetime):
        return None  # zero length: not busy
    else:
        end_value = start_value + timedelta(days=1)
    start = _to_utc(start_value, tz)
    end = _to_utc(end_value, tz)
    if end <= start:
        return None
    return Interval(start, end)


def _to_utc(value: date | datetime, tz: Any) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return local_to_utc(value.date(), value.time(), tz)
        return value.astimezone(UTC)
    return local_to_utc(value, time(0), tz)


def _short(exc: BaseException) -> str:
    text = str(exc).replace("\r", " ").replace("\n", " ")
    return text if len(text) <= 160 else text[:157] + "..."
