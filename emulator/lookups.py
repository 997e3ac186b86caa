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
forgets both. The routes are in ``emulator.twilio``; this module holds what they answer.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections import Counter
from typing import Any

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
