"""Request bodies are counted while they are read, and refused with 413 once over the limit.

A declared ``Content-Length`` over the limit is answered at once, before any of the body is read;
a body sent without one (chunked), or longer than it said, is counted chunk by chunk as the
application reads it: at the first chunk over the limit the client is answered 413 and the
application is told the client has gone, so nothing more is read. The limit depends on the
path: the provider webhooks take small bodies, everything else the general limit (both
``CMP_*`` settings).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOO_LARGE = b"request body too large"
log = logging.getLogger(__name__)


def limits_by_prefix(default: int, prefixes: dict[str, int]) -> Callable[[str], int]:
    """The limit for a path: that of its longest matching prefix, else ``default``."""
    ordered = sorted(prefixes.items(), key=lambda item: -len(item[0]))

    def limit(path: str) -> int:
        return next((value for prefix, value in ordered if path.startswith(prefix)), default)

    return limit


class BodyLimit:
    """ASGI middleware; ``limit_for(path)`` gives the most bytes a request body may have."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        received = 0
        started = refused = False

        async def counted_receive() -> Message:
            nonlocal received, started, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer now and tell the app the client is gone: nothing more is read,
                    # whichever way the app reads (FastAPI's parsers, request.body(), a stream).
                    refused = True
                    if not started:
                        started = True
                        await _refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has gone out; the app's own answer to a cut-off body is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except Exception:
            if not refused:
                raise
            log.debug("%s %s: body over %d bytes refused", scope["method"], scope["path"], limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = b"%s (at most %d bytes)" % (TOO_LARGE, limit)
    headers: list[Any] = [(b"content-type", b"text/plain; charset=utf-8"),
                          (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
