"""The variables a notice template sees, built from an outbox row and the database at send time.

Only the recipient's own first name is personal; the other party is never named, and no phone
number or email address other than the program's reaches a template.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cases.links import sign_link
from cases.models import MediationSession, Mediator, Notification, Party
from cases.outbox import NoticeKind
from notifiers.rendering import format_date, format_when, language_of

LINK_PURPOSES: dict[str, str] = {
    NoticeKind.CONSENT_REQUEST.value: "consent",
    NoticeKind.AVAILABILITY_REQUEST.value: "availability",
}
LINK_LIFETIME = timedelta(days=21)


@dataclass(frozen=True)
class ProgramInfo:
    name: str
    phone: str
    email: str
    public_base_url: str
    link_secret: str
    time_zone: str = "America/Chicago"

    def link(self, party_id: int, purpose: str, expires_at: datetime) -> str:
        token = sign_link(self.link_secret, party_id=party_id, purpose=purpose, expires_at=expires_at)
        return f"{self.public_base_url.rstrip('/')}/p/{purpose}/{token}"


def case_ref(case_id: int | None) -> str | None:
    """How notices name a case: not the COPA log number, which is personal data."""
    return f"CMP-{case_id}" if case_id is not None else None


def _parse_instant(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else None


def build_variables(
    session: Session, row: Notification, program: ProgramInfo, *, now: datetime
) -> dict[str, Any]:
    """Everything the templates of ``row.kind`` may use; keys are always present (None if n/a)."""
    context = row.context or {}
    language = language_of(row.language)
    zone = program.time_zone
    recipient: dict[str, Any] = {"first_name": "", "kind": row.recipient_kind, "role": None}
    party: Party | None = None
    if row.party_id is not None:
        party = session.get(Party, row.party_id)
        if party is not None:
            zone = party.time_zone or zone
            recipient.update(first_name=party.full_name.split()[0], role=party.role)
    elif row.mediator_id is not None:
        mediator = session.get(Mediator, row.mediator_id)
        if mediator is not None:
            zone = mediator.time_zone or zone
            recipient.update(first_name=mediator.full_name.split()[0], role="mediator")

    session_vars: dict[str, Any] | None = None
    session_id = row.session_id or context.get("session_id")
    if session_id is not None:
        booked = session.get(MediationSession, int(session_id))
        if booked is not None:
            venue = booked.venue
            video = venue.kind == "video"
            session_vars = {
                "when": format_when(booked.starts_at, zone, language),
                "minutes": int((booked.ends_at - booked.starts_at).total_seconds() // 60),
                "video": video,
                "video_url": venue.video_url if video else None,
                "place": venue.name,
                "address": venue.address,
            }

    deadline = _parse_instant(context.get("deadline"))
    link = None
    purpose = LINK_PURPOSES.get(row.kind)
    if purpose and party is not None:
        expires = max(deadline or now, now) + LINK_LIFETIME
        link = program.link(party.id, purpose, expires)

    return {
        "program": {"name": program.name, "phone": program.phone, "email": program.email},
        "recipient": recipient,
        "case_ref": case_ref(row.case_id),
        "session": session_vars,
        "link": link,
        "deadline": format_date(deadline, zone, language) if deadline else None,
        "granted": context.get("granted"),
        "outcome": context.get("outcome"),
        "alert": context.get("alert"),
        "reason": context.get("reason"),
    }
