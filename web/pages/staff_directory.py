"""Staff pages for the directory: mediators (training with dates, languages, weekly limit,
conflicts of interest, weekly hours, their own calendar) and venues (neutral ground stated,
opening hours, accessibility, video meeting link), and CSV import with an error per bad row.

Checked by the API's request models (``MediatorIn``, ``VenueIn``, ``CalendarIn``) and handled by
the same ``cases.directory`` services as the API; refusals beside their fields, typing kept.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from cases import audit, service
from cases.contacts import SUPPORTED_LANGUAGES
from cases.directory import (
    CalendarSettings,
    NewMediator,
    NewVenue,
    add_mediator,
    add_venue,
    get_mediator,
    get_venue,
    list_mediators,
    list_venues,
    parse_opening_hours,
    qualification_problems,
    set_mediator_calendar,
    update_mediator,
    update_venue,
)
from cases.errors import DomainError, InvalidInput
from cases.importing import import_rows, read_rows
from cases.models import Mediator, Venue
from cases.sealing import Sealer
from cases.session_needs import ACCESS_FEATURES, STEP_FREE
from web.api.schemas import CalendarIn, MediatorIn, VenueIn
from web.auth import Principal
from web.context import Ctx, Db, WebContext
from web.links import DEFAULT_LIFETIME, mediator_url
from web.pages.forms import Form, Posted
from web.pages.staff import check_csrf, page_user, render

router = APIRouter(include_in_schema=False)

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MEDIATOR_KNOWN = (*MediatorIn.model_fields, "hours")
VENUE_KNOWN = (*VenueIn.model_fields,)
IMPORT_KINDS = [("cases", "Cases"), ("mediators", "Mediators"), ("venues", "Venues")]
MAX_CSV_BYTES = 2_000_000
MESSAGES = {"mediator_saved": "Mediator saved.", "venue_saved": "Venue saved.",
            "calendar_saved": "Calendar saved; it is read on the next calendar sync."}


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


@router.get("/directory")
def directory(request: Request, db: Db, ctx: Ctx) -> Response:
    user = page_user(request, db)
    today = ctx.now().astimezone(ZoneInfo(ctx.settings.time_zone)).date()
    mediators = [(m, qualification_problems(m, today, ctx.policy.qualification))
                 for m in list_mediators(db)]
    return render(request, ctx, "staff/directory.html", user, mediators=mediators,
                  venues=list_venues(db),
                  message=MESSAGES.get(request.query_params.get("msg") or ""))


# --- mediators --------------------------------------------------------------------------------

def _mediator_values(m: Mediator) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: "" if getattr(m, name) is None else str(getattr(m, name))
        for name in ("full_name", "email", "phone", "general_training_hours",
                     "general_training_on", "specialized_training_hours",
                     "specialized_training_on", "training_expires_on", "max_sessions_per_week",
                     "time_zone")}
    values["languages"] = list(m.languages)
    values["former_police"] = "on" if m.former_police else ""
    values["active"] = "on" if m.active else ""
    values["conflict_officer_stars"] = "\n".join(c.subject for c in m.conflicts
                                                 if c.kind == "officer")
    values["conflict_people"] = "\n".join(c.subject for c in m.conflicts if c.kind == "person")
    values["hours"] = "\n".join(f"{DAYS[w.weekday]} {w.start_local}-{w.end_local}"
                                for w in m.availability if w.weekday is not None)
    return values


def _mediator_form(request: Request, ctx: WebContext, user: Principal, form: Form,
                   mediator: Mediator | None, status: int = 200,
                   page_link: str | None = None) -> Response:
    return render(request, ctx, "staff/mediator_form.html", user, status=status, form=form,
                  mediator=mediator, page_link=page_link, languages=list(SUPPORTED_LANGUAGES.items()),
                  calendar=Form({"kind": mediator.calendar_kind, "url":
                                 mediator.calendar_url or "", "username":
                                 mediator.calendar_username or ""}) if mediator else None)


@router.get("/directory/mediators/new")
def new_mediator_page(request: Request, db: Db, ctx: Ctx) -> Response:
    user = page_user(request, db)
    form = Form({"languages": ["en"], "max_sessions_per_week": "3", "active": "on",
                 "general_training_hours": "0", "specialized_training_hours": "0"})
    return _mediator_form(request, ctx, user, form, None)


@router.get("/directory/mediators/{mediator_id:int}")
def edit_mediator_page(mediator_id: int, request: Request, db: Db, ctx: Ctx) -> Response:
    user = page_user(request, db)
    mediator = get_mediator(db, mediator_id)
    now = ctx.now()
    audit.record(db, at=now, actor=user.username, action="link.issued",
                 subject_kind="mediator", subject_id=mediator.id, purpose="mediator")
    link = mediator_url(ctx.settings.public_base_url, ctx.secret, mediator_id=mediator.id,
                        expires_at=now + DEFAULT_LIFETIME)
    return _mediator_form(request, ctx, user, Form(_mediator_values(mediator)), mediator,
                          page_link=link)


def _checked_mediator(form: Form) -> tuple[MediatorIn | None, list[service.WeeklyWindow]]:
    raw: dict[str, Any] = {
        "full_name": form.get("full_name"), "email": form.get("email"),
        "languages": form.many("languages"), "former_police": form.flag("former_police"),
        "conflict_officer_stars": _lines(form.get("conflict_officer_stars")),
        "conflict_people": _lines(form.get("conflict_people")),
    }
    for name in ("phone", "general_training_hours", "general_training_on",
                 "specialized_training_hours", "specialized_training_on", "training_expires_on",
                 "max_sessions_per_week", "time_zone"):
        if form.opt(name) is not None:
            raw[name] = form.get(name)
    windows = []
    for line in form.get("hours").splitlines():
        if line.strip():
            try:
                windows.append(service.parse_weekly_window(line, "hours"))
            except InvalidInput as exc:
                form.take_invalid(exc)
    try:
        return MediatorIn.model_validate(raw), windows
    except ValidationError as exc:
        form.take_validation(exc, known=MEDIATOR_KNOWN)
        return None, windows


def _save_hours(db: Db, ctx: WebContext, user: Principal, mediator: Mediator,
                windows: list[service.WeeklyWindow]) -> None:
    service.set_weekly_availability(db, owner_kind="mediator", owner_id=mediator.id,
                                    windows=windows, time_zone=mediator.time_zone,
                                    now=ctx.now(), actor=user.username)


@router.post("/directory/mediators/new")
def new_mediator(request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    form = Form.posted(data, lists=("languages",))
    body, windows = _checked_mediator(form)
    if body is not None and form.ok:
        try:
            mediator = add_mediator(db, NewMediator(**body.model_dump()), now=ctx.now(),
                                    actor=user.username,
                                    qualification=ctx.policy.qualification)
            _save_hours(db, ctx, user, mediator, windows)
        except InvalidInput as exc:
            form.take_invalid(exc)
    if not form.ok:
        db.rollback()
        return _mediator_form(request, ctx, user, form, None, status=422)
    return RedirectResponse("/directory?msg=mediator_saved", status_code=303)


@router.post("/directory/mediators/{mediator_id:int}")
def edit_mediator(mediator_id: int, request: Request, db: Db, ctx: Ctx, data: Posted
                  ) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    mediator = get_mediator(db, mediator_id)
    form = Form.posted(data, lists=("languages",))
    body, windows = _checked_mediator(form)
    if body is not None and form.ok:
        changes = body.model_dump()
        changes["active"] = form.flag("active")
        try:
            update_mediator(db, mediator, changes, now=ctx.now(), actor=user.username,
                            qualification=ctx.policy.qualification)
            _save_hours(db, ctx, user, mediator, windows)
        except InvalidInput as exc:
            form.take_invalid(exc)
    if not form.ok:
        db.rollback()
        return _mediator_form(request, ctx, user, form, get_mediator(db, mediator_id),
                              status=422)
    return RedirectResponse("/directory?msg=mediator_saved", status_code=303)


@router.post("/directory/mediators/{mediator_id:int}/calendar")
def mediator_calendar(mediator_id: int, request: Request, db: Db, ctx: Ctx, data: Posted
                      ) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    mediator = get_mediator(db, mediator_id)
    form = Form.posted(data)
    try:
        body = CalendarIn(kind=form.get("kind") or "none", url=form.opt("url"),  # type: ignore[arg-type]
                          username=form.opt("username"), secret=form.opt("secret"))
        set_mediator_calendar(db, mediator, CalendarSettings(body.kind, body.url, body.username,
                                                             body.secret),
                              sealer=Sealer(ctx.secret), now=ctx.now(), actor=user.username)
    except ValidationError as exc:
        form.take_validation(exc)
    except InvalidInput as exc:
        form.take_invalid(exc, rename={"calendar_kind": "kind", "calendar_url": "url"})
    if not form.ok:
        db.rollback()
        form.values.pop("secret", None)  # a secret is never drawn back into a page
        return _with_calendar(request, ctx, user, get_mediator(db, mediator_id), form)
    return RedirectResponse("/directory?msg=calendar_saved", status_code=303)


def _with_calendar(request: Request, ctx: WebContext, user: Principal, mediator: Mediator,
                   calendar: Form) -> Response:
    return render(request, ctx, "staff/mediator_form.html", user, status=422,
                  form=Form(_mediator_values(mediator)), mediator=mediator, page_link=None,
                  languages=list(SUPPORTED_LANGUAGES.items()), calendar=calendar)


# --- venues ------------------------------------------------------------------------------------

def _hours_text(venue: Venue) -> str:
    parts = []
    for day, spans in sorted(venue.opening_hours.items()):
        for start, end in spans:
            parts.append(f"{DAYS[int(day)].lower()} {start}-{end}")
    return "; ".join(parts)


def _venue_form(request: Request, ctx: WebContext, user: Principal, form: Form,
                venue: Venue | None, status: int = 200) -> Response:
    return render(request, ctx, "staff/venue_form.html", user, status=status, form=form,
                  venue=venue, access_features=[(k, v) for k, v in ACCESS_FEATURES.items()
                                                if k != STEP_FREE])


@router.get("/directory/venues/new")
def new_venue_page(request: Request, db: Db, ctx: Ctx) -> Response:
    user = page_user(request, db)
    return _venue_form(request, ctx, user, Form({"kind": "in_person", "capacity": "6",
                                                 "accessible": "on", "active": "on"}), None)


@router.get("/directory/venues/{venue_id:int}")
def edit_venue_page(venue_id: int, request: Request, db: Db, ctx: Ctx) -> Response:
    user = page_user(request, db)
    v = get_venue(db, venue_id)
    values = {"name": v.name, "kind": v.kind, "address": v.address,
              "neutral": "yes" if v.neutral else "no", "accessible": "on" if v.accessible
              else "", "capacity": str(v.capacity), "opening_hours": _hours_text(v),
              "time_zone": v.time_zone, "video_url": v.video_url or "",
              "directions": v.directions or "",
              "features": list(v.features or []),
              "active": "on" if v.active else ""}
    return _venue_form(request, ctx, user, Form(values), v)


def _checked_venue(form: Form) -> tuple[dict[str, Any] | None, VenueIn | None]:
    if form.get("neutral") not in ("yes", "no"):
        form.add("neutral", "Say whether this is neutral ground (never a police facility).")
    raw: dict[str, Any] = {"name": form.get("name"), "kind": form.get("kind") or "in_person",
                           "address": form.get("address"),
                           "neutral": form.get("neutral") == "yes",
                           "accessible": form.flag("accessible"),
                           "features": form.many("features"),
                           "opening_hours": form.get("opening_hours")}
    for name in ("capacity", "time_zone", "video_url", "directions"):
        if form.opt(name) is not None:
            raw[name] = form.get(name)
    try:
        body = VenueIn.model_validate(raw)
        data = body.model_dump()
        data["opening_hours"] = parse_opening_hours(body.opening_hours)
    except ValidationError as exc:
        form.take_validation(exc, known=VENUE_KNOWN)
        return None, None
    except InvalidInput as exc:
        form.take_invalid(exc)
        return None, None
    return (data, body) if form.ok else (None, None)


@router.post("/directory/venues/new")
def new_venue(request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    form = Form.posted(data, lists=("features",))
    checked, _ = _checked_venue(form)
    if checked is not None:
        try:
            add_venue(db, NewVenue(**checked), now=ctx.now(), actor=user.username)
        except InvalidInput as exc:
            form.take_invalid(exc)
    if not form.ok:
        db.rollback()
        return _venue_form(request, ctx, user, form, None, status=422)
    return RedirectResponse("/directory?msg=venue_saved", status_code=303)


@router.post("/directory/venues/{venue_id:int}")
def edit_venue(venue_id: int, request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    venue = get_venue(db, venue_id)
    form = Form.posted(data, lists=("features",))
    checked, _ = _checked_venue(form)
    if checked is not None:
        checked["active"] = form.flag("active")
        try:
            update_venue(db, venue, checked, now=ctx.now(), actor=user.username)
        except InvalidInput as exc:
            form.take_invalid(exc)
    if not form.ok:
        db.rollback()
        return _venue_form(request, ctx, user, form, get_venue(db, venue_id), status=422)
    return RedirectResponse("/directory?msg=venue_saved", status_code=303)


# --- CSV import ------------------------------------------------------------------------------

@router.get("/directory/import")
def import_page(request: Request, db: Db, ctx: Ctx) -> Response:
    user = page_user(request, db)
    return render(request, ctx, "staff/import.html", user, form=Form({"kind": "cases"}),
                  kinds=IMPORT_KINDS, report=None)


@router.post("/directory/import")
def import_csv(request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    form = Form({"kind": str(data.get("kind") or "")})
    kind = form.get("kind")
    upload = data.get("file")
    report = None
    if kind not in dict(IMPORT_KINDS):
        form.add("kind", "Choose what the file holds.")
    if not isinstance(upload, UploadFile) or not upload.filename:
        form.add("file", "Choose a CSV file to import.")
    else:
        raw = upload.file.read(MAX_CSV_BYTES + 1)
        if len(raw) > MAX_CSV_BYTES:
            form.add("file", "The file is larger than 2 MB; split it into smaller files.")
        elif form.ok:
            try:
                rows, _ = read_rows(io.StringIO(raw.decode("utf-8-sig"), newline=""), kind)
                report = import_rows(db, rows, kind, policy=ctx.policy, now=ctx.now(),
                                     actor=user.username)
            except UnicodeDecodeError:
                form.add("file", "The file is not UTF-8 text; save it as “CSV UTF-8”.")
            except csv.Error as exc:
                form.add("file", f"The file is not valid CSV: {exc}.")
            except InvalidInput as exc:
                form.add("file", exc.message[:1].upper() + exc.message[1:] + ".")
            except DomainError as exc:
                form.add("_form", str(exc))
    return render(request, ctx, "staff/import.html", user, form=form, kinds=IMPORT_KINDS,
                  report=report, status=200 if form.ok else 422)
