"""One case number everywhere: the reference parties are sent (``CMP-12``), which staff pages,
mediator pages and notices all show, and which staff can search by.

It is not the COPA log number, which is personal data and never leaves the staff pages.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.contacts import normalise_email, normalise_phone
from cases.errors import InvalidInput
from cases.models import Case, Party

PREFIX = "CMP"
_REF = re.compile(rf"^\s*{PREFIX}\s*[-–— ]?\s*(\d{{1,10}})\s*$", re.IGNORECASE)


def case_ref(case_id: int) -> str:
    """How every page and notice names a case."""
    return f"{PREFIX}-{case_id}"


def parse_case_ref(text: str) -> int | None:
    """The case id in 'CMP-12', 'cmp 12' or 'CMP12' (as a caller reads it out); else None."""
    match = _REF.match(text)
    return int(match.group(1)) if match else None


def search_cases(session: Session, query: str, *, limit: int = 50) -> list[Case]:
    """Cases a caller can be found by: the case number they were sent ('CMP-12'), the log
    number, or a party's phone number or email address (as typed; normalised here)."""
    text = query.strip()
    if not text:
        return []
    ids: set[int] = set()
    ref = parse_case_ref(text)
    if ref is not None:
        ids.add(ref)
    ids |= set(session.scalars(select(Case.id).where(Case.log_number == text)))
    if "@" in text:
        try:
            email = normalise_email(text)
        except InvalidInput:
            email = text.lower()
        ids |= set(session.scalars(select(Party.case_id).where(
            func.lower(Party.email) == email.lower())))
    elif sum(ch.isdigit() for ch in text) >= 7:
        try:
            phone = normalise_phone(text)
        except InvalidInput:
            phone = None
        if phone is not None:
            ids |= set(session.scalars(select(Party.case_id).where(Party.phone == phone)))
    if not ids:
        return []
    return list(session.scalars(select(Case).where(Case.id.in_(ids)).order_by(Case.id.desc())
                                .limit(limit)))
