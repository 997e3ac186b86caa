"""A small stand-in for the parts of Twilio and SendGrid the service uses, as a real HTTP server.

This module routes each request to its provider (``emulator.twilio``, ``emulator.sendgrid``) or
to the test controls (``emulator.controls``, ``POST /_emulator/*``). Read-only controls answered
here: ``GET /_emulator/messages`` (``?since=N``), ``GET /_emulator/stats``,
``GET /_emulator/sendgrid-public-key``; ``GET /_emulator/lookups`` is Twilio Lookup's.
"""

from __future__ import annotations

import urllib.parse

from emulator.config import EmulatorConfig
from emulator.controls import control
from emulator.exchange import EmulatorServerBase, Exchange
from emulator.sendgrid import send as sendgrid_send
from emulator.twilio import MESSAGE_PATH, MESSAGES_PATH, create_message, get_message, list_messages, lookup


class _Handler(Exchange):
    def do_GET(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parsed.query)
        state = self.server.state
        if lookup(self, parsed.path):
            return
        if parsed.path == "/_emulator/messages":
            self.reply(200, state.snapshot(int(query.get("since", ["0"])[0])))
        elif parsed.path == "/_emulator/stats":
            self.reply(200, state.stats())
        elif parsed.path == "/_emulator/sendgrid-public-key":
            self.reply(200, {"public_key": self.server.config.sendgrid_keys.public_key_b64})
        elif match := MESSAGES_PATH.match(parsed.path):
            list_messages(self, match.group(1), query)
        elif match := MESSAGE_PATH.match(parsed.path):
            get_message(self, match.group(1), match.group(2))
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if match := MESSAGES_PATH.match(path):
            create_message(self, match.group(1))
        elif path == "/v3/mail/send":
            sendgrid_send(self)
        elif path.startswith("/_emulator/"):
            control(self, path.removeprefix("/_emulator/"))
        else:
            self.read_body()
            self.reply(404, {"error": "not found"})


class EmulatorHTTPServer(EmulatorServerBase):
    """The emulator on ``address``; ``.url`` once bound, ``start_background()`` to serve."""

    def __init__(self, address: tuple[str, int], config: EmulatorConfig) -> None:
        super().__init__(address, config, _Handler)


def start_emulator(
    config: EmulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> EmulatorHTTPServer:
    """Start the emulator on a background thread; port 0 picks a free port (see ``.url``)."""
    return EmulatorHTTPServer((host, port), config or EmulatorConfig()).start_background()
