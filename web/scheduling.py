"""The web's door to ``scheduler.booking`` and ``scheduler.reminders``: builds the booking
``Rules`` from the app's policy and settings so that routes and pages stay small."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cases.models import Case, MediationSession, Notification
from scheduler import booking
from scheduler.booking import BookingOption, Rules
from scheduler.reminders import trigger_reminder
from scheduler.wiring import booking_rules
from web.context import WebContext


def rules(ctx: WebContext) -> Rules:
    return booking_rules(ctx.policy, ctx.settings)


def _option(mediator_id: int, co_mediator_id: int | None, venue_id: int, start: datetime,
            end: datetime) -> BookingOption:
    ids = (mediator_id,) if co_mediator_id is None else (mediator_id, co_mediator_id)
    return BookingOption(mediator_ids=ids, venue_id=venue_id, start=start, end=end)


def book(session: Session, ctx: WebContext, case: Case, *, mediator_id: int, venue_id: int,
         starts_at: datetime, ends_at: datetime | None, co_mediator_id: int | None,
         actor: str, override_reason: str | None = None) -> MediationSession:
    """Raises ``SlotTaken`` (409 'slot taken'), ``NotBookable`` (422 with the reasons) or
    ``NotSchedulable`` (409)."""
    end = ends_at or starts_at + ctx.policy.session_length
    return booking.book(session, case, _option(mediator_id, co_mediator_id, venue_id, starts_at,
                                               end), rules(ctx), now=ctx.now(), actor=actor,
                        override_reason=override_reason)


def reschedule(session: Session, ctx: WebContext, row: MediationSession, *, starts_at: datetime,
               ends_at: datetime | None, mediator_id: int | None, venue_id: int | None,
               reason: str | None, actor: str,
               override_reason: str | None = None) -> MediationSession:
    end = ends_at or starts_at + (row.ends_at - row.starts_at)
    option = _option(mediator_id or row.mediator_id,
                     row.co_mediator_id, venue_id or row.venue_id, starts_at, end)
    result = booking.reschedule(session, row, option, rules(ctx), now=ctx.now(), actor=actor,
                                reason=reason or "rescheduled by staff",
                                override_reason=override_reason)
    return result.session


def cancel(session: Session, ctx: WebContext, row: MediationSession, *, reason: str,
           actor: str) -> None:
    booking.cancel(session, row, rules(ctx), reason=reason, now=ctx.now(), actor=actor)


def no_show(session: Session, ctx: WebContext, row: MediationSession, *, reason: str,
            actor: str) -> None:
    booking.no_show(session, row, rules(ctx), reason=reason, now=ctx.now(), actor=actor)


def withdraw(session: Session, ctx: WebContext, case: Case, *, reason: str, actor: str) -> None:
    booking.withdraw(session, case, rules(ctx), reason=reason, now=ctx.now(), actor=actor)


def remind(session: Session, *, session_id: int | None = None, case_id: int | None = None,
           now: datetime, actor: str) -> list[Notification]:
    return trigger_reminder(session, session_id=session_id, case_id=case_id, now=now, actor=actor)
