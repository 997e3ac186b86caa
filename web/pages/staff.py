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
    Case,
    CaseState,
    Consent,
    ConsentStatus,
    InboundMessage,
    MediationSession,
    Notification,
    NotificationStatus,
    Party,
    SessionStatus,
    StaffRole,
    StaffUser,
)
from web import scheduling
from web.api import reports, views
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
from web.pages.party import consent_link_for

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

@router.get("/")
def dashboard(request: Request, db: Db, ctx: Ctx) -> Response:
    user = page_user(request, db)
    now = ctx.now()
    to_decide = db.scalars(select(Case).where(Case.state == CaseState.SCREENING.value)
                           .order_by(Case.created_at)).all()
    overdue = db.scalars(
        select(Consent).join(Case, Case.id == Consent.case_id)
        .where(Consent.status == ConsentStatus.PENDING.value,
               Case.state == CaseState.AWAITING_CONSENT.value,
               Consent.deadline < now + timedelta(days=3))
        .order_by(Consent.deadline)).all()
    failed = db.scalars(select(Notification).where(Notification.status.in_(
        [NotificationStatus.FAILED.value, NotificationStatus.DEAD.value]))
        .order_by(Notification.id.desc()).limit(50)).all()
    week = db.scalars(select(MediationSession).where(
        MediationSession.status == SessionStatus.BOOKED.value,
        MediationSession.starts_at >= now - timedelta(hours=3),
        MediationSession.starts_at < now + timedelta(days=7))
        .order_by(MediationSession.starts_at)).all()
    scheduling_cases = db.scalars(select(Case).where(Case.state == CaseState.SCHEDULING.value)
                                  .order_by(Case.referred_at)).all()
    texts = db.scalars(select(InboundMessage).where(InboundMessage.needs_staff)
                       .order_by(InboundMessage.id.desc()).limit(50)).all()
    return render(request, ctx, "staff/dashboard.html", user, to_decide=to_decide,
                  overdue=overdue, failed=failed, week=week, scheduling=scheduling_cases,
                  texts=texts, now=now, masked=views.masked_address)


@router.get("/cases")
def case_list(request: Request, db: Db, ctx: Ctx,
              state: Annotated[CaseState | None, Query()] = None) -> Response:
    user = page_user(request, db)
    query = select(Case).order_by(Case.id.desc()).limit(200)
    if state is not None:
        query = query.where(Case.state == state.value)
    return render(request, ctx, "staff/cases.html", user, cases=db.scalars(query).all(),
                  states=list(CaseState), state=state.value if state else "")


@router.get("/cases/{case_id}")
def case_page(case_id: int, request: Request, db: Db, ctx: Ctx) -> Response:
    user = page_user(request, db)
    case = service.get_case(db, case_id)
    consents = {c.party_id: c for c in case.consents}
    now = ctx.now()
    links = {p.id: consent_link_for(ctx, case, p, now) for p in case.parties
             if consents.get(p.id) is not None
             and consents[p.id].status == ConsentStatus.PENDING.value}
    return render(request, ctx, "staff/case.html", user, case=case, consents=consents,
                  links=links, timeline=views.timeline(db, case),
                  mediators=list_mediators(db), venues=list_venues(db),
                  default_start=(now + timedelta(days=7)).astimezone(
                      ZoneInfo(ctx.settings.time_zone)).strftime("%Y-%m-%dT18:00"))


@router.post("/cases/{case_id}/decide")
def decide(case_id: int, request: Request, db: Db, ctx: Ctx, csrf_token: Csrf,
           eligible: Annotated[str, Form(max_length=8)],
           reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    user = page_user(request, db)
    check_csrf(user, csrf_token)
    case = service.get_case(db, case_id)
    service.decide(db, case, eligible=eligible == "yes", reason=reason or None,
                   policy=ctx.policy, now=ctx.now(), actor=user.username)
    return RedirectResponse(f"/cases/{case.id}?msg=decided", status_code=303)


@router.post("/cases/{case_id}/parties/{party_id}/consent")
def consent_by_phone(case_id: int, party_id: int, request: Request, db: Db, ctx: Ctx,
                     csrf_token: Csrf, granted: Annotated[str, Form(max_length=8)]) -> Response:
    user = page_user(request, db)
    check_csrf(user, csrf_token)
    case = service.get_case(db, case_id)
    party = db.get(Party, party_id)
    if party is None or party.case_id != case.id:
        raise NotFound("party", party_id)
    service.record_consent(db, case, party, granted=granted == "yes", channel="phone",
                           policy=ctx.policy, now=ctx.now(), actor=user.username)
    return RedirectResponse(f"/cases/{case.id}?msg=consent", status_code=303)


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


@router.post("/cases/{case_id}/book")
def book(case_id: int, request: Request, db: Db, ctx: Ctx, csrf_token: Csrf,
         mediator_id: Annotated[int, Form(ge=1)], venue_id: Annotated[int, Form(ge=1)],
         starts_local: Annotated[str, Form(max_length=20)],
         override_reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    user = page_user(request, db)
    check_csrf(user, csrf_token)
    case = service.get_case(db, case_id)
    try:
        start = datetime.fromisoformat(starts_local).replace(
            tzinfo=ZoneInfo(ctx.settings.time_zone))
    except ValueError as exc:
        raise InvalidInput("starts_local", "is not a date and time") from exc
    scheduling.book(db, ctx, case, mediator_id=mediator_id, venue_id=venue_id, starts_at=start,
                    ends_at=None, co_mediator_id=None, actor=user.username,
                    override_reason=override_reason.strip() or None)
    return RedirectResponse(f"/cases/{case.id}?msg=booked", status_code=303)


@router.post("/sessions/{session_id}/cancel")
def cancel(session_id: int, request: Request, db: Db, ctx: Ctx, csrf_token: Csrf,
           reason: Annotated[str, Form(min_length=1, max_length=2000)]) -> Response:
    user = page_user(request, db)
    check_csrf(user, csrf_token)
    row = db.get(MediationSession, session_id)
    if row is None:
        raise NotFound("session", session_id)
    scheduling.cancel(db, ctx, row, reason=reason, actor=user.username)
    return RedirectResponse(f"/cases/{row.case_id}?msg=cancelled", status_code=303)


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


@router.get("/reports")
def report_page(request: Request, db: Db, ctx: Ctx) -> Response:
    user = page_user(request, db, StaffRole.VIEWER)
    summary = reports.summarise(reports.rows(db, None, None), ctx.policy, None, None)
    return render(request, ctx, "staff/reports.html", user, summary=summary)
