"""A mediator's CalDAV calendar (Nextcloud, Fastmail, iCloud, Radicale...): read and write.

Busy time: a time-range ``calendar-query`` REPORT asks the server for the events touching the
window; each returned object is expanded *locally* by :func:`calendars.feeds.parse_busy`, so
a CalDAV calendar and an ICS feed follow exactly the same rules (EXDATE, overrides, all-day,
TRANSPARENT, Windows zone names). Writes: one resource per UID, replaced in place by ``put``
(SEQUENCE is ours and stored as given) and removed by ``delete``.

No network I/O happens before the first call; credentials never appear in messages or repr.
Only public addresses are read (:mod:`calendars.url_safety`: the host is resolved and checked
before the client is opened, every connection's peer is checked before a request is written to
it, and redirects are refused), unless the host is allowed by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import niquests
from caldav.davclient import DAVClient
from caldav.lib import error as dav_error

from calendars.base import CalendarEvent, CalendarFeedError, CalendarSourceError
from calendars.feeds import DEFAULT_LIMITS, ExpansionLimits, ExpansionMeter, parse_busy
from calendars.intervals import Interval, IntervalSet
from calendars.rendering import render_event
from calendars.url_safety import guard_niquests_session, resolve_checked
from cases.calendar_urls import (
    NO_ALLOWED_HOSTS,
    AllowedHosts,
    UnsafeCalendarUrl,
    check_calendar_url,
    url_port,
)
from cases.clock import Clock


class CalDavCalendar:
    """``CalendarSource`` + ``CalendarWriter`` over one CalDAV calendar collection URL.

    Authenticate with ``username`` + ``password`` (basic/digest, as the server asks) or with a
    bearer ``token``. ``clock`` supplies DTSTAMP for written events (inject the app's clock).
    With ``own_domain`` set, ``busy`` leaves out our own sessions (UIDs ``...@own_domain``):
    the database is their source of truth, and a reschedule must not collide with itself.
    ``allowed``: hosts read even on a non-public address (``CMP_CALENDAR_ALLOWED_HOSTS``).

    :raises UnsafeCalendarUrl: (a ``ValueError``) the URL is not http(s) with a host, or names a
        forbidden address.
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Clock,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        default_zone: str = "America/Chicago",
        own_domain: str | None = None,
        alarm_minutes: int | None = 60,
        timeout: int = 15,
        allowed: AllowedHosts = NO_ALLOWED_HOSTS,
        limits: ExpansionLimits = DEFAULT_LIMITS,
    ) -> None:
        try:
            url = check_calendar_url(url, allowed)
        except UnsafeCalendarUrl as exc:
            raise UnsafeCalendarUrl(f"CalDAV URL {exc}") from None
        parts = urlsplit(url)
        if token is not None and password is not None:
            raise ValueError("give either a password or a token, not both")
        self._url = url if url.endswith("/") else url + "/"
        self._where = f"{parts.scheme}://{parts.hostname}"
        self._clock = clock
        self._username = username
        self._secret = token if token is not None else password
        self._bearer = token is not None
        self._default_zone = default_zone
        self._own_domain = own_domain
        self._alarm_minutes = alarm_minutes
        self._timeout = timeout
        self._allowed = allowed
        self._limits = limits
        self._calendar: Any = None

    def __repr__(self) -> str:
        return f"CalDavCalendar({self._where}/…)"

    # --- CalendarSource -------------------------------------------------------------------
    def busy(self, start: datetime, end: datetime) -> IntervalSet:
        window = Interval(start, end)
        with self._errors("read"):
            objects = self._collection().search(
                event=True, start=window.start, end=window.end, expand=False
            )
            blobs = [obj.data for obj in objects]
        busy = IntervalSet()
        meter = ExpansionMeter(self._limits)  # one bound for the whole calendar
        for blob in blobs:
            try:
                busy = busy.union(
                    parse_busy(blob, window.start, window.end, default_zone=self._default_zone,
                               own_domain=self._own_domain, meter=meter)
                )
            except CalendarFeedError as exc:
                raise CalendarFeedError(f"CalDAV calendar at {self._where}: {exc}") from exc
        return busy

    # --- CalendarWriter -------------------------------------------------------------------
    def put(self, event: CalendarEvent) -> None:
        ics = render_event(event, dtstamp=self._clock.now(), alarm_minutes=self._alarm_minutes)
        with self._errors("write"):
            self._collection().add_event(ics.decode("utf-8"), increase_seqno=False)

    def delete(self, uid: str) -> None:
        with self._errors("delete"):
            try:
                found = self._collection().get_event_by_uid(uid)
            except dav_error.NotFoundError:
                return
            found.delete()

    # --- plumbing -------------------------------------------------------------------------
    def _collection(self) -> Any:
        if self._calendar is None:
            parts = urlsplit(self._url)
            host, port = parts.hostname or "", url_port(parts)
            if not self._allowed.allows(host, port):
                resolve_checked(host, port)  # a clear message before any connection
            client = DAVClient(
                url=self._url,
                username=self._username if not self._bearer else None,
                password=self._secret,
                auth_type="bearer" if self._bearer else None,
                timeout=self._timeout,
                enable_rfc6764=False,
            )
            guard_niquests_session(client.session, self._allowed)
            self._calendar = client.calendar(url=self._url)
        return self._calendar

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except CalendarSourceError as exc:  # the address guard (calendars.url_safety)
            raise type(exc)(f"CalDAV calendar at {self._where}: {action} refused: {exc}") \
                from exc
        except dav_error.AuthorizationError as exc:
            raise CalendarSourceError(
                f"CalDAV calendar at {self._where}: {action} refused (check the credentials)"
            ) from exc
        except dav_error.NotFoundError as exc:
            raise CalendarSourceError(
                f"CalDAV calendar at {self._where}: {action} failed, calendar not found"
            ) from exc
        except dav_error.DAVError as exc:
            raise CalendarSourceError(
                f"CalDAV calendar at {self._where}: {action} failed ({type(exc).__name__})"
            ) from exc
        except niquests.TooManyRedirects as exc:
            raise CalendarSourceError(
                f"CalDAV calendar at {self._where}: {action} refused, the server redirected "
                f"elsewhere (give the calendar's final URL)") from exc
        except OSError as exc:  # connection refused, DNS, TLS, timeouts (niquests/requests)
            raise CalendarSourceError(
                f"CalDAV calendar at {self._where}: {action} failed, server unreachable "
                f"({type(exc).__name__})"
            ) from exc
