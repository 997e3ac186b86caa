"""Notices: the outbox with delivery status, and a resend."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from cases import audit
from cases.errors import DomainError, NotFound
from cases.models import Mediator, Notification, NotificationStatus, Party
from cases.outbox import Channel, NoticeKind, Recipient, enqueue
from web.api import views
from web.api.schemas import MAX_ID, Id, NotificationOut
from web.auth import Staff
from web.context import Ctx, Db

router = APIRouter(prefix="/notifications", tags=["notifications"])


def _get(db: Db, notification_id: int) -> Notification:
    row = db.get(Notification, notification_id)
    if row is None:
        raise NotFound("notification", notification_id)
    return row


@router.get("", response_model=list[NotificationOut],
            summary="Notices with their delivery status (addresses masked)")
def list_notifications(
    db: Db, user: Staff,
    status: Annotated[NotificationStatus | None, Query()] = None,
    case_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    session_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    kind: Annotated[NoticeKind | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[NotificationOut]:
    query = select(Notification).order_by(Notification.id.desc()).limit(limit).offset(offset)
    if status is not None:
        query = query.where(Notification.status == status.value)
    if case_id is not None:
        query = query.where(Notification.case_id == case_id)
    if session_id is not None:
        query = query.where(Notification.session_id == session_id)
    if kind is not None:
        query = query.where(Notification.kind == kind.value)
    return [views.notification_out(r) for r in db.scalars(query)]


@router.get("/{notification_id}", response_model=NotificationOut)
def show_notification(notification_id: Id, db: Db, user: Staff) -> NotificationOut:
    return views.notification_out(_get(db, notification_id), full_address=True)


def resend_notice(db: Db, row: Notification, *, now: datetime, actor: str) -> list[Notification]:
    recipient: Recipient
    if row.party_id is not None:
        recipient = db.get(Party, row.party_id)
    elif row.mediator_id is not None:
        recipient = db.get(Mediator, row.mediator_id)
    else:
        recipient = None
    if row.recipient_kind != "staff" and recipient is None:
        raise DomainError(f"notification {row.id}: its recipient no longer exists")
    written = enqueue(db, kind=NoticeKind(row.kind), recipient=recipient, due_at=now,
                      now=now, occurrence=f"resend-{row.id}-{now.isoformat()}",
                      case_id=row.case_id, session_id=row.session_id, context=row.context,
                      channels=[Channel(row.channel)])
    if not written:
        raise DomainError(f"notification {row.id}: the recipient has no {row.channel} address now")
    audit.record(db, at=now, actor=actor, action="notification.resent",
                 case_id=row.case_id, subject_kind="notification", subject_id=row.id,
                 new_id=written[0].id)
    return written


@router.post("/{notification_id}/resend", status_code=201, response_model=NotificationOut,
             summary="Queue the same notice again, on the same channel, due now")
def resend(notification_id: Id, db: Db, ctx: Ctx, user: Staff) -> NotificationOut:
    row = _get(db, notification_id)
    now = ctx.now()
    written = resend_notice(db, row, now=now, actor=user.username)
    return views.notification_out(written[0])
