"""A small stand-in for the parts of Twilio and SendGrid the service uses.

Twilio: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (Basic auth, form body, the real
error codes and bodies, magic test numbers), ``GET .../Messages.json`` (newest first, ``To`` and
``From`` filters, one page) and ``GET .../Messages/{Sid}.json``.
SendGrid: ``POST /v3/mail/send`` (Bearer auth, JSON validated as v3 does, 202 + X-Message-Id).

Test controls under ``/_emulator/``: ``GET messages`` (``?since=N``), ``GET stats``,
``POST reset``, ``POST faults/clear``, ``POST clock`` ({"now": ISO time}: stamps messages as if then),
``POST faults`` ({"to", "channel", "status", "code", "times", "delay_ms"}),
``POST answer-faults`` ({"mode": "dropped"|"lost", "to", "channel", "times"}: the connection closes
with no reply, before the message is recorded or after),
``POST status-callbacks`` ({"sid"|"all", "status"}: Twilio-signed form POSTs to each message's
StatusCallback), ``POST sendgrid-events`` ({"sid"|"all", "event"}: ECDSA-signed JSON to the
configured event URL), ``POST inbound`` ({"from", "body", "url"}: a Twilio-signed inbound SMS),
``GET sendgrid-public-key``, ``POST clock/freeze`` ({"now"}: time stands still there until moved or reset),
``POST rate-limit`` ({"sender", "per_second", "retry_after"}: 429
with ``Retry-After`` for a sender over its rate; ``stats`` counts them as ``rate_limited``).
Twilio Lookup v2 (line types) and its controls: ``notifiers.emulator.lookups``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from notifiers.channels.signatures import (
    SENDGRID_SIGNATURE_HEADER,
    SENDGRID_TIMESTAMP_HEADER,
    TWILIO_SIGNATURE_HEADER,
    SendGridKeyPair,
    twilio_signature,
)
from notifiers.emulator import lookups
from notifiers.emulator.state import (
    TWILIO_MAGIC_TO,
    AnswerFault,
    EmulatorState,
    Fault,
    RateLimit,
    Received,
)
from notifiers.inbound import TWILIO_OPT_IN_WORDS, TWILIO_OPT_OUT_WORDS, normalize

log = logging.getLogger(__name__)

GRANT_INVALID = "The provided authorization grant is invalid, expired, or revoked"

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages\.json$")
MESSAGE_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages/(SM\w+)\.json$")
TWILIO_ERRORS: dict[int, tuple[int, str]] = {  # http status -> (code, message) for scripted faults
    400: (21211, "The 'To' number is not a valid phone number."),
    401: (20003, "Authenticate"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


@dataclass
class EmulatorConfig:
    twilio_account_sid: str = "AC" + "0" * 32
    twilio_auth_token: str = "emulator-auth-token"
    twilio_from_numbers: tuple[str, ...] = ()  # empty: any From accepted
    sendgrid_api_key: str = "SG.emulator-key"
    sendgrid_event_url: str | None = None
    sendgrid_keys: SendGridKeyPair = field(default_factory=SendGridKeyPair.generate)


def _twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _sendgrid_error(message: str, field_name: str | None) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": message,
                "field": field_name,
                "help": "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html",
            }
        ]
    }


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")
    except OSError as exc:
        return 0, str(exc)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would dominate the benchmark

    # -- plumbing ---------------------------------------------------------------------------
    def _read(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, payload: Any = None, headers: dict[str, str] | None = None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _json_body(self) -> Any:
        raw = self._read()
        return json.loads(raw) if raw else {}

    # -- routing ----------------------------------------------------------------------------
    def do_GET(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parsed.query)
        state = self.server.state
        if lookups.handle_get(self, parsed.path):
            return
        if parsed.path == "/_emulator/messages":
            self._reply(200, state.snapshot(int(query.get("since", ["0"])[0])))
        elif parsed.path == "/_emulator/stats":
            self._reply(200, state.stats())
        elif parsed.path == "/_emulator/sendgrid-public-key":
            self._reply(200, {"public_key": self.server.config.sendgrid_keys.public_key_b64})
        elif match := MESSAGES_PATH.match(parsed.path):
            if self._twilio_auth(match.group(1)):
                self._twilio_list(match.group(1), query)
        elif match := MESSAGE_PATH.match(parsed.path):
            if not self._twilio_auth(match.group(1)):
                return
            message = state.by_sid.get(match.group(2))
            if message is None:
                self._reply(404, _twilio_error(404, 20404, "The requested resource was not found"))
            else:
                self._reply(200, self._twilio_message_json(message))
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if match := MESSAGES_PATH.match(path):
            self._twilio_create(match.group(1))
        elif path == "/v3/mail/send":
            self._sendgrid_send()
        elif path.startswith("/_emulator/"):
            self._control(path.removeprefix("/_emulator/"))
        else:
            self._read()
            self._reply(404, {"error": "not found"})

    # -- Twilio -----------------------------------------------------------------------------
    def _twilio_auth(self, path_sid: str) -> bool:
        config = self.server.config
        expected = base64.b64encode(
            f"{config.twilio_account_sid}:{config.twilio_auth_token}".encode()
        ).decode()
        if self.headers.get("Authorization") != f"Basic {expected}" or (
            path_sid != config.twilio_account_sid
        ):
            self.server.state.note_rejected()
            self._reply(401, _twilio_error(401, 20003, "Authenticate"))
            return False
        return True

    def _twilio_message_json(self, message: Received) -> dict[str, Any]:
        config = self.server.config
        now = formatdate(message.received_at, usegmt=True)
        uri = f"/2010-04-01/Accounts/{config.twilio_account_sid}/Messages/{message.sid}.json"
        return {
            "account_sid": config.twilio_account_sid,
            "api_version": "2010-04-01",
            "body": message.body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": message.sender,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": message.status,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": message.to,
            "uri": uri,
        }

    def _twilio_list(self, account_sid: str, query: dict[str, list[str]]) -> None:
        """Message list, newest first, filtered by ``To`` and ``From`` as Twilio does (one page:
        ``next_page_uri`` is null; ``PageSize`` defaults to 50, at most 1000)."""
        try:
            size = min(int(query.get("PageSize", ["50"])[-1]), 1000)
        except ValueError:
            self._reply(400, _twilio_error(400, 20001, "Invalid PageSize"))
            return
        to, sender = query.get("To", [None])[-1], query.get("From", [None])[-1]
        found = [
            m for m in reversed(self.server.state.messages)
            if m.channel == "sms" and (to is None or m.to == to) and (sender is None or m.sender == sender)
        ][:size]  # fmt: skip
        uri = f"/2010-04-01/Accounts/{account_sid}/Messages.json?PageSize={size}&Page=0"
        self._reply(200, {
            "messages": [self._twilio_message_json(m) for m in found],
            "end": max(len(found) - 1, 0), "first_page_uri": uri, "next_page_uri": None,
            "page": 0, "page_size": size, "previous_page_uri": None, "start": 0, "uri": uri,
        })  # fmt: skip

    def _twilio_create(self, path_sid: str) -> None:
        raw = self._read()
        if not self._twilio_auth(path_sid):
            return
        state, config = self.server.state, self.server.config
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode("utf-8")).items()}
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        error: tuple[int, int, str] | None = None
        if not to:
            error = (400, 21604, "A 'To' phone number is required.")
        elif not sender and not form.get("MessagingServiceSid"):
            error = (400, 21603, "A 'From' phone number is required.")
        elif not body:
            error = (400, 21602, "Message body is required.")
        elif len(body) > 1600:
            error = (400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        elif not E164.match(to):
            error = (400, 21211, f"The 'To' number {to} is not a valid phone number.")
        elif config.twilio_from_numbers and sender not in config.twilio_from_numbers:
            error = (
                400,
                21606,
                "The 'From' phone number provided is not a valid message-capable "
                "Twilio phone number for this destination/account.",
            )
        elif to in TWILIO_MAGIC_TO:
            code, text = TWILIO_MAGIC_TO[to]
            error = (400, code, text)
        elif to in state.opted_out:
            error = (400, 21610, "Attempt to send to unsubscribed recipient")
        if error is not None:
            state.note_rejected()
            self._reply(error[0], _twilio_error(*error))
            return
        delay_ms, fault = state.take_fault("sms", to)
        if delay_ms:
            time.sleep(delay_ms / 1000)
        if fault is not None and fault.status is not None:
            code, text = TWILIO_ERRORS.get(fault.status, (fault.status * 100, "Error"))
            headers = {"Retry-After": "1"} if fault.status == 429 else None
            self._reply(fault.status, _twilio_error(fault.status, fault.code or code, text), headers)
            return
        if self._refused_over_rate(sender or form.get("MessagingServiceSid", "")):
            return
        lost = state.take_answer_fault("sms", to)
        if lost == "dropped":
            self._hang_up()
            return
        callback = form.get("StatusCallback")
        notice = None
        if callback:
            notice = urllib.parse.parse_qs(urllib.parse.urlsplit(callback).query).get("notice", [None])[0]
        message = Received(
            sid="SM" + secrets.token_hex(16),
            channel="sms",
            to=to,
            sender=sender,
            body=body,
            notice=notice,
            received_at=state.now(),
            status_callback=callback,
        )
        state.record(message)
        if lost == "lost":
            self._hang_up()
            return
        self._reply(201, self._twilio_message_json(message))

    # -- SendGrid ---------------------------------------------------------------------------
    def _sendgrid_send(self) -> None:
        raw = self._read()
        state, config = self.server.state, self.server.config
        if self.headers.get("Authorization") != f"Bearer {config.sendgrid_api_key}":
            state.note_rejected()
            self._reply(401, _sendgrid_error(GRANT_INVALID, None))
            return
        try:
            mail = json.loads(raw)
        except ValueError:
            state.note_rejected()
            self._reply(400, _sendgrid_error("Bad Request", None))
            return
        problem = _validate_mail(mail)
        if problem is not None:
            state.note_rejected()
            self._reply(400, _sendgrid_error(*problem))
            return
        to = mail["personalizations"][0]["to"][0]["email"]
        delay_ms, fault = state.take_fault("email", to)
        if delay_ms:
            time.sleep(delay_ms / 1000)
        if fault is not None and fault.status is not None:
            self._reply(fault.status, _sendgrid_error(f"emulated error {fault.status}", None))
            return
        if self._refused_over_rate(config.sendgrid_api_key):
            return
        lost = state.take_answer_fault("email", to)
        if lost == "dropped":
            self._hang_up()
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
            self._hang_up()
            return
        self._reply(202, None, {"X-Message-Id": message_id})

    def _refused_over_rate(self, sender: str) -> bool:
        """The provider's rate limit (``POST /_emulator/rate-limit``): a message over the sender's
        rate is answered 429 with ``Retry-After``, as Twilio and SendGrid do. The receipt time of
        every message accepted is its ``received_at``."""
        retry_after = self.server.state.take_rate(sender)
        if retry_after is None:
            return False
        if self.path.startswith("/v3/"):
            payload = _sendgrid_error("too many requests", None)
        else:
            payload = _twilio_error(429, 20429, "Too Many Requests")
        self._reply(429, payload, {"Retry-After": str(retry_after)})
        return True

    def _rate_limit_control(self, body: dict[str, Any]) -> None:
        """``POST rate-limit`` {"sender": a From number, Messaging Service SID or SendGrid key,
        "per_second", "retry_after"}."""
        self.server.state.set_rate_limit(RateLimit(
            sender=str(body["sender"]), per_second=float(body["per_second"]),
            retry_after=int(body.get("retry_after", 1))))  # fmt: skip
        self._reply(200, {"ok": True})

    def _hang_up(self) -> None:
        """Close the connection without a reply: the client cannot tell whether it was sent."""
        self.close_connection = True

    # -- controls ---------------------------------------------------------------------------
    def _control(self, name: str) -> None:
        body = self._json_body()
        state = self.server.state
        if lookups.handle_control(self, name, body):
            return
        if name == "rate-limit":
            self._rate_limit_control(body)
        elif name == "clock/freeze":
            self.server.state.frozen_at = datetime.fromisoformat(str(body["now"])).timestamp()
            self._reply(200, {"ok": True})
        elif name == "reset":
            state.reset()
            self.server.line_types.reset()
            self._reply(200, {"ok": True})
        elif name == "clock":
            state.clock_offset = datetime.fromisoformat(str(body["now"])).timestamp() - time.time()
            self._reply(200, {"ok": True})
        elif name == "faults/clear":
            state.clear_faults()
            self._reply(200, {"ok": True})
        elif name == "faults":
            state.add_fault(Fault(**body))
            self._reply(200, {"ok": True})
        elif name == "answer-faults":
            state.add_answer_fault(AnswerFault(**body))
            self._reply(200, {"ok": True})
        elif name == "status-callbacks":
            one = state.by_sid.get(str(body.get("sid")))
            if not body.get("all") and one is None:
                self._reply(404, {"error": "unknown sid"})
                return
            targets = state.snapshot()["messages"] if one is None or body.get("all") else [one.as_json()]
            status, error_code = body.get("status", "delivered"), body.get("error_code")
            results = [
                self._send_status_callback(m, status, error_code)
                for m in targets
                if m["channel"] == "sms" and m["status_callback"]
            ]
            self._reply(200, {"results": results})
        elif name == "sendgrid-events":
            targets = [
                m
                for m in state.snapshot()["messages"]
                if m["channel"] == "email" and (body.get("all") or m["sid"] == body.get("sid"))
            ]
            self._reply(200, {"result": self._send_sendgrid_events(targets, body)})
        elif name == "inbound":
            self._reply(200, self._send_inbound(body))
        else:
            self._reply(404, {"error": "unknown control"})

    def _send_status_callback(
        self, message: dict[str, Any], status: str, error_code: int | None
    ) -> dict[str, Any]:
        config = self.server.config
        params = {
            "MessageSid": message["sid"],
            "SmsSid": message["sid"],
            "AccountSid": config.twilio_account_sid,
            "From": message["sender"],
            "To": message["to"],
            "MessageStatus": status,
            "SmsStatus": status,
            "ApiVersion": "2010-04-01",
        }
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        url = message["status_callback"]
        signature = twilio_signature(config.twilio_auth_token, url, params)
        code, _ = _post(
            url,
            urllib.parse.urlencode(params).encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                TWILIO_SIGNATURE_HEADER: signature,
            },
        )
        self.server.state.by_sid[message["sid"]].status = status
        return {"sid": message["sid"], "http_status": code}

    def _send_sendgrid_events(self, messages: list[dict[str, Any]], body: dict[str, Any]) -> Any:
        config = self.server.config
        url = body.get("url") or config.sendgrid_event_url
        if not url:
            return {"error": "no event URL configured"}
        now = int(self.server.state.now())  # the emulator's clock, which a test may have set
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
        code, _ = _post(
            url,
            payload,
            {
                "Content-Type": "application/json",
                SENDGRID_SIGNATURE_HEADER: config.sendgrid_keys.sign(payload, timestamp),
                SENDGRID_TIMESTAMP_HEADER: timestamp,
            },
        )
        return {"http_status": code, "events": len(events)}

    def _send_inbound(self, body: dict[str, Any]) -> dict[str, Any]:
        config, state = self.server.config, self.server.state
        sender, text = body["from"], body["body"]
        keyword = normalize(text)
        if keyword in TWILIO_OPT_OUT_WORDS:  # what Twilio's default opt-out handling does
            state.opted_out.add(sender)
        elif keyword in TWILIO_OPT_IN_WORDS:
            state.opted_out.discard(sender)
        params = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "SmsSid": "",
            "AccountSid": config.twilio_account_sid,
            "From": sender,
            "To": body.get("to") or (config.twilio_from_numbers or ("+15005550006",))[0],
            "Body": text,
            "NumMedia": "0",
            "NumSegments": "1",
            "ApiVersion": "2010-04-01",
        }
        params["SmsSid"] = params["MessageSid"]
        url = body["url"]
        code, reply = _post(
            url,
            urllib.parse.urlencode(params).encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                TWILIO_SIGNATURE_HEADER: twilio_signature(config.twilio_auth_token, url, params),
            },
        )
        return {"http_status": code, "reply": reply, "message_sid": params["MessageSid"]}


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


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], config: EmulatorConfig) -> None:
        super().__init__(address, _Handler)
        self.config = config
        self.state = EmulatorState()
        self.line_types = lookups.LineTypeBook()
        self._thread: threading.Thread | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-reply (a killed dispatcher) is normal here, not a traceback."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("client %s went away", client_address)
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start_background(self) -> EmulatorHTTPServer:
        self._thread = threading.Thread(target=self.serve_forever, name="emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def start_emulator(
    config: EmulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> EmulatorHTTPServer:
    """Start the emulator on a background thread; port 0 picks a free port (see ``.url``)."""
    return EmulatorHTTPServer((host, port), config or EmulatorConfig()).start_background()
