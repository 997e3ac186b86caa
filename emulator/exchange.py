"""One request to the emulator, and the server state every route reads.

The routes (``twilio``, ``sendgrid``, ``controls``) are plain functions of an ``Exchange``; they
sit below the server that dispatches to them, so that nothing here imports back up.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from emulator.config import EmulatorConfig
from emulator.lookups import LineTypeBook
from emulator.state import EmulatorState

log = logging.getLogger(__name__)


class EmulatorServerBase(ThreadingHTTPServer):
    """The threaded HTTP server and what it remembers; ``emulator.server`` supplies the handler."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], config: EmulatorConfig, handler: type[BaseHTTPRequestHandler]
    ) -> None:
        super().__init__(address, handler)
        self.config = config
        self.state = EmulatorState()
        self.line_types = LineTypeBook()
        self._thread: threading.Thread | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-reply (a killed dispatcher) is normal here, not a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("client %s went away", client_address)
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start_background(self) -> Self:
        self._thread = threading.Thread(target=self.serve_forever, name="emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class Exchange(BaseHTTPRequestHandler):
    """The plumbing every route uses: read the body, reply in JSON, hang up."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: EmulatorServerBase

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would dominate the benchmark

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, payload: Any = None, headers: dict[str, str] | None = None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def json_body(self) -> Any:
        raw = self.read_body()
        return json.loads(raw) if raw else {}

    def hang_up(self) -> None:
        """Close the connection without a reply: the client cannot tell whether it was sent."""
        self.close_connection = True

    def refused_over_rate(self, sender: str, payload: dict[str, Any]) -> bool:
        """The provider's rate limit (``POST /_emulator/rate-limit``): a message over the sender's
        rate is answered 429 with ``Retry-After`` and the provider's own error ``payload``, as
        Twilio and SendGrid do. The receipt time of every message accepted is its ``received_at``."""
        retry_after = self.server.state.take_rate(sender)
        if retry_after is None:
            return False
        self.reply(429, payload, {"Retry-After": str(retry_after)})
        return True


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST a webhook to the service under test: (HTTP status or 0 when unreachable, body)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")
    except OSError as exc:
        return 0, str(exc)
