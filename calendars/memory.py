"""In-memory calendar: a ``CalendarSource`` and ``CalendarWriter`` for tests and demos.

Behaves like the CalDAV store under the contract tests: ``put`` replaces by UID, ``delete``
of an unknown UID is a no-op, ``busy`` reports our events plus any ``external`` busy time
(the mediator's own appointments), clipped to the window. ``fail_with`` makes every call
raise ``CalendarSourceError``, to exercise the stale-copy path.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from calendars.base import CalendarEvent, CalendarSourceError
from calendars.intervals import Interval, IntervalSet


class MemoryCalendar:
    """A calendar held in a dict; ``events`` is a read-only view for assertions."""

    def __init__(
        self, events: Iterable[CalendarEvent] = (), external: IntervalSet | None = None
    ) -> None:
        self._events: dict[str, CalendarEvent] = {e.uid: e for e in events}
        self.external = external or IntervalSet()
        self.fail_with: str | None = None

    @property
    def events(self) -> dict[str, CalendarEvent]:
        return dict(self._events)

    def busy(self, start: datetime, end: datetime) -> IntervalSet:
        window = Interval(start, end)
        self._maybe_fail()
        ours = IntervalSet(e.interval for e in self._events.values())
        return ours.union(self.external).clip(window.start, window.end)

    def put(self, event: CalendarEvent) -> None:
        self._maybe_fail()
        self._events[event.uid] = event

    def delete(self, uid: str) -> None:
        self._maybe_fail()
        self._events.pop(uid, None)

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            raise CalendarSourceError(self.fail_with)
