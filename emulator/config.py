"""The emulator's credentials: what it accepts from the SDKs and signs its webhooks with.

Kept apart from the server so that a caller (the ``emulator`` command, a test) can build one
without pulling in the HTTP routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from notifiers.channels.signatures import SendGridKeyPair


@dataclass
class EmulatorConfig:
    twilio_account_sid: str = "AC" + "0" * 32
    twilio_auth_token: str = "emulator-auth-token"
    twilio_from_numbers: tuple[str, ...] = ()  # empty: any From accepted
    sendgrid_api_key: str = "SG.emulator-key"
    sendgrid_event_url: str | None = None
    sendgrid_keys: SendGridKeyPair = field(default_factory=SendGridKeyPair.generate)
