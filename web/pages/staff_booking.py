"""Staff pages for booking: the matcher's proposal first, with alternatives at other times, and a
manual slot checked against every hard constraint by ``scheduler.booking.book`` (the API's
booking path, through ``web.scheduling``); rescheduling a booked session with a reason.

A refused slot draws the page again with each reason beside the field it concerns (mediator,
venue or time) and everything typed kept.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from cases import service
from cases.directory import list_mediators, list_venues, qualification_problems
from cases.errors import DomainError, InvalidInput, NotFound
from cases.models import Case, MediationSession, Mediator, Venue
from cases.reference import case_ref
from scheduler.booking import BookingOption, NotBookable, SlotTaken, is_slot_taken
from scheduler.proposals import propose
from web import scheduling
from web.api.schemas import BookIn, RescheduleIn
from web.auth import Principal
from web.context import Ctx, Db, WebContext
from web.pages.forms import Form, Posted
from web.pages.staff import check_csrf, page_user, render

router = APIRouter(include_in_schema=False)

TIME_WORDS = ("notice", "holiday", "ends before", "times must")
# the words of scheduler.booking.constraints
OVERRIDE_HINT = "(book outside it only with an override_reason)"


def place_reasons(form: Form, reasons: tuple[str, ...] | list[str], *,
                  co_mediator_id: int | None) -> None:
    """Each reason a slot was refused, beside the field it concerns."""
    for reason in reasons:
        head = reason.split(":", 1)[0]
        if OVERRIDE_HINT in reason:  # outside the times people gave: staff may book it with a reason
            name = "override_reason"
            text = reason.replace(OVERRIDE_HINT, "").strip() + (
                "; to book it anyway, say here why (for example: agreed by phone)")
        elif head.startswith("mediator "):
            ident = head.removeprefix("mediator ").strip()
            name = "co_mediator_id" if co_mediator_id is not None and ident == str(
                co_mediator_id) else "mediator_id"
            text = reason.split(":", 1)[1].strip() if ":" in reason else reason
        elif head.startswith("venue "):
            name, text = "venue_id", reason.split(":", 1)[1].strip() if ":" in reason else reason
        elif any(word in reason for word in TIME_WORDS):
            name, text = "starts_local", reason
        elif "mediator" in reason:
            name, text = "mediator_id", reason
        else:
            name, text = "_form", reason
        current = form.errors.get(name)
        text = text[:1].upper() + text[1:]
        form.errors[name] = f"{current} {text}." if current else f"{text}."


#: what booking or moving a session may raise that the form shows (see :func:`refused_on_form`)
REFUSALS = (ValidationError, DomainError, IntegrityError)


def refused_on_form(form: Form, exc: Exception, *, co_mediator_id: int | None) -> None:
    """Why booking or moving a session was refused, beside the field it concerns; what is not
    a refusal (an integrity error other than the slot guard) is raised again. One mapping for the
    booking and the reschedule form, so the two cannot show the same refusal differently."""
    if isinstance(exc, ValidationError):
        form.take_validation(exc)
    elif isinstance(exc, NotBookable):
        place_reasons(form, exc.reasons, co_mediator_id=co_mediator_id)
    elif isinstance(exc, SlotTaken) or (isinstance(exc, IntegrityError) and is_slot_taken(exc)):
        form.add("starts_local", "Someone or the room was booked at that time just now; "
                                 "choose another time.")
    elif isinstance(exc, InvalidInput):
        form.take_invalid(exc)
    elif isinstance(exc, DomainError):
        form.add("_form", str(exc))
    else:
        raise exc


def _local_input(value: datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def _parse_local(form: Form, zone: str) -> datetime | None:
    text = form.get("starts_local")
    if not text:
        form.add("starts_local", "Enter the date and time the session starts.")
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    except ValueError:
        form.add("starts_local", "Enter a date and time like 2026-12-02T17:00.")
        return None


def _minutes(form: Form) -> int | None:
    text = form.get("minutes")
    if not text:
        return None
    if not text.isdigit() or not 30 <= int(text) <= 240:
        form.add("minutes", "Enter a length between 30 and 240 minutes.")
        return None
    return int(text)


def _id(form: Form, name: str, required: bool = True) -> int | None:
    text = form.get(name)
    if not text:
        if required:
            form.add(name, "Choose one.")
        return None
    if not text.isdigit():
        form.add(name, "Choose one of the options.")
        return None
    return int(text)


def _choices(db: Db, ctx: WebContext) -> dict[str, Any]:
    """The mediators (each with why they may not be assigned today) and venues to choose from."""
    today = ctx.now().astimezone(ZoneInfo(ctx.settings.time_zone)).date()
    mediators = []
    for m in list_mediators(db):
        problems = qualification_problems(m, today, ctx.policy.qualification)
        label = f"{m.full_name} ({', '.join(m.languages)})"
        mediators.append((str(m.id), label + (f" — {'; '.join(problems)}" if problems else "")))
    venues = []
    for v in list_venues(db):
        notes = ["video" if v.kind == "video" else "in person"]
        if not v.neutral:
            notes.append("not neutral")
        if v.accessible:
            notes.append("accessible")
        if not v.active:
            notes.append("inactive")
        venues.append((str(v.id), f"{v.name} ({', '.join(notes)})"))
    return {"mediator_choices": mediators, "venue_choices": venues}


def _option_view(db: Db, option: BookingOption) -> dict[str, Any]:
    names = [m.full_name for i in option.mediator_ids if (m := db.get(Mediator, i)) is not None]
    venue = db.get(Venue, option.venue_id)
    return {"option": option, "mediators": names, "venue": venue.name if venue else "?"}


def booking_view(request: Request, db: Db, ctx: WebContext, user: Principal, case: Case,
                 form: Form | None = None, status: int = 200) -> Response:
    now = ctx.now()
    proposals = propose(db, case.id, scheduling.rules(ctx), now=now) \
        if case.state == "scheduling" else None
    if form is None:
        start = (now + timedelta(days=7)).astimezone(ZoneInfo(ctx.settings.time_zone)).replace(
            hour=18, minute=0)
        form = Form({"starts_local": start.strftime("%Y-%m-%dT%H:%M"),
                     "minutes": str(int(ctx.policy.session_length.total_seconds() // 60))})
    return render(request, ctx, "staff/book.html", user, status=status, case=case,
                  ref=case_ref(case.id), form=form,
                  proposals=[_option_view(db, o) for o in proposals.options] if proposals
                  else [], unbooked=proposals.reason if proposals else None,
                  **_choices(db, ctx))


@router.get("/cases/{case_id:int}/book")
def booking_page(case_id: int, request: Request, db: Db, ctx: Ctx) -> Response:
    user = page_user(request, db)
    return booking_view(request, db, ctx, user, service.get_case(db, case_id))


@router.post("/cases/{case_id:int}/book")
def book(case_id: int, request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    case = service.get_case(db, case_id)
    form = Form.posted(data)
    zone = ctx.settings.time_zone
    mediator_id, co_id = _id(form, "mediator_id"), _id(form, "co_mediator_id", required=False)
    venue_id = _id(form, "venue_id")
    if form.get("starts_at"):  # a proposal, in UTC as the matcher made it
        try:
            start: datetime | None = datetime.fromisoformat(form.get("starts_at"))
            end: datetime | None = datetime.fromisoformat(form.get("ends_at"))
            form.values["starts_local"] = _local_input(start, zone)  # type: ignore[arg-type]
        except ValueError:
            start = end = None
            form.add("starts_local", "The proposal could not be read; choose it again.")
    else:
        start, minutes = _parse_local(form, zone), _minutes(form)
        end = start + timedelta(minutes=minutes) if start is not None and minutes else None
    if form.ok:
        try:
            body = BookIn(case_id=case.id, mediator_id=mediator_id or 0, venue_id=venue_id or 0,
                          co_mediator_id=co_id, starts_at=start, ends_at=end,  # type: ignore[arg-type]
                          override_reason=form.get("override_reason") or None)
            scheduling.book(db, ctx, case, mediator_id=body.mediator_id, venue_id=body.venue_id,
                            starts_at=body.starts_at, ends_at=body.ends_at,
                            co_mediator_id=body.co_mediator_id, actor=user.username,
                            override_reason=body.override_reason)
            db.flush()
        except REFUSALS as exc:
            refused_on_form(form, exc, co_mediator_id=co_id)
    if not form.ok:
        db.rollback()
        return booking_view(request, db, ctx, user, service.get_case(db, case_id), form, 422)
    return RedirectResponse(f"/cases/{case.id}?msg=booked", status_code=303)


# --- reschedule ------------------------------------------------------------------------------

def _session(db: Db, session_id: int) -> MediationSession:
    row = db.get(MediationSession, session_id)
    if row is None:
        raise NotFound("session", session_id)
    return row


def reschedule_view(request: Request, db: Db, ctx: WebContext, user: Principal,
                    row: MediationSession, form: Form | None = None,
                    status: int = 200) -> Response:
    if form is None:
        form = Form({"starts_local": _local_input(row.starts_at, ctx.settings.time_zone),
                     "mediator_id": str(row.mediator_id), "venue_id": str(row.venue_id)})
    return render(request, ctx, "staff/reschedule.html", user, status=status, row=row,
                  ref=case_ref(row.case_id), form=form, **_choices(db, ctx))


@router.get("/sessions/{session_id:int}/reschedule")
def reschedule_page(session_id: int, request: Request, db: Db, ctx: Ctx) -> Response:
    user = page_user(request, db)
    return reschedule_view(request, db, ctx, user, _session(db, session_id))


@router.post("/sessions/{session_id:int}/reschedule")
def reschedule(session_id: int, request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    row = _session(db, session_id)
    case_id = row.case_id
    form = Form.posted(data)
    mediator_id, venue_id = _id(form, "mediator_id"), _id(form, "venue_id")
    start = _parse_local(form, ctx.settings.time_zone)
    if not form.get("reason"):
        form.add("reason", "Say why it moves; the parties are told it has moved.")
    if form.ok:
        try:
            body = RescheduleIn(starts_at=start, mediator_id=mediator_id,  # type: ignore[arg-type]
                                venue_id=venue_id, reason=form.get("reason"),
                                override_reason=form.get("override_reason") or None)
            scheduling.reschedule(db, ctx, row, starts_at=body.starts_at, ends_at=None,
                                  mediator_id=body.mediator_id, venue_id=body.venue_id,
                                  reason=body.reason, actor=user.username,
                                  override_reason=body.override_reason)
            db.flush()
        except REFUSALS as exc:
            refused_on_form(form, exc, co_mediator_id=None)
    if not form.ok:
        db.rollback()
        return reschedule_view(request, db, ctx, user, _session(db, session_id), form, 422)
    return RedirectResponse(f"/cases/{case_id}?msg=rescheduled", status_code=303)
