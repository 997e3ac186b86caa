"""Party pages, reached from the links in SMS and email: no login, one signed, expiring,
single-purpose token per page (``/p/<purpose>/<token>``).

An invalid or expired link gets a friendly page with the program's phone number and a 404/410,
whatever the party: the answer never says whether a party exists.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from cases import referrals, service
from cases.deadlines import deadline_day, is_past
from cases.errors import DomainError
from cases.links import InvalidLink, party_url, read_link
from cases.models import (
    Case,
    CaseState,
    ConsentStatus,
    MediationSession,
    Party,
)
from notifiers.compose.rendering import format_day
from notifiers.compose.terms import zone_name
from web.context import Ctx, Db, WebContext
from web.links import party_link_expiry
from web.pages.i18n import LANGUAGE_NAMES, Strings, accept_language, pick_language

router = APIRouter(prefix="/p", include_in_schema=False)

PERIODS = {"morning": ("09:00", "12:00"), "afternoon": ("12:00", "17:00"),
           "evening": ("17:00", "20:00")}
AVAILABILITY_STATES = {CaseState.AWAITING_CONSENT.value, CaseState.CONSENTED.value,
                       CaseState.SCHEDULING.value, CaseState.BOOKED.value}
Lang = Annotated[str | None, Query(max_length=8)]


class LinkProblem(Exception):
    def __init__(self, expired: bool) -> None:
        self.expired = expired


def _party(ctx: WebContext, db: Db, token: str, purpose: str) -> Party:
    try:
        claims = read_link(ctx.secret, token, purpose=purpose, now=ctx.now())
    except (InvalidLink, ValueError, KeyError, TypeError) as exc:
        raise LinkProblem(expired="expired" in str(exc)) from exc
    party = db.get(Party, claims.party_id)
    if party is None:
        raise LinkProblem(expired=False)
    return party


def _render(request: Request, ctx: WebContext, name: str, t: Strings, status: int = 200,
            **values: Any) -> Response:
    here = str(request.url.path)
    languages = [(code, label, f"{here}?lang={code}") for code, label in LANGUAGE_NAMES.items()]
    chosen = request.query_params.get("lang")  # kept on the page's own forms and links
    q = "?" + urlencode({"lang": pick_language(chosen)}) if chosen else ""
    return ctx.templates.TemplateResponse(
        request, name,
        {"t": t, "phone": ctx.settings.program_phone, "languages": languages, "q": q, **values},
        status_code=status)


def link_problem(request: Request, ctx: WebContext, problem: LinkProblem, lang: str | None
                 ) -> Response:
    t = Strings(pick_language(lang, accept_language(request.headers.get("accept-language"))))
    return _render(request, ctx, "party/invalid.html", t, status=410 if problem.expired else 404,
                   expired=problem.expired)


def _strings(request: Request, party: Party, lang: str | None) -> Strings:
    return Strings(pick_language(lang, party.language))


def _same_page(request: Request, lang: str | None, *, path: str | None = None, **flags: str
               ) -> RedirectResponse:
    """See Other to ``path`` (default: this page), keeping the chosen language."""
    params = {**({"lang": pick_language(lang)} if lang else {}), **flags}
    query = urlencode(params)
    return RedirectResponse(f"{path or request.url.path}{'?' + query if query else ''}",
                            status_code=303)


def _link(ctx: WebContext, case: Case, party: Party, purpose: str) -> str:
    now = ctx.now()
    return party_url("", ctx.secret, party_id=party.id, purpose=purpose,
                     expires_at=party_link_expiry(case, purpose, now))


# --- consent ---------------------------------------------------------------------------------

@router.get("/consent/{token}")
def consent_page(token: str, request: Request, db: Db, ctx: Ctx, lang: Lang = None,
                 done: Annotated[str | None, Query(max_length=8)] = None) -> Response:
    try:
        party = _party(ctx, db, token, "consent")
    except LinkProblem as problem:
        return link_problem(request, ctx, problem, lang)
    t = _strings(request, party, lang)
    case = party.case
    consent = next((c for c in case.consents if c.party_id == party.id), None)
    status = consent.status if consent else None
    deadline_at = consent.deadline if consent else None
    open_ = (case.state == CaseState.AWAITING_CONSENT.value
             and status == ConsentStatus.PENDING.value and not is_past(deadline_at, ctx.now()))
    next_link = None
    if status == ConsentStatus.GRANTED.value and case.state in AVAILABILITY_STATES:
        next_link = _link(ctx, case, party, "availability")
        if lang:
            next_link += "?" + urlencode({"lang": pick_language(lang)})
    deadline = None  # a date, lasting to the end of that day in the party's zone
    if deadline_at is not None:
        day = format_day(deadline_day(deadline_at, party.time_zone), t.language)
        deadline = f"{day} ({zone_name(party.time_zone, t.language)})"
    return _render(request, ctx, "party/consent.html", t, party=party, consent_status=status,
                   open=open_, done=done, next_link=next_link, deadline=deadline,
                   role=party.role)


@router.post("/consent/{token}")
def consent_answer(token: str, request: Request, db: Db, ctx: Ctx,
                   answer: Annotated[str, Form(max_length=8)], lang: Lang = None) -> Response:
    try:
        party = _party(ctx, db, token, "consent")
    except LinkProblem as problem:
        return link_problem(request, ctx, problem, lang)
    if answer not in ("yes", "no"):
        return _same_page(request, lang)
    try:
        referrals.record_consent(db, party.case, party, granted=answer == "yes", channel="link",
                                 policy=ctx.policy, now=ctx.now(), actor=f"party:{party.id}")
    except DomainError:
        return _same_page(request, lang)  # already answered or closed: the page says so
    return _same_page(request, lang, done=answer)


# --- availability ----------------------------------------------------------------------------

def _checked(party: Party) -> set[str]:
    """Which day/period boxes the party's current windows cover."""
    boxes = set()
    for window in party.availability:
        if window.weekday is None or not window.start_local or not window.end_local:
            continue
        for name, (start, end) in PERIODS.items():
            if window.start_local <= start and end <= window.end_local:
                boxes.add(f"{window.weekday}-{name}")
    return boxes


def windows_from_boxes(boxes: list[str]) -> list[service.WeeklyWindow]:
    """Ticked boxes ('2-evening') to weekly windows, adjacent periods of a day merged."""
    order = list(PERIODS)
    chosen: dict[int, list[int]] = {}
    for box in boxes:
        day_text, _, period = box.partition("-")
        if not day_text.isdigit() or int(day_text) > 6 or period not in PERIODS:
            continue
        chosen.setdefault(int(day_text), []).append(order.index(period))
    windows = []
    for day, indexes in sorted(chosen.items()):
        run: list[int] = []
        for index in [*sorted(set(indexes)), 99]:
            if run and index != run[-1] + 1:
                start = PERIODS[order[run[0]]][0]
                end = PERIODS[order[run[-1]]][1]
                windows.append(service.WeeklyWindow(day, time.fromisoformat(start),
                                                    time.fromisoformat(end)))
                run = []
            run.append(index)
    return windows


@router.get("/availability/{token}")
def availability_page(token: str, request: Request, db: Db, ctx: Ctx, lang: Lang = None,
                      done: Annotated[str | None, Query(max_length=8)] = None) -> Response:
    try:
        party = _party(ctx, db, token, "availability")
    except LinkProblem as problem:
        return link_problem(request, ctx, problem, lang)
    t = _strings(request, party, lang)
    return _render(request, ctx, "party/availability.html", t, party=party,
                   open=party.case.state in AVAILABILITY_STATES, periods=list(PERIODS),
                   checked=_checked(party), done=done,
                   zone=zone_name(party.time_zone, t.language))


@router.post("/availability/{token}")
def availability_answer(token: str, request: Request, db: Db, ctx: Ctx,
                        slot: Annotated[list[str] | None, Form(max_length=21)] = None,
                        lang: Lang = None) -> Response:
    try:
        party = _party(ctx, db, token, "availability")
    except LinkProblem as problem:
        return link_problem(request, ctx, problem, lang)
    if party.case.state not in AVAILABILITY_STATES:
        return _same_page(request, lang)
    windows = windows_from_boxes(slot or [])
    if not windows:
        return _same_page(request, lang, done="empty")
    service.set_weekly_availability(db, owner_kind="party", owner_id=party.id, windows=windows,
                                    time_zone=party.time_zone, now=ctx.now(),
                                    actor=f"party:{party.id}", case_id=party.case_id)
    return _same_page(request, lang, done="1")


# --- booking ---------------------------------------------------------------------------------

def current_session(db: Db, case_id: int) -> MediationSession | None:
    return db.scalars(select(MediationSession).where(MediationSession.case_id == case_id)
                      .order_by(MediationSession.id.desc())).first()


def consent_link_for(ctx: WebContext, case: Case, party: Party, now: datetime) -> str:
    """A full consent URL (used by the staff page to show the link to read out by phone)."""
    return party_url(ctx.settings.public_base_url, ctx.secret, party_id=party.id,
                     purpose="consent", expires_at=party_link_expiry(case, "consent", now))
