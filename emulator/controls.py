"""The emulator's test controls, ``POST /_emulator/<name>``: what a test scripts or triggers.

``reset``, ``faults/clear``, ``clock`` ({"now": ISO time}: stamps messages as if then),
``clock/freeze`` ({"now"}: time stands still there until moved or reset),
``faults`` ({"to", "channel", "status", "code", "times", "delay_ms"}),
``answer-faults`` ({"mode": "dropped"|"lost", "to", "channel", "times"}: the connection closes
with no reply, before the message is recorded or after),
``rate-limit`` ({"sender", "per_second", "retry_after"}: 429 with ``Retry-After`` for a sender
over its rate; ``stats`` counts them as ``rate_limited``),
``status-callbacks`` ({"sid"|"all", "status"}: Twilio-signed form POSTs to each message's
StatusCallback), ``sendgrid-events`` ({"sid"|"all", "event"}: ECDSA-signed JSON to the configured
event URL), ``inbound`` ({"from", "body", "url"}: a Twilio-signed inbound SMS),
``line-types`` ({"number", "type"}: what Lookup answers).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from emulator.exchange import Exchange
from emulator.sendgrid import send_events
from emulator.state import AnswerFault, Fault, RateLimit
from emulator.twilio import send_inbound, send_status_callback


def control(ex: Exchange, name: str) -> None:
    body = ex.json_body()
    state = ex.server.state
    if name == "line-types":
        line_type = body.get("type")
        ex.server.line_types.set(str(body["number"]), None if line_type is None else str(line_type))
        ex.reply(200, {"ok": True})
    elif name == "rate-limit":
        # "sender": a From number, Messaging Service SID or SendGrid key
        state.set_rate_limit(RateLimit(
            sender=str(body["sender"]), per_second=float(body["per_second"]),
            retry_after=int(body.get("retry_after", 1))))  # fmt: skip
        ex.reply(200, {"ok": True})
    elif name == "clock/freeze":
        state.frozen_at = datetime.fromisoformat(str(body["now"])).timestamp()
        ex.reply(200, {"ok": True})
    elif name == "reset":
        state.reset()
        ex.server.line_types.reset()
        ex.reply(200, {"ok": True})
    elif name == "clock":
        state.clock_offset = datetime.fromisoformat(str(body["now"])).timestamp() - time.time()
        ex.reply(200, {"ok": True})
    elif name == "faults/clear":
        state.clear_faults()
        ex.reply(200, {"ok": True})
    elif name == "faults":
        state.add_fault(Fault(**body))
        ex.reply(200, {"ok": True})
    elif name == "answer-faults":
        state.add_answer_fault(AnswerFault(**body))
        ex.reply(200, {"ok": True})
    elif name == "status-callbacks":
        _status_callbacks(ex, body)
    elif name == "sendgrid-events":
        targets = [
            m
            for m in state.snapshot()["messages"]
            if m["channel"] == "email" and (body.get("all") or m["sid"] == body.get("sid"))
        ]
        ex.reply(200, {"result": send_events(ex, targets, body)})
    elif name == "inbound":
        ex.reply(200, send_inbound(ex, body))
    else:
        ex.reply(404, {"error": "unknown control"})


def _status_callbacks(ex: Exchange, body: dict[str, Any]) -> None:
    state = ex.server.state
    one = state.by_sid.get(str(body.get("sid")))
    if not body.get("all") and one is None:
        ex.reply(404, {"error": "unknown sid"})
        return
    targets = state.snapshot()["messages"] if one is None or body.get("all") else [one.as_json()]
    status, error_code = body.get("status", "delivered"), body.get("error_code")
    results = [
        send_status_callback(ex, m, status, error_code)
        for m in targets
        if m["channel"] == "sms" and m["status_callback"]
    ]
    ex.reply(200, {"results": results})
