"""The staff dashboard: sign in, the work queue, a case page with its timeline and a "send
reminder" button, a calendar of sessions by mediator and venue, and reports for viewers.

Plain HTML forms; every form post carries the CSRF token of the signed-in session.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from cases import service
from cases.directory import list_mediators, list_venues
from cases.errors import InvalidInput, NotFound
from cases.models import (
    MediationSession,
    Notification,
    SessionStatus,
    StaffRole,
    StaffUser,
)
from web import scheduling
from web.api.notifications import resend_notice
from web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    Principal,
    authenticate,
    client_ip,
    end_sessions,
    make_session_cookie,
    principal_from_cookie,
)
from web.context import Ctx, Db, WebContext

router = APIRouter(include_in_schema=False)

MESSAGES = {
    "decided": "Decision recorded.",
    "consent": "Consent recorded.",
    "reminder": "Reminder queued: it goes out with the next dispatch.",
    "booked": "Session booked; confirmations are queued.",
    "cancelled": "Session cancelled; parties will be told.",
    "resent": "Notice queued again.",
}


class _Redirect(HTTPException):
    def __init__(self, location: str) -> None:
        super().__init__(303, "see other", headers={"Location": location})


def page_user(request: Request, db: Db, role: StaffRole = StaffRole.STAFF) -> Principal:
    principal = principal_from_cookie(request, db)
    if principal is None:
        raise _Redirect(f"/login?next={quote(request.url.path)}")
    if not principal.at_least(role):
        if principal.at_least(StaffRole.VIEWER):
            raise _Redirect("/reports")
        raise HTTPException(403, "forbidden")
    return principal


def check_csrf(principal: Principal, token: str) -> None:
    if not hmac.compare_digest(token, principal.csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")


def render(request: Request, ctx: WebContext, name: str, user: Principal | None,
           status: int = 200, **values: Any) -> Response:
    msg = request.query_params.get("msg")
    return ctx.templates.TemplateResponse(
        request, name,
        {"user": user, "message": MESSAGES.get(msg or ""), "zone": ctx.settings.time_zone,
         "program": ctx.settings.program_name, **values},
        status_code=status)


Csrf = Annotated[str, Form(max_length=100)]


# --- sign in ---------------------------------------------------------------------------------

@router.get("/login")
def login_page(request: Request, ctx: Ctx, next: Annotated[str, Query(max_length=200)] = "/"
               ) -> Response:
    token = secrets.token_urlsafe(16)
    response = render(request, ctx, "staff/login.html", None, csrf=token, next=_safe_next(next),
                      error=None)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=ctx.cookie_secure, max_age=3600)
    return response


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login")
def login(request: Request, db: Db, ctx: Ctx, username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=200)], csrf_token: Csrf,
          next: Annotated[str, Form(max_length=200)] = "/") -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    ip = client_ip(request)

    def again(status: int, error: str) -> Response:
        token = secrets.token_urlsafe(16)
        response = render(request, ctx, "staff/login.html", None, status=status, csrf=token,
                          next=_safe_next(next), error=error)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=ctx.cookie_secure, max_age=3600)
        return response

    if not expected or not hmac.compare_digest(expected, csrf_token):
        return again(403, "Your sign-in form expired. Please try again.")
    if not ctx.limiter.attempt(username, ip):
        minutes = int(ctx.limiter.window.total_seconds() // 60)
        return again(429, f"Too many attempts. Please wait {minutes} minutes and try again.")
    user = authenticate(db, username, password)
    if user is None:
        return again(401, "Wrong username or password.")
    ctx.limiter.succeeded(db, username)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, make_session_cookie(ctx.secret, user, ctx.now()),
                        httponly=True, samesite="lax", secure=ctx.cookie_secure,
                        max_age=int(SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, db: Db, csrf_token: Csrf) -> Response:
    user = page_user(request, db, StaffRole.VIEWER)
    check_csrf(user, csrf_token)
    row = db.get(StaffUser, user.user_id)
    if row is not None:
        end_sessions(row)  # the cookie stops working everywhere, not only in this browser
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# --- work queue ------------------------------------------------------------------------------

@router.post("/cases/{case_id}/remind")
def remind_case(case_id: int, request: Request, db: Db, ctx: Ctx, csrf_token: Csrf) -> Response:
    user = page_user(request, db)
    check_csrf(user, csrf_token)
    service.get_case(db, case_id)
    scheduling.remind(db, case_id=case_id, now=ctx.now(), actor=user.username)
    return RedirectResponse(f"/cases/{case_id}?msg=reminder", status_code=303)


@router.post("/sessions/{session_id}/remind")
def remind_session(session_id: int, request: Request, db: Db, ctx: Ctx,
                   csrf_token: Csrf) -> Response:
    user = page_user(request, db)
    check_csrf(user, csrf_token)
    row = db.get(MediationSession, session_id)
    if row is None:
        raise NotFound("session", session_id)
    scheduling.remind(db, session_id=row.id, now=ctx.now(), actor=user.username)
    return RedirectResponse(f"/cases/{row.case_id}?msg=reminder", status_code=303)


@router.post("/notifications/{notification_id}/resend")
def resend(notification_id: int, request: Request, db: Db, ctx: Ctx, csrf_token: Csrf
           ) -> Response:
    user = page_user(request, db)
    check_csrf(user, csrf_token)
    row = db.get(Notification, notification_id)
    if row is None:
        raise NotFound("notification", notification_id)
    resend_notice(db, row, now=ctx.now(), actor=user.username)
    return RedirectResponse("/?msg=resent", status_code=303)


# --- calendar and reports --------------------------------------------------------------------

@router.get("/calendar")
def calendar(request: Request, db: Db, ctx: Ctx,
             week: Annotated[str | None, Query(max_length=10)] = None,
             by: Annotated[str, Query(pattern="^(mediator|venue)$")] = "mediator") -> Response:
    user = page_user(request, db)
    zone = ZoneInfo(ctx.settings.time_zone)
    try:
        anchor = datetime.fromisoformat(week).date() if week else ctx.now().astimezone(zone).date()
    except ValueError as exc:
        raise InvalidInput("week", "use YYYY-MM-DD") from exc
    monday = anchor - timedelta(days=anchor.weekday())
    start = datetime.combine(monday, datetime.min.time(), tzinfo=zone)
    days = [monday + timedelta(days=i) for i in range(7)]
    rows = db.scalars(select(MediationSession).where(
        MediationSession.starts_at >= start, MediationSession.starts_at < start + timedelta(7),
        MediationSession.status != SessionStatus.CANCELLED.value)
        .order_by(MediationSession.starts_at)).all()
    owners = list_mediators(db) if by == "mediator" else list_venues(db)
    grid: dict[int, dict[int, list[MediationSession]]] = {o.id: {} for o in owners}
    for row in rows:
        key = row.mediator_id if by == "mediator" else row.venue_id
        day = (row.starts_at.astimezone(zone).date() - monday).days
        grid.setdefault(key, {}).setdefault(day, []).append(row)
    return render(request, ctx, "staff/calendar.html", user, by=by, owners=owners, grid=grid,
                  days=days, prev=(monday - timedelta(7)).isoformat(),
                  next=(monday + timedelta(7)).isoformat())
