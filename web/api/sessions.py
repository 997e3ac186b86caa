"""Sessions: book, reschedule, cancel, no-show, outcome, and a reminder now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from cases import service
from cases.errors import DomainError, NotFound
from cases.models import MediationSession, Outcome, SessionStatus
from scheduler import booking
from web import scheduling
from web.api import views
from web.api.schemas import (
    MAX_ID,
    BookIn,
    Id,
    Instant,
    OutcomeIn,
    ReasonIn,
    RemindOut,
    RescheduleIn,
    SessionOut,
)
from web.auth import Staff
from web.context import Ctx, Db

router = APIRouter(prefix="/sessions", tags=["sessions"])


def get_session_row(db: Db, session_id: int) -> MediationSession:
    row = db.get(MediationSession, session_id)
    if row is None:
        raise NotFound("session", session_id)
    return row


@router.get("", response_model=list[SessionOut], summary="Sessions, filtered")
def list_sessions(
    db: Db, user: Staff,
    case_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    mediator_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    venue_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Annotated[SessionStatus | None, Query()] = None,
    start: Annotated[Instant | None, Query(description="starts at or after (ISO 8601 with zone)")]
    = None,
    end: Annotated[Instant | None, Query(description="starts before")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[SessionOut]:
    query = select(MediationSession).order_by(MediationSession.starts_at).limit(limit)
    if case_id is not None:
        query = query.where(MediationSession.case_id == case_id)
    if mediator_id is not None:
        query = query.where((MediationSession.mediator_id == mediator_id)
                            | (MediationSession.co_mediator_id == mediator_id))
    if venue_id is not None:
        query = query.where(MediationSession.venue_id == venue_id)
    if status is not None:
        query = query.where(MediationSession.status == status.value)
    if start is not None:
        query = query.where(MediationSession.starts_at >= start)
    if end is not None:
        query = query.where(MediationSession.starts_at < end)
    return [views.session_out(r) for r in db.scalars(query)]


@router.get("/{session_id}", response_model=SessionOut)
def show_session(session_id: Id, db: Db, user: Staff) -> SessionOut:
    return views.session_out(get_session_row(db, session_id))


@router.post("", status_code=201, response_model=SessionOut,
             summary="Book a session: 422 naming each rule it breaks, 409 'slot taken' if a "
             "person or room is busy")
def book_session(body: BookIn, db: Db, ctx: Ctx, user: Staff) -> SessionOut:
    case = service.get_case(db, body.case_id)
    row = scheduling.book(db, ctx, case, mediator_id=body.mediator_id, venue_id=body.venue_id,
                          starts_at=body.starts_at, ends_at=body.ends_at,
                          co_mediator_id=body.co_mediator_id, actor=user.username,
                          override_reason=body.override_reason)
    return views.session_out(row)


@router.post("/{session_id}/reschedule", response_model=SessionOut)
def reschedule_session(session_id: Id, body: RescheduleIn, db: Db, ctx: Ctx,
                       user: Staff) -> SessionOut:
    row = get_session_row(db, session_id)
    row = scheduling.reschedule(db, ctx, row, starts_at=body.starts_at, ends_at=body.ends_at,
                                mediator_id=body.mediator_id, venue_id=body.venue_id,
                                reason=body.reason, actor=user.username,
                                override_reason=body.override_reason)
    return views.session_out(row)


@router.post("/{session_id}/cancel", response_model=SessionOut)
def cancel_session(session_id: Id, body: ReasonIn, db: Db, ctx: Ctx, user: Staff) -> SessionOut:
    row = get_session_row(db, session_id)
    scheduling.cancel(db, ctx, row, reason=body.reason, actor=user.username)
    return views.session_out(row)


@router.post("/{session_id}/no-show", response_model=SessionOut)
def record_no_show(session_id: Id, body: ReasonIn, db: Db, ctx: Ctx, user: Staff) -> SessionOut:
    row = get_session_row(db, session_id)
    scheduling.no_show(db, ctx, row, reason=body.reason, actor=user.username)
    return views.session_out(row)


@router.post("/{session_id}/outcome", response_model=SessionOut,
             summary="Record a held session's outcome: successful closes, impasse returns")
def record_outcome(session_id: Id, body: OutcomeIn, db: Db, ctx: Ctx, user: Staff) -> SessionOut:
    row = get_session_row(db, session_id)
    if row.status != SessionStatus.BOOKED.value:
        raise DomainError(f"session {row.id} is {row.status}, not booked")
    case = service.get_case(db, row.case_id)
    booked = [s for s in case.sessions if s.status == SessionStatus.BOOKED.value]
    if not booked or booked[-1].id != row.id:
        raise DomainError(f"session {row.id} is not the case's current session")
    booking.record_outcome(db, case, Outcome(body.outcome), now=ctx.now(), actor=user.username,
                           note=body.note)
    return views.session_out(row)


@router.post("/{session_id}/remind", response_model=RemindOut, tags=["notifications"],
             summary="Send a reminder of this session now, to every party and mediator")
def remind_session(session_id: Id, db: Db, ctx: Ctx, user: Staff) -> RemindOut:
    get_session_row(db, session_id)
    rows = scheduling.remind(db, session_id=session_id, now=ctx.now(), actor=user.username)
    return RemindOut(queued=len(rows), notification_ids=[r.id for r in rows])
