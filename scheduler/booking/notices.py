"""Who is told of a new or changed session: written to the outbox in the change's transaction,
so a notice goes out exactly when the change it tells of is committed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from cases.models import Case, MediationSession, Mediator, Party
from cases.outbox import NoticeKind, enqueue
from scheduler import reminders


def notify(session: Session, row: MediationSession, kind: NoticeKind, *, now: datetime,
           mediators: Sequence[Mediator] | None = None, **extra: object) -> None:
    """Tell the session's parties and mediators (or only ``mediators``). Keyed on the session's
    ``sequence``, so the same change told twice (a retried job) is one notice each."""
    context = reminders.session_context(row, **extra)
    targets: list[Party | Mediator] = [*reminders.session_parties(session, row),
                                       *(mediators if mediators is not None
                                         else reminders.session_mediators(session, row))]
    for recipient in targets:
        enqueue(session, kind=kind, recipient=recipient, due_at=now, now=now,
                occurrence=f"s{row.id}-q{row.sequence}", case_id=row.case_id,
                session_id=row.id, context=context)


def staff_alert(session: Session, case: Case, alert: str, *, now: datetime, occurrence: str,
                **extra: object) -> None:
    enqueue(session, kind=NoticeKind.STAFF_ALERT, recipient=None, due_at=now, now=now,
            case_id=case.id, occurrence=occurrence,
            context={"case_id": case.id, "alert": alert, **extra})
