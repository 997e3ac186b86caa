"""Mediators: the roster, their sessions, and the links to their page and calendar feed."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from cases import audit
from cases.calendar_urls import AllowedHosts
from cases.directory import (
    CalendarSettings,
    NewMediator,
    add_mediator,
    get_mediator,
    list_mediators,
    set_mediator_calendar,
)
from cases.directory import (
    update_mediator as change_mediator,
)
from cases.models import MediationSession
from cases.sealing import Sealer
from web.api import views
from web.api.schemas import CalendarIn, Id, MediatorIn, MediatorOut, MediatorPatch, SessionOut
from web.auth import Staff
from web.context import Ctx, Db
from web.links import DEFAULT_LIFETIME, feed_url, mediator_url

router = APIRouter(prefix="/mediators", tags=["mediators"])


class MediatorLinks(BaseModel):
    page_url: str
    feed_url: str


@router.get("", response_model=list[MediatorOut])
def mediators(db: Db, user: Staff) -> list[MediatorOut]:
    return [views.mediator_out(m) for m in list_mediators(db)]


@router.post("", status_code=201, response_model=MediatorOut)
def create_mediator(body: MediatorIn, db: Db, ctx: Ctx, user: Staff) -> MediatorOut:
    mediator = add_mediator(db, NewMediator(**body.model_dump()), now=ctx.now(),
                            actor=user.username, qualification=ctx.policy.qualification)
    return views.mediator_out(mediator)


@router.get("/{mediator_id}", response_model=MediatorOut)
def show_mediator(mediator_id: Id, db: Db, user: Staff) -> MediatorOut:
    return views.mediator_out(get_mediator(db, mediator_id))


@router.patch("/{mediator_id}", response_model=MediatorOut)
def update_mediator(mediator_id: Id, body: MediatorPatch, db: Db, ctx: Ctx,
                    user: Staff) -> MediatorOut:
    mediator = get_mediator(db, mediator_id)
    change_mediator(db, mediator, body.model_dump(exclude_unset=True), now=ctx.now(),
                    actor=user.username, qualification=ctx.policy.qualification)
    return views.mediator_out(mediator)


@router.put("/{mediator_id}/calendar", response_model=MediatorOut)
def set_calendar(mediator_id: Id, body: CalendarIn, db: Db, ctx: Ctx, user: Staff) -> MediatorOut:
    """Point the mediator at their own calendar. Moving it drops the old calendar's push records,
    so the next calendar sync writes every current session into the new one."""
    mediator = get_mediator(db, mediator_id)
    set_mediator_calendar(db, mediator, CalendarSettings(body.kind, body.url, body.username, body.secret),
                          sealer=Sealer(ctx.secret), now=ctx.now(), actor=user.username,
                          allowed=AllowedHosts.parse(ctx.settings.calendar_allowed_hosts))
    return views.mediator_out(mediator)


@router.get("/{mediator_id}/sessions", response_model=list[SessionOut])
def mediator_sessions(mediator_id: Id, db: Db, user: Staff) -> list[SessionOut]:
    get_mediator(db, mediator_id)
    rows = db.scalars(select(MediationSession).where(
        (MediationSession.mediator_id == mediator_id)
        | (MediationSession.co_mediator_id == mediator_id)).order_by(MediationSession.starts_at))
    return [views.session_out(r) for r in rows]


@router.post("/{mediator_id}/links", response_model=MediatorLinks,
             summary="The mediator's page link (30 days) and private calendar-feed link")
def mediator_links(mediator_id: Id, db: Db, ctx: Ctx, user: Staff) -> MediatorLinks:
    mediator = get_mediator(db, mediator_id)
    now = ctx.now()
    audit.record(db, at=now, actor=user.username, action="link.issued",
                 subject_kind="mediator", subject_id=mediator.id, purpose="mediator")
    base = ctx.settings.public_base_url
    return MediatorLinks(
        page_url=mediator_url(base, ctx.secret, mediator_id=mediator.id,
                              expires_at=now + DEFAULT_LIFETIME),
        feed_url=feed_url(base, mediator.feed_token))
