"""Staff pages that record a case and its parties: the new-case form, adding a party to a case
and correcting one. Apart from the case page (:mod:`web.pages.staff_cases`) because they draw
forms of their own; a saved form lands back on the case page.

Every form is checked by the API's request models and handled by the same domain services as
the API routes; a refusal draws the form again with what was typed and the message beside the
field it concerns (status 422).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import object_session

from cases import service
from cases.contacts import SUPPORTED_LANGUAGES
from cases.errors import DomainError, InvalidInput
from cases.models import Case, Party
from cases.parties import add_party, update_party
from cases.reference import case_ref
from web.api.schemas import CaseIn, PartyIn
from web.auth import Principal
from web.context import Ctx, Db, WebContext
from web.pages.forms import Form, Posted
from web.pages.staff import check_csrf, page_user, render
from web.pages.staff_cases import SESSION_CHOICES, done, line_labels, needs_data, party_of

router = APIRouter(include_in_schema=False)

PARTY_FIELDS = ("full_name", "phone", "email", "language", "time_zone", "officer_star",
                "interpreter", "accessibility", "guardian_name", "area")
PARTY_KNOWN = (*PARTY_FIELDS, "channels", "role")
LANGUAGES = list(SUPPORTED_LANGUAGES.items())
CHANNELS = [("sms", "Text message (SMS)"), ("email", "Email")]


def _party_data(form: Form, prefix: str, role: str) -> dict[str, Any]:
    data: dict[str, Any] = {"role": role, "channels": form.many(f"{prefix}channels")}
    for name in PARTY_FIELDS:
        value = form.opt(f"{prefix}{name}")
        if value is not None:
            data[name] = value
    return data


def _new_case_form(request: Request, ctx: WebContext, user: Principal, form: Form,
                   status: int = 200) -> Response:
    categories = sorted(ctx.policy.known_categories)
    return render(request, ctx, "staff/case_new.html", user, status=status, form=form,
                  categories=[(c, c.replace("_", " ")) for c in categories],
                  languages=LANGUAGES, channels=CHANNELS, **SESSION_CHOICES)


@router.get("/cases/new")
def new_case_page(request: Request, db: Db, ctx: Ctx) -> Response:
    user = page_user(request, db)
    defaults: dict[str, Any] = {
        "parties[0].language": "en", "parties[1].language": "en",
        "parties[0].channels": ["sms", "email"], "parties[1].channels": ["email"],
        "session_language": ctx.policy.working_language,
        "co_mediation": "on" if ctx.policy.co_mediation else ""}
    return _new_case_form(request, ctx, user, Form(dict(defaults)))


@router.post("/cases/new")
def new_case(request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    form = Form.posted(data, lists=("allegation_categories", "parties[0].channels",
                                    "parties[1].channels", "access_needs"))
    raw: dict[str, Any] = {
        "log_number": form.get("log_number"),
        "incident_date": form.get("incident_date") or None,
        "allegation_categories": form.many("allegation_categories"),
        "parties": [_party_data(form, "parties[0].", "complainant"),
                    _party_data(form, "parties[1].", "officer")],
        "injury": form.flag("injury"), "criminal_conduct": form.flag("criminal_conduct"),
        "pending_litigation": form.flag("pending_litigation"),
        "accepts_video": form.flag("accepts_video"), "staff_notes": form.get("staff_notes"),
        **needs_data(form),
    }
    if not raw["interpreter"]:
        raw.pop("interpreter")  # none chosen: the first a party asked for, if any
    if raw["incident_date"] is None:
        raw.pop("incident_date")
    try:
        body = CaseIn.model_validate(raw)
        new = body.new_case()
        case = service.add_case(db, new, ctx.policy, now=ctx.now(), actor=user.username)
    except ValidationError as exc:
        form.take_validation(exc, known=PARTY_KNOWN)
        return _new_case_form(request, ctx, user, form, status=422)
    except InvalidInput as exc:
        db.rollback()
        form.take_invalid(exc)
        return _new_case_form(request, ctx, user, form, status=422)
    return done(case.id, "created")


def _partyline_labels(party: Party | None) -> dict[str, str]:
    db = object_session(party) if party is not None else None
    return line_labels(db, [party]) if db is not None and party is not None else {}


def _party_form(request: Request, ctx: WebContext, user: Principal, case: Case,
                party: Party | None, form: Form, role: str, status: int = 200) -> Response:
    return render(request, ctx, "staff/party_form.html", user, status=status, case=case,
                  ref=case_ref(case.id), party=party, form=form, role=role,
                  languages=LANGUAGES, channels=CHANNELS,
                  lines=_partyline_labels(party))


def _party_values(party: Party) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(party, name) or "" for name in PARTY_FIELDS}
    values["channels"] = list(party.channels)
    return values


@router.get("/cases/{case_id:int}/parties/{party_id}/edit")
def edit_party_page(case_id: int, party_id: int, request: Request, db: Db, ctx: Ctx
                    ) -> Response:
    user = page_user(request, db)
    case = service.get_case(db, case_id)
    party = party_of(db, case, party_id)
    return _party_form(request, ctx, user, case, party, Form(_party_values(party)), party.role)


def _checked_party(form: Form, role: str) -> PartyIn | None:
    try:
        return PartyIn.model_validate(_party_data(form, "", role))
    except ValidationError as exc:
        form.take_validation(exc, known=PARTY_KNOWN)
        return None


@router.post("/cases/{case_id:int}/parties/{party_id}/edit")
def edit_party(case_id: int, party_id: int, request: Request, db: Db, ctx: Ctx,
               data: Posted) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    case = service.get_case(db, case_id)
    party = party_of(db, case, party_id)
    form = Form.posted(data, lists=("channels",))
    body = _checked_party(form, party.role)
    if body is not None:
        try:
            update_party(db, party, body.new_party(), now=ctx.now(), actor=user.username,
                         prefix="party")
        except InvalidInput as exc:
            form.take_invalid(exc, rename={f"party.{n}": n for n in PARTY_KNOWN})
    if not form.ok:
        db.rollback()
        return _party_form(request, ctx, user, case, db.get(Party, party_id), form, party.role,
                           status=422)
    return done(case.id, "party_saved")


@router.get("/cases/{case_id:int}/parties/new")
def new_party_page(case_id: int, request: Request, db: Db, ctx: Ctx,
                   role: Annotated[str, Query(pattern="^(complainant|officer)$")] = "complainant"
                   ) -> Response:
    user = page_user(request, db)
    case = service.get_case(db, case_id)
    form = Form({"language": "en", "channels": ["sms", "email"], "role": role})
    return _party_form(request, ctx, user, case, None, form, role)


@router.post("/cases/{case_id:int}/parties/new")
def new_party(case_id: int, request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    case = service.get_case(db, case_id)
    form = Form.posted(data, lists=("channels",))
    role = form.get("role") if form.get("role") in ("complainant", "officer") else "complainant"
    body = _checked_party(form, role)
    if body is not None:
        try:
            add_party(db, case, body.new_party(), now=ctx.now(), actor=user.username)
        except InvalidInput as exc:
            form.take_invalid(exc, rename={f"party.{n}": n for n in PARTY_KNOWN})
        except DomainError as exc:
            form.add("_form", str(exc))
    if not form.ok:
        db.rollback()
        return _party_form(request, ctx, user, service.get_case(db, case_id), None, form, role,
                           status=422)
    return done(case.id, "party_added")
