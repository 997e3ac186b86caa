"""A read-only ICS feed over HTTP(S): Google's / Outlook's "secret address" of a calendar.

The feed URL is a secret (whoever has it reads the calendar), so it never appears in error
messages or ``repr``: only the scheme and host do.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

import httpx

from calendars.base import CalendarFeedError, CalendarSourceError
from calendars.feeds import parse_busy
from calendars.intervals import IntervalSet

#: A mediator's calendar over a few years is well under this.
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_TIMEOUT = 15.0
_CALENDAR_TYPES = ("text/calendar", "application/ics", "text/x-vcalendar",
                   "application/octet-stream", "text/plain")


class IcsFeedSource:
    """``CalendarSource`` reading an ICS URL (``https://``, ``http://`` or ``webcal://``).

    ``own_domain``: see :func:`calendars.feeds.parse_busy` (our sessions are not re-read).
    Pass ``client`` to share a connection pool or (in tests) to reach a loopback server;
    the source never closes a client it did not create.
    """

    def __init__(
        self,
        url: str,
        *,
        default_zone: str = "America/Chicago",
        own_domain: str | None = None,
        client: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme == "webcal":
            url = "https://" + url[len("webcal://"):]
            parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"ICS feed URL must be http(s):// or webcal:// with a host "
                             f"(got scheme {parts.scheme!r})")
        if max_bytes <= 0 or timeout <= 0:
            raise ValueError("max_bytes and timeout must be positive")
        self._url = url
        self._where = f"{parts.scheme}://{parts.hostname}"
        self._default_zone = default_zone
        self._own_domain = own_domain
        self._client = client
        self._timeout = timeout
        self._max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"IcsFeedSource({self._where}/…)"

    def fetch(self) -> bytes:
        """The feed's bytes. :raises CalendarSourceError: with a message safe to show staff."""
        client = self._client or httpx.Client(timeout=self._timeout, follow_redirects=True)
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
        except httpx.TimeoutException as exc:
            raise CalendarSourceError(
                f"ICS feed at {self._where} timed out after {self._timeout:g} s"
            ) from exc
        except httpx.HTTPError as exc:
            raise CalendarSourceError(
                f"ICS feed at {self._where} could not be fetched ({type(exc).__name__})"
            ) from exc
        finally:
            if self._client is None:
                client.close()

    def busy(self, start: datetime, end: datetime) -> IntervalSet:
        data = self.fetch()
        try:
            return parse_busy(data, start, end, default_zone=self._default_zone,
                              own_domain=self._own_domain)
        except CalendarFeedError as exc:
            raise CalendarFeedError(f"ICS feed at {self._where}: {exc}") from exc

    def _too_big(self) -> str:
        return f"ICS feed at {self._where} is larger than {self._max_bytes} bytes"
