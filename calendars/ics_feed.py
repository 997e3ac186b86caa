"""A read-only ICS feed over HTTP(S): Google's / Outlook's "secret address" of a calendar.

The feed URL is a secret (whoever has it reads the calendar), so it never appears in error
messages or ``repr``: only the scheme and host do. Only public addresses are read, after DNS and
for every redirect (:mod:`calendars.url_safety`), unless the host is allowed by name.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

import httpx

from calendars.base import CalendarFeedError, CalendarSourceError
from calendars.feeds import DEFAULT_LIMITS, ExpansionLimits, parse_busy
from calendars.intervals import IntervalSet
from calendars.url_safety import MAX_REDIRECTS, UnresolvedHost, UnsafeAddress, guarded_client
from cases.calendar_urls import NO_ALLOWED_HOSTS, AllowedHosts, UnsafeCalendarUrl, check_calendar_url

#: A mediator's calendar over a few years is well under this.
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_TIMEOUT = 15.0
_CALENDAR_TYPES = ("text/calendar", "application/ics", "text/x-vcalendar",
                   "application/octet-stream", "text/plain")


class IcsFeedSource:
    """``CalendarSource`` reading an ICS URL (``https://``, ``http://`` or ``webcal://``).

    ``own_domain``: see :func:`calendars.feeds.parse_busy` (our sessions are not re-read).
    ``allowed``: hosts read even on a non-public address (``CMP_CALENDAR_ALLOWED_HOSTS``).
    ``transport``: the ``httpx`` transport under the address guard (the default opens real
    connections); every request goes through the guard whatever it is.
    ``limits``: how much recurrence expansion one read may do.

    :raises UnsafeCalendarUrl: (a ``ValueError``) the URL is not http(s)/webcal with a host, or
        names a forbidden address.
    """

    def __init__(
        self,
        url: str,
        *,
        default_zone: str = "America/Chicago",
        own_domain: str | None = None,
        allowed: AllowedHosts = NO_ALLOWED_HOSTS,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        limits: ExpansionLimits = DEFAULT_LIMITS,
    ) -> None:
        try:
            url = check_calendar_url(url, allowed, webcal=True)
        except UnsafeCalendarUrl as exc:
            raise UnsafeCalendarUrl(f"ICS feed URL {exc}") from None
        if url.lower().startswith("webcal://"):
            url = "https://" + url[len("webcal://"):]
        parts = urlsplit(url)
        if max_bytes <= 0 or timeout <= 0:
            raise ValueError("max_bytes and timeout must be positive")
        self._url = url
        self._where = f"{parts.scheme}://{parts.hostname}"
        self._default_zone = default_zone
        self._own_domain = own_domain
        self._allowed = allowed
        self._transport = transport
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._limits = limits

    def __repr__(self) -> str:
        return f"IcsFeedSource({self._where}/…)"

    def fetch(self) -> bytes:
        """The feed's bytes. :raises CalendarSourceError: with a message safe to show staff."""
        client = guarded_client(self._allowed, timeout=self._timeout, transport=self._transport)
        try:
            with client.stream("GET", self._url, timeout=self._timeout,
                               headers={"Accept": "text/calendar"}) as response:
                if response.status_code != 200:
                    raise CalendarSourceError(
                        f"ICS feed at {self._where} answered HTTP {response.status_code}"
                        + (" (the secret address may have been reset)"
                           if response.status_code in (401, 403, 404, 410) else "")
                    )
                ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype and ctype not in _CALENDAR_TYPES:
                    raise CalendarSourceError(
                        f"ICS feed at {self._where} sent {ctype!r}, not a calendar"
                    )
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self._max_bytes:
                    raise CalendarSourceError(self._too_big())
                body = bytearray()
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) > self._max_bytes:
                        raise CalendarSourceError(self._too_big())
                return bytes(body)
        except (UnsafeAddress, UnresolvedHost) as exc:
            raise type(exc)(f"ICS feed at {self._where}: {exc}") from exc
        except httpx.TooManyRedirects as exc:
            raise CalendarSourceError(
                f"ICS feed at {self._where} redirected more than {MAX_REDIRECTS} times") from exc
        except httpx.TimeoutException as exc:
            raise CalendarSourceError(
                f"ICS feed at {self._where} timed out after {self._timeout:g} s"
            ) from exc
        except httpx.HTTPError as exc:
            raise CalendarSourceError(
                f"ICS feed at {self._where} could not be fetched ({type(exc).__name__})"
            ) from exc
        finally:
            client.close()

    def busy(self, start: datetime, end: datetime) -> IntervalSet:
        data = self.fetch()
        try:
            return parse_busy(data, start, end, default_zone=self._default_zone,
                              own_domain=self._own_domain, limits=self._limits)
        except CalendarFeedError as exc:
            raise CalendarFeedError(f"ICS feed at {self._where}: {exc}") from exc

    def _too_big(self) -> str:
        return f"ICS feed at {self._where} is larger than {self._max_bytes} bytes"
