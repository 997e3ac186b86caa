"""The interfaces every calendar backend implements, their value object and their errors.

``CalendarSource`` is read side (a mediator's busy time); ``CalendarWriter`` is the write side
(our bookings in the mediator's own calendar). Backends: :mod:`calendars.memory` (fake),
:mod:`calendars.caldav_store` (both), :mod:`calendars.ics_feed` (source only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from calendars.intervals import Interval, IntervalSet
from calendars.localtime import zone


class CalendarSourceError(Exception):
    """A calendar could not be read or written (network, auth, HTTP status, bad content).

    The message is meant for staff: it names what went wrong and never contains a password,
    token or secret feed address.
    """


class CalendarFeedError(CalendarSourceError):
    """ICS content is malformed or cannot be interpreted without guessing."""


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """One of our sessions as written to a mediator's calendar or feed.

    ``start``/``end`` are UTC (aware, converted on construction); ``tzid`` is the IANA zone the
    event is *displayed* in. ``sequence`` follows the invite's SEQUENCE for the same ``uid``.
    """

    uid: str
    start: datetime
    end: datetime
    summary: str
    tzid: str = "America/Chicago"
    location: str = ""
    description: str = ""
    url: str = ""
    sequence: int = 0

    def __post_init__(self) -> None:
        interval = Interval(self.start, self.end)  # validates aware + start < end
        object.__setattr__(self, "start", interval.start)
        object.__setattr__(self, "end", interval.end)
        if not self.uid or any(c in self.uid for c in "\r\n/"):
            raise ValueError(f"CalendarEvent uid must be non-empty without '/' or newlines: "
                             f"{self.uid!r}")
        if self.sequence < 0:
            raise ValueError(f"CalendarEvent sequence must be >= 0, got {self.sequence}")
        zone(self.tzid)  # raises ValueError naming an unknown zone

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)


@runtime_checkable
class CalendarSource(Protocol):
    """Where a mediator's busy time comes from."""

    def busy(self, start: datetime, end: datetime) -> IntervalSet:
        """Busy time within ``[start, end)`` (aware datetimes), clipped to it.

        Recurring events are expanded; free (TRANSPARENT) and cancelled events are left out;
        all-day events are busy over their local day(s).

        :raises CalendarSourceError: the calendar could not be fetched or understood
            (``CalendarFeedError`` when the content itself is malformed).
        """
        ...


@runtime_checkable
class CalendarWriter(Protocol):
    """Where our bookings are written so that they show in the mediator's own calendar."""

    def put(self, event: CalendarEvent) -> None:
        """Create the event, or replace the one with the same ``uid`` in place.

        :raises CalendarSourceError: the calendar refused the write or could not be reached.
        """
        ...

    def delete(self, uid: str) -> None:
        """Remove the event with ``uid``. Deleting an unknown uid is not an error (idempotent).

        :raises CalendarSourceError: the calendar refused the delete or could not be reached.
        """
        ...
