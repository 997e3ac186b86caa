"""The read-only ICS feed source against a real loopback HTTP server."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from cal_servers import LocalWebServer
from test_cal_feeds import GOOGLE_BUSY, OUTLOOK_BUSY

from calendars.base import CalendarFeedError, CalendarSource, CalendarSourceError
from calendars.ics_feed import IcsFeedSource

WINDOW = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))
SECRET = "/calendar/ical/m.lee%40example.net/private-0a1b2c3d4e5f/basic.ics"


def test_outlook_and_google_feeds_over_http(web: LocalWebServer, outlook_feed: bytes,
                                           google_feed: bytes) -> None:
    outlook = IcsFeedSource(web.serve("/owa/calendar/abc/reachcalendar.ics", outlook_feed,
                                      content_type="text/calendar; charset=utf-8"))
    google = IcsFeedSource(web.serve(SECRET, google_feed))
    assert isinstance(outlook, CalendarSource)
    assert outlook.busy(*WINDOW) == OUTLOOK_BUSY
    assert google.busy(*WINDOW) == GOOGLE_BUSY
    assert web.seen_headers[0].get("Accept") == "text/calendar"


def test_an_injected_client_is_used_and_left_open(web: LocalWebServer, google_feed: bytes) -> None:
    with httpx.Client() as client:
        source = IcsFeedSource(web.serve(SECRET, google_feed), client=client)
        assert source.busy(*WINDOW) == GOOGLE_BUSY
        assert not client.is_closed


@pytest.mark.parametrize(
    ("status", "body", "ctype", "message"),
    [
        (404, b"gone", "text/plain", r"answered HTTP 404 \(the secret address may have been reset\)"),
        (500, b"oops", "text/plain", r"answered HTTP 500$"),
        (200, b"<html>Sign in</html>", "text/html; charset=utf-8", r"sent 'text/html', not a calendar"),
    ],
)
def test_http_failures_are_clear_and_do_not_leak_the_secret_path(
    web: LocalWebServer, status: int, body: bytes, ctype: str, message: str
) -> None:
    source = IcsFeedSource(web.serve(SECRET, body, status=status, content_type=ctype))
    with pytest.raises(CalendarSourceError, match=message) as info:
        source.busy(*WINDOW)
    assert "private-0a1b2c3d4e5f" not in str(info.value)
    assert "private-0a1b2c3d4e5f" not in repr(source)
    assert str(info.value).startswith("ICS feed at http://127.0.0.1")


def test_octet_stream_calendars_are_accepted_but_html_bodies_are_not(
    web: LocalWebServer, google_feed: bytes
) -> None:
    ok = IcsFeedSource(web.serve("/a.ics", google_feed, content_type="application/octet-stream"))
    assert ok.busy(*WINDOW) == GOOGLE_BUSY
    bad = IcsFeedSource(web.serve("/b.ics", b"<html></html>", content_type="text/plain"))
    with pytest.raises(CalendarFeedError, match=r"^ICS feed at http://127.0.0.1: not an iCalendar"):
        bad.busy(*WINDOW)


def test_size_cap(web: LocalWebServer, outlook_feed: bytes) -> None:
    source = IcsFeedSource(web.serve("/big.ics", outlook_feed), max_bytes=1000)
    with pytest.raises(CalendarSourceError, match="larger than 1000 bytes"):
        source.busy(*WINDOW)


def test_unreachable_host(web: LocalWebServer) -> None:
    source = IcsFeedSource("http://127.0.0.1:9/secret-token.ics", timeout=2)
    with pytest.raises(CalendarSourceError, match=r"could not be fetched \(ConnectError\)") as info:
        source.busy(*WINDOW)
    assert "secret-token" not in str(info.value)


def test_url_validation_and_webcal() -> None:
    assert "https://calendar.example.com" in repr(IcsFeedSource("webcal://calendar.example.com/x.ics"))
    with pytest.raises(ValueError, match="http"):
        IcsFeedSource("file:///etc/passwd")
    with pytest.raises(ValueError, match="positive"):
        IcsFeedSource("https://x.example/a.ics", max_bytes=0)
