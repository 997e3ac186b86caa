"""What a party was asked by text, and is still being asked: the questions a reply may answer.

A pending consent request asks "YES or NO"; a reminder of a booked session still ahead asks "1 to
confirm, 2 for another time". A reminder whose session is under way asks nothing any more, but a
reply to it may be a party running late (:func:`begun`). ``cases.replies`` decides which question
a reply answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from cases.models import (
    Consent,
    ConsentStatus,
    MediationSession,
    Notification,
    NotificationStatus,
    Party,
    SessionStatus,
)
from cases.outbox import NoticeKind

#: the two questions a text can answer: consent in a case, or confirming a booked session
Question = Literal["consent", "session"]
#: a notice that reached its recipient (the provider accepted it, or reported it delivered)
SENT = (NotificationStatus.SENT.value, NotificationStatus.DELIVERED.value)


@dataclass(frozen=True)
class SessionTime:
    """When a session a reply was about starts, and the zone and language its party reads it in."""

    starts_at: datetime
    zone: str
    language: str


@dataclass(frozen=True)
class Asked:
    """An open question to one party: consent in a case, or confirming a session."""

    question: Question
    party: Party
    case_id: int
    asked_at: datetime
    session: MediationSession | None = None


def _reminders_to(parties: list[Party]) -> tuple[ColumnElement[bool], ...]:
    """Reminders that reached one of these parties: what every question about a session reads."""
    return (Notification.party_id.in_([p.id for p in parties]),
            Notification.kind == NoticeKind.REMINDER.value, Notification.status.in_(SENT))


def open_questions(session: Session, parties: list[Party], *, now: datetime) -> list[Asked]:
    """The sender's open questions: pending consent requests, and booked sessions still ahead
    whose reminder of the current time reached them."""
    if not parties:
        return []
    by_id = {p.id: p for p in parties}
    asked: list[Asked] = [
        Asked("consent", by_id[c.party_id], c.case_id, c.requested_at)
        for c in session.scalars(select(Consent).where(
            Consent.party_id.in_(by_id), Consent.status == ConsentStatus.PENDING.value,
            Consent.requested_at.is_not(None)))
        if c.requested_at is not None
    ]
    reminders = session.scalars(select(Notification).where(
        *_reminders_to(parties), Notification.session_id.is_not(None)))
    latest: dict[tuple[int, int], datetime] = {}
    rows: dict[int, MediationSession] = {}
    for notice in reminders:
        assert notice.party_id is not None and notice.session_id is not None
        row = rows.get(notice.session_id) or session.get(MediationSession, notice.session_id)
        if row is None or row.status != SessionStatus.BOOKED.value or row.starts_at <= now:
            continue
        if (notice.context or {}).get("sequence", row.sequence) != row.sequence:
            continue  # a reminder of the time before a reschedule
        rows[row.id] = row
        key = (notice.party_id, row.id)
        at = notice.sent_at or notice.due_at
        latest[key] = max(latest.get(key, at), at)
    asked += [Asked("session", by_id[party_id], rows[session_id].case_id, at, rows[session_id])
              for (party_id, session_id), at in latest.items()]
    return asked


@dataclass(frozen=True)
class Begun:
    case_id: int
    about: SessionTime


#: how long after its end a session is still what a reply to its reminder is about
BEGUN_FOR = timedelta(hours=6)


def begun(session: Session, parties: list[Party], *, now: datetime) -> Begun | None:
    """The session under way (or just ended) whose reminder reached the sender, if any: the
    latest to start. A reply to it is no longer a confirmation, but may be a party running
    late or unable to come."""
    by_id = {p.id: p for p in parties}
    found = session.execute(
        select(MediationSession, Notification.party_id)
        .join(Notification, Notification.session_id == MediationSession.id)
        .where(*_reminders_to(parties), MediationSession.status != SessionStatus.CANCELLED.value,
               MediationSession.starts_at <= now, MediationSession.ends_at >= now - BEGUN_FOR)
        .order_by(MediationSession.starts_at.desc(), MediationSession.id.desc()).limit(1)
    ).first()
    if found is None:
        return None
    row, party_id = found
    assert party_id is not None  # the query asked for these parties' reminders
    party = by_id[party_id]
    return Begun(row.case_id, SessionTime(row.starts_at, party.time_zone, party.language))


def reminded_since(session: Session, parties: list[Party], consent: Asked) -> int | None:
    """The case of a reminder, of a session in another case, that reached the sender after this
    consent request was sent (its session is no longer a question: begun or closed), or None."""
    return session.scalar(select(Notification.case_id).where(
        *_reminders_to(parties), Notification.case_id != consent.case_id,
        func.coalesce(Notification.sent_at, Notification.due_at) > consent.asked_at)
        .order_by(Notification.id.desc()).limit(1))
