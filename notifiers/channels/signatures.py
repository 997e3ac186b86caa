"""Signing and verifying provider webhooks.

Twilio signs every webhook with HMAC-SHA1 of the full URL it called plus the sorted POST
parameters, keyed by the account's auth token (``X-Twilio-Signature``). SendGrid's Event Webhook
signs ``timestamp + payload`` with ECDSA P-256/SHA-256 and publishes the public key (base64 DER);
we also refuse timestamps older than ``max_age`` so a captured request cannot be replayed.

Both directions live here: the service verifies, the emulator signs, with the same code.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
SENDGRID_MAX_AGE = timedelta(minutes=5)


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


def twilio_signature_valid(
    auth_token: str, url: str, params: Mapping[str, str], signature: str | None
) -> bool:
    if not signature or not auth_token:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


@dataclass(frozen=True)
class SendGridKeyPair:
    private_key: ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls) -> SendGridKeyPair:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @property
    def public_key_b64(self) -> str:
        """The form SendGrid shows in Mail Settings → Signed Event Webhook (base64 DER)."""
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode("ascii")

    def sign(self, payload: bytes, timestamp: str) -> str:
        signature = self.private_key.sign(timestamp.encode("ascii") + payload, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode("ascii")


def load_sendgrid_public_key(public_key_b64: str) -> ec.EllipticCurvePublicKey:
    key = serialization.load_der_public_key(base64.b64decode(public_key_b64))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("SendGrid webhook key must be an EC public key")
    return key


def sendgrid_signature_valid(
    public_key_b64: str | None,
    payload: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: datetime,
    max_age: timedelta = SENDGRID_MAX_AGE,
) -> bool:
    """True only for a good signature over ``timestamp + payload`` with a timestamp no older than
    ``max_age`` (and not more than ``max_age`` in the future)."""
    if not public_key_b64 or not signature or not timestamp:
        return False
    try:
        sent = int(timestamp)
        raw_signature = base64.b64decode(signature, validate=True)
        key = load_sendgrid_public_key(public_key_b64)
    except (ValueError, TypeError):
        return False
    if abs(now.timestamp() - sent) > max_age.total_seconds():
        return False
    try:
        key.verify(raw_signature, timestamp.encode("ascii") + payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
