"""The case's life as an explicit state machine. Every move is checked and audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cases import audit
from cases.errors import IllegalTransition
from cases.models import Case, CaseState

S = CaseState

TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    S.SCREENING: frozenset({S.ELIGIBLE, S.INELIGIBLE}),
    S.ELIGIBLE: frozenset({S.AWAITING_CONSENT, S.RETURNED}),
    S.INELIGIBLE: frozenset(),
    S.AWAITING_CONSENT: frozenset({S.CONSENTED, S.RETURNED}),
    S.CONSENTED: frozenset({S.SCHEDULING, S.RETURNED}),
    S.SCHEDULING: frozenset({S.BOOKED, S.RETURNED}),
    S.BOOKED: frozenset({S.SCHEDULING, S.COMPLETED, S.RETURNED}),
    S.COMPLETED: frozenset(),
    S.RETURNED: frozenset(),
}

TERMINAL = frozenset(state for state, targets in TRANSITIONS.items() if not targets)
"""Ineligible and returned cases stay with investigation; completed ones are closed."""


def can_transition(current: CaseState, target: CaseState) -> bool:
    return target in TRANSITIONS[current]


def transition(
    session: Session,
    case: Case,
    target: CaseState,
    *,
    at: datetime,
    actor: str,
    reason: str | None = None,
) -> None:
    """Move ``case`` to ``target`` or raise ``IllegalTransition`` naming the case and both states."""
    current = CaseState(case.state)
    if not can_transition(current, target):
        raise IllegalTransition(case.id, current.value, target.value)
    case.state = target.value
    case.updated_at = at
    if target in TERMINAL:
        case.closed_at = at
    if target is S.RETURNED:
        case.returned_reason = reason
    audit.record(
        session,
        at=at,
        actor=actor,
        action="case.transition",
        case_id=case.id,
        subject_kind="case",
        subject_id=case.id,
        from_state=current.value,
        to_state=target.value,
        reason=reason,
    )
