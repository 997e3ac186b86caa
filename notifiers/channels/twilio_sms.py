"""SMS through Twilio's Messages API, with the real ``twilio`` SDK.

``base_url`` (``CMP_TWILIO_BASE_URL``) points the SDK at another server, the emulator in tests and
demos. It is done in the HTTP client, after the SDK has built its URL, so edge/region settings
(``api.dublin.ie1.twilio.com``) cannot route around it.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from typing import Any, ClassVar

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from cases.privacy import mask_phone
from notifiers.channels.base import (
    Channel,
    OutgoingMessage,
    PermanentReason,
    PermanentSendError,
    Receipt,
    TransientSendError,
    retry_after_seconds,
)
from notifiers.compose.segments import count_segments

log = logging.getLogger(__name__)

INVALID_NUMBER_CODES = frozenset({21211, 21614, 21612, 21408, 21217, 21401})
OPTED_OUT_CODES = frozenset({21610})
CONFIGURATION_CODES = frozenset({20003, 20404, 21606, 21659, 21603})


class RebasingHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, with every request's scheme and host replaced by ``base_url``
    (if given), remembering a 429's ``Retry-After`` (``retry_after``: seconds, or None): the
    SDK's exception carries no headers."""

    def __init__(self, base_url: str | None, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self._base = urllib.parse.urlsplit(base_url.rstrip("/")) if base_url else None
        self.retry_after: float | None = None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self._base is not None:
            parts, base = urllib.parse.urlsplit(url), self._base
            url = urllib.parse.urlunsplit(
                parts._replace(scheme=base.scheme, netloc=base.netloc, path=base.path + parts.path)
            )
        response = super().request(method, url, *args, **kwargs)
        self.retry_after = None
        if response.status_code == 429 and response.headers:
            self.retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return response


class TwilioSmsNotifier:
    """Safe to share between threads: each thread sends through its own SDK client (and so its
    own ``requests`` session and connection), made on first use."""

    channel: ClassVar[Channel] = Channel.SMS
    provider: ClassVar[str] = "twilio"
    max_body_chars: ClassVar[int] = 1600  # Twilio refuses longer bodies (21617)
    #: the budget every notice is rendered to (notifiers.compose.rendering picks a shorter form or
    #: refuses): beyond 3 segments carriers reassemble long texts unreliably, and each costs
    max_segments: ClassVar[int] = 3

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        status_callback_url: str | None,
        base_url: str | None = None,
        timeout: float = 10.0,
        rate_per_second: float = 1.0,
    ) -> None:
        self._account = (account_sid, auth_token)
        self._base_url, self._timeout = base_url, timeout
        self._local = threading.local()
        self._from = from_number
        self._callback = status_callback_url
        #: what the sending number may send (``settings.Settings.sms_rate_per_second``: a long
        #: code 1/s, toll-free 3/s, short code 100/s); the dispatcher paces to it
        self.rate_per_second = rate_per_second

    @property
    def from_number(self) -> str:
        return self._from

    @property
    def _http(self) -> RebasingHttpClient:
        http: RebasingHttpClient | None = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = RebasingHttpClient(self._base_url, self._timeout)
            self._local.client = Client(*self._account, http_client=http)
        return http

    @property
    def _client(self) -> Client:
        self._http  # noqa: B018 - makes this thread's client
        client: Client = self._local.client
        return client

    def status_callback_for(self, notice_id: int) -> str | None:
        if not self._callback:
            return None
        joiner = "&" if "?" in self._callback else "?"
        return f"{self._callback}{joiner}notice={notice_id}"

    def send(self, message: OutgoingMessage) -> Receipt:
        if len(message.body_text) > self.max_body_chars:
            raise PermanentSendError(21617, "body longer than 1600 characters")
        kwargs: dict[str, Any] = {"to": message.to, "from_": self._from, "body": message.body_text}
        callback = self.status_callback_for(message.notice_id)
        if callback:
            kwargs["status_callback"] = callback
        try:
            created = self._client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise _classify(exc, message, self._http.retry_after) from None
        except requests.RequestException as exc:
            raise TransientSendError(None, f"network: {type(exc).__name__}") from None
        return Receipt(
            provider=self.provider,
            provider_message_id=str(created.sid),
            status=str(created.status),
            accepted_at=created.date_created,
            segments=count_segments(message.body_text).segments,
        )

    def recent_matching(self, message: OutgoingMessage, limit: int = 20) -> list[Receipt]:
        try:
            listed = self._client.messages.list(to=message.to, from_=self._from, limit=limit)
        except TwilioRestException as exc:
            raise _classify(exc, message) from None
        except requests.RequestException as exc:
            raise TransientSendError(None, f"network: {type(exc).__name__}") from None
        return [
            Receipt(provider=self.provider, provider_message_id=str(m.sid), status=str(m.status),
                    accepted_at=m.date_created)
            for m in listed
            if m.body == message.body_text
        ]  # fmt: skip


def _classify(
    exc: TwilioRestException, message: OutgoingMessage, retry_after: float | None = None
) -> Exception:
    status, code = int(exc.status), (int(exc.code) if exc.code is not None else None)
    detail = f"twilio {status}/{code} for notice {message.notice_id} to {mask_phone(message.to)}"
    if code in OPTED_OUT_CODES:
        return PermanentSendError(code, detail, status, reason=PermanentReason.OPTED_OUT)
    if code in INVALID_NUMBER_CODES:
        return PermanentSendError(code, detail, status, reason=PermanentReason.INVALID_ADDRESS)
    if status == 429 or status >= 500:
        return TransientSendError(code, detail, status, retry_after_seconds=retry_after)
    if code in CONFIGURATION_CODES or status in (401, 403):
        return PermanentSendError(code, detail, status, reason=PermanentReason.CONFIGURATION)
    return PermanentSendError(code, detail, status, reason=PermanentReason.REJECTED)
