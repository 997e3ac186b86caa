"""The emulator's stand-in for Twilio Lookup v2 with ``line_type_intelligence``.

``GET /v2/PhoneNumbers/{number}?Fields=line_type_intelligence`` (Basic auth with the emulator's
account), answered in Twilio's shape: ``valid``, ``phone_number``, ``line_type_intelligence``
({"type", "carrier_name", "mobile_country_code", "mobile_network_code", "error_code"}).

Which type a number has is deterministic: a number set through the control below, else one of
``TEST_LINE_TYPES`` (fictional 312-555-011x numbers, one per type), else
``mobile``. A number that is not E.164 is ``valid: false`` with no line type, as Twilio answers.
Scripted faults apply with ``channel: "lookup"`` and ``to`` the number (a 5xx, or ``delay_ms``
for a timeout), through the same ``POST /_emulator/faults`` as messages.

Controls: ``POST /_emulator/line-types`` ({"number", "type"}; a null type forgets the number),
``GET /_emulator/lookups`` (how many times each number was looked up). ``POST /_emulator/reset``
forgets both.
"""

from __future__ import annotations

import base64
import re
import threading
import time
import urllib.parse
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from notifiers.emulator.server import _Handler

LOOKUP_PATH = re.compile(r"^/v2/PhoneNumbers/([^/]+)$")
E164 = re.compile(r"^\+[1-9]\d{7,14}$")

#: deterministic answers for test and demo numbers (Twilio's own words)
TEST_LINE_TYPES: dict[str, str] = {
    "+13125550110": "landline",
    "+13125550111": "mobile",
    "+13125550112": "fixedVoip",
    "+13125550113": "nonFixedVoip",
    "+13125550114": "tollFree",
    "+13125550115": "unknown",
}
DEFAULT_LINE_TYPE = "mobile"
CARRIERS = {
    "landline": "AT&T Illinois - Landline",
    "mobile": "Emulated Wireless",
    "fixedVoip": "Emulated Fixed VoIP",
    "nonFixedVoip": "Emulated VoIP",
}


class LineTypeBook:
    """The emulator's line types and how often each number was asked about."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._types: dict[str, str | None] = {}
        self.asked: Counter[str] = Counter()

    def reset(self) -> None:
        with self._lock:
            self._types.clear()
            self.asked.clear()

    def set(self, number: str, line_type: str | None) -> None:
        with self._lock:
            if line_type is None:
                self._types.pop(number, None)
            else:
                self._types[number] = line_type

    def answer(self, number: str) -> str | None:
        with self._lock:
            self.asked[number] += 1
            if number in self._types:
                return self._types[number]
            return TEST_LINE_TYPES.get(number, DEFAULT_LINE_TYPE)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.asked)


def lookup_json(number: str, line_type: str | None) -> dict[str, Any]:
    valid = bool(E164.match(number))
    intelligence = None
    if valid:
        intelligence = {
            "type": line_type,
            "carrier_name": CARRIERS.get(line_type or "", "Emulated Carrier"),
            "mobile_country_code": "311",
            "mobile_network_code": "180",
            "error_code": None,
        }
    return {
        "calling_country_code": "1" if number.startswith("+1") else None,
        "country_code": "US" if number.startswith("+1") else None,
        "phone_number": number,
        "national_format": number,
        "valid": valid,
        "validation_errors": [] if valid else ["NOT_A_NUMBER"],
        "caller_name": None,
        "sim_swap": None,
        "call_forwarding": None,
        "line_status": None,
        "line_type_intelligence": intelligence,
        "identity_match": None,
        "reassigned_number": None,
        "sms_pumping_risk": None,
        "phone_number_quality_score": None,
        "pre_fill": None,
        "url": f"https://lookups.twilio.com/v2/PhoneNumbers/{urllib.parse.quote(number)}",
    }


def _authorised(handler: _Handler) -> bool:
    config = handler.server.config
    expected = base64.b64encode(
        f"{config.twilio_account_sid}:{config.twilio_auth_token}".encode()
    ).decode()
    return handler.headers.get("Authorization") == f"Basic {expected}"


def handle_get(handler: _Handler, path: str) -> bool:
    """Answer a Lookup or lookup-control GET; False when ``path`` is not one."""
    book = handler.server.line_types
    if path == "/_emulator/lookups":
        handler._reply(200, {"lookups": book.counts()})
        return True
    match = LOOKUP_PATH.match(path)
    if match is None:
        return False
    if not _authorised(handler):
        handler.server.state.note_rejected()
        handler._reply(401, {"code": 20003, "message": "Authenticate", "status": 401,
                             "more_info": "https://www.twilio.com/docs/errors/20003"})
        return True
    number = urllib.parse.unquote(match.group(1))
    delay_ms, fault = handler.server.state.take_fault("lookup", number)
    if delay_ms:
        time.sleep(delay_ms / 1000)
    if fault is not None and fault.status is not None:
        code = fault.code or fault.status * 100
        handler._reply(fault.status, {"code": code, "message": "Lookup failed", "status": fault.status,
                                      "more_info": f"https://www.twilio.com/docs/errors/{code}"})
        return True
    handler._reply(200, lookup_json(number, book.answer(number)))
    return True


def handle_control(handler: _Handler, name: str, body: dict[str, Any]) -> bool:
    """``POST /_emulator/line-types``; False for any other control."""
    if name != "line-types":
        return False
    line_type = body.get("type")
    handler.server.line_types.set(str(body["number"]), None if line_type is None else str(line_type))
    handler._reply(200, {"ok": True})
    return True
