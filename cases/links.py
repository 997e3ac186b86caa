"""Signed, expiring, single-purpose links for parties (no login): consent, availability, booking.

Hand-rolled HMAC rather than itsdangerous so that expiry is checked against the injected clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

#: the invisible marks that order text in right-to-left writing (LRM, RLM, the embeddings and
#: overrides, the isolates): never part of a link, yet next to one in an Arabic notice
DIRECTION_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
#: what a link picks up on its way to a party and back, never part of a token: the direction
#: marks around it (a phone's linkifier may keep the closing one), whitespace, and the
#: sentence's punctuation when a link is copied by hand
_CARRIED = DIRECTION_MARKS + " \t\r\n.,;:!?)>\"'"


class InvalidLink(Exception):
    """The link is forged, for another purpose, or expired. Says which, never whose."""


@dataclass(frozen=True)
class LinkClaims:
    party_id: int
    purpose: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_link(secret: str, *, party_id: int, purpose: str, expires_at: datetime) -> str:
    payload = json.dumps(
        {"p": party_id, "u": purpose, "e": int(expires_at.timestamp())}, separators=(",", ":")
    ).encode()
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:18]
    return f"{_b64(payload)}.{_b64(mac)}"


def party_url(base_url: str, secret: str, *, party_id: int, purpose: str,
              expires_at: datetime) -> str:
    """The page a party opens from a notice: ``<base>/p/<purpose>/<token>``."""
    token = sign_link(secret, party_id=party_id, purpose=purpose, expires_at=expires_at)
    return f"{base_url.rstrip('/')}/p/{purpose}/{token}"


def read_link(secret: str, token: str, *, purpose: str, now: datetime) -> LinkClaims:
    token = token.strip(_CARRIED)
    try:
        payload_part, mac_part = token.split(".", 1)
        payload = _unb64(payload_part)
        mac = _unb64(mac_part)
    except (ValueError, TypeError) as exc:
        raise InvalidLink("malformed link") from exc
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:18]
    if not hmac.compare_digest(mac, expected):
        raise InvalidLink("link signature is not valid")
    data = json.loads(payload)
    if data.get("u") != purpose:
        raise InvalidLink("link is for another purpose")
    expires = datetime.fromtimestamp(int(data["e"]), tz=now.tzinfo)
    if now >= expires:
        raise InvalidLink("link has expired")
    return LinkClaims(party_id=int(data["p"]), purpose=purpose, expires_at=expires)
