"""A case and everything that hangs on it: parties, consents, sessions, room reservations and
confirmations. One module because the relationships run both ways (``Case.sessions`` and
``MediationSession.case``), and a module each would import the other.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    exists,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from cases.models.base import Base, CaseState, ConsentStatus, PartyRole, SessionStatus, enum_values
from cases.models.mediators import AvailabilityWindow, Mediator, Venue
from cases.models.messages import Suppression


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(f"state IN ({enum_values(CaseState)})", name="state_known"),
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


class Party(Base):
    __tablename__ = "parties"
    __table_args__ = (
        CheckConstraint(f"role IN ({enum_values(PartyRole)})", name="role_known"),
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
        CheckConstraint(f"status IN ({enum_values(ConsentStatus)})", name="status_known"),
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


class MediationSession(Base):
    """One scheduled mediation. ``uid`` and ``sequence`` are the iCalendar identity of its invites."""

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        CheckConstraint(f"status IN ({enum_values(SessionStatus)})", name="status_known"),
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
