"""What the service knows about sending and receiving: the outbox, inbound texts, provider events,
the suppression list and line types of addresses, each sender's pace, the audit trail and the
staff work queue. Keyed by ids and addresses, not relationships, so the case models can read
them (a party's suppression) without a loop back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base, NotificationStatus, enum_values


class Suppression(Base):
    """An address that must not be sent to on one channel: a phone number that texted STOP (or
    that the provider reports opted out), an email address that unsubscribed. Keyed by the
    address itself, so it holds for every case and party, past and future. One row per
    address: ``lifted_at`` is set when it is lifted (START from that number), and a new opt-out
    renews the row (``since``, ``source``). The history is in the audit trail.
    Written only through ``cases.suppressions``."""

    __tablename__ = "suppressions"
    __table_args__ = (
        UniqueConstraint("channel", "address"),
        CheckConstraint("channel IN ('sms', 'email')", name="channel_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(254))  # E.164, or the email address lowercased
    since: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(32))
    lifted_at: Mapped[datetime | None]

    @classmethod
    def in_force(cls) -> ColumnElement[bool]:
        """SQL: the row suppresses its address now (the one rule for "is suppressed")."""
        return cls.lifted_at.is_(None)


class PhoneLine(Base):
    """What the provider said a phone number is (mobile, landline, VoIP...), keyed by the number
    itself: a number on several cases is looked up once, and again only when the answer is older
    than the configured age. ``line_type`` is ``unchecked`` until a lookup succeeds; a failed
    lookup keeps it so and sets ``next_check_at`` for the retry. Written only through
    ``cases.phone_lines``."""

    __tablename__ = "phone_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # E.164, as stored on parties
    line_type: Mapped[str] = mapped_column(String(16))
    provider_type: Mapped[str | None] = mapped_column(String(32))  # the provider's own word
    checked_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))  # no personal data
    created_at: Mapped[datetime]


class Notification(Base):
    """The durable outbox: one row per message per channel, written with the change that causes it."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "due_at"),
        CheckConstraint(
            f"status IN ({enum_values(NotificationStatus)})", name="status_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("mediators.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    recipient_kind: Mapped[str] = mapped_column(String(16))  # party|mediator|staff
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(8))  # sms|email
    language: Mapped[str] = mapped_column(String(8), default="en")
    to_address: Mapped[str] = mapped_column(String(254))
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=NotificationStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    #: when the first attempt whose outcome is unknown was claimed: set by a claim, kept while
    #: attempts are lost (lease lapsed), cleared once an outcome is recorded; while it is set the
    #: notice is "in doubt" and the provider is asked about every attempt since (``SentLookup``)
    unconfirmed_since: Mapped[datetime | None]
    provider_message_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    fallback_of_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class InboundMessage(Base):
    """An SMS a party sent us. Kept so staff see what could not be understood automatically."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime]
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    from_masked: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    interpretation: Mapped[str] = mapped_column(String(32))
    needs_staff: Mapped[bool] = mapped_column(default=False)
    provider_message_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: the cases the message could be about, when it was not applied to one (e.g. which consent)
    case_ids: Mapped[list[Any]] = mapped_column(default=list)


class WebhookEvent(Base):
    """A provider event already applied (SendGrid's ``sg_event_id``), so that a batch delivered
    again — replayed, or retried by the provider after a lost answer — changes nothing."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(index=True)


class AuditEvent(Base):
    """Who did what, when. ``detail`` holds ids and states only — never names, phones or emails."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    subject_kind: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class QueueHandled(Base):
    """A work-queue item a member of staff handled (read and answered a reply, dealt with a
    change request, a failed notice, a stale calendar...): it leaves the queue. ``kind`` and
    ``ref_id`` name the item (e.g. ``reply`` and the inbound message's id)."""

    __tablename__ = "queue_handled"
    __table_args__ = (UniqueConstraint("kind", "ref_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[int] = mapped_column(Integer)
    handled_by: Mapped[str] = mapped_column(String(64))
    handled_at: Mapped[datetime]
    how: Mapped[str] = mapped_column(String(32), default="handled")


class SenderPace(Base):
    """Where one sending identity (a Twilio number or Messaging Service, a SendGrid key) stands
    against its provider's rate, shared by every dispatcher process: ``next_slot`` (seconds since
    the epoch) is the earliest moment its next message may start. Taking a slot is one atomic
    ``UPDATE``; a 429's Retry-After moves it later (``notifiers.outbox.pacing``)."""

    __tablename__ = "sender_pace"

    sender: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_slot: Mapped[float] = mapped_column(Float, default=0.0)
