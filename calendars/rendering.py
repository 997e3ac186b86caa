"""ICS out: our sessions as calendar events, for CalDAV, a mediator's feed and invites.

Written for the clients that read them: one compact VTIMEZONE per zone used (``vtimezone``),
no METHOD (a stored object or a subscribed feed, not a message; invites add their own), and
alarm offsets as exact durations, since ``P1D`` is a nominal day that moves across DST.
Reading ICS is ``calendars.feeds``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, Event, vDuration

from calendars.base import CalendarEvent
from calendars.localtime import require_aware, zone
from calendars.vtimezone import compact_vtimezone

PRODID = "-//COPA Community Mediation Program//cmp-scheduler//EN"


def event_component(event: CalendarEvent, *, dtstamp: datetime) -> Event:
    """A VEVENT for one of our sessions (no attendees: those belong to invites)."""
    tz = zone(event.tzid)
    component = Event()
    component.add("UID", event.uid)
    component.add("DTSTAMP", require_aware(dtstamp, "dtstamp"))
    component.add("SEQUENCE", event.sequence)
    component.add("DTSTART", event.start.astimezone(tz))
    component.add("DTEND", event.end.astimezone(tz))
    component.add("SUMMARY", event.summary)
    if event.location:
        component.add("LOCATION", event.location)
    if event.description:
        component.add("DESCRIPTION", event.description)
    if event.url:
        component.add("URL", event.url)
    component.add("STATUS", "CONFIRMED")
    component.add("TRANSP", "OPAQUE")
    return component


def render_event(event: CalendarEvent, *, dtstamp: datetime, alarm_minutes: int | None = None
                 ) -> bytes:
    """A single-event VCALENDAR without METHOD, as a CalDAV server stores it."""
    calendar = _calendar()
    calendar.add_component(compact_vtimezone(event.tzid, event.start, event.end))
    component = event_component(event, dtstamp=dtstamp)
    if alarm_minutes is not None:
        component.add_component(display_alarm(event.summary, alarm_minutes))
    calendar.add_component(component)
    return calendar.to_ical()


def render_feed(
    events: Iterable[CalendarEvent], *, dtstamp: datetime, name: str = "Mediation sessions"
) -> bytes:
    """A mediator's private subscribable feed: a METHOD-less calendar of their sessions.

    One compact VTIMEZONE per zone used, covering all the events in it.
    """
    events = sorted(events, key=lambda e: (e.start, e.uid))
    calendar = _calendar()
    calendar.add("X-WR-CALNAME", name)
    calendar.add("NAME", name)
    calendar.add("REFRESH-INTERVAL", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", "PT1H")
    zones: dict[str, list[CalendarEvent]] = {}
    for event in events:
        zones.setdefault(event.tzid, []).append(event)
    for tzid, in_zone in zones.items():
        lo = min(e.start for e in in_zone)
        hi = max(e.end for e in in_zone)
        calendar.add_component(compact_vtimezone(tzid, lo, hi))
    for event in events:
        calendar.add_component(event_component(event, dtstamp=dtstamp))
    return calendar.to_ical()


class ExactDuration(vDuration):
    """A duration written in hours/minutes only (``-PT24H``), never in days (``-P1D``).

    RFC 5545 3.3.6: ``P1D`` is a *nominal* day (23 or 25 hours across DST); icalendar writes
    ``timedelta(days=1)`` as ``P1D``. Alarm offsets here are exact, so days are never used.
    """

    def to_ical(self) -> bytes:
        seconds = int(self.td.total_seconds())
        sign = "-" if seconds < 0 else ""
        hours, rest = divmod(abs(seconds), 3600)
        minutes, seconds = divmod(rest, 60)
        text = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S"))
                       if n) or "0S"
        return f"{sign}PT{text}".encode()


def display_alarm(description: str, minutes_before: int) -> Alarm:
    """A DISPLAY VALARM ``minutes_before`` the start, as an exact duration (``-PT24H``)."""
    if minutes_before < 0:
        raise ValueError(f"alarm minutes before must be >= 0, got {minutes_before}")
    alarm = Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("DESCRIPTION", description)
    alarm.add("TRIGGER", ExactDuration(-timedelta(minutes=minutes_before)))
    return alarm


def _calendar() -> Calendar:
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    return calendar
