"""Fixtures for the calendars tests: a real Radicale CalDAV server and a tiny ICS web server.

Radicale runs as ``python -m radicale`` with its own config (htpasswd, plain) in a temp dir,
on a free loopback port, once per session; each test gets a fresh calendar collection in it.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cases.clock import FixedClock
from tests.support.calendars import LocalWebServer, RadicaleServer, StaticRoute, running_radicale
from tests.support.feeds import google_feed, outlook_feed  # noqa: F401 (fixtures for this folder)

CHICAGO = "America/Chicago"


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    with running_radicale(tmp_path_factory.mktemp("radicale")) as server:
        yield server


@pytest.fixture
def web() -> Iterator[LocalWebServer]:
    state = LocalWebServer(base_url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            state.seen_headers.append(dict(self.headers.items()))
            route = state.routes.get(self.path.split("?")[0], StaticRoute(404, b"not found",
                                                                          "text/plain"))
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(route.body)

        do_GET = _answer
        do_PROPFIND = _answer
        do_REPORT = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 10, 1, 12, 0, tzinfo=UTC))
