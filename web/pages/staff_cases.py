"""Staff pages for a case's life: the case page, where staff decide eligibility, record consent
taken by phone, set the session's needs, cancel, record a no-show, a withdrawal or the outcome;
and the case list, which finds a case by the number parties were sent, the log number, or a
party's phone or email. Recording a case and its parties is :mod:`web.pages.staff_intake`.

Every form is checked by the API's request models and handled by the same domain services as
the API routes; a refusal draws the page again with what was typed and the message beside the
field it concerns (status 422).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import confirmations, phone_lines, referrals, service
from cases.errors import DomainError, InvalidInput, NotFound
from cases.models import Case, CaseState, ConsentStatus, MediationSession, Outcome, Party
from cases.reference import case_ref, search_cases
from cases.session_needs import (
    ACCESS_FEATURES,
    SESSION_LANGUAGES,
    SessionNeeds,
    needs_summary,
    session_language,
    set_session_needs,
)
from scheduler import booking
from web import scheduling
from web.api import views
from web.api.schemas import (
    ConsentIn,
    DecisionIn,
    OutcomeIn,
    ReasonIn,
    SessionNeedsIn,
)
from web.auth import Principal
from web.context import Ctx, Db, WebContext
from web.pages.forms import Form, Posted
from web.pages.party import consent_link_for
from web.pages.staff import MESSAGES as STAFF_MESSAGES
from web.pages.staff import check_csrf, page_user, render

router = APIRouter(include_in_schema=False)

SESSION_CHOICES: dict[str, Any] = {
    "session_languages": list(SESSION_LANGUAGES.items()),
    "interpreters": [("", "No interpreter"), *SESSION_LANGUAGES.items()],
    "access_features": list(ACCESS_FEATURES.items()),
}
CONSENT_CHANNELS = [("phone", "By phone"), ("in_person", "In person"), ("mail", "By mail")]
OUTCOMES = [("successful", "Successful: the parties were heard and understood each other"),
            ("impasse", "Impasse: no resolution (the case returns to investigation)")]
MESSAGES = {
    **STAFF_MESSAGES,
    "created": "Case recorded. Check the policy's recommendation and decide below.",
    "party_saved": "Party details saved.",
    "party_added": "Party added.",
    "decided": "Decision recorded.",
    "consent": "Consent recorded.",
    "cancelled": "Session cancelled; everyone told of it will be told it is off.",
    "no_show": "No-show recorded.",
    "withdrawn": "Withdrawal recorded; the case returns to investigation.",
    "outcome": "Outcome recorded.",
    "needs_saved": "Session needs saved; the matcher uses them from now on.",
    "booked": "Session booked; confirmations and invites are queued for everyone.",
    "rescheduled": "Session moved; everyone is sent the new time and an updated invite.",
}


def _case(db: Db, case_id: int) -> Case:
    return service.get_case(db, case_id)


def party_of(db: Db, case: Case, party_id: int) -> Party:
    party = db.get(Party, party_id)
    if party is None or party.case_id != case.id:
        raise NotFound("party", party_id)
    return party


def _current_session(case: Case) -> MediationSession | None:
    booked = [s for s in case.sessions if s.status == "booked"]
    return booked[-1] if booked else None


# --- the case page ------------------------------------------------------------------------------

def case_view(request: Request, db: Db, ctx: WebContext, user: Principal, case: Case, *,
              forms: dict[str, Form] | None = None, status: int = 200) -> Response:
    consents = {c.party_id: c for c in case.consents}
    now = ctx.now()
    links = {p.id: consent_link_for(ctx, case, p, now) for p in case.parties
             if consents.get(p.id) is not None
             and consents[p.id].status == ConsentStatus.PENDING.value}
    forms = forms or {}
    decide = forms.get("decide") or Form(
        {"eligible": "yes" if case.recommendation == "eligible" else "no"})
    needs = forms.get("needs") or Form({
        "session_language": session_language(case, ctx.policy),
        "interpreter": case.interpreter or "", "access_needs": list(case.access_needs or []),
        "co_mediation": "on" if case.co_mediation else ""})
    msg = request.query_params.get("msg") or ""
    return render(request, ctx, "staff/case.html", user, status=status, case=case,
                  ref=case_ref(case.id), consents=consents, links=links,
                  timeline=views.timeline(db, case), forms=forms, decide_form=decide,
                  blank=Form(), current=_current_session(case), now=now,
                  consent_channels=CONSENT_CHANNELS, outcomes=OUTCOMES,
                  confirmed=confirmations.current(db, case.sessions),
                  confirm_words=confirmations.CHANNEL_WORDS,
                  message=MESSAGES.get(msg), actors=party_actors(case),
                  lines=line_labels(db, case.parties), needs_form=needs,
                  needs_text=needs_summary(case), **SESSION_CHOICES)


def party_actors(case: Case) -> dict[str, str]:
    """How the timeline names a party who acted on their own link page ('party:<id>')."""
    return {f"party:{p.id}": f"the {'officer' if p.role == 'officer' else p.role}, on their "
                             "own page" for p in case.parties}


@router.get("/cases/{case_id:int}")
def case_page(case_id: int, request: Request, db: Db, ctx: Ctx) -> Response:
    user = page_user(request, db)
    return case_view(request, db, ctx, user, _case(db, case_id))


def _again(request: Request, db: Db, ctx: WebContext, user: Principal, case: Case, key: str,
           form: Form) -> Response:
    db.rollback()  # nothing half-done is kept; the page is drawn from the rows as they were
    return case_view(request, db, ctx, user, _case(db, case.id), forms={key: form}, status=422)


def done(case_id: int, msg: str) -> Response:
    return RedirectResponse(f"/cases/{case_id}?msg={msg}", status_code=303)


@router.post("/cases/{case_id:int}/decide")
def decide(case_id: int, request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    case = _case(db, case_id)
    form = Form.posted(data)
    if form.get("eligible") not in ("yes", "no"):
        form.add("eligible", "Choose approve or not eligible.")
        return _again(request, db, ctx, user, case, "decide", form)
    try:
        body = DecisionIn(eligible=form.get("eligible") == "yes", reason=form.opt("reason"))
        referrals.decide(db, case, eligible=body.eligible, reason=body.reason, policy=ctx.policy,
                         now=ctx.now(), actor=user.username)
    except ValidationError as exc:
        form.take_validation(exc)
        return _again(request, db, ctx, user, case, "decide", form)
    except InvalidInput as exc:
        form.take_invalid(exc)
        return _again(request, db, ctx, user, case, "decide", form)
    except DomainError as exc:
        form.add("_form", str(exc))
        return _again(request, db, ctx, user, case, "decide", form)
    return done(case.id, "decided")


@router.post("/cases/{case_id:int}/parties/{party_id}/consent")
def consent_by_phone(case_id: int, party_id: int, request: Request, db: Db, ctx: Ctx,
                     data: Posted) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    case = _case(db, case_id)
    party = party_of(db, case, party_id)
    form = Form.posted(data)
    key = f"consent-{party.id}"
    if form.get("granted") not in ("yes", "no"):
        form.add("granted", "Choose what the party answered.")
        return _again(request, db, ctx, user, case, key, form)
    try:
        body = ConsentIn(granted=form.get("granted") == "yes",
                         channel=form.get("channel") or "phone")  # type: ignore[arg-type]
        referrals.record_consent(db, case, party, granted=body.granted, channel=body.channel,
                                 policy=ctx.policy, now=ctx.now(), actor=user.username)
    except ValidationError as exc:
        form.take_validation(exc)
        return _again(request, db, ctx, user, case, key, form)
    except DomainError as exc:
        form.add("_form", str(exc))
        return _again(request, db, ctx, user, case, key, form)
    return done(case.id, "consent")


def _reason_action(request: Request, db: Db, ctx: WebContext, data: Any, case: Case, key: str,
                   action: Any) -> Response | None:
    """Check a reason form and run ``action(reason)``; a refusal draws the page again."""
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    form = Form.posted(data)
    try:
        body = ReasonIn(reason=form.get("reason"))
        action(user, body.reason)
    except ValidationError as exc:
        form.take_validation(exc)
    except InvalidInput as exc:
        form.take_invalid(exc)
    except DomainError as exc:
        form.add("_form", str(exc))
    if form.ok:
        return None
    return _again(request, db, ctx, user, case, key, form)


def _session_of(db: Db, session_id: int) -> MediationSession:
    row = db.get(MediationSession, session_id)
    if row is None:
        raise NotFound("session", session_id)
    return row


@router.post("/sessions/{session_id:int}/cancel")
def cancel(session_id: int, request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    row = _session_of(db, session_id)
    case = _case(db, row.case_id)
    failed = _reason_action(request, db, ctx, data, case, f"cancel-{row.id}", lambda user, reason:
                            scheduling.cancel(db, ctx, row, reason=reason, actor=user.username))
    return failed or done(case.id, "cancelled")


@router.post("/sessions/{session_id:int}/no-show")
def no_show(session_id: int, request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    row = _session_of(db, session_id)
    case = _case(db, row.case_id)
    failed = _reason_action(request, db, ctx, data, case, f"noshow-{row.id}", lambda user, reason:
                            scheduling.no_show(db, ctx, row, reason=reason, actor=user.username))
    return failed or done(case.id, "no_show")


@router.post("/cases/{case_id:int}/withdraw")
def withdraw(case_id: int, request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    case = _case(db, case_id)
    failed = _reason_action(request, db, ctx, data, case, "withdraw", lambda user, reason:
                            scheduling.withdraw(db, ctx, case, reason=reason,
                                                actor=user.username))
    return failed or done(case.id, "withdrawn")


@router.post("/cases/{case_id:int}/outcome")
def outcome(case_id: int, request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    case = _case(db, case_id)
    form = Form.posted(data)
    try:
        body = OutcomeIn(outcome=form.get("outcome"), note=form.opt("note"))  # type: ignore[arg-type]
        booking.record_outcome(db, case, Outcome(body.outcome), now=ctx.now(),
                               actor=user.username, note=body.note)
    except ValidationError as exc:
        form.take_validation(exc)
    except InvalidInput as exc:
        form.take_invalid(exc)
    except DomainError as exc:
        form.add("_form", str(exc))
    if not form.ok:
        return _again(request, db, ctx, user, case, "outcome", form)
    return done(case.id, "outcome")


def needs_data(form: Form) -> dict[str, Any]:
    """The session's fields of a posted form (interpreter "" means none)."""
    return {"session_language": form.get("session_language"),
            "interpreter": form.get("interpreter"),
            "access_needs": form.many("access_needs"),
            "co_mediation": form.flag("co_mediation")}


@router.post("/cases/{case_id:int}/session-needs")
def session_needs(case_id: int, request: Request, db: Db, ctx: Ctx, data: Posted) -> Response:
    user = page_user(request, db)
    check_csrf(user, str(data.get("csrf_token", "")))
    case = _case(db, case_id)
    form = Form.posted(data, lists=("access_needs",))
    try:
        body = SessionNeedsIn.model_validate(needs_data(form))
        set_session_needs(db, case, SessionNeeds(**body.model_dump()), ctx.policy,
                          now=ctx.now(), actor=user.username)
    except ValidationError as exc:
        form.take_validation(exc, known=("session_language", "interpreter", "access_needs"))
        return _again(request, db, ctx, user, case, "needs", form)
    except InvalidInput as exc:
        form.take_invalid(exc)
        return _again(request, db, ctx, user, case, "needs", form)
    return done(case.id, "needs_saved")


def line_labels(db: Session, parties: list[Party]) -> dict[str, str]:
    """What staff read next to each number: 'landline', 'mobile', 'VoIP', 'not checked'..."""
    found = phone_lines.line_types(db, [p.phone for p in parties])
    return {number: phone_lines.LABELS[kind] for number, kind in found.items()}


# --- the case list and search ---------------------------------------------------------------

@router.get("/cases")
def case_list(request: Request, db: Db, ctx: Ctx,
              state: Annotated[CaseState | None, Query()] = None,
              q: Annotated[str, Query(max_length=200)] = "") -> Response:
    user = page_user(request, db)
    if q.strip():
        found = search_cases(db, q)
        if len(found) == 1:
            return RedirectResponse(f"/cases/{found[0].id}", status_code=303)
        cases = found
    else:
        query = select(Case).order_by(Case.id.desc()).limit(200)
        if state is not None:
            query = query.where(Case.state == state.value)
        cases = list(db.scalars(query))
    return render(request, ctx, "staff/cases.html", user, cases=cases, q=q,
                  states=list(CaseState), state=state.value if state else "",
                  since=ctx.now() - timedelta(days=3650))
