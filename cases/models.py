"""The service's state, as SQLAlchemy 2 typed models. The database is the truth: jobs read rows to
decide what is due, so everything that must survive a restart lives here.

Times are stored in UTC on every backend (``UTCDateTime``); what is shown to people is converted
at the edge to the program's or the person's zone.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    exists,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on SQLite (which has no zones) and PostgreSQL alike.

    A naive datetime is refused: it is the classic source of 5-hour-off reminders.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; store aware UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


class CaseState(enum.StrEnum):
    SCREENING = "screening"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    AWAITING_CONSENT = "awaiting_consent"
    CONSENTED = "consented"
    SCHEDULING = "scheduling"
    BOOKED = "booked"
    COMPLETED = "completed"
    RETURNED = "returned"


class PartyRole(enum.StrEnum):
    COMPLAINANT = "complainant"
    OFFICER = "officer"


class ConsentStatus(enum.StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    DECLINED = "declined"
    EXPIRED = "expired"


class SessionStatus(enum.StrEnum):
    HELD = "held"
    BOOKED = "booked"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class Outcome(enum.StrEnum):
    SUCCESSFUL = "successful"
    IMPASSE = "impasse"
    NO_SHOW = "no_show"
    WITHDRAWN = "withdrawn"


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"


class StaffRole(enum.StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    VIEWER = "viewer"


def _enum_values(enum_cls: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum_cls)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(f"state IN ({_enum_values(CaseState)})", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    log_number: Mapped[str] = mapped_column(String(32), unique=True)
    incident_date: Mapped[date] = mapped_column(Date)
    allegation_categories: Mapped[list[Any]] = mapped_column(default=list)
    injury: Mapped[bool] = mapped_column(default=False)
    criminal_conduct: Mapped[bool] = mapped_column(default=False)
    pending_litigation: Mapped[bool] = mapped_column(default=False)
    staff_notes: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(24), default=CaseState.SCREENING.value, index=True)
    co_mediation: Mapped[bool] = mapped_column(default=False)
    accepts_video: Mapped[bool] = mapped_column(default=False)
    #: the language the session is held in (None: the policy's working language); see
    #: cases.session_needs. A party's ``language`` chooses only their notices.
    session_language: Mapped[str | None] = mapped_column(String(8))
    #: the language an interpreter covers ("pl", "ase" for ASL), None when none is needed
    interpreter: Mapped[str | None] = mapped_column(String(8))
    #: venue access features someone attending needs ("step_free", "hearing_loop"...)
    access_needs: Mapped[list[Any]] = mapped_column(default=list)

    # screening: what the policy engine said and what staff decided
    recommendation: Mapped[str | None] = mapped_column(String(16))
    recommendation_reasons: Mapped[list[Any]] = mapped_column(default=list)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decision_overrode_policy: Mapped[bool] = mapped_column(default=False)

    referred_at: Mapped[datetime | None]
    consent_deadline: Mapped[datetime | None]
    booking_target: Mapped[datetime | None]
    booking_deadline: Mapped[datetime | None]
    reschedule_count: Mapped[int] = mapped_column(default=0)
    no_show_count: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str | None] = mapped_column(String(16))
    returned_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    parties: Mapped[list[Party]] = relationship(
        back_populates="case", order_by="Party.id", cascade="all, delete-orphan"
    )
    consents: Mapped[list[Consent]] = relationship(
        back_populates="case", order_by="Consent.id", cascade="all, delete-orphan"
    )
    sessions: Mapped[list[MediationSession]] = relationship(
        back_populates="case", order_by="MediationSession.id"
    )

    def party(self, role: PartyRole) -> list[Party]:
        return [p for p in self.parties if p.role == role.value]


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


class Party(Base):
    __tablename__ = "parties"
    __table_args__ = (
        CheckConstraint(f"role IN ({_enum_values(PartyRole)})", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    full_name: Mapped[str] = mapped_column(String(200))
    #: the name to greet the party by, written as it follows "Hello" in their language (staff set
    #: it at intake); None: greet without a name. Never derived from ``full_name``.
    message_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8), default="en")
    channels: Mapped[list[Any]] = mapped_column(default=list)
    time_zone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    officer_star: Mapped[str | None] = mapped_column(String(16), index=True)
    interpreter: Mapped[str | None] = mapped_column(String(32))
    accessibility: Mapped[str | None] = mapped_column(Text)
    guardian_name: Mapped[str | None] = mapped_column(String(200))
    area: Mapped[str | None] = mapped_column(String(64))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    link_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]

    #: whether the party's phone number is on the suppression list (read when the row is loaded)
    _sms_suppressed: Mapped[bool] = column_property(
        exists().where(Suppression.channel == "sms", Suppression.address == phone,
                       Suppression.in_force())
    )

    case: Mapped[Case] = relationship(back_populates="parties")
    availability: Mapped[list[AvailabilityWindow]] = relationship(
        primaryjoin="and_(AvailabilityWindow.owner_kind == 'party', "
        "foreign(AvailabilityWindow.owner_id) == Party.id)",
        viewonly=True,
        order_by="AvailabilityWindow.id",
    )


    @property
    def sms_opted_out(self) -> bool:
        """Derived from the suppression list (``cases.suppressions``), never stored on the party."""
        return bool(self._sms_suppressed)


class Consent(Base):
    __tablename__ = "consents"
    __table_args__ = (
        UniqueConstraint("case_id", "party_id"),
        CheckConstraint(f"status IN ({_enum_values(ConsentStatus)})", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=ConsentStatus.PENDING.value)
    requested_at: Mapped[datetime | None]
    deadline: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    channel: Mapped[str | None] = mapped_column(String(16))
    recorded_by: Mapped[str | None] = mapped_column(String(64))

    case: Mapped[Case] = relationship(back_populates="consents")
    party: Mapped[Party] = relationship()


class Mediator(Base):
    __tablename__ = "mediators"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    languages: Mapped[list[Any]] = mapped_column(default=list)
    general_training_hours: Mapped[float] = mapped_column(Float, default=0)
    general_training_on: Mapped[date | None] = mapped_column(Date)
    specialized_training_hours: Mapped[float] = mapped_column(Float, default=0)
    specialized_training_on: Mapped[date | None] = mapped_column(Date)
    training_expires_on: Mapped[date | None] = mapped_column(Date)
    max_sessions_per_week: Mapped[int] = mapped_column(default=3)
    former_police: Mapped[bool] = mapped_column(default=False)
    time_zone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    active: Mapped[bool] = mapped_column(default=True)
    calendar_kind: Mapped[str] = mapped_column(String(8), default="none")  # none|caldav|ics
    calendar_url: Mapped[str | None] = mapped_column(Text)
    calendar_username: Mapped[str | None] = mapped_column(String(200))
    calendar_secret: Mapped[str | None] = mapped_column(Text)
    feed_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]

    conflicts: Mapped[list[MediatorConflict]] = relationship(
        back_populates="mediator", cascade="all, delete-orphan"
    )
    availability: Mapped[list[AvailabilityWindow]] = relationship(
        primaryjoin="and_(AvailabilityWindow.owner_kind == 'mediator', "
        "foreign(AvailabilityWindow.owner_id) == Mediator.id)",
        viewonly=True,
        order_by="AvailabilityWindow.id",
    )


class MediatorConflict(Base):
    """A person the mediator must not mediate for: an officer (by star number) or a named person."""

    __tablename__ = "mediator_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("mediators.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # officer|person
    subject: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")

    mediator: Mapped[Mediator] = relationship(back_populates="conflicts")


class Venue(Base):
    __tablename__ = "venues"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="in_person")  # in_person|video
    address: Mapped[str] = mapped_column(Text, default="")
    neutral: Mapped[bool] = mapped_column(default=True)
    accessible: Mapped[bool] = mapped_column(default=True)
    #: access features besides step-free access (cases.session_needs.ACCESS_FEATURES)
    features: Mapped[list[Any]] = mapped_column(default=list)
    capacity: Mapped[int] = mapped_column(default=6)
    opening_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"0": [["09:00","17:00"]]}
    time_zone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    video_url: Mapped[str | None] = mapped_column(Text)
    #: how to get there, as staff write it for parties (transit, parking, which door); reminders
    #: carry it. Empty: nothing beyond the address.
    directions: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class AvailabilityWindow(Base):
    """A weekly window (weekday + local times in a zone) or a dated one (UTC instants)."""

    __tablename__ = "availability_windows"
    __table_args__ = (
        Index("ix_availability_owner", "owner_kind", "owner_id"),
        CheckConstraint(
            "(weekday IS NOT NULL AND start_local IS NOT NULL AND end_local IS NOT NULL)"
            " OR (starts_at IS NOT NULL AND ends_at IS NOT NULL)",
            name="weekly_or_dated",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(16))  # party|mediator
    owner_id: Mapped[int] = mapped_column(Integer)
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday
    start_local: Mapped[str | None] = mapped_column(String(5))  # "HH:MM"
    end_local: Mapped[str | None] = mapped_column(String(5))
    time_zone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class MediationSession(Base):
    """One scheduled mediation. ``uid`` and ``sequence`` are the iCalendar identity of its invites."""

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        CheckConstraint(f"status IN ({_enum_values(SessionStatus)})", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("mediators.id"), index=True)
    co_mediator_id: Mapped[int | None] = mapped_column(ForeignKey("mediators.id"))
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.BOOKED.value)
    hold_expires_at: Mapped[datetime | None]
    uid: Mapped[str] = mapped_column(String(128), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    interpreter: Mapped[str | None] = mapped_column(String(32))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    no_show_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    case: Mapped[Case] = relationship(back_populates="sessions")
    mediator: Mapped[Mediator] = relationship(foreign_keys=[mediator_id])
    co_mediator: Mapped[Mediator | None] = relationship(foreign_keys=[co_mediator_id])
    venue: Mapped[Venue] = relationship()
    reservations: Mapped[list[Reservation]] = relationship(
        back_populates="session", cascade="all, delete-orphan"
    )


class Reservation(Base):
    """One resource's time taken by a session: ``mediator:7``, ``venue:3``, ``party:12``.

    Active reservations of one resource may never overlap. PostgreSQL enforces it with an
    exclusion constraint (btree_gist, ``tstzrange &&``), SQLite with triggers; both are created by
    the migration, so a race between two workers ends in a constraint error, never a double booking.
    """

    __tablename__ = "reservations"
    __table_args__ = (
        Index("ix_reservations_resource_time", "resource", "starts_at", "ends_at"),
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    resource: Mapped[str] = mapped_column(String(48))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(default=True)

    session: Mapped[MediationSession] = relationship(back_populates="reservations")


class Notification(Base):
    """The durable outbox: one row per message per channel, written with the change that causes it."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "due_at"),
        CheckConstraint(
            f"status IN ({_enum_values(NotificationStatus)})", name="status_known"
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


class MediatorCalendarSnapshot(Base):
    """The last busy times read from a mediator's own calendar, kept so a failing source degrades
    to a stale copy instead of an unknown calendar."""

    __tablename__ = "mediator_calendar_snapshots"

    mediator_id: Mapped[int] = mapped_column(
        ForeignKey("mediators.id", ondelete="CASCADE"), primary_key=True
    )
    fetched_at: Mapped[datetime | None]
    last_ok_at: Mapped[datetime | None]
    busy: Mapped[list[Any]] = mapped_column(default=list)  # [[start_iso, end_iso], ...]
    stale: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[str | None] = mapped_column(Text)


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


class StaffUser(Base):
    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint(f"role IN ({_enum_values(StaffRole)})", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Part of every session cookie: raising it ends all of the user's sessions at once (sign-out,
    # new password, new role, deactivation).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")


class LoginAttempt(Base):
    """A sign-in attempt not known to have succeeded (``web.auth.LoginThrottle``): counted per
    account and per source address over a window, so that the limit holds across processes and
    restarts. A successful sign-in deletes its account's rows; rows older than the window go."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_account", "account", "at"),
        Index("ix_login_attempts_address", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(index=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]

    user: Mapped[StaffUser] = relationship()


class CalendarPush(Base):
    """What was last written to one mediator's own (CalDAV) calendar for one session.

    The session row is the truth; this row says how far the mediator's calendar has caught up
    with it. ``pushed_sequence``/``pushed_status`` are what the calendar holds (``booked``: the
    event is there at that SEQUENCE; ``cancelled``: it was deleted), ``None`` until the first
    write succeeds. ``attempts`` counts failed writes since the last success and ``last_error``
    says why (a staff-safe message, never a secret). Written by ``calendars.push``.
    """

    __tablename__ = "calendar_pushes"
    __table_args__ = (
        UniqueConstraint("session_id", "mediator_id"),
        CheckConstraint("pushed_status IN ('booked', 'cancelled')", name="pushed_status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    mediator_id: Mapped[int] = mapped_column(ForeignKey("mediators.id"))
    pushed_sequence: Mapped[int | None] = mapped_column(Integer)
    pushed_status: Mapped[str | None] = mapped_column(String(16))
    pushed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


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


class SessionConfirmation(Base):
    """A party confirmed they will come to a session at its current time (``sequence``): by a
    text reply to a reminder, or recorded by staff after a call. A reschedule raises the
    session's sequence, so an earlier confirmation no longer counts."""

    __tablename__ = "session_confirmations"
    __table_args__ = (UniqueConstraint("session_id", "party_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    confirmed_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(8))  # sms|staff


class SenderPace(Base):
    """Where one sending identity (a Twilio number or Messaging Service, a SendGrid key) stands
    against its provider's rate, shared by every dispatcher process: ``next_slot`` (seconds since
    the epoch) is the earliest moment its next message may start. Taking a slot is one atomic
    ``UPDATE``; a 429's Retry-After moves it later (``notifiers.outbox.pacing``)."""

    __tablename__ = "sender_pace"

    sender: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_slot: Mapped[float] = mapped_column(Float, default=0.0)
