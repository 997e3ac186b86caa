"""A party changes their session themselves, from their booking link: moves it to one of the
times the matcher offers (:mod:`scheduler.self_service`), or withdraws from mediation after a
plain confirmation step (:func:`scheduler.booking.withdraw`).

Every form carries a token made from the secret key, the page's own link token and what the form
does (for a move: the session's sequence when the page was drawn and the time chosen), so a post
that did not come from the page the party was shown is refused, and a form left open on a phone
after the session changed is recognised as out of date. A tap repeated, or made on two phones at
once, changes the session once (see :mod:`scheduler.self_service`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from cases.errors import DomainError
from cases.models import AuditEvent, Case, CaseState, MediationSession, Party, Venue
from notifiers.compose.rendering import clock_time, format_when
from scheduler import profiles, self_service
from scheduler.booking import BookingOption
from scheduler.self_service import Moved
from web import scheduling
from web.context import Ctx, Db, WebContext
from web.pages.i18n import Strings
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

router = APIRouter(prefix="/p", include_in_schema=False)

#: case states a party may withdraw from on their page (before consent, they decline instead)
WITHDRAWABLE = frozenset({CaseState.CONSENTED.value, CaseState.SCHEDULING.value,
                          CaseState.BOOKED.value})
#: what the page says after a move, by its outcome (``?done=``)
MOVE_MESSAGES = {Moved.MOVED: "moved", Moved.ALREADY: "moved", Moved.CHANGED: "move_changed",
                 Moved.TAKEN: "move_taken", Moved.NOT_BOOKABLE: "move_taken",
                 Moved.LIMIT: "move_limit", Moved.NOT_BOOKED: "move_changed"}
Text = Annotated[str, Form(max_length=200)]


def form_token(secret: str, link_token: str, *parts: object) -> str:
    """The token a party form carries: bound to this link and to what the form does."""
    message = "\x1f".join(["party-form", link_token, *(str(p) for p in parts)]).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:40]


def _good(secret: str, sent: str, link_token: str, *parts: object) -> bool:
    return hmac.compare_digest(sent.encode(), form_token(secret, link_token, *parts).encode())


def option_value(option: BookingOption) -> str:
    """A move's choice as the form posts it: start|end|mediator ids|venue id (UTC)."""
    return "|".join([option.start.isoformat(), option.end.isoformat(),
                     "-".join(str(m) for m in option.mediator_ids), str(option.venue_id)])


def parse_option(value: str) -> BookingOption | None:
    try:
        start, end, mediators, venue = value.split("|")
        ids = tuple(int(m) for m in mediators.split("-"))
        option = BookingOption(ids, int(venue), datetime.fromisoformat(start),
                               datetime.fromisoformat(end))
    except ValueError:
        return None
    return option if option.start.tzinfo and option.end.tzinfo else None


def span_text(start: datetime, end: datetime, zone: str, language: str) -> str:
    """'miércoles 9 de diciembre, 17:00 CST – 18:30', as the notices write a session's time."""
    until = clock_time(end.astimezone(ZoneInfo(zone)), language)
    return f"{format_when(start, zone, language)} – {until}"


@dataclass(frozen=True, slots=True)
class OfferView:
    label: str
    place: str | None  # the place, when it is not the session's current one
    value: str
    token: str


@dataclass(frozen=True, slots=True)
class ChangesView:
    """What the booking page shows for changing the session."""

    offers: tuple[OfferView, ...]
    blocked: str | None  # Blocked's value, or None when there are offers
    moves_left: int
    sequence: int
    can_withdraw: bool


def changes_view(db: Db, ctx: WebContext, token: str, party: Party, row: MediationSession | None,
                 t: Strings) -> ChangesView:
    case = party.case
    rules = scheduling.rules(ctx)
    found = self_service.offers(db, case, row, rules, now=ctx.now())
    sequence = row.sequence if row is not None else 0
    offers = []
    for option in found.options:
        value = option_value(option)
        venue = db.get(Venue, option.venue_id)
        place = None
        if venue is not None and row is not None and venue.id != row.venue_id:
            place = t("video") if venue.kind == "video" else venue.name
        offers.append(OfferView(span_text(option.start, option.end, party.time_zone,
                                          t.language), place, value,
                                form_token(ctx.secret, token, "move", sequence, value)))
    return ChangesView(tuple(offers), found.blocked.value if found.blocked else None,
                       found.moves_left, sequence, _withdrawable(case, row, ctx.now()))


def _withdrawable(case: Case, row: MediationSession | None, now: datetime) -> bool:
    started = row is not None and row.status in profiles.ACTIVE and row.starts_at <= now
    return case.state in WITHDRAWABLE and not started


@router.post("/booking/{token}/move")
def move(token: str, request: Request, db: Db, ctx: Ctx, option: Text, sequence: Text,
         csrf_token: Text, lang: Lang = None) -> Response:
    try:
        party = _party(ctx, db, token, "booking")
    except LinkProblem as problem:
        return link_problem(request, ctx, problem, lang)
    back = request.url.path.removesuffix("/move")
    chosen = parse_option(option)
    if chosen is None or not sequence.isdigit() \
            or not _good(ctx.secret, csrf_token, token, "move", sequence, option):
        return _same_page(request, lang, path=back, done="move_stale")
    row = current_session(db, party.case_id)
    if row is None:
        return _same_page(request, lang, path=back)
    outcome = self_service.move(db, row, chosen, scheduling.rules(ctx),
                                expected_sequence=int(sequence), now=ctx.now(),
                                actor=f"party:{party.id}")
    return _same_page(request, lang, path=back, done=MOVE_MESSAGES[outcome])


@router.get("/booking/{token}/withdraw")
def withdraw_page(token: str, request: Request, db: Db, ctx: Ctx, lang: Lang = None) -> Response:
    try:
        party = _party(ctx, db, token, "booking")
    except LinkProblem as problem:
        return link_problem(request, ctx, problem, lang)
    t = _strings(request, party, lang)
    row = current_session(db, party.case_id)
    return _render(request, ctx, "party/withdraw.html", t, party=party,
                   open=_withdrawable(party.case, row, ctx.now()),
                   csrf_token=form_token(ctx.secret, token, "withdraw"),
                   back=request.url.path.removesuffix("/withdraw"))


@router.post("/booking/{token}/withdraw")
def withdraw(token: str, request: Request, db: Db, ctx: Ctx, csrf_token: Text,
             lang: Lang = None) -> Response:
    try:
        party = _party(ctx, db, token, "booking")
    except LinkProblem as problem:
        return link_problem(request, ctx, problem, lang)
    back = request.url.path.removesuffix("/withdraw")
    if not _good(ctx.secret, csrf_token, token, "withdraw"):
        return _same_page(request, lang, path=request.url.path)
    case = party.case
    if _withdrawable(case, current_session(db, party.case_id), ctx.now()):
        try:
            scheduling.withdraw(db, ctx, case, reason="by a party on their booking page",
                                actor=f"party:{party.id}")
            return _same_page(request, lang, path=back, done="withdrawn")
        except DomainError:  # a second tap that waited for the first, or the session began
            db.rollback()
    done = {"done": "withdrawn"} if withdrew(db, party) else {}
    return _same_page(request, lang, path=back, **done)


def withdrew(db: Db, party: Party) -> bool:
    """Whether this party withdrew the case from their page (its audit record)."""
    return db.scalar(select(AuditEvent.id).where(
        AuditEvent.case_id == party.case_id, AuditEvent.action == "case.withdrawn",
        AuditEvent.actor == f"party:{party.id}").limit(1)) is not None

