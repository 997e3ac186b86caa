"""Changing a case's parties after intake: correct contacts, language, interpreter and
accessibility needs, preferred channels; add a party while the case is being screened.

The same checks as intake (``cases.service.validate_party``): one rule, one place. Audit rows
name the fields that changed, never their values.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from cases import audit, phone_lines
from cases.errors import DomainError
from cases.models import Case, CaseState, Party
from cases.service import NewParty, validate_party

EDITABLE = ("full_name", "phone", "email", "language", "channels", "time_zone", "officer_star",
            "interpreter", "accessibility", "guardian_name", "area")


def update_party(session: Session, party: Party, new: NewParty, *, now: datetime, actor: str,
                 prefix: str = "party") -> list[str]:
    """Replace the party's details with ``new`` (its role stays); returns the changed fields.

    Raises ``InvalidInput`` naming ``prefix.field`` exactly as intake does.
    """
    checked = validate_party(replace(new, role=party.role), prefix)
    changed = [name for name in EDITABLE if getattr(party, name) != getattr(checked, name)]
    for name in changed:
        setattr(party, name, getattr(checked, name))
    if "phone" in changed:
        phone_lines.note_numbers(session, [party.phone], now=now)
    if changed:
        audit.record(session, at=now, actor=actor, action="party.updated", case_id=party.case_id,
                     subject_kind="party", subject_id=party.id, fields=changed)
    return changed


def add_party(session: Session, case: Case, new: NewParty, *, now: datetime, actor: str,
              prefix: str = "party") -> Party:
    """Another complainant or officer, while the case is in screening (consent is asked of
    every party at referral)."""
    if case.state != CaseState.SCREENING.value:
        raise DomainError(f"{prefix}: parties can be added only while the case is in screening")
    party = validate_party(new, prefix)
    party.created_at = now
    case.parties.append(party)
    session.flush()
    phone_lines.note_numbers(session, [party.phone], now=now)
    audit.record(session, at=now, actor=actor, action="party.added", case_id=case.id,
                 subject_kind="party", subject_id=party.id, role=party.role)
    return party
