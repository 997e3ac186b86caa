"""A number's line type through Twilio's Lookup API v2 (``line_type_intelligence``), with the real
``twilio`` SDK: ``client.lookups.v2.phone_numbers(n).fetch(fields="line_type_intelligence")``.

It implements ``cases.phone_lines.LineTypeLookup``; the domain never sees Twilio. It is asked
only by the scheduled job (``scheduler.jobs.check_phone_lines``), never on a request's path, so
its timeout is short: a number that does not answer in time stays "not checked" and is retried.
``base_url`` points the SDK at the emulator, as for SMS (``notifiers.channels.twilio_sms``).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from cases.phone_lines import LineCheck, LineType, LookupFailed
from notifiers.channels.twilio_sms import RebasingHttpClient

log = logging.getLogger(__name__)

#: Twilio's ``line_type_intelligence.type`` values -> ours (the rest are ``OTHER``)
TWILIO_TYPES: dict[str, LineType] = {
    "mobile": LineType.MOBILE,
    "landline": LineType.LANDLINE,
    "fixedVoip": LineType.VOIP,
    "nonFixedVoip": LineType.VOIP,
    "unknown": LineType.UNKNOWN,
}


def line_check_from(payload: Any, valid: bool | None) -> LineCheck:
    """Our answer from the ``line_type_intelligence`` object (a dict, or null when Twilio could
    not tell) and the number's ``valid`` flag."""
    if valid is False:
        return LineCheck(LineType.UNKNOWN, "invalid")
    raw = payload.get("type") if isinstance(payload, dict) else None
    if not raw:
        return LineCheck(LineType.UNKNOWN, None)
    return LineCheck(TWILIO_TYPES.get(str(raw), LineType.OTHER), str(raw))


class TwilioLineTypeLookup:
    provider: ClassVar[str] = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str, base_url: str | None = None,
                 timeout: float = 5.0) -> None:
        http_client = RebasingHttpClient(base_url, timeout) if base_url else TwilioHttpClient(timeout=timeout)
        self._client = Client(account_sid, auth_token, http_client=http_client)

    def check(self, number: str) -> LineCheck:
        try:
            found = self._client.lookups.v2.phone_numbers(number).fetch(fields="line_type_intelligence")
        except TwilioRestException as exc:
            raise LookupFailed(f"twilio lookup {exc.status}/{exc.code}") from None
        except requests.RequestException as exc:
            raise LookupFailed(f"twilio lookup network: {type(exc).__name__}") from None
        return line_check_from(found.line_type_intelligence, found.valid)
