"""Mediators, their conflicts and calendars, venues, and the availability windows that people and
mediators share (``owner_kind``): who can hold a session, where and when.
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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.base import Base


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
