"""Handles on the local servers the calendars tests start (``tests/integration/calendars/conftest.py``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from caldav.davclient import DAVClient

from cases.calendar_urls import AllowedHosts

#: What the tests allow (as CMP_CALENDAR_ALLOWED_HOSTS would): their servers on 127.0.0.1.
LOOPBACK = AllowedHosts.parse(["127.0.0.1"])


@dataclass
class RadicaleServer:
    url: str
    username: str
    password: str

    def new_calendar_url(self) -> str:
        """Create an empty calendar collection and return its URL."""
        client = DAVClient(url=self.url, username=self.username, password=self.password,
                           enable_rfc6764=False)
        cal_id = f"cal-{uuid.uuid4().hex[:12]}"
        calendar = client.principal().make_calendar(name=cal_id, cal_id=cal_id)
        return str(calendar.url)


@dataclass
class StaticRoute:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/calendar; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LocalWebServer:
    """A loopback HTTP server whose answers tests set per path; it records request headers."""

    base_url: str
    routes: dict[str, StaticRoute] = field(default_factory=dict)
    seen_headers: list[dict[str, str]] = field(default_factory=list)

    def serve(self, path: str, body: bytes, *, status: int = 200,
              content_type: str = "text/calendar; charset=utf-8") -> str:
        self.routes[path] = StaticRoute(status, body, content_type)
        return self.base_url + path

    def redirect(self, path: str, location: str, *, status: int = 302) -> str:
        self.routes[path] = StaticRoute(status, b"", "text/plain", {"Location": location})
        return self.base_url + path
