"""Cases: intake, screening, the eligibility decision, consent taken by phone, the timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from cases import audit, referrals, service
from cases.errors import DomainError, NotFound
from cases.links import party_url
from cases.models import Case, CaseState, Consent, Party
from cases.session_needs import SessionNeeds, set_session_needs
from web import scheduling
from web.api import views
from web.api.schemas import (
    CaseIn,
    CaseOut,
    CaseSummary,
    ConsentIn,
    ConsentOut,
    DecisionIn,
    Id,
    LinkIn,
    LinkOut,
    ReasonIn,
    RemindOut,
    SessionNeedsIn,
    TimelineEntry,
)
from web.auth import Staff
from web.context import Ctx, Db
from web.links import party_link_expiry

router = APIRouter(prefix="/cases", tags=["cases"])


def _party(db: Db, case: Case, party_id: int) -> Party:
    party = db.get(Party, party_id)
    if party is None or party.case_id != case.id:
        raise NotFound("party", party_id)
    return party


@router.post("", status_code=201, response_model=CaseOut, summary="Record a case for screening")
def create_case(body: CaseIn, db: Db, ctx: Ctx, user: Staff) -> CaseOut:
    new = body.new_case()
    case = service.add_case(db, new, ctx.policy, now=ctx.now(), actor=user.username)
    return views.case_out(case)


@router.post("/{case_id}/session-needs", response_model=CaseOut,
             summary="Set the session's language, interpreter, access needs, co-mediation")
def session_needs(case_id: Id, body: SessionNeedsIn, db: Db, ctx: Ctx, user: Staff) -> CaseOut:
    case = service.get_case(db, case_id)
    set_session_needs(db, case, SessionNeeds(**body.model_dump()), ctx.policy, now=ctx.now(),
                      actor=user.username)
    return views.case_out(case)


@router.get("", response_model=list[CaseSummary], summary="List cases, optionally by state")
def list_cases(db: Db, user: Staff,
               state: Annotated[CaseState | None, Query()] = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 100,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[CaseSummary]:
    query = select(Case).order_by(Case.id.desc()).limit(limit).offset(offset)
    if state is not None:
        query = query.where(Case.state == state.value)
    return [views.case_summary(c) for c in db.scalars(query)]


@router.get("/{case_id}", response_model=CaseOut, summary="A case with its parties")
def show_case(case_id: Id, db: Db, user: Staff) -> CaseOut:
    return views.case_out(service.get_case(db, case_id))


@router.get("/{case_id}/timeline", response_model=list[TimelineEntry])
def case_timeline(case_id: Id, db: Db, user: Staff) -> list[TimelineEntry]:
    return views.timeline(db, service.get_case(db, case_id))


@router.post("/{case_id}/screen", response_model=CaseOut,
             summary="Run the eligibility policy again and keep its recommendation")
def screen_case(case_id: Id, db: Db, ctx: Ctx, user: Staff) -> CaseOut:
    case = service.get_case(db, case_id)
    if case.state != CaseState.SCREENING.value:
        raise DomainError(f"case {case.id} is {case.state}, not in screening")
    now = ctx.now()
    result = service.screen(db, case, ctx.policy, now=now)
    audit.record(db, at=now, actor=user.username, action="case.screened", case_id=case.id,
                 subject_kind="case", subject_id=case.id,
                 recommendation="eligible" if result.eligible else "ineligible")
    return views.case_out(case)


@router.post("/{case_id}/decision", response_model=CaseOut,
             summary="Approve or refuse mediation; overriding the policy needs a reason")
def decide_case(case_id: Id, body: DecisionIn, db: Db, ctx: Ctx, user: Staff) -> CaseOut:
    case = service.get_case(db, case_id)
    referrals.decide(db, case, eligible=body.eligible, reason=body.reason, policy=ctx.policy,
                     now=ctx.now(), actor=user.username)
    return views.case_out(case)


@router.post("/{case_id}/withdraw", response_model=CaseOut,
             summary="Withdraw the case before its session; it returns to investigation")
def withdraw_case(case_id: Id, body: ReasonIn, db: Db, ctx: Ctx, user: Staff) -> CaseOut:
    case = service.get_case(db, case_id)
    scheduling.withdraw(db, ctx, case, reason=body.reason, actor=user.username)
    return views.case_out(case)


@router.get("/{case_id}/consents", response_model=list[ConsentOut], tags=["consent"])
def list_consents(case_id: Id, db: Db, user: Staff) -> list[ConsentOut]:
    case = service.get_case(db, case_id)
    rows = db.scalars(select(Consent).where(Consent.case_id == case.id).order_by(Consent.id))
    return [views.consent_out(c) for c in rows]


@router.post("/{case_id}/parties/{party_id}/consent", response_model=ConsentOut,
             tags=["consent"], summary="Record a consent or refusal taken by phone")
def record_consent(case_id: Id, party_id: Id, body: ConsentIn, db: Db, ctx: Ctx,
                   user: Staff) -> ConsentOut:
    case = service.get_case(db, case_id)
    party = _party(db, case, party_id)
    consent = referrals.record_consent(db, case, party, granted=body.granted, channel=body.channel,
                                       policy=ctx.policy, now=ctx.now(), actor=user.username)
    return views.consent_out(consent)


@router.post("/{case_id}/parties/{party_id}/link", response_model=LinkOut, tags=["consent"],
             summary="A party's signed link, to read out or send by hand")
def party_link(case_id: Id, party_id: Id, body: LinkIn, db: Db, ctx: Ctx,
               user: Staff) -> LinkOut:
    case = service.get_case(db, case_id)
    party = _party(db, case, party_id)
    now = ctx.now()
    expires = party_link_expiry(case, body.purpose, now)
    audit.record(db, at=now, actor=user.username, action="link.issued", case_id=case.id,
                 subject_kind="party", subject_id=party.id, purpose=body.purpose)
    return LinkOut(url=party_url(ctx.settings.public_base_url, ctx.secret, party_id=party.id,
                                 purpose=body.purpose, expires_at=expires),
                   expires_at=expires)


@router.post("/{case_id}/remind", response_model=RemindOut, tags=["notifications"],
             summary="Send a reminder of the case's booked session now")
def remind_case(case_id: Id, db: Db, ctx: Ctx, user: Staff) -> RemindOut:
    service.get_case(db, case_id)
    rows = scheduling.remind(db, case_id=case_id, now=ctx.now(), actor=user.username)
    return RemindOut(queued=len(rows), notification_ids=[r.id for r in rows])
