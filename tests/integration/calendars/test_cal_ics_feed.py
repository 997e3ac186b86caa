"""The read-only ICS feed source against a real loopback HTTP server."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from calendars.base import CalendarFeedError, CalendarSource, CalendarSourceError
from calendars.ics_feed import IcsFeedSource
from calendars.url_safety import MAX_REDIRECTS, UnsafeAddress, pinned_request
from cases.calendar_urls import AllowedHosts, UnsafeCalendarUrl
from tests.support.calendars import LOOPBACK, LocalWebServer
from tests.support.feeds import GOOGLE_BUSY, OUTLOOK_BUSY

WINDOW = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))
SECRET = "/calendar/ical/m.lee%40example.net/private-0a1b2c3d4e5f/basic.ics"


def test_outlook_and_google_feeds_over_http(web: LocalWebServer, outlook_feed: bytes,
                                           google_feed: bytes) -> None:
    outlook = IcsFeedSource(web.serve("/owa/calendar/abc/reachcalendar.ics", outlook_feed,
                                      content_type="text/calendar; charset=utf-8"), allowed=LOOPBACK)
    google = IcsFeedSource(web.serve(SECRET, google_feed), allowed=LOOPBACK)
    assert isinstance(outlook, CalendarSource)
    assert outlook.busy(*WINDOW) == OUTLOOK_BUSY
    assert google.busy(*WINDOW) == GOOGLE_BUSY
    assert web.seen_headers[0].get("Accept") == "text/calendar"


class CountingTransport(httpx.BaseTransport):
    """A real HTTP transport that counts the requests that reach it."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.hosts: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        return self.inner.handle_request(request)


def test_an_injected_transport_is_used_under_the_address_guard(web: LocalWebServer,
                                                               google_feed: bytes) -> None:
    url = web.serve(SECRET, google_feed)
    used = CountingTransport()
    assert IcsFeedSource(url, allowed=LOOPBACK, transport=used).busy(*WINDOW) == GOOGLE_BUSY
    assert used.hosts == ["127.0.0.1"]
    refused = CountingTransport()
    with pytest.raises(UnsafeAddress):
        IcsFeedSource(url.replace("127.0.0.1", "localhost"), allowed=LOOPBACK,
                      transport=refused).busy(*WINDOW)
    assert refused.hosts == []  # nothing was sent


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
    source = IcsFeedSource(web.serve(SECRET, body, status=status, content_type=ctype), allowed=LOOPBACK)
    with pytest.raises(CalendarSourceError, match=message) as info:
        source.busy(*WINDOW)
    assert "private-0a1b2c3d4e5f" not in str(info.value)
    assert "private-0a1b2c3d4e5f" not in repr(source)
    assert str(info.value).startswith("ICS feed at http://127.0.0.1")


def test_octet_stream_calendars_are_accepted_but_html_bodies_are_not(
    web: LocalWebServer, google_feed: bytes
) -> None:
    ok = IcsFeedSource(web.serve("/a.ics", google_feed, content_type="application/octet-stream"),
                       allowed=LOOPBACK)
    assert ok.busy(*WINDOW) == GOOGLE_BUSY
    bad = IcsFeedSource(web.serve("/b.ics", b"<html></html>", content_type="text/plain"),
                        allowed=LOOPBACK)
    with pytest.raises(CalendarFeedError, match=r"^ICS feed at http://127.0.0.1: not an iCalendar"):
        bad.busy(*WINDOW)


def test_size_cap(web: LocalWebServer, outlook_feed: bytes) -> None:
    source = IcsFeedSource(web.serve("/big.ics", outlook_feed), allowed=LOOPBACK, max_bytes=1000)
    with pytest.raises(CalendarSourceError, match="larger than 1000 bytes"):
        source.busy(*WINDOW)


def test_unreachable_host(web: LocalWebServer) -> None:
    source = IcsFeedSource("http://127.0.0.1:9/secret-token.ics", timeout=2, allowed=LOOPBACK)
    with pytest.raises(CalendarSourceError, match=r"could not be fetched \(ConnectError\)") as info:
        source.busy(*WINDOW)
    assert "secret-token" not in str(info.value)


def test_url_validation_and_webcal() -> None:
    assert "https://calendar.example.com" in repr(IcsFeedSource("webcal://calendar.example.com/x.ics"))
    with pytest.raises(ValueError, match="http"):
        IcsFeedSource("file:///etc/passwd")
    with pytest.raises(ValueError, match="positive"):
        IcsFeedSource("https://x.example/a.ics", max_bytes=0)


# --- addresses inside the network ----------------------------------------------------------


@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.0.0.1:8080/feed.ics", "127.0.0.1 is a loopback address"),
    ("http://[::1]/feed.ics", "::1 is a loopback address"),
    ("http://10.20.30.40/feed.ics", "10.20.30.40 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://0.0.0.0/feed.ics", "0.0.0.0 is an unspecified address"),
    ("webcal://[::ffff:10.0.0.1]/feed.ics", "::ffff:10.0.0.1 is a private IPv4 address in IPv6"),
    ("https:///feed.ics", "has no host name"),
])
def test_a_forbidden_url_is_refused_before_any_request(url: str, reason: str) -> None:
    with pytest.raises(UnsafeCalendarUrl, match=f"^ICS feed URL {reason}"):
        IcsFeedSource(url)


def test_a_name_resolving_to_loopback_is_refused_at_connect_time(web: LocalWebServer,
                                                                google_feed: bytes) -> None:
    """``localhost`` passes the check on entry (a name), and resolves to 127.0.0.1 (no DNS)."""
    url = web.serve(SECRET, google_feed).replace("127.0.0.1", "localhost")
    with pytest.raises(UnsafeAddress, match=r"^ICS feed at http://localhost: localhost resolves "
                                            r"to 127\.0\.0\.1, which is a loopback address"):
        IcsFeedSource(url).busy(*WINDOW)
    assert web.seen_headers == []  # the server never heard from us
    by_name = AllowedHosts.parse(["localhost"])  # the allow-list names the host: read
    assert IcsFeedSource(url, allowed=by_name).busy(*WINDOW) == GOOGLE_BUSY


@pytest.mark.parametrize("target", ["http://localhost:{port}/feed.ics",
                                    "http://169.254.169.254/latest/meta-data/",
                                    "http://[::ffff:127.0.0.1]:{port}/feed.ics"])
def test_a_redirect_from_an_allowed_server_to_a_forbidden_address_is_refused(
        web: LocalWebServer, google_feed: bytes, target: str) -> None:
    port = web.base_url.rsplit(":", 1)[1]
    web.serve("/feed.ics", google_feed)
    source = IcsFeedSource(web.redirect("/moved.ics", target.format(port=port)), allowed=LOOPBACK)
    with pytest.raises(UnsafeAddress, match=r"is a (loopback|link-local)"):
        source.busy(*WINDOW)
    assert len(web.seen_headers) == 1  # only the redirecting request reached a server


def test_redirects_within_allowed_hosts_are_followed_a_few_times(web: LocalWebServer,
                                                                google_feed: bytes) -> None:
    url = web.serve("/feed.ics", google_feed)
    assert IcsFeedSource(web.redirect("/old.ics", url), allowed=LOOPBACK).busy(*WINDOW) \
        == GOOGLE_BUSY
    loop = web.redirect("/loop.ics", web.base_url + "/loop.ics")
    with pytest.raises(CalendarSourceError, match=f"redirected more than {MAX_REDIRECTS} times"):
        IcsFeedSource(loop, allowed=LOOPBACK).busy(*WINDOW)


# --- recurrence that never ends ------------------------------------------------------------


def _repeating(rule: str, dtstart: str = "20261001T090000Z") -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:tick@example.net\r\nDTSTAMP:20260901T000000Z\r\nDTSTART:{dtstart}\r\n"
            f"DURATION:PT1S\r\nRRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").encode()


def test_a_secondly_feed_is_a_clear_bounded_error(web: LocalWebServer) -> None:
    """6 months of FREQ=SECONDLY would be 15.7 million busy times (it grew a worker to 5.2 GB)."""
    source = IcsFeedSource(web.serve("/tick.ics", _repeating("FREQ=SECONDLY")), allowed=LOOPBACK)
    with pytest.raises(CalendarFeedError, match=r"^ICS feed at http://127\.0\.0\.1: the calendar "
                       r"has more than 10000 busy times in the 182-day window read \(VEVENT UID "
                       r"'tick@example\.net' repeats every second\)"):
        source.busy(*WINDOW)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, ssl.SSLContext]]:
    """A loopback HTTPS server whose certificate names only ``calendar.example.test``; yields
    its port and a client context that trusts that certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "calendar.example.test")])
    issued = datetime(2000, 1, 1, tzinfo=UTC)  # valid whatever the system clock says
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(issued)
            .not_valid_after(datetime(9999, 1, 1, tzinfo=UTC))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("calendar.example.test")]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"host={self.headers['Host']}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), ssl.create_default_context(cafile=str(cert_file))
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_pinned_https_request_keeps_the_name_for_host_and_certificate(
        tls_server: tuple[int, ssl.SSLContext]) -> None:
    """The guard connects to the address it checked; TLS still verifies the certificate for the
    name (a public host is not available here, so the pinning is driven directly)."""
    port, trusted = tls_server
    transport = httpx.HTTPTransport(verify=trusted)
    named = httpx.Request("GET", f"https://calendar.example.test:{port}/feed.ics")
    response = transport.handle_request(pinned_request(named, "127.0.0.1"))
    response.read()
    assert (response.status_code, response.content) == (
        200, f"host=calendar.example.test:{port}".encode())
    other = httpx.Request("GET", f"https://other.example.test:{port}/feed.ics")
    with pytest.raises(httpx.ConnectError, match="Hostname mismatch"):
        transport.handle_request(pinned_request(other, "127.0.0.1"))
