"""Calendars: availability algebra, iTIP invites, ICS feeds and CalDAV push/pull.

Modules, one job each:

- ``localtime``    wall-clock <-> UTC rules (DST gaps and folds), one documented policy.
- ``intervals``    ``Interval`` / ``IntervalSet`` in UTC and weekly local windows.
- ``vtimezone``    compact, exact VTIMEZONE components for outgoing calendars.
- ``invites``      RFC 5545/5546 invites (METHOD:REQUEST / CANCEL) for one recipient.
- ``feeds``        reading ICS text into busy intervals; rendering a mediator's feed.
- ``base``         the ``CalendarSource`` / ``CalendarWriter`` protocols and their errors.
- ``memory``       in-memory source + writer (the fake, tested like the real ones).
- ``caldav_store`` CalDAV source + writer (``caldav`` library).
- ``ics_feed``     read-only ICS feed over HTTP(S) (``httpx``).
- ``url_safety``   only public addresses are read: checked after DNS, for every redirect.
- ``sync``         "use the last good copy, marked stale" pull logic (pure).

Nothing is built at import time; importing this package imports no third-party library.
"""
