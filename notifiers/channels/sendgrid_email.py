"""Email through SendGrid's v3 mail/send, with the real ``sendgrid`` SDK.

The notice id travels in ``custom_args`` (SendGrid echoes it in every Event Webhook event), so a
delivery event finds its outbox row and a resend after a crash can be recognised.
``base_url`` (``CMP_SENDGRID_BASE_URL``) points the SDK at the emulator.
"""

from __future__ import annotations

import base64
import logging
import urllib.error
from typing import Any, ClassVar

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Attachment,
    Content,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    From,
    Mail,
    To,
)

from cases.privacy import mask_email
from notifiers.channels.base import (
    Channel,
    OutgoingMessage,
    PermanentReason,
    PermanentSendError,
    Receipt,
    TransientSendError,
    retry_after_seconds,
)

log = logging.getLogger(__name__)


class SendGridEmailNotifier:
    channel: ClassVar[Channel] = Channel.EMAIL
    provider: ClassVar[str] = "sendgrid"
    max_body_chars: ClassVar[int] = 1_000_000  # SendGrid's limit is 30 MB for the whole request
    def __init__(
        self,
        *,
        api_key: str,
        from_email: str,
        from_name: str | None = None,
        base_url: str | None = None,
        rate_per_second: float = 100.0,
    ) -> None:
        #: what the key may send (``settings.Settings.email_rate_per_second``)
        self.rate_per_second = rate_per_second
        self._client = SendGridAPIClient(api_key, host=(base_url or "https://api.sendgrid.com"))
        self._from = From(from_email, from_name)

    def build(self, message: OutgoingMessage) -> dict[str, Any]:
        """The v3 mail/send body. An address the SDK cannot even parse is a permanent error."""
        mail = Mail(
            from_email=self._from,
            to_emails=To(message.to),
            subject=message.subject or "",
            plain_text_content=Content("text/plain", message.body_text),
        )
        if message.body_html:
            mail.add_content(Content("text/html", message.body_html))
        mail.add_custom_arg(CustomArg("notice_id", str(message.notice_id)))
        for item in message.attachments:
            mail.add_attachment(
                Attachment(
                    FileContent(base64.b64encode(item.content).decode("ascii")),
                    FileName(item.filename),
                    FileType(item.content_type),
                    Disposition(item.disposition),
                )
            )
        try:
            body: dict[str, Any] = mail.get()
        except (KeyError, ValueError, TypeError, AttributeError):
            raise PermanentSendError(
                None,
                f"unparseable address for notice {message.notice_id}",
                reason=PermanentReason.INVALID_ADDRESS,
            ) from None
        return body

    def send(self, message: OutgoingMessage) -> Receipt:
        body = self.build(message)
        try:
            response = self._client.send(body)
        except HTTPError as exc:
            raise _classify(exc, message) from None
        except (urllib.error.URLError, OSError) as exc:
            raise TransientSendError(None, f"network: {type(exc).__name__}") from None
        message_id = response.headers.get("X-Message-Id") or ""
        if not message_id:
            raise TransientSendError(response.status_code, "accepted without X-Message-Id")
        return Receipt(provider=self.provider, provider_message_id=message_id, status="accepted")


def _classify(exc: HTTPError, message: OutgoingMessage) -> Exception:
    status = int(exc.status_code)
    detail = f"sendgrid {status} for notice {message.notice_id} to {mask_email(message.to)}"
    if status == 429 or status >= 500:
        pause = retry_after_seconds((exc.headers or {}).get("Retry-After"))
        return TransientSendError(status, detail, status, retry_after_seconds=pause)
    if status in (401, 403):
        return PermanentSendError(status, detail, status, reason=PermanentReason.CONFIGURATION)
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body)
    if "personalizations" in body and ".email" in body:
        return PermanentSendError(status, detail, status, reason=PermanentReason.INVALID_ADDRESS)
    return PermanentSendError(status, detail, status, reason=PermanentReason.REJECTED)
