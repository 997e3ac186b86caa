"""The one interface every channel implements, and the values that cross it.

``Notifier.send(message) -> Receipt`` either returns a receipt (the provider accepted the message)
or raises:

- ``PermanentSendError`` — the provider will never accept this message to this address (invalid
  number, opted out, rejected content, bad credentials). Never retried as is; the dispatcher falls
  back to the party's other channel and tells staff.
- ``TransientSendError`` — try again later (rate limited, provider 5xx, network error). The
  dispatcher retries with exponential backoff and full jitter up to a limit, then dead-letters.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol, runtime_checkable

from cases.outbox import Channel

__all__ = [
    "Attachment",
    "Channel",
    "Notifier",
    "OutgoingMessage",
    "PermanentReason",
    "PermanentSendError",
    "Receipt",
    "SendError",
    "TransientSendError",
    "retry_after_seconds",
]


class PermanentReason(enum.StrEnum):
    INVALID_ADDRESS = "invalid_address"  # Twilio 21211/21614, SendGrid invalid recipient
    OPTED_OUT = "opted_out"  # Twilio 21610: the recipient replied STOP
    REJECTED = "rejected"  # the provider refused this message (validation, content)
    CONFIGURATION = "configuration"  # our credentials or sender are wrong: staff must act


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes
    disposition: str = "attachment"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What to send, fully rendered. ``notice_id`` is the outbox row id and travels to the
    provider (Twilio StatusCallback query, SendGrid custom_args) so duplicates can be detected."""

    notice_id: int
    channel: Channel
    to: str
    body_text: str
    subject: str | None = None
    body_html: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class Receipt:
    """The provider accepted the message. ``status`` is the provider's word ('queued', 'accepted',
    'written'); delivery is reported later through webhooks."""

    provider: str
    provider_message_id: str
    status: str
    accepted_at: datetime | None = None
    segments: int | None = None


@dataclass(eq=False)
class SendError(Exception):
    """A send that did not go through. ``code`` is the provider's error code (Twilio's numeric
    codes, or the HTTP status), ``detail`` a short text without personal data."""

    code: int | None
    detail: str
    http_status: int | None = None

    def __str__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, http={self.http_status}): {self.detail}"


@dataclass(eq=False)
class PermanentSendError(SendError):
    reason: PermanentReason = PermanentReason.REJECTED


@dataclass(eq=False)
class TransientSendError(SendError):
    retry_after_seconds: float | None = field(default=None)


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in delta-seconds, or None (absent, or an HTTP date: the
    dispatcher then waits its default pause)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


class Notifier(Protocol):
    """One channel through one provider. Implementations declare their limits as class attributes
    and raise only ``PermanentSendError`` / ``TransientSendError``."""

    @property
    def channel(self) -> Channel:
        """The channel this notifier sends on (a class attribute on single-channel adapters)."""
        ...

    provider: ClassVar[str]
    #: longest body the provider accepts in one message (characters)
    max_body_chars: ClassVar[int]
    #: sustained sends per second the provider allows this sender (the dispatcher paces to it)
    @property
    def rate_per_second(self) -> float: ...

    def send(self, message: OutgoingMessage) -> Receipt:
        """Hand the message to the provider. Raises PermanentSendError or TransientSendError."""
        ...


@runtime_checkable
class SentLookup(Protocol):
    """A provider that can list what it already holds. Before a notice whose previous attempt's
    outcome is unknown (the worker died between the provider's acceptance and our record) is sent
    again, the dispatcher asks; a message found that no notice of ours has recorded is that
    attempt, so it is recorded instead of sent twice. (Twilio can list messages; SendGrid's v3
    mail/send has no such read-back without the paid Email Activity API, so email is resent and
    the duplicate detected from its delivery events.)"""

    def recent_matching(self, message: OutgoingMessage, limit: int = 20) -> list[Receipt]:
        """Messages the provider holds from us to ``message.to`` with exactly this body, newest
        first. Raises ``SendError`` if the provider cannot be asked."""
        ...
