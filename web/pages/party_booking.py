"""The party's booking page, reached from the link in their booking confirmation: when and
where the session is (in the party's own zone, named as a person names it), the video link for a
video session (only here, on the party's own link, and on the mediators' pages), the invite
file, the times they can move the session to themselves (:mod:`web.pages.party_changes`), a
request to staff when no time fits or the limit is reached, and the way to withdraw.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from calendars.rendering import render_event
from calendars.sessions import session_event
from cases import confirmations
from cases.models import SessionStatus, Venue
from notifiers.compose.terms import ltr, zone_name
from web.context import Ctx, Db
from web.pages.party import (
    Lang,
    LinkProblem,
    _party,
    _render,
    _same_page,
    _strings,
    current_session,
    link_problem,
)
from web.pages.party_changes import changes_view, span_text, withdrew

router = APIRouter(prefix="/p", include_in_schema=False)
Done = Annotated[str | None, Query(max_length=16)]


@router.get("/booking/{token}")
def booking_page(token: str, request: Request, db: Db, ctx: Ctx, lang: Lang = None,
                 done: Done = None) -> Response:
    try:
        party = _party(ctx, db, token, "booking")
    except LinkProblem as problem:
        return link_problem(request, ctx, problem, lang)
    t = _strings(request, party, lang)
    row = current_session(db, party.case_id)
    venue = db.get(Venue, row.venue_id) if row else None
    when = None
    if row is not None:  # as the notices write it, in the party's language and zone
        when = span_text(row.starts_at, row.ends_at, party.time_zone, t.language)
    return _render(request, ctx, "party/booking.html", t, party=party, session=row,
                   venue=venue, when=when, done=done,
                   zone=zone_name(party.time_zone, t.language),
                   booked=row is not None and row.status == SessionStatus.BOOKED.value,
                   changes=changes_view(db, ctx, token, party, row, t),
                   withdrawn=withdrew(db, party), case_state=party.case.state,
                   invite_url=f"{request.url.path}/invite.ics",
                   withdraw_url=f"{request.url.path}/withdraw",
                   move_url=f"{request.url.path}/move")


@router.post("/booking/{token}")
def booking_change(token: str, request: Request, db: Db, ctx: Ctx, lang: Lang = None
                   ) -> Response:
    try:
        party = _party(ctx, db, token, "booking")
    except LinkProblem as problem:
        return link_problem(request, ctx, problem, lang)
    row = current_session(db, party.case_id)
    if row is None or row.status != SessionStatus.BOOKED.value:
        return _same_page(request, lang)
    if not confirmations.request_change(db, party, row, now=ctx.now(), via="page",
                                        per_day=ctx.settings.party_change_requests_per_day):
        return _same_page(request, lang, done="limit")
    return _same_page(request, lang, done="1")


@router.get("/booking/{token}/invite.ics")
def booking_invite(token: str, request: Request, db: Db, ctx: Ctx, lang: Lang = None
                   ) -> Response:
    try:
        party = _party(ctx, db, token, "booking")
    except LinkProblem as problem:
        return link_problem(request, ctx, problem, lang)
    row = current_session(db, party.case_id)
    if row is None or row.status != SessionStatus.BOOKED.value:
        return link_problem(request, ctx, LinkProblem(expired=False), lang)
    t = _strings(request, party, lang)
    event = session_event(
        row, summary=f"{t('invite_summary')} — {ctx.settings.program_name}",
        description=t("help", phone=ltr(ctx.settings.program_phone) if t.dir == "rtl"
                      else ctx.settings.program_phone),
        fallback_zone=party.time_zone)
    body = render_event(event, dtstamp=ctx.now(), alarm_minutes=60)
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="mediation.ics"'})

