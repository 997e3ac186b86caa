"""What a provider reported after a send, applied to the outbox: delivered, undelivered (with its
fallback and staff alert), a second copy of one notice, an unsubscribe. Services on a
``Session``; the webhooks (``web/webhooks.py``) own the transaction, and the provider's own
vocabulary (Twilio's MessageStatus, SendGrid's events, their error codes) is translated before it
gets here (``notifiers.tracking``).
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cases import audit, suppressions
from cases.database import insert_ignoring_duplicates
from cases.models import Notification, NotificationStatus, Party, WebhookEvent
from cases.notice_outcomes import alert_staff, fall_back
from cases.outbox import Channel

ACTOR = "webhook"
#: how long applied provider event ids are kept: longer than SendGrid retries a batch (72 h)
EVENT_IDS_KEPT = timedelta(days=7)


class Delivery(enum.StrEnum):
    """What a delivery report says happened to a message."""

    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    #: any other step on the way (queued, sent, opened...): nothing to change but the record
    PROGRESS = "progress"


def record_delivery_report(
    session: Session,
    *,
    provider_message_id: str,
    notice_id: int | None,
    delivery: Delivery,
    status: str,
    error_code: str | None,
    opted_out: bool,
    now: datetime,
) -> Notification | None:
    """Apply a delivery report (``status``: the provider's word, for the record; ``opted_out``:
    the recipient has blocked our SMS). Reports for a message id the row does not hold, but
    naming the row's notice id, are a second send of one notice: recorded and reported to
    staff. A report naming a notice that has recorded no message yet is of an attempt whose
    answer was lost: that message is the notice's (recorded, as ``found_already_sent``), so it
    is not sent again, and any other copy reported later is a duplicate."""
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
    if delivery is Delivery.DELIVERED and row.status in (
        NotificationStatus.SENT.value,
        NotificationStatus.SENDING.value,
    ):
        row.status = NotificationStatus.DELIVERED.value
        row.delivered_at = now
    elif delivery is Delivery.UNDELIVERED and row.status != NotificationStatus.FAILED.value:
        row.status = NotificationStatus.FAILED.value
        row.last_error = f"provider reported {status} (code {error_code or '-'})"
        party = session.get(Party, row.party_id) if row.party_id is not None else None
        if opted_out and row.channel == Channel.SMS.value:
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
