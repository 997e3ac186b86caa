"""The staff work queue at ``/``: what needs a person now, each item with why and its action.

Party replies to read and answer (the answer goes out through the outbox in the party's language),
change requests, mediators who declined, cases the matcher cannot book with its reason, consent
deadlines close by, sessions not yet confirmed, notices held with the time they will go, failed
notices no fallback covered (in plain words), calendars that are stale. Handling an item takes it
off the queue; who handled it is kept and audited (``cases.queue``).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from cases import confirmations
from cases.errors import DomainError, InvalidInput, NotFound
from cases.models import InboundMessage, MediationSession, SessionStatus
from cases.queue import KINDS, REPLY_MAX, answer_reply, mark_handled
from web import queue, scheduling
from web.api import views
from web.auth import Principal
from web.context import Ctx, Db, WebContext
from web.pages.forms import Form, Posted
from web.pages.staff import MESSAGES, check_csrf, page_user, render

router = APIRouter(include_in_schema=False)

QUEUE_MESSAGES = {**MESSAGES, "answered": "Answer queued: it goes out with the next dispatch.",
                  "handled": "Done: it has left the queue.",
                  "confirmed": "Recorded: they confirmed by phone."}


def queue_view(request: Request, db: Db, ctx: WebContext, user: Principal,
               forms: dict[str, Form] | None = None, status: int = 200) -> Response:
    now = ctx.now()
    items = queue.build(db, scheduling.rules(ctx), now=now,
                        calendar_pull=timedelta(minutes=ctx.settings.calendar_pull_minutes))
    week = db.scalars(select(MediationSession).where(
        MediationSession.status == SessionStatus.BOOKED.value,
        MediationSession.starts_at >= now - timedelta(hours=3),
        MediationSession.starts_at < now + timedelta(days=7))
        .order_by(MediationSession.starts_at)).all()
    return render(request, ctx, "staff/dashboard.html", user, status=status, q=items,
                  week=week, now=now, masked=views.masked_address, forms=forms or {},
                  confirmed=confirmations.current(db, week),
                  confirm_words=confirmations.CHANNEL_WORDS,
                  confirm_hours=ctx.policy.reminders.confirm_by_hours,
                  blank=Form(), reply_max=REPLY_MAX,
                  message=QUEUE_MESSAGES.get(request.query_params.get("msg") or ""))


@router.get("/")
def dashboard(request: Request, db: Db, ctx: Ctx) -> Response:
    return queue_view(request, db, ctx, page_user(request, db))


@router.post("/queue/replies/{message_id:int}/answer")
def answer(message_id: int, request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    message = db.get(InboundMessage, message_id)
    if message is None:
        raise NotFound("message", message_id)
    form = Form.posted(data)
    try:
        answer_reply(db, message, form.get("answer"), now=ctx.now(), actor=user.username)
    except InvalidInput as exc:
        form.take_invalid(exc)
    except DomainError as exc:
        form.add("_form", str(exc))
    if not form.ok:
        db.rollback()
        return queue_view(request, db, ctx, user, {f"reply-{message_id}": form}, status=422)
    return RedirectResponse("/?msg=answered", status_code=303)


@router.post("/queue/{kind}/{ref_id:int}/handled")
def handled(kind: str, ref_id: int, request: Request, db: Db, ctx: Ctx, data: Posted
            ) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    if kind not in KINDS:
        raise NotFound("queue item", kind)
    case_id = data.get("case_id")
    try:
        mark_handled(db, kind, ref_id, now=ctx.now(), actor=user.username,
                     how=str(data.get("how") or "handled")[:32],
                     case_id=int(case_id) if isinstance(case_id, str) and case_id.isdigit()
                     else None)
    except DomainError as exc:
        db.rollback()
        form = Form()
        form.add("_form", str(exc))
        return queue_view(request, db, ctx, user, {f"{kind}-{ref_id}": form}, status=409)
    return RedirectResponse("/?msg=handled", status_code=303)


@router.post("/queue/sessions/{session_id:int}/confirmed")
def confirmed_by_phone(session_id: int, request: Request, db: Db, ctx: Ctx, data: Posted
                       ) -> Response:
    """Staff reached the parties who had not confirmed and they will come: their confirmations
    are recorded (``by phone (staff)``), and the session leaves the queue."""
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    row = db.get(MediationSession, session_id)
    if row is None:
        raise NotFound("session", session_id)
    raw = data.getlist("party_id")
    party_ids = [int(v) for v in raw if isinstance(v, str) and v.isdigit()]
    try:
        confirmations.confirm_by_staff(db, row, party_ids, now=ctx.now(), actor=user.username)
    except DomainError as exc:
        db.rollback()
        form = Form()
        form.add("_form", str(exc))
        return queue_view(request, db, ctx, user, {f"confirmed-{session_id}": form}, status=409)
    return RedirectResponse("/?msg=confirmed", status_code=303)
