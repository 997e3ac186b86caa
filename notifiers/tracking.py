"""What providers tell us after a send, and what parties text us. Services on a ``Session``; the
webhooks in ``web/webhooks.py`` own the transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit
from cases.errors import DeadlinePassed, DomainError
from cases.models import (
    Case,
    Consent,
    ConsentStatus,
    InboundMessage,
    Notification,
    NotificationStatus,
    Party,
)
from cases.outbox import Channel, NoticeKind, enqueue, enqueue_fallback
from cases.policy import Policy
from cases.privacy import mask_phone
from notifiers.inbound import Intent, interpret

log = logging.getLogger(__name__)
ACTOR = "webhook"

#: Twilio MessageStatus / SendGrid event -> our status
DELIVERED = frozenset({"delivered"})
FAILED = frozenset({"undelivered", "failed", "bounce", "dropped"})
TWILIO_OPTED_OUT = "21610"


def alert_staff(session: Session, row: Notification, alert: str, reason: str, now: datetime) -> None:
    """Enqueue a staff alert about ``row``. A failing staff alert is only audited, never alerted
    about again (no loops)."""
    if row.kind == NoticeKind.STAFF_ALERT.value:
        return
    enqueue(session, kind=NoticeKind.STAFF_ALERT, recipient=None, due_at=now, now=now,
            case_id=row.case_id, occurrence=f"{alert}-{row.id}",
            context={"case_id": row.case_id, "alert": alert, "reason": reason,
                     "notification_id": row.id})  # fmt: skip


def record_delivery_status(
    session: Session,
    *,
    provider_message_id: str,
    notice_id: int | None,
    status: str,
    error_code: str | None,
    now: datetime,
) -> Notification | None:
    """Apply a delivery report. Reports for a message id the row does not hold, but naming the
    row's notice id, are a second send of one notice: recorded and reported to staff."""
    row = session.scalar(select(Notification).where(Notification.provider_message_id == provider_message_id))
    if row is None and notice_id is not None:
        candidate = session.get(Notification, notice_id)
        if candidate is not None and candidate.provider_message_id not in (
            None,
            provider_message_id,
        ):
            audit.record(session, at=now, actor=ACTOR, action="notice.duplicate_detected",
                         case_id=candidate.case_id, subject_kind="notification",
                         subject_id=candidate.id, provider_message_id=provider_message_id,
                         recorded_message_id=candidate.provider_message_id)  # fmt: skip
            alert_staff(session, candidate, "duplicate_send",
                   f"notice #{candidate.id} reached the provider twice", now)  # fmt: skip
        return None
    if row is None:
        return None
    if status in DELIVERED and row.status in (
        NotificationStatus.SENT.value,
        NotificationStatus.SENDING.value,
    ):
        row.status = NotificationStatus.DELIVERED.value
        row.delivered_at = now
    elif status in FAILED and row.status != NotificationStatus.FAILED.value:
        row.status = NotificationStatus.FAILED.value
        row.last_error = f"provider reported {status} (code {error_code or '-'})"
        party = session.get(Party, row.party_id) if row.party_id is not None else None
        if error_code == TWILIO_OPTED_OUT and party is not None:
            party.sms_opted_out, party.sms_opted_out_at = True, now
        audit.record(session, at=now, actor=ACTOR, action="notice.undelivered",
                     case_id=row.case_id, subject_kind="notification", subject_id=row.id,
                     channel=row.channel, code=error_code)  # fmt: skip
        alert_staff(
            session,
            row,
            "notice_dead",
            f"{row.channel} {row.kind} notice #{row.id}: {status} {error_code or ''}",
            now,
        )
        fall_back(session, row, party, now, actor=ACTOR)
    return row


def fall_back(
    session: Session, row: Notification, party: Party | None, now: datetime, *, actor: str
) -> Notification | None:
    """Reach a party on their other channel after ``row`` failed for good or was dropped because
    they opted out — unless the notice already goes there, or ``row`` is itself a fallback."""
    if party is None or row.fallback_of_id is not None:
        return None
    other = Channel.EMAIL if row.channel == Channel.SMS.value else Channel.SMS
    address = party.email if other is Channel.EMAIL else party.phone
    opted_out = party.email_opted_out if other is Channel.EMAIL else party.sms_opted_out
    if not address or opted_out:
        return None
    sibling_key = row.idempotency_key.rsplit(":", 1)[0] + f":{other.value}"
    if session.scalar(select(Notification.id).where(Notification.idempotency_key == sibling_key)):
        return None
    fallback = enqueue_fallback(session, row, channel=other, to_address=address, now=now)
    if fallback is not None:
        audit.record(session, at=now, actor=actor, action="notice.fallback", case_id=row.case_id,
                     subject_kind="notification", subject_id=row.id, fallback_id=fallback.id,
                     channel=other.value)  # fmt: skip
    return fallback


def record_email_opt_out(session: Session, notice_id: int, now: datetime) -> None:
    row = session.get(Notification, notice_id)
    if row is not None and row.party_id is not None:
        party = session.get(Party, row.party_id)
        if party is not None and not party.email_opted_out:
            party.email_opted_out = True
            audit.record(session, at=now, actor=ACTOR, action="party.email_opted_out",
                         case_id=party.case_id, subject_kind="party", subject_id=party.id)  # fmt: skip


@dataclass(frozen=True)
class InboundResult:
    intent: str  # what we understood, incl. 'already_answered' / 'no_open_request' / 'too_late'
    reply_language: str
    reply: bool  # whether to answer with an SMS (carrier keywords are answered by Twilio)
    needs_staff: bool
    duplicate: bool = False


def handle_inbound_sms(
    session: Session,
    *,
    sender: str,
    body: str,
    provider_message_id: str | None,
    policy: Policy | None,
    now: datetime,
) -> InboundResult:
    """Opt-out/in, HELP, or a consent answer matched to the sender's open consent request."""
    if provider_message_id is not None:
        seen = session.scalar(
            select(InboundMessage).where(InboundMessage.provider_message_id == provider_message_id)
        )
        if seen is not None:  # Twilio retried the webhook: answer again, change nothing
            return InboundResult(seen.interpretation, "en", False, seen.needs_staff, True)
    meaning = interpret(body)
    parties = list(session.scalars(select(Party).where(Party.phone == sender).order_by(Party.id.desc())))
    language = parties[0].language if parties else (meaning.language or "en")
    intent, reply, needs_staff = meaning.intent.value, True, False

    if meaning.intent is Intent.OPT_OUT:
        for party in parties:
            party.sms_opted_out, party.sms_opted_out_at = True, now
            audit.record(session, at=now, actor=ACTOR, action="party.sms_opted_out",
                         case_id=party.case_id, subject_kind="party", subject_id=party.id)  # fmt: skip
        reply = False
    elif meaning.intent is Intent.OPT_IN:
        for party in parties:
            party.sms_opted_out, party.sms_opted_out_at = False, None
            audit.record(session, at=now, actor=ACTOR, action="party.sms_opted_in",
                         case_id=party.case_id, subject_kind="party", subject_id=party.id)  # fmt: skip
        reply = False
    elif meaning.intent in (Intent.CONSENT_YES, Intent.CONSENT_NO):
        intent, needs_staff = _answer_consent(
            session, parties, meaning.intent is Intent.CONSENT_YES, policy, now
        )
    elif meaning.intent is Intent.UNKNOWN:
        needs_staff = True

    session.add(
        InboundMessage(
            received_at=now,
            party_id=parties[0].id if parties else None,
            from_masked=mask_phone(sender),
            body=body[:2000],
            interpretation=intent,
            needs_staff=needs_staff,
            provider_message_id=provider_message_id,
        )
    )
    log.info("inbound SMS from %s understood as %s", mask_phone(sender), intent)
    return InboundResult(intent, language, reply, needs_staff)


def _answer_consent(
    session: Session, parties: list[Party], granted: bool, policy: Policy | None, now: datetime
) -> tuple[str, bool]:
    """Record the answer on the sender's most recent open consent request."""
    from cases.service import record_consent

    if not parties:
        return "no_open_request", True
    consents = session.scalars(
        select(Consent)
        .where(
            Consent.party_id.in_([p.id for p in parties]),
            Consent.requested_at.is_not(None),
        )
        .order_by(Consent.requested_at.desc(), Consent.id.desc())
    ).all()
    pending = [c for c in consents if c.status == ConsentStatus.PENDING.value]
    if not pending:
        return ("already_answered" if consents else "no_open_request"), not consents
    consent = pending[0]
    case = session.get(Case, consent.case_id)
    party = session.get(Party, consent.party_id)
    if case is None or party is None or policy is None:
        return "no_open_request", True
    try:
        record_consent(session, case, party, granted=granted, channel="sms", policy=policy,
                       now=now, actor="party-sms")  # fmt: skip
    except DeadlinePassed:  # the end of the stated day has passed; the case is going back
        return "too_late", False
    except DomainError:
        return "already_answered", True
    return ("consent_yes" if granted else "consent_no"), False
