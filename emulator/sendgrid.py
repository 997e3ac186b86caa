"""The emulator's SendGrid: v3 ``mail/send`` and the signed Event Webhook it sends back.

``POST /v3/mail/send`` (Bearer auth, JSON validated as v3 does, 202 + ``X-Message-Id``). Events
are signed with the configured ECDSA key through the service's own ``notifiers.channels.signatures``, so
a test of the webhook checks the real verification.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
from typing import Any

from emulator.exchange import Exchange, post
from emulator.state import Received
from notifiers.channels.signatures import SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER

GRANT_INVALID = "The provided authorization grant is invalid, expired, or revoked"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def sendgrid_error(message: str, field_name: str | None) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": message,
                "field": field_name,
                "help": "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html",
            }
        ]
    }


def send(ex: Exchange) -> None:
    raw = ex.read_body()
    state, config = ex.server.state, ex.server.config
    if ex.headers.get("Authorization") != f"Bearer {config.sendgrid_api_key}":
        state.note_rejected()
        ex.reply(401, sendgrid_error(GRANT_INVALID, None))
        return
    try:
        mail = json.loads(raw)
    except ValueError:
        state.note_rejected()
        ex.reply(400, sendgrid_error("Bad Request", None))
        return
    problem = _validate_mail(mail)
    if problem is not None:
        state.note_rejected()
        ex.reply(400, sendgrid_error(*problem))
        return
    to = mail["personalizations"][0]["to"][0]["email"]
    delay_ms, fault = state.take_fault("email", to)
    if delay_ms:
        time.sleep(delay_ms / 1000)
    if fault is not None and fault.status is not None:
        ex.reply(fault.status, sendgrid_error(f"emulated error {fault.status}", None))
        return
    if ex.refused_over_rate(config.sendgrid_api_key, sendgrid_error("too many requests", None)):
        return
    lost = state.take_answer_fault("email", to)
    if lost == "dropped":
        ex.hang_up()
        return
    custom_args = dict(mail.get("custom_args") or {})
    for personalization in mail["personalizations"]:
        custom_args.update(personalization.get("custom_args") or {})
    contents = {c["type"]: c["value"] for c in mail["content"]}
    subject = mail["personalizations"][0].get("subject") or mail.get("subject")
    message_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
    state.record(
        Received(
            sid=message_id,
            channel="email",
            to=to,
            sender=mail["from"]["email"],
            body=contents.get("text/plain", ""),
            html=contents.get("text/html"),
            subject=subject,
            notice=custom_args.get("notice_id"),
            received_at=state.now(),
            attachments=[  # content as base64, as sent: a test can open the invite
                {"filename": a["filename"], "type": a.get("type", ""),
                 "content": a.get("content", "")}
                for a in mail.get("attachments") or []
            ],
            custom_args=custom_args,
        )
    )
    if lost == "lost":
        ex.hang_up()
        return
    ex.reply(202, None, {"X-Message-Id": message_id})


def send_events(ex: Exchange, messages: list[dict[str, Any]], body: dict[str, Any]) -> Any:
    config = ex.server.config
    url = body.get("url") or config.sendgrid_event_url
    if not url:
        return {"error": "no event URL configured"}
    now = int(ex.server.state.now())  # the emulator's clock, which a test may have set
    events = [
        {
            "email": m["to"],
            "timestamp": now,
            "event": body.get("event", "delivered"),
            "sg_event_id": secrets.token_urlsafe(16),
            "sg_message_id": f"{m['sid']}.filter0001.{now}.0",
            "smtp-id": f"<{m['sid']}@emulator>",
            **m["custom_args"],
        }
        for m in messages
    ]
    payload = json.dumps(events).encode("utf-8")
    timestamp = str(now + int(body.get("timestamp_offset", 0)))
    code, _ = post(
        url,
        payload,
        {
            "Content-Type": "application/json",
            SENDGRID_SIGNATURE_HEADER: config.sendgrid_keys.sign(payload, timestamp),
            SENDGRID_TIMESTAMP_HEADER: timestamp,
        },
    )
    return {"http_status": code, "events": len(events)}


def _validate_mail(mail: Any) -> tuple[str, str | None] | None:
    """The checks v3 mail/send makes that matter to us, with its wording. None when valid."""
    if not isinstance(mail, dict):
        return "Bad Request", None
    personalizations = mail.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        return (
            "The personalizations field is required and must have at least one personalization.",
            "personalizations",
        )
    for i, personalization in enumerate(personalizations):
        recipients = personalization.get("to")
        if not isinstance(recipients, list) or not recipients:
            return (
                "The to array is required for all personalization objects, and must have "
                "at least one email object with a valid email address.",
                f"personalizations.{i}.to",
            )
        for j, recipient in enumerate(recipients):
            if not EMAIL.match(str(recipient.get("email", ""))):
                return "Does not contain a valid address.", f"personalizations.{i}.to.{j}.email"
    sender = mail.get("from")
    if not isinstance(sender, dict) or not EMAIL.match(str(sender.get("email", ""))):
        return (
            "The from object must be provided for every email send. It is an object that "
            "requires an email parameter, but may also contain a name parameter.",
            "from",
        )
    if not mail.get("subject") and not all(p.get("subject") for p in personalizations):
        return (
            "The subject is required. You can get around this requirement if you use a "
            "template with a subject defined or if every personalization has a subject "
            "defined.",
            "subject",
        )
    content = mail.get("content")
    if not isinstance(content, list) or not content:
        return (
            "Unless a valid template_id is provided, the content parameter is required. "
            "There must be at least one defined content block.",
            "content",
        )
    types = [c.get("type") for c in content]
    if ("text/plain" in types and types[0] != "text/plain") or (
        "text/html" in types
        and "text/plain" in types
        and types.index("text/html") < types.index("text/plain")
    ):
        return (
            "If present, text/plain content must be first, followed by text/html, followed "
            "by any other content.",
            "content",
        )
    if any(not c.get("value") for c in content):
        return "The content value must be a string at least one character in length.", "content"
    for k, attachment in enumerate(mail.get("attachments") or []):
        if not attachment.get("filename"):
            return "The attachment filename parameter is required.", f"attachments.{k}.filename"
        try:
            base64.b64decode(attachment.get("content", ""), validate=True)
        except (binascii.Error, ValueError):
            return "The attachment content must be base64 encoded.", f"attachments.{k}.content"
    custom_args = dict(mail.get("custom_args") or {})
    for personalization in personalizations:
        custom_args.update(personalization.get("custom_args") or {})
    if any(not isinstance(v, str) for v in custom_args.values()):
        return "Invalid type. Expected: string, given: integer.", "custom_args"
    return None
