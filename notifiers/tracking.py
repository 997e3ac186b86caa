"""What providers tell us after a send, and what parties text us. Services on a ``Session``; the
webhooks in ``web/webhooks.py`` own the transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cases import audit, suppressions
from cases.database import insert_ignoring_duplicates
from cases.errors import DeadlinePassed, DomainError
from cases.models import (
    Case,
    Consent,
    ConsentStatus,
    InboundMessage,
    Notification,
    NotificationStatus,
    Party,
    WebhookEvent,
)
from cases.notice_outcomes import alert_staff, fall_back
from cases.outbox import Channel
from cases.policy import Policy
from cases.privacy import mask_phone
from notifiers import replies
from notifiers.context import case_ref
from notifiers.inbound import InboundMeaning, Intent, interpret

log = logging.getLogger(__name__)
ACTOR = "webhook"

#: Twilio MessageStatus / SendGrid event -> our status
DELIVERED = frozenset({"delivered"})
FAILED = frozenset({"undelivered", "failed", "bounce", "dropped"})
TWILIO_OPTED_OUT = "21610"
#: a consent answer that could belong to more than one case: applied to none, the party is asked
WHICH_CASE = "which_case"
#: the replies that list the cases an answer could be about
LISTS_CASES = frozenset({WHICH_CASE, "which_case_session"})
#: what an answer to a question may be (``notifiers.replies`` decides which question)
ANSWERS = frozenset({Intent.CONSENT_YES, Intent.CONSENT_NO, Intent.CONFIRM, Intent.CHANGE})


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
    row's notice id, are a second send of one notice: recorded and reported to staff. A report
    naming a notice that has recorded no message yet is of an attempt whose answer was lost: that
    message is the notice's (recorded, as ``found_already_sent``), so it is not sent again, and any
    other copy reported later is a duplicate."""
    row = session.scalar(select(Notification).where(Notification.provider_message_id == provider_message_id))
    if row is None and notice_id is not None:
        candidate = session.get(Notification, notice_id)
        if candidate is not None and candidate.provider_message_id not in (
            None,
            provider_message_id,
        ):
            _duplicate_detected(session, candidate, provider_message_id, now)
            return None
        if (candidate is not None and candidate.provider_message_id is None
                and candidate.status in _UNRECORDED):
            _adopt(session, candidate, provider_message_id, now)
            row = candidate
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
        if error_code == TWILIO_OPTED_OUT and row.channel == Channel.SMS.value:
            suppressions.suppress(session, Channel.SMS, row.to_address, source="provider",
                                  now=now)  # fmt: skip
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


def _duplicate_detected(session: Session, row: Notification, provider_message_id: str,
                        now: datetime) -> None:
    audit.record(session, at=now, actor=ACTOR, action="notice.duplicate_detected",
                 case_id=row.case_id, subject_kind="notification", subject_id=row.id,
                 provider_message_id=provider_message_id,
                 recorded_message_id=row.provider_message_id)  # fmt: skip
    alert_staff(session, row, "duplicate_send", f"notice #{row.id} reached the provider twice", now)


#: a notice whose attempts' outcome is unknown (its answer lost), or given up on
_UNRECORDED = (NotificationStatus.PENDING.value, NotificationStatus.SENDING.value,
               NotificationStatus.DEAD.value)


def _adopt(session: Session, row: Notification, provider_message_id: str, now: datetime) -> None:
    """The provider holds a message of ``row`` that no attempt recorded: it is the record."""
    audit.record(session, at=now, actor=ACTOR, action="notice.found_already_sent",
                 case_id=row.case_id, subject_kind="notification", subject_id=row.id,
                 provider_message_id=provider_message_id, via="delivery_report",
                 previous_status=row.status)  # fmt: skip
    row.provider_message_id = provider_message_id
    row.status = NotificationStatus.SENT.value
    row.sent_at = row.sent_at or now
    row.claimed_by = row.claimed_until = row.unconfirmed_since = row.next_attempt_at = None


def record_email_opt_out(
    session: Session, notice_id: int | None, address: str | None, source: str, now: datetime
) -> None:
    """An unsubscribe or spam report: the address the notice went to (else the event's) is
    suppressed for email, in every case."""
    row = session.get(Notification, notice_id) if notice_id is not None else None
    if row is not None and row.channel == Channel.EMAIL.value and row.to_address:
        address = row.to_address
    if address:
        suppressions.suppress(session, Channel.EMAIL, address, source=source, now=now)


#: how long applied provider event ids are kept: longer than SendGrid retries a batch (72 h)
EVENT_IDS_KEPT = timedelta(days=7)


def first_delivery(session: Session, provider: str, event_id: str, now: datetime) -> bool:
    """True the first time a provider event is seen (recorded now), False for a replay. Events
    without an id cannot be told apart: always True."""
    if not event_id:
        return True
    inserted = session.execute(
        insert_ignoring_duplicates(session, WebhookEvent, ["provider", "event_id"])
        .values(provider=provider, event_id=event_id[:128], received_at=now)
        .returning(WebhookEvent.id)
    ).scalar()
    return inserted is not None


def forget_events_before(session: Session, cutoff: datetime) -> None:
    """Drop applied event ids older than ``cutoff`` (no provider delivers those again)."""
    session.execute(delete(WebhookEvent).where(WebhookEvent.received_at < cutoff))


@dataclass(frozen=True)
class InboundResult:
    intent: str  # what we understood, incl. 'already_answered' / 'no_open_request' / 'which_case'
    # / 'too_late'
    reply_language: str
    reply: bool  # whether to answer with an SMS (carrier keywords are answered by Twilio)
    needs_staff: bool
    duplicate: bool = False
    case_refs: tuple[str, ...] = ()  # the cases a 'which_case' reply lists ("CMP-12")
    when: str = ""  # the session a reminder reply was about, as the party reads its time


def handle_inbound_sms(
    session: Session,
    *,
    sender: str,
    body: str,
    provider_message_id: str | None,
    policy: Policy | None,
    now: datetime,
    change_requests_per_day: int = 3,
) -> InboundResult:
    """Opt-out/in of the sender's number, HELP, or an answer to the question the sender was last
    asked (``notifiers.replies``): a consent request, or a reminder (confirm, or ask for another
    time) — applied to none when it could belong to more than one case.

    A number on the suppression list gets no reply but the one confirmation of its opt-out (and
    none for Twilio's own keywords, which Twilio answers)."""
    if provider_message_id is not None:
        seen = session.scalar(
            select(InboundMessage).where(InboundMessage.provider_message_id == provider_message_id)
        )
        if seen is not None:  # Twilio retried the webhook: answer again, change nothing
            return InboundResult(seen.interpretation, "en", False, seen.needs_staff, True)
    meaning = interpret(body)
    number = suppressions.address_key(Channel.SMS, sender)
    parties = list(session.scalars(select(Party).where(Party.phone == number).order_by(Party.id.desc())))
    language = parties[0].language if parties else (meaning.language or "en")
    intent, reply, needs_staff, case_ids = meaning.intent.value, True, False, list[int]()
    when = ""

    if meaning.intent is Intent.OPT_OUT:
        added = suppressions.suppress(session, Channel.SMS, number, source="sms_keyword", now=now)
        _audit_parties(session, parties, "party.sms_opted_out", now, added)
        reply = added and not meaning.provider_handles  # confirmed once, by Twilio or by us
        language = meaning.language or language  # in the language of the word ("ALTO")
    elif meaning.intent is Intent.OPT_IN:
        lifted = suppressions.lift(session, Channel.SMS, number, source="sms_keyword", now=now)
        _audit_parties(session, parties, "party.sms_opted_in", now, lifted)
        reply = False
    elif meaning.intent in ANSWERS:
        applied = replies.answer(session, parties, meaning, now=now,
                                 change_requests_per_day=change_requests_per_day)
        if applied.intent == "consent":
            intent, needs_staff, case_ids = _answer_consent(session, parties, meaning, policy, now)
        else:
            intent, needs_staff, case_ids = applied.intent, applied.needs_staff, list(
                applied.case_ids)
            when = applied.when
    elif meaning.intent is Intent.UNKNOWN:
        needs_staff = True
    if (reply and meaning.intent is not Intent.OPT_OUT
            and suppressions.is_suppressed(session, Channel.SMS, number)):
        reply = False

    session.add(
        InboundMessage(
            received_at=now,
            party_id=parties[0].id if parties else None,
            from_masked=mask_phone(sender),
            body=body[:2000],
            interpretation=intent,
            needs_staff=needs_staff,
            provider_message_id=provider_message_id,
            case_ids=case_ids,
        )
    )
    log.info("inbound SMS from %s understood as %s", mask_phone(sender), intent)
    refs = tuple(ref for c in case_ids if (ref := case_ref(c))) if intent in LISTS_CASES else ()
    return InboundResult(intent, language, reply, needs_staff, case_refs=refs, when=when)


def _audit_parties(
    session: Session, parties: list[Party], action: str, now: datetime, changed: bool
) -> None:
    """Put a number's opt-out or opt-in on the timeline of every case it is a party to."""
    if changed:
        for party in parties:
            audit.record(session, at=now, actor=ACTOR, action=action, case_id=party.case_id,
                         subject_kind="party", subject_id=party.id)  # fmt: skip


def _answer_consent(
    session: Session,
    parties: list[Party],
    meaning: InboundMeaning,
    policy: Policy | None,
    now: datetime,
) -> tuple[str, bool, list[int]]:
    """Record the answer on the sender's open consent request: the one in the case it names
    ("YES CMP-12"), else the only one open. Returns (interpretation, needs staff, case ids).

    An answer that could belong to more than one case — or names a case with no open request
    of theirs — is applied to none: the party is asked which ('which_case'), staff see it."""
    from cases.service import record_consent

    if not parties:
        return "no_open_request", True, []
    consents = session.scalars(
        select(Consent)
        .where(
            Consent.party_id.in_([p.id for p in parties]),
            Consent.requested_at.is_not(None),
        )
        .order_by(Consent.requested_at.desc(), Consent.id.desc())
    ).all()
    pending = [c for c in consents if c.status == ConsentStatus.PENDING.value]
    candidates = pending
    if meaning.case_id is not None:
        named = [c for c in consents if c.case_id == meaning.case_id]
        if not named and pending:
            return WHICH_CASE, True, sorted({c.case_id for c in pending})
        candidates = [c for c in named if c.status == ConsentStatus.PENDING.value]
        consents = named or consents
    if not candidates:
        return ("already_answered" if consents else "no_open_request"), not consents, []
    case_ids = sorted({c.case_id for c in candidates})
    if len(case_ids) > 1:
        return WHICH_CASE, True, case_ids
    if len(candidates) > 1:  # two parties of one case share the number: staff decide
        return "which_party", True, case_ids
    consent = candidates[0]
    case = session.get(Case, consent.case_id)
    party = session.get(Party, consent.party_id)
    if case is None or party is None or policy is None:
        return "no_open_request", True, []
    try:
        record_consent(session, case, party, granted=meaning.intent is Intent.CONSENT_YES,
                       channel="sms", policy=policy, now=now, actor="party-sms")  # fmt: skip
    except DeadlinePassed:  # the end of the stated day has passed; the case is going back
        return "too_late", False, []
    except DomainError:
        return "already_answered", True, []
    return ("consent_yes" if meaning.intent is Intent.CONSENT_YES else "consent_no"), False, []
