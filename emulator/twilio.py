"""The emulator's Twilio: the Messages API, Lookup v2, and the webhooks Twilio sends back.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (Basic auth, form body, the real error
codes and bodies, magic test numbers), ``GET .../Messages.json`` (newest first, ``To`` and
``From`` filters, one page) and ``GET .../Messages/{Sid}.json``; ``GET /v2/PhoneNumbers/{number}``
(what it answers: ``emulator.lookups``). Status callbacks and inbound SMS are signed as Twilio
signs them, with the service's own ``notifiers.channels.signatures``, so a test of the webhooks checks
the real verification.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
import urllib.parse
from email.utils import formatdate
from typing import Any

from emulator.config import EmulatorConfig
from emulator.exchange import Exchange, post
from emulator.lookups import lookup_json
from emulator.state import TWILIO_MAGIC_TO, Received
from notifiers.channels.signatures import TWILIO_SIGNATURE_HEADER, twilio_signature
from notifiers.inbound import TWILIO_OPT_IN_WORDS, TWILIO_OPT_OUT_WORDS, normalize

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages\.json$")
MESSAGE_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages/(SM\w+)\.json$")
LOOKUP_PATH = re.compile(r"^/v2/PhoneNumbers/([^/]+)$")
TWILIO_ERRORS: dict[int, tuple[int, str]] = {  # http status -> (code, message) for scripted faults
    400: (21211, "The 'To' number is not a valid phone number."),
    401: (20003, "Authenticate"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _basic_auth(config: EmulatorConfig) -> str:
    token = base64.b64encode(f"{config.twilio_account_sid}:{config.twilio_auth_token}".encode())
    return f"Basic {token.decode()}"


def authorised(ex: Exchange, path_sid: str) -> bool:
    """True when the request carries the account's credentials; else answers 401 itself."""
    config = ex.server.config
    if ex.headers.get("Authorization") != _basic_auth(config) or path_sid != config.twilio_account_sid:
        ex.server.state.note_rejected()
        ex.reply(401, twilio_error(401, 20003, "Authenticate"))
        return False
    return True


def message_json(config: EmulatorConfig, message: Received) -> dict[str, Any]:
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


def get_message(ex: Exchange, account_sid: str, sid: str) -> None:
    if not authorised(ex, account_sid):
        return
    message = ex.server.state.by_sid.get(sid)
    if message is None:
        ex.reply(404, twilio_error(404, 20404, "The requested resource was not found"))
    else:
        ex.reply(200, message_json(ex.server.config, message))


def list_messages(ex: Exchange, account_sid: str, query: dict[str, list[str]]) -> None:
    """Message list, newest first, filtered by ``To`` and ``From`` as Twilio does (one page:
    ``next_page_uri`` is null; ``PageSize`` defaults to 50, at most 1000)."""
    if not authorised(ex, account_sid):
        return
    try:
        size = min(int(query.get("PageSize", ["50"])[-1]), 1000)
    except ValueError:
        ex.reply(400, twilio_error(400, 20001, "Invalid PageSize"))
        return
    to, sender = query.get("To", [None])[-1], query.get("From", [None])[-1]
    found = [
        m for m in reversed(ex.server.state.messages)
        if m.channel == "sms" and (to is None or m.to == to) and (sender is None or m.sender == sender)
    ][:size]  # fmt: skip
    uri = f"/2010-04-01/Accounts/{account_sid}/Messages.json?PageSize={size}&Page=0"
    ex.reply(200, {
        "messages": [message_json(ex.server.config, m) for m in found],
        "end": max(len(found) - 1, 0), "first_page_uri": uri, "next_page_uri": None,
        "page": 0, "page_size": size, "previous_page_uri": None, "start": 0, "uri": uri,
    })  # fmt: skip


def _refusal(ex: Exchange, form: dict[str, str]) -> tuple[int, int, str] | None:
    """What Twilio refuses before sending, with its code and wording; None when it would send."""
    state, config = ex.server.state, ex.server.config
    to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
    if not to:
        return (400, 21604, "A 'To' phone number is required.")
    if not sender and not form.get("MessagingServiceSid"):
        return (400, 21603, "A 'From' phone number is required.")
    if not body:
        return (400, 21602, "Message body is required.")
    if len(body) > 1600:
        return (400, 21617, "The concatenated message body exceeds the 1600 character limit.")
    if not E164.match(to):
        return (400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if config.twilio_from_numbers and sender not in config.twilio_from_numbers:
        return (
            400,
            21606,
            "The 'From' phone number provided is not a valid message-capable "
            "Twilio phone number for this destination/account.",
        )
    if to in TWILIO_MAGIC_TO:
        code, text = TWILIO_MAGIC_TO[to]
        return (400, code, text)
    if to in state.opted_out:
        return (400, 21610, "Attempt to send to unsubscribed recipient")
    return None


def create_message(ex: Exchange, path_sid: str) -> None:
    raw = ex.read_body()
    if not authorised(ex, path_sid):
        return
    state = ex.server.state
    form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode("utf-8")).items()}
    to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
    error = _refusal(ex, form)
    if error is not None:
        state.note_rejected()
        ex.reply(error[0], twilio_error(*error))
        return
    delay_ms, fault = state.take_fault("sms", to)
    if delay_ms:
        time.sleep(delay_ms / 1000)
    if fault is not None and fault.status is not None:
        code, text = TWILIO_ERRORS.get(fault.status, (fault.status * 100, "Error"))
        headers = {"Retry-After": "1"} if fault.status == 429 else None
        ex.reply(fault.status, twilio_error(fault.status, fault.code or code, text), headers)
        return
    if ex.refused_over_rate(sender or form.get("MessagingServiceSid", ""),
                            twilio_error(429, 20429, "Too Many Requests")):  # fmt: skip
        return
    lost = state.take_answer_fault("sms", to)
    if lost == "dropped":
        ex.hang_up()
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
        ex.hang_up()
        return
    ex.reply(201, message_json(ex.server.config, message))


def lookup(ex: Exchange, path: str) -> bool:
    """Answer a Lookup or lookup-control GET; False when ``path`` is not one."""
    book = ex.server.line_types
    if path == "/_emulator/lookups":
        ex.reply(200, {"lookups": book.counts()})
        return True
    match = LOOKUP_PATH.match(path)
    if match is None:
        return False
    if ex.headers.get("Authorization") != _basic_auth(ex.server.config):
        ex.server.state.note_rejected()
        ex.reply(401, {"code": 20003, "message": "Authenticate", "status": 401,
                       "more_info": "https://www.twilio.com/docs/errors/20003"})
        return True
    number = urllib.parse.unquote(match.group(1))
    delay_ms, fault = ex.server.state.take_fault("lookup", number)
    if delay_ms:
        time.sleep(delay_ms / 1000)
    if fault is not None and fault.status is not None:
        code = fault.code or fault.status * 100
        ex.reply(fault.status, {"code": code, "message": "Lookup failed", "status": fault.status,
                                "more_info": f"https://www.twilio.com/docs/errors/{code}"})
        return True
    ex.reply(200, lookup_json(number, book.answer(number)))
    return True


def send_status_callback(
    ex: Exchange, message: dict[str, Any], status: str, error_code: int | None
) -> dict[str, Any]:
    config = ex.server.config
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
    code, _ = post(
        url,
        urllib.parse.urlencode(params).encode(),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            TWILIO_SIGNATURE_HEADER: signature,
        },
    )
    ex.server.state.by_sid[message["sid"]].status = status
    return {"sid": message["sid"], "http_status": code}


def send_inbound(ex: Exchange, body: dict[str, Any]) -> dict[str, Any]:
    config, state = ex.server.config, ex.server.state
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
    code, reply = post(
        url,
        urllib.parse.urlencode(params).encode(),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            TWILIO_SIGNATURE_HEADER: twilio_signature(config.twilio_auth_token, url, params),
        },
    )
    return {"http_status": code, "reply": reply, "message_sid": params["MessageSid"]}
