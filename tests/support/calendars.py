"""Handles on the local servers the calendars tests start (``tests/integration/calendars/conftest.py``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from caldav.davclient import DAVClient

from cases.calendar_urls import AllowedHosts

RADICALE_USER = "mediator"
RADICALE_PASSWORD = "s3cret-pass"

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


@contextmanager
def running_radicale(root: Path) -> Iterator[RadicaleServer]:
    """A real Radicale (``python -m radicale``, htpasswd auth, plain) on a free loopback port,
    its config and collections under ``root``; stopped on exit."""
    root.mkdir(parents=True, exist_ok=True)
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
