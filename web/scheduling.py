"""The web's door to ``scheduler.booking`` and ``scheduler.reminders``.

Imported lazily so that the app starts (and everything else works) while the scheduler is being
written; a missing scheduler function answers 503 instead of breaking the app.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any

from fastapi import HTTPException
from sqlalchemy.orm import Session

from cases.errors import DomainError
from cases.models import MediationSession, Notification
from cases.policy import Policy


class SlotTaken(DomainError):
    def __init__(self) -> None:
        super().__init__("slot taken")


def _function(module: str, name: str) -> Any:
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise HTTPException(503, f"{module}.{name} is not available yet") from exc
    return found


def _call(module: str, name: str, *args: Any, **kwargs: Any) -> Any:
    fn = _function(module, name)
    try:
        return fn(*args, **kwargs)
    except DomainError:
        raise
    except Exception as exc:
        if type(exc).__name__ == "SlotTaken":
            raise SlotTaken() from exc
        raise


def book(session: Session, *, case_id: int, mediator_id: int, venue_id: int, starts_at: datetime,
         ends_at: datetime | None, co_mediator_id: int | None, policy: Policy, now: datetime,
         actor: str) -> MediationSession:
    end = ends_at or starts_at + policy.session_length
    row: MediationSession = _call(
        "scheduler.booking", "book", session, case_id=case_id, mediator_id=mediator_id,
        venue_id=venue_id, starts_at=starts_at, ends_at=end, co_mediator_id=co_mediator_id,
        now=now, actor=actor)
    return row


def reschedule(session: Session, row: MediationSession, *, starts_at: datetime,
               ends_at: datetime | None, mediator_id: int | None, venue_id: int | None,
               reason: str | None, policy: Policy, now: datetime, actor: str) -> MediationSession:
    end = ends_at or starts_at + (row.ends_at - row.starts_at)
    kwargs: dict[str, Any] = {"starts_at": starts_at, "ends_at": end, "now": now, "actor": actor}
    if mediator_id is not None:
        kwargs["mediator_id"] = mediator_id
    if venue_id is not None:
        kwargs["venue_id"] = venue_id
    if reason:
        kwargs["reason"] = reason
    result = _call("scheduler.booking", "reschedule", session, row.id, **kwargs)
    return result if isinstance(result, MediationSession) else row


def cancel(session: Session, row: MediationSession, *, reason: str, now: datetime,
           actor: str) -> None:
    _call("scheduler.booking", "cancel", session, row.id, reason=reason, now=now, actor=actor)


def no_show(session: Session, row: MediationSession, *, reason: str, now: datetime,
            actor: str) -> None:
    _call("scheduler.booking", "no_show", session, row.id, reason=reason, now=now, actor=actor)


def remind(session: Session, *, session_id: int | None = None, case_id: int | None = None,
           now: datetime, actor: str) -> list[Notification]:
    written: list[Notification] = _call("scheduler.reminders", "trigger_reminder", session,
                                        session_id=session_id, case_id=case_id, now=now,
                                        actor=actor)
    return written
