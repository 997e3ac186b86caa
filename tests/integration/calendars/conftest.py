"""Fixtures for the calendars tests: a real Radicale CalDAV server and a tiny ICS web server.

Radicale runs as ``python -m radicale`` with its own config (htpasswd, plain) in a temp dir,
on a free loopback port, once per session; each test gets a fresh calendar collection in it.
"""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cases.clock import FixedClock
from tests.support.calendars import LocalWebServer, RadicaleServer, StaticRoute
from tests.support.feeds import google_feed, outlook_feed  # noqa: F401 (fixtures for this folder)

RADICALE_USER = "mediator"
RADICALE_PASSWORD = "s3cret-pass"
CHICAGO = "America/Chicago"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Block until the server accepts connections; fail fast if the process dies."""
    for _ in range(400):  # ~20 s worst case; normally ready in well under a second
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.05):
                return
        except OSError:
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"Radicale exited early:\n{log.read_text()}") from None
    raise RuntimeError(f"Radicale did not start listening:\n{log.read_text()}")


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    root = tmp_path_factory.mktemp("radicale")
    users = root / "users"
    users.write_text(f"{RADICALE_USER}:{RADICALE_PASSWORD}\n")
    port = _free_port()
    config = root / "config"
    config.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\n"
        "type = htpasswd\n"
        f"htpasswd_filename = {users}\n"
        "htpasswd_encryption = plain\n"
        "delay = 0\n"  # no back-off after a failed login: the tests fail logins on purpose
        "[storage]\n"
        f"filesystem_folder = {root / 'collections'}\n"
        "[rights]\n"
        "type = owner_only\n"
        "[logging]\n"
        "level = warning\n"
    )
    log = root / "radicale.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(config)],
            stdout=out, stderr=subprocess.STDOUT, cwd=root,
        )
    try:
        _wait_listening(proc, port, log)
        yield RadicaleServer(f"http://127.0.0.1:{port}/", RADICALE_USER, RADICALE_PASSWORD)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
