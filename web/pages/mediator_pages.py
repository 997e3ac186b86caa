"""Mediator pages (signed link, no login): upcoming sessions, accept or decline an assignment,
and the private calendar-feed link (``/calendars/mediators/<feed_token>.ics``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from calendars.push import mediator_feed
from cases import audit
from cases.errors import DomainError
from cases.links import InvalidLink, read_link
from cases.models import AuditEvent, MediationSession, Mediator, SessionStatus, Venue
from cases.outbox import NoticeKind, enqueue
from scheduler import declines
from web import scheduling
from web.context import Ctx, Db, WebContext
from web.links import MEDIATOR_PURPOSE, feed_url

router = APIRouter(include_in_schema=False)


def _mediator(ctx: WebContext, db: Db, token: str) -> Mediator | None:
    try:
        claims = read_link(ctx.secret, token, purpose=MEDIATOR_PURPOSE, now=ctx.now())
    except (InvalidLink, ValueError, KeyError, TypeError):
        return None
    return db.get(Mediator, claims.party_id)


def _invalid(request: Request, ctx: WebContext) -> Response:
    return ctx.templates.TemplateResponse(
        request, "mediator/invalid.html", {"phone": ctx.settings.program_phone}, status_code=404)


def _their_sessions(db: Db, mediator: Mediator) -> list[MediationSession]:
    return list(db.scalars(select(MediationSession).where(
        (MediationSession.mediator_id == mediator.id)
        | (MediationSession.co_mediator_id == mediator.id),
        MediationSession.status == SessionStatus.BOOKED.value)
        .order_by(MediationSession.starts_at)))


def _answers(db: Db, mediator: Mediator) -> dict[int, str]:
    rows = db.scalars(select(AuditEvent).where(
        AuditEvent.action.in_(["assignment.accepted", "assignment.declined"]),
        AuditEvent.actor == f"mediator:{mediator.id}").order_by(AuditEvent.id))
    return {int(r.subject_id or 0): r.action.split(".")[1] for r in rows}


@router.get("/m/{token}")
def mediator_page(token: str, request: Request, db: Db, ctx: Ctx) -> Response:
    mediator = _mediator(ctx, db, token)
    if mediator is None:
        return _invalid(request, ctx)
    now = ctx.now()
    upcoming = [s for s in _their_sessions(db, mediator) if s.ends_at > now]
    venues = {v.id: v for v in db.scalars(select(Venue))}
    return ctx.templates.TemplateResponse(request, "mediator/home.html", {
        "mediator": mediator, "sessions": upcoming, "venues": venues,
        "answers": _answers(db, mediator), "zone": mediator.time_zone,
        "declined": request.query_params.get("declined") == "1",
        "feed": feed_url(ctx.settings.public_base_url, mediator.feed_token),
        "phone": ctx.settings.program_phone, "program": ctx.settings.program_name})


@router.post("/m/{token}/sessions/{session_id}")
def answer_assignment(token: str, session_id: int, request: Request, db: Db, ctx: Ctx,
                      answer: Annotated[str, Form(pattern="^(accept|decline)$")]) -> Response:
    mediator = _mediator(ctx, db, token)
    if mediator is None:
        return _invalid(request, ctx)
    row = db.get(MediationSession, session_id)
    if row is None or mediator.id not in (row.mediator_id, row.co_mediator_id):
        return _invalid(request, ctx)
    now = ctx.now()
    actor = f"mediator:{mediator.id}"
    if answer == "accept":
        audit.record(db, at=now, actor=actor, action="assignment.accepted",
                     case_id=row.case_id, subject_kind="session", subject_id=row.id)
        return RedirectResponse(f"/m/{token}", status_code=303)
    try:  # they leave the session now; another free mediator takes it, or a new time is booked
        declines.decline(db, row, mediator, scheduling.rules(ctx), now=now, actor=actor)
    except DomainError:
        return RedirectResponse(f"/m/{token}", status_code=303)
    enqueue(db, kind=NoticeKind.STAFF_ALERT, recipient=None, due_at=now, now=now,
            case_id=row.case_id, session_id=row.id,
            occurrence=f"declined-{mediator.id}-{row.id}",
            context={"case_id": row.case_id, "alert": "mediator_declined",
                     "mediator_id": mediator.id, "session_id": row.id})
    return RedirectResponse(f"/m/{token}?declined=1", status_code=303)


@router.get("/calendars/mediators/{feed_token}.ics")
def feed(feed_token: str, db: Db, ctx: Ctx) -> Response:
    """The mediator's private, subscribable feed of their sessions (the same events we push)."""
    body = mediator_feed(db, feed_token, ctx.now(), program_name=ctx.settings.program_name)
    if body is None:
        return Response("not found\n", status_code=404, media_type="text/plain")
    return Response(body, media_type="text/calendar; charset=utf-8")
