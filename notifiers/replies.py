"""What a party's answer by text applies to: the question they were last asked, in one case only.

A party may have been asked two kinds of question: to consent (a pending consent request, "reply
YES or NO") and to confirm a booked session (a reminder, "reply 1 to confirm, 2 for another
time"). Each question accepts its own words (:data:`ACCEPTS`); YES is accepted by both. The
answer goes to the open question that accepts it and was asked last — unless the questions that
accept it belong to more than one case and the answer names none: then it is applied to nothing,
the party is asked which case, and staff see it. Nothing is ever guessed across cases.

An answer no open question accepts (NO to a reminder, 1 with nothing to confirm) is left to
staff, with a kind word back. Consent answers keep their own rules (``notifiers.tracking``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import confirmations
from cases.errors import DomainError
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
from notifiers.inbound import InboundMeaning, Intent
from notifiers.rendering import format_when, language_of
from notifiers.terms import zone_name

Question = Literal["consent", "session"]
ACCEPTS: dict[Question, frozenset[Intent]] = {
    "consent": frozenset({Intent.CONSENT_YES, Intent.CONSENT_NO}),
    "session": frozenset({Intent.CONFIRM, Intent.CONSENT_YES, Intent.CHANGE}),
}
SENT = (NotificationStatus.SENT.value, NotificationStatus.DELIVERED.value)
ACTOR = "party-sms"


@dataclass(frozen=True)
class Asked:
    """An open question to one party: consent in a case, or confirming a session."""

    question: Question
    party: Party
    case_id: int
    asked_at: datetime
    session: MediationSession | None = None


@dataclass(frozen=True)
class Applied:
    """What the answer did. ``intent`` names the reply the party gets ('session_confirmed',
    'change_requested', 'change_limit', 'which_case_session', 'reminder_unclear', or
    'consent' when the consent rules take over); ``when`` is the session's time as the party
    reads it."""

    intent: str
    needs_staff: bool
    case_ids: tuple[int, ...] = ()
    when: str = ""


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
        Notification.party_id.in_(by_id), Notification.kind == NoticeKind.REMINDER.value,
        Notification.status.in_(SENT), Notification.session_id.is_not(None)))
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


def answer(session: Session, parties: list[Party], meaning: InboundMeaning, *, now: datetime,
           change_requests_per_day: int) -> Applied:
    """Apply a reply to the open question it answers (see the module's docstring)."""
    questions = open_questions(session, parties, now=now)
    if meaning.case_id is not None:
        named = [q for q in questions if q.case_id == meaning.case_id]
        if not named and any(q.question == "session" for q in questions):
            return Applied("which_case_session", True, _cases(questions))
        questions = named
    accepting = [q for q in questions if meaning.intent in ACCEPTS[q.question]]
    if not accepting:
        if meaning.intent in ACCEPTS["consent"] and not any(
                q.question == "session" for q in questions):
            return Applied("consent", False)  # the consent rules answer (already answered…)
        return Applied("reminder_unclear", True, _cases(questions))
    if len({q.case_id for q in accepting}) > 1:
        sessions = any(q.question == "session" for q in accepting)
        return Applied("which_case_session" if sessions else "consent", True, _cases(accepting))
    last = max(accepting, key=lambda q: q.asked_at)
    if last.question == "consent":
        return Applied("consent", False)
    if len({q.party.id for q in accepting if q.question == "session"}) > 1:
        return Applied("which_party", True, (last.case_id,))  # one number, two parties: staff
    row = last.session
    assert row is not None
    zone, language = last.party.time_zone, last.party.language
    when = format_when(row.starts_at, zone, language, zone_name(zone, language_of(language)))
    if meaning.intent is Intent.CHANGE:
        accepted = confirmations.request_change(session, last.party, row, now=now, via="sms",
                                                per_day=change_requests_per_day)
        return Applied("change_requested" if accepted else "change_limit", False,
                       (row.case_id,), when)
    try:
        confirmations.confirm(session, row, last.party, now=now, channel="sms", actor=ACTOR)
    except DomainError:
        return Applied("reminder_unclear", True, (row.case_id,))
    return Applied("session_confirmed", False, (row.case_id,), when)


def _cases(questions: list[Asked]) -> tuple[int, ...]:
    return tuple(sorted({q.case_id for q in questions}))
