"""The one logging configuration of every command (``main.py`` calls :func:`configure_logging`).

Personal data (names, phone numbers, email addresses) and credentials (party and mediator link
tokens, API tokens, ``Authorization`` values, passwords in URLs) never reach a log line, from our
code or a library's, at any level. Two mechanisms, both on the one root handler, so that every
record is covered whichever logger it comes from (a filter on a *logger* would miss the records
its children propagate):

- :class:`RedactingFilter` renders each record's message (and its traceback) and replaces
  phone numbers, email addresses, tokens and credentials with ``[phone]``, ``[email]``,
  ``[token]``, ``[credentials]``. uvicorn is run with ``log_config=None`` so that its access log
  (which prints the request path, holding ``/p/<purpose>/<token>``) goes through the same handler.
- Names cannot be recognised by a pattern. Our code never logs them (ids and masked contacts
  only: ``cases.privacy``); the libraries that dump whole request or response bodies, SQL
  parameters or rows (names travel in message text) or secret URLs are :data:`WIRE_LOGGERS`: kept at
  WARNING, and their records below WARNING are dropped by the filter even if someone lowers
  their level.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Loggers whose DEBUG/INFO records carry request or response bodies, SQL parameters, result
#: rows or secret URLs, which no pattern can recognise: only their warnings are kept.
WIRE_LOGGERS = (
    "twilio.http_client",   # request URL with query (To=), response headers
    "python_http_client",   # SendGrid: whole JSON payload (names, text) and headers (API key)
    "caldav",               # whole request bodies and headers, server responses
    "sqlalchemy.engine",    # SQL parameters and, at DEBUG, result rows
    "httpx",                # every request's full URL: a mediator's ICS feed URL is a secret
)
#: Chatty at INFO; shown with ``--verbose`` only.
QUIET_UNLESS_VERBOSE = ("alembic", "apscheduler")

_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/?#@:'\"]+(?::[^\s/?#@'\"]*)?@")
_AUTH_HEADER = re.compile(
    r"(?i)(?P<key>\b(?:proxy-)?authorization|\bcookie|\bset-cookie|\bx-api-key)"
    r"(?P<sep>['\"]?\s*[:=]\s*(?:b?['\"])?)(?P<value>[^'\"\r\n,}]+)")
_AUTH_SCHEME = re.compile(r"(?i)\b(?P<scheme>bearer|basic|digest)\s+[A-Za-z0-9._~+/=-]{6,}")
#: Path segments that are credentials: party pages ``/p/<purpose>/<token>``, mediator pages
#: ``/m/<token>`` and feeds ``/calendars/mediators/<token>.ics`` (``web/links.py``).
_SECRET_PATH = re.compile(r"(?P<prefix>/p/[A-Za-z_]+/|/m/|/calendars/mediators/)[A-Za-z0-9_.~%-]+")
#: A signed link anywhere (``cases.links.sign_link``: base64url JSON, ``.``, base64url MAC; JSON
#: encodes to ``eyJ``), and the same shape of session cookies and JWTs.
_SIGNED_TOKEN = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]+)?")
#: API tokens (``web.auth``: ``cmp_`` + token_urlsafe) and SendGrid keys.
_API_TOKEN = re.compile(r"\b(?:cmp|SG)[_.][A-Za-z0-9_.-]{10,}")
_SECRET_QUERY = re.compile(
    r"(?i)(?P<key>[?&;](?:token|access_token|key|api_key|secret|password|passwd|signature|sig"
    r"|code|auth)=)[^&\s'\"#]+")
#: PostgreSQL's error details quote the row or key values (``Failing row contains (…)``,
#: ``Key (email)=(…) already exists``); SQLAlchemy's ``hide_parameters`` cannot reach them.
_DB_DETAIL = re.compile(r"(?m)^(?P<key>DETAIL:)[^\r\n]*")
_EMAIL = re.compile(r"[\w.+%-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+")
#: International numbers (E.164, also spaced or URL-encoded ``%2B``) and North American ones in
#: their common spellings: 3125550123, 312-555-0123, (312) 555-0123, 1.312.555.0123.
_PHONE_INTL = re.compile(r"(?:\+|%2B)\d(?:[\s.()-]{0,2}\d){6,14}(?!\d)", re.IGNORECASE)
_PHONE_NANP = re.compile(r"(?<![\w+%])(?:1[\s.-]?)?\(?[2-9]\d{2}\)?[\s.-]{0,2}\d{3}[\s.-]?\d{4}(?!\w)")

_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_URL_CREDENTIALS, r"\g<scheme>[credentials]@"),
    (_AUTH_HEADER, r"\g<key>\g<sep>[credentials]"),
    (_AUTH_SCHEME, r"\g<scheme> [credentials]"),
    (_DB_DETAIL, r"\g<key>  [redacted]"),
    (_SECRET_PATH, r"\g<prefix>[token]"),
    (_SIGNED_TOKEN, "[token]"),
    (_API_TOKEN, "[token]"),
    (_SECRET_QUERY, r"\g<key>[redacted]"),
    (_EMAIL, "[email]"),
    (_PHONE_INTL, "[phone]"),
    (_PHONE_NANP, "[phone]"),
)


def redact(text: str) -> str:
    """``text`` with phone numbers, email addresses, tokens and credentials replaced."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def _is_wire(name: str) -> bool:
    return any(name == wire or name.startswith(wire + ".") for wire in WIRE_LOGGERS)


class RedactingFilter(logging.Filter):
    """On a handler: drops the wire loggers' records below WARNING and redacts every other
    record's message, traceback and stack in place (later handlers see the redacted record)."""

    _tracebacks = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and _is_wire(record.name):
            return False
        try:
            message = record.getMessage()
        except Exception:  # a bad log call must not break the caller, nor leak its arguments
            message = f"{record.msg!s} (log arguments did not match the message)"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._tracebacks.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class ConsoleHandler(logging.Handler):
    """Writes to ``stream``, or to whatever ``sys.stderr`` is when a record arrives."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self._stream or sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def configure_logging(*, verbose: bool = False, stream: TextIO | None = None) -> logging.Handler:
    """Root at INFO (DEBUG when ``verbose``) with one redacting handler; returns the handler.

    Calling it again replaces the handler it installed before.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, ConsoleHandler)]:
        root.removeHandler(old)
    handler = ConsoleHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in WIRE_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in QUIET_UNLESS_VERBOSE:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
    return handler
