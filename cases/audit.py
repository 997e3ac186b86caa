"""The audit trail: every change leaves a row saying who did what and when (no personal data)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cases.models import AuditEvent

SYSTEM = "system"


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    case_id: int | None = None,
    subject_kind: str | None = None,
    subject_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        case_id=case_id,
        subject_kind=subject_kind,
        subject_id=subject_id,
        detail=detail,
    )
    session.add(event)
    return event
