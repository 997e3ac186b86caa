"""Writing notices into the durable outbox, inside the caller's transaction.

A notice is a ``Notification`` row per channel. Its idempotency key — case, recipient, kind,
occurrence, channel — makes enqueueing the same notice twice a no-op, so a retried job or a
re-planned reminder can never produce a second message. Delivery is the dispatcher's job
(``notifiers.outbox.dispatcher``); the domain only says *what* should be sent *when*.

Conventions the dispatcher relies on:
- ``context`` holds ids and non-personal values only (``session_id``, ``starts_at`` ISO, ``reason``
  codes...). Names, addresses and links are looked up / signed at render time.
- Staff alerts have ``recipient_kind='staff'`` and an empty ``to_address``: the dispatcher sends
  them to the program's configured address.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cases.models import Mediator, Notification, NotificationStatus, Party


class NoticeKind(enum.StrEnum):
    ELIGIBILITY_NOTICE = "eligibility_notice"
    CONSENT_REQUEST = "consent_request"
    CONSENT_RECEIVED = "consent_received"
    AVAILABILITY_REQUEST = "availability_request"
    BOOKING_CONFIRMATION = "booking_confirmation"
    REMINDER = "reminder"
    RESCHEDULE = "reschedule"
    CANCELLATION = "cancellation"
    OUTCOME = "outcome"
    CASE_RETURNED = "case_returned"
    STAFF_ALERT = "staff_alert"
    STAFF_REPLY = "staff_reply"


class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"


Recipient = Party | Mediator | None
"""A party, a mediator, or ``None`` for the program's staff."""


def recipient_key(recipient: Recipient) -> str:
    if recipient is None:
        return "staff"
    if isinstance(recipient, Party):
        return f"party{recipient.id}"
    return f"mediator{recipient.id}"


def default_channels(recipient: Recipient) -> list[Channel]:
    """The channels a recipient can be reached on, in their order of preference."""
    if recipient is None:
        return [Channel.EMAIL]
    if isinstance(recipient, Mediator):
        return [Channel.EMAIL]
    preferred = [Channel(c) for c in recipient.channels] or [Channel.SMS, Channel.EMAIL]
    return [c for c in preferred if address_for(recipient, c)]


def address_for(recipient: Recipient, channel: Channel) -> str | None:
    if recipient is None:
        return ""
    if channel is Channel.SMS:
        return recipient.phone
    return recipient.email


def idempotency_key(
    case_id: int | None, recipient: Recipient, kind: NoticeKind, occurrence: str, channel: Channel
) -> str:
    return f"{case_id or '-'}:{recipient_key(recipient)}:{kind.value}:{occurrence}:{channel.value}"


def enqueue(
    session: Session,
    *,
    kind: NoticeKind,
    recipient: Recipient,
    due_at: datetime,
    now: datetime,
    occurrence: str = "1",
    case_id: int | None = None,
    session_id: int | None = None,
    context: Mapping[str, Any] | None = None,
    channels: Sequence[Channel] | None = None,
) -> list[Notification]:
    """Write one outbox row per channel (skipping any already written) and return the rows.

    ``occurrence`` distinguishes legitimate repeats of one kind (a reminder at 72 h and at 24 h,
    a second staff-triggered reminder); everything else about a repeat is deduplicated away.
    """
    chosen = list(channels) if channels is not None else default_channels(recipient)
    language = recipient.language if isinstance(recipient, Party) else "en"
    keys: list[str] = []
    for channel in chosen:
        address = address_for(recipient, channel)
        if address is None:
            continue
        key = idempotency_key(case_id, recipient, kind, occurrence, channel)
        keys.append(key)
        _insert_pending(
            session, key=key, channel=channel, to_address=address, due_at=due_at, now=now,
            case_id=case_id, session_id=session_id, kind=kind.value, language=language,
            party_id=recipient.id if isinstance(recipient, Party) else None,
            mediator_id=recipient.id if isinstance(recipient, Mediator) else None,
            recipient_kind="staff" if recipient is None else (
                "party" if isinstance(recipient, Party) else "mediator"),
            context=context)
    if not keys:
        return []
    return list(
        session.scalars(
            select(Notification).where(Notification.idempotency_key.in_(keys))
            .order_by(Notification.id)
        )
    )


def _insert_pending(
    session: Session, *, key: str, channel: Channel, to_address: str, due_at: datetime,
    now: datetime, case_id: int | None, party_id: int | None, mediator_id: int | None,
    session_id: int | None, recipient_kind: str, kind: str, language: str,
    context: Mapping[str, Any] | None, attachments: Sequence[Any] = (),
    fallback_of_id: int | None = None,
) -> None:
    """Write one pending outbox row, unless a row with ``key`` exists (the one place a
    ``Notification`` is built: a first notice and its fallback differ only in these fields)."""
    session.execute(_insert_ignoring_duplicates(session).values(
        idempotency_key=key, case_id=case_id, party_id=party_id, mediator_id=mediator_id,
        session_id=session_id, recipient_kind=recipient_kind, kind=kind, channel=channel.value,
        language=language, to_address=to_address, context=dict(context or {}), due_at=due_at,
        status=NotificationStatus.PENDING.value, attempts=0, attachments=list(attachments),
        fallback_of_id=fallback_of_id, created_at=now))


def _insert_ignoring_duplicates(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(Notification).on_conflict_do_nothing(
            index_elements=["idempotency_key"])
    if dialect == "sqlite":
        return sqlite.insert(Notification).on_conflict_do_nothing(
            index_elements=["idempotency_key"])
    return insert(Notification)  # pragma: no cover - only the two supported backends


def cancel_pending(session: Session, *, session_id: int, kinds: Sequence[NoticeKind],
                   reason: str) -> int:
    """Withdraw notices not yet sent (reminders of a cancelled or moved session)."""
    rows = session.scalars(
        select(Notification).where(
            Notification.session_id == session_id,
            Notification.kind.in_([k.value for k in kinds]),
            Notification.status == NotificationStatus.PENDING.value,
        )
    ).all()
    for row in rows:
        row.status = NotificationStatus.CANCELLED.value
        row.last_error = reason
    return len(rows)


def enqueue_fallback(
    session: Session, original: Notification, *, channel: Channel, to_address: str, now: datetime
) -> Notification | None:
    """Write the same notice again on another channel, after ``original`` failed for good.

    Idempotent like ``enqueue``: the key is the original's plus the channel, so a redelivered
    failure webhook or a second dispatcher cannot make two fallbacks. Returns the row (new or
    existing), or None when the original already was the fallback of this channel.
    """
    if original.channel == channel.value:
        return None
    key = f"{original.idempotency_key}>fallback:{channel.value}"
    _insert_pending(
        session, key=key, channel=channel, to_address=to_address, due_at=now, now=now,
        case_id=original.case_id, party_id=original.party_id, mediator_id=original.mediator_id,
        session_id=original.session_id, recipient_kind=original.recipient_kind,
        kind=original.kind, language=original.language, context=original.context,
        attachments=original.attachments or (), fallback_of_id=original.id)
    return session.scalar(select(Notification).where(Notification.idempotency_key == key))
