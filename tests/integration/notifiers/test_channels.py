"""One contract for every notifier (memory, file outbox, Twilio and SendGrid through the
emulator), then what is particular to each provider."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from emulator import EmulatorClient, EmulatorHTTPServer
from notifiers.channels.base import (
    Attachment,
    Channel,
    Notifier,
    OutgoingMessage,
    PermanentReason,
    PermanentSendError,
    TransientSendError,
)
from notifiers.channels.file_outbox import FileOutboxNotifier
from notifiers.channels.memory import MemoryNotifier
from notifiers.channels.sendgrid_email import SendGridEmailNotifier
from notifiers.channels.twilio_sms import TwilioSmsNotifier
from tests.support.notify import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, SENDGRID_KEY

SMS = OutgoingMessage(7, Channel.SMS, "+13127460001", "Your mediation is booked.")
EMAIL = OutgoingMessage(
    8,
    Channel.EMAIL,
    "maria@example.org",
    "Booked.",
    "Mediation booked",
    "<p>Booked.</p>",
    (Attachment("invite.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),),
)


def twilio(server: EmulatorHTTPServer, **changes: str) -> TwilioSmsNotifier:
    values = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": FROM_NUMBER}
    values.update(changes)
    return TwilioSmsNotifier(
        **values, status_callback_url="https://cmp.example.org/webhooks/twilio/status", base_url=server.url
    )


def sendgrid(server: EmulatorHTTPServer, api_key: str = SENDGRID_KEY) -> SendGridEmailNotifier:
    return SendGridEmailNotifier(api_key=api_key, from_email="cmp@example.org", base_url=server.url)


Factory = Callable[[EmulatorHTTPServer, Path], dict[Channel, Notifier]]
BACKENDS: dict[str, Factory] = {
    "memory": lambda s, p: {c: MemoryNotifier(c) for c in Channel},
    "file": lambda s, p: {c: FileOutboxNotifier(p, c) for c in Channel},
    "emulator": lambda s, p: {Channel.SMS: twilio(s), Channel.EMAIL: sendgrid(s)},
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_contract_send_returns_a_receipt(
    backend: str, emulator_server: EmulatorHTTPServer, emulator: EmulatorClient, tmp_path: Path
) -> None:
    notifiers = BACKENDS[backend](emulator_server, tmp_path)
    for message in (SMS, EMAIL):
        notifier = notifiers[message.channel]
        assert notifier.channel is message.channel
        assert notifier.max_body_chars > 0 and notifier.rate_per_second > 0
        receipt = notifier.send(message)
        assert receipt.provider == notifier.provider and receipt.provider_message_id


def test_twilio_request_reaches_the_emulator_with_the_notice_id(
    emulator_server: EmulatorHTTPServer, emulator: EmulatorClient
) -> None:
    receipt = twilio(emulator_server).send(SMS)
    assert receipt.provider_message_id.startswith("SM") and receipt.status == "queued"
    assert receipt.segments == 1
    (received,) = emulator.messages()
    assert received["sid"] == receipt.provider_message_id
    assert (received["to"], received["sender"], received["body"]) == (SMS.to, FROM_NUMBER, SMS.body_text)
    assert received["notice"] == "7"


def test_twilio_rebasing_survives_edge_and_region(
    emulator_server: EmulatorHTTPServer, emulator: EmulatorClient
) -> None:
    notifier = twilio(emulator_server)
    notifier._client.edge, notifier._client.region = "dublin", "ie1"
    notifier.send(SMS)
    assert emulator.stats()["count"] == 1


@pytest.mark.parametrize(
    ("to", "code", "reason"),
    [
        ("+15005550001", 21211, PermanentReason.INVALID_ADDRESS),
        ("+15005550009", 21614, PermanentReason.INVALID_ADDRESS),
        ("+15005550004", 21610, PermanentReason.OPTED_OUT),
        ("3125550123", 21211, PermanentReason.INVALID_ADDRESS),
    ],
)
def test_twilio_permanent_errors(
    emulator_server: EmulatorHTTPServer, emulator: EmulatorClient, to: str, code: int, reason: PermanentReason
) -> None:
    with pytest.raises(PermanentSendError) as caught:
        twilio(emulator_server).send(OutgoingMessage(1, Channel.SMS, to, "hi"))
    assert (caught.value.code, caught.value.reason) == (code, reason)
    assert to not in str(caught.value) or len(to) < 11  # masked


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503), (429, 20429)])
def test_twilio_transient_errors(
    emulator_server: EmulatorHTTPServer, emulator: EmulatorClient, status: int, code: int
) -> None:
    emulator.fault(channel="sms", status=status)
    with pytest.raises(TransientSendError) as caught:
        twilio(emulator_server).send(SMS)
    assert (caught.value.http_status, caught.value.code) == (status, code)


def test_wrong_credentials_are_a_configuration_error(
    emulator_server: EmulatorHTTPServer, emulator: EmulatorClient
) -> None:
    with pytest.raises(PermanentSendError) as sms:
        twilio(emulator_server, auth_token="wrong").send(SMS)
    assert sms.value.reason is PermanentReason.CONFIGURATION and sms.value.code == 20003
    with pytest.raises(PermanentSendError) as email:
        sendgrid(emulator_server, api_key="SG.wrong").send(EMAIL)
    assert email.value.reason is PermanentReason.CONFIGURATION and email.value.http_status == 401
    with pytest.raises(PermanentSendError) as sender:
        twilio(emulator_server, from_number="+13125559999").send(SMS)
    assert sender.value.code == 21606
    assert emulator.stats()["count"] == 0


def test_sendgrid_request_carries_both_parts_attachments_and_notice_id(
    emulator_server: EmulatorHTTPServer, emulator: EmulatorClient
) -> None:
    receipt = sendgrid(emulator_server).send(EMAIL)
    (received,) = emulator.messages()
    assert received["sid"] == receipt.provider_message_id
    assert (received["subject"], received["body"], received["html"]) == (
        "Mediation booked",
        "Booked.",
        "<p>Booked.</p>",
    )
    assert received["attachments"] == [{"filename": "invite.ics", "type": "text/calendar",
                                        "content": "QkVHSU46VkNBTEVOREFSDQpFTkQ6VkNBTEVOREFSDQo="}]
    assert base64.b64decode(received["attachments"][0]["content"]) == EMAIL.attachments[0].content
    assert received["custom_args"] == {"notice_id": "8"}


def test_sendgrid_errors(emulator_server: EmulatorHTTPServer, emulator: EmulatorClient) -> None:
    with pytest.raises(PermanentSendError) as bad:
        sendgrid(emulator_server).send(OutgoingMessage(1, Channel.EMAIL, "maria@nowhere", "x", "s"))
    assert bad.value.reason is PermanentReason.INVALID_ADDRESS
    emulator.fault(to="maria@example.org", status=500)
    with pytest.raises(TransientSendError):
        sendgrid(emulator_server).send(EMAIL)
    assert sendgrid(emulator_server).send(EMAIL).provider == "sendgrid"  # the fault was used up


def test_emulator_validates_mail_send_like_v3(
    emulator_server: EmulatorHTTPServer, emulator: EmulatorClient
) -> None:
    headers = {"Authorization": f"Bearer {SENDGRID_KEY}"}
    base = {
        "personalizations": [{"to": [{"email": "a@example.org"}]}],
        "from": {"email": "cmp@example.org"},
        "subject": "s",
        "content": [{"type": "text/plain", "value": "x"}],
    }
    cases = {
        "personalizations": {**base, "personalizations": []},
        "subject": {**base, "subject": ""},
        "content": {
            **base,
            "content": [{"type": "text/html", "value": "x"}, {"type": "text/plain", "value": "x"}],
        },
        "attachments.0.content": {**base, "attachments": [{"filename": "a", "content": "%%%"}]},
        "custom_args": {**base, "custom_args": {"notice_id": 1}},
    }
    for field, body in cases.items():
        response = httpx.post(f"{emulator_server.url}/v3/mail/send", json=body, headers=headers)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == field
    ok = httpx.post(f"{emulator_server.url}/v3/mail/send", json=base, headers=headers)
    assert ok.status_code == 202 and ok.headers["X-Message-Id"] and ok.content == b""


def test_file_outbox_writes_one_readable_file_per_notice(tmp_path: Path) -> None:
    notifier = FileOutboxNotifier(tmp_path, Channel.EMAIL)
    first = notifier.send(EMAIL)
    again = notifier.send(EMAIL)
    message, invite = sorted(tmp_path.iterdir(), reverse=True)  # the invite beside the message
    assert first == again and message.name == "notice-00000008.email.txt"
    assert invite.name == "notice-00000008.email.invite.ics"
    assert invite.read_bytes() == EMAIL.attachments[0].content
    text = message.read_text(encoding="utf-8")
    assert "Subject: Mediation booked" in text and "<p>Booked.</p>" in text
    size = len(EMAIL.attachments[0].content)
    assert f"Attachment: invite.ics (text/calendar, {size} bytes) -> {invite.name}" in text


def test_memory_notifier_fails_when_told(tmp_path: Path) -> None:
    notifier = MemoryNotifier(Channel.SMS)
    notifier.fail_next(TransientSendError(500, "boom"))
    with pytest.raises(TransientSendError):
        notifier.send(SMS)
    notifier.send(SMS)
    assert notifier.sent == [SMS]
