"""Provider webhooks: Twilio inbound SMS and status callbacks, SendGrid Event Webhook.

Every request is authenticated before anything is read from it: Twilio's ``X-Twilio-Signature``
against the configured public URL (``CMP_PUBLIC_BASE_URL`` + path + query — what Twilio signed,
whatever proxy sits in between), SendGrid's ECDSA signature over timestamp + body with replays
older than 5 minutes refused. Anything else gets 403.

Mounted by the app with ``app.include_router(webhooks.router)``. Its collaborators come from
``get_webhook_deps``, which reads ``request.app.state.web`` by default; tests or another app can
override it with ``app.dependency_overrides``.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from cases.clock import Clock
from cases.database import transaction
from cases.delivery import EVENT_IDS_KEPT, first_delivery, forget_events_before, record_email_opt_out
from cases.policy import Policy
from notifiers.channels.signatures import (
    SENDGRID_SIGNATURE_HEADER,
    SENDGRID_TIMESTAMP_HEADER,
    TWILIO_SIGNATURE_HEADER,
    sendgrid_signature_valid,
    twilio_signature_valid,
)
from notifiers.compose.rendering import Renderer
from notifiers.tracking import handle_inbound_sms, record_delivery_status
from settings import Settings

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
T = TypeVar("T")

TWIML = "application/xml"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
#: SendGrid events that put the address on the suppression list -> the source recorded
EMAIL_OPT_OUT_EVENTS = {"unsubscribe": "unsubscribe", "group_unsubscribe": "unsubscribe",
                        "spamreport": "spam_report"}


@dataclass
class WebhookDeps:
    settings: Settings
    session_factory: sessionmaker[Session]
    clock: Clock
    policy: Policy
    renderer: Renderer


def get_webhook_deps(request: Request) -> WebhookDeps:
    """Collaborators from the web app's context (``app.state.web``); override in other apps."""
    state = request.app.state
    deps: WebhookDeps | None = getattr(state, "webhook_deps", None)
    if deps is None:
        web = state.web
        deps = WebhookDeps(
            settings=web.settings,
            session_factory=web.session_factory,
            clock=web.clock,
            policy=web.policy,
            renderer=Renderer(),
        )
        state.webhook_deps = deps
    return deps


Deps = Annotated[WebhookDeps, Depends(get_webhook_deps)]


def _signed_url(settings: Settings, request: Request) -> str:
    url = settings.public_base_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


async def _twilio_form(request: Request, deps: WebhookDeps) -> dict[str, str] | None:
    """The POSTed form if its signature is good, else None."""
    raw = (await request.body()).decode("utf-8", "replace")
    params = {k: v[-1] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
    token = deps.settings.twilio_auth_token
    valid = token is not None and twilio_signature_valid(
        token.get_secret_value(),
        _signed_url(deps.settings, request),
        params,
        request.headers.get(TWILIO_SIGNATURE_HEADER),
    )
    return params if valid else None


def _in_transaction(deps: WebhookDeps, work: Callable[[Session], T]) -> T:
    with transaction(deps.session_factory) as session:
        return work(session)


def _forbidden() -> Response:
    return Response("invalid signature", status_code=403, media_type="text/plain")


@router.post("/twilio/inbound")
async def twilio_inbound(request: Request, deps: Deps) -> Response:
    params = await _twilio_form(request, deps)
    if params is None:
        return _forbidden()
    now = deps.clock.now()
    result = await run_in_threadpool(
        _in_transaction,
        deps,
        lambda session: handle_inbound_sms(
            session,
            sender=params.get("From", ""),
            body=params.get("Body", ""),
            provider_message_id=params.get("MessageSid") or None,
            policy=deps.policy,
            now=now,
            change_requests_per_day=deps.settings.party_change_requests_per_day,
        ),
    )
    if not result.reply or result.duplicate:
        return Response(EMPTY_TWIML, media_type=TWIML)
    settings = deps.settings
    program = {
        "name": settings.program_name,
        "phone": settings.program_phone,
        "email": settings.program_email,
    }
    text = deps.renderer.reply(result.reply_language, result.intent, program, result.case_refs,
                               when=result.when)
    body = f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}</Message></Response>'
    return Response(body, media_type=TWIML)


@router.post("/twilio/status")
async def twilio_status(request: Request, deps: Deps) -> Response:
    params = await _twilio_form(request, deps)
    if params is None:
        return _forbidden()
    notice = request.query_params.get("notice")
    now = deps.clock.now()
    await run_in_threadpool(
        _in_transaction,
        deps,
        lambda session: record_delivery_status(
            session,
            provider_message_id=params.get("MessageSid", ""),
            notice_id=int(notice) if notice and notice.isdigit() else None,
            status=params.get("MessageStatus", ""),
            error_code=params.get("ErrorCode") or None,
            now=now,
        ),
    )
    return Response(status_code=204)


def _apply_sendgrid_events(session: Session, events: list[dict[str, Any]], deps: WebhookDeps) -> int:
    """Apply each event once: one whose ``sg_event_id`` was applied before (a replayed batch, or
    SendGrid retrying after a lost answer) is skipped."""
    now = deps.clock.now()
    forget_events_before(session, now - EVENT_IDS_KEPT)
    applied = 0
    for event in events:
        if not first_delivery(session, "sendgrid", str(event.get("sg_event_id") or ""), now):
            continue
        notice = str(event.get("notice_id") or "")
        notice_id = int(notice) if notice.isdigit() else None
        message_id = str(event.get("sg_message_id") or "").split(".", 1)[0]
        kind = str(event.get("event") or "")
        if kind in EMAIL_OPT_OUT_EVENTS:
            record_email_opt_out(session, notice_id, str(event.get("email") or ""),
                                 EMAIL_OPT_OUT_EVENTS[kind], now)  # fmt: skip
        elif message_id:
            record_delivery_status(
                session,
                provider_message_id=message_id,
                notice_id=notice_id,
                status=kind,
                error_code=str(event.get("status") or event.get("reason") or "")[:40] or None,
                now=now,
            )
        applied += 1
    return applied


@router.post("/sendgrid/events")
async def sendgrid_events(request: Request, deps: Deps) -> Response:
    payload = await request.body()
    if not sendgrid_signature_valid(
        deps.settings.sendgrid_webhook_public_key,
        payload,
        request.headers.get(SENDGRID_SIGNATURE_HEADER),
        request.headers.get(SENDGRID_TIMESTAMP_HEADER),
        now=deps.clock.now(),
    ):
        return _forbidden()
    try:
        events = json.loads(payload)
    except ValueError:
        return Response("body is not JSON", status_code=400, media_type="text/plain")
    if not isinstance(events, list):
        return Response("expected a JSON array of events", status_code=400)
    await run_in_threadpool(
        _in_transaction,
        deps,
        lambda session: _apply_sendgrid_events(session, [e for e in events if isinstance(e, dict)], deps),
    )
    return Response(status_code=204)
