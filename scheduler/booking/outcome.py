"""How a session that took place ended: the last change to a session, and the case's with it.

A no-show or a withdrawal is not recorded here: each has its own flow in
:mod:`scheduler.booking.changes`, which counts the policy's limits and decides whether the case
is scheduled again or returned.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cases import audit, lifecycle
from cases.errors import DomainError, InvalidInput
from cases.models import Case, CaseState, Outcome, SessionStatus
from cases.outbox import NoticeKind, enqueue


def record_outcome(session: Session, case: Case, outcome: Outcome, *, now: datetime,
                   actor: str, note: str | None = None) -> None:
    """A successful mediation closes the case; an impasse returns it to investigation."""
    if outcome not in (Outcome.SUCCESSFUL, Outcome.IMPASSE):
        raise InvalidInput("outcome", "record a no-show or withdrawal through its own flow")
    booked = [s for s in case.sessions if s.status == SessionStatus.BOOKED.value]
    if case.state != CaseState.BOOKED.value or not booked:
        raise DomainError(f"case {case.id} has no booked session to record an outcome for")
    session_row = booked[-1]
    if session_row.starts_at > now:
        raise DomainError(f"session {session_row.id} has not started yet")
    session_row.status = SessionStatus.COMPLETED.value
    session_row.updated_at = now
    case.outcome = outcome.value
    if outcome is Outcome.SUCCESSFUL:
        lifecycle.transition(session, case, CaseState.COMPLETED, at=now, actor=actor,
                             reason="successful mediation")
    else:
        lifecycle.transition(session, case, CaseState.RETURNED, at=now, actor=actor,
                             reason="impasse")
    for party in case.parties:
        enqueue(session, kind=NoticeKind.OUTCOME, recipient=party, due_at=now, now=now,
                case_id=case.id, context={"case_id": case.id, "outcome": outcome.value})
    audit.record(session, at=now, actor=actor, action="case.outcome", case_id=case.id,
                 subject_kind="session", subject_id=session_row.id, outcome=outcome.value,
                 note_given=bool(note))
