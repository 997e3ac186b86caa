"""Builders for the calendar-push tests: sessions written straight to the database.

The push job reads rows; how they got there (booking, reschedule, cancel) is the scheduler's
business and tested there, so these builders set the columns directly.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cases.models import Case, MediationSession, Mediator, SessionStatus, Venue


def make_session(
    db: Session,
    now: datetime,
    *,
    case: Case,
    mediator: Mediator,
    venue: Venue,
    start: datetime,
    minutes: int = 90,
    co_mediator: Mediator | None = None,
    status: SessionStatus = SessionStatus.BOOKED,
) -> MediationSession:
    row = MediationSession(
        case_id=case.id, mediator_id=mediator.id,
        co_mediator_id=co_mediator.id if co_mediator is not None else None,
        venue_id=venue.id, starts_at=start, ends_at=start + timedelta(minutes=minutes),
        status=status.value, uid=f"{uuid.uuid4()}@cmp-session", sequence=0,
        created_at=now, updated_at=now)
    db.add(row)
    db.flush()
    return row


def reschedule(row: MediationSession, start: datetime, now: datetime, *, minutes: int = 90) -> None:
    """What ``scheduler.booking.reschedule`` does to the row: new time, SEQUENCE + 1."""
    row.starts_at = start
    row.ends_at = start + timedelta(minutes=minutes)
    row.sequence += 1
    row.updated_at = now


def cancel(row: MediationSession, now: datetime) -> None:
    """What ``scheduler.booking.cancel`` does to the row: cancelled, SEQUENCE + 1."""
    row.status = SessionStatus.CANCELLED.value
    row.sequence += 1
    row.updated_at = now
