"""Mediators (with their own calendars) and venues, as staff add and change them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from web.api.schemas.fields import (
    Day,
    Email,
    Key32,
    Key64,
    Language,
    Name,
    Patch,
    Phone,
    Str500,
    Strict,
    Zone,
    invalid_value,
)


class MediatorIn(Strict):
    full_name: Name
    email: Email
    phone: Phone | None = None
    languages: list[Language] = Field(default_factory=lambda: ["en"], min_length=1, max_length=8)
    general_training_hours: float = Field(0, ge=0, le=10_000)
    general_training_on: Day | None = None
    specialized_training_hours: float = Field(0, ge=0, le=10_000)
    specialized_training_on: Day | None = None
    training_expires_on: Day | None = None
    max_sessions_per_week: int = Field(3, ge=1, le=40)
    former_police: bool = False
    time_zone: Zone = "America/Chicago"
    conflict_officer_stars: list[Key32] = Field(default=[], max_length=50)
    conflict_people: list[Name] = Field(default=[], max_length=50)


class MediatorPatch(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"phone", "training_expires_on"})

    full_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    languages: list[Language] | None = Field(None, min_length=1, max_length=8)
    general_training_hours: float | None = Field(None, ge=0, le=10_000)
    specialized_training_hours: float | None = Field(None, ge=0, le=10_000)
    training_expires_on: Day | None = None
    max_sessions_per_week: int | None = Field(None, ge=1, le=40)
    former_police: bool | None = None
    active: bool | None = None


class CalendarIn(Strict):
    """Where the mediator keeps their calendar. ``secret`` (CalDAV password, or bearer token when
    there is no ``username``) is write-only: stored sealed, never returned."""

    kind: Literal["caldav", "ics", "none"]
    url: str | None = Field(None, max_length=2000)
    username: str | None = Field(None, max_length=200)
    secret: str | None = Field(None, min_length=1, max_length=2000)


class CalendarStatusOut(BaseModel):
    """The last read of the mediator's own calendar. ``error``: why the last read failed (a
    staff-safe message: host, never a path or secret); ``stale``: the busy times in use are from
    ``read_at``, not from ``checked_at``; ``read_at`` None: never read, so not offered."""

    checked_at: datetime | None
    read_at: datetime | None
    stale: bool
    error: str | None


class MediatorOut(BaseModel):
    id: int
    full_name: str
    email: str
    phone: str | None
    languages: list[str]
    general_training_hours: float
    specialized_training_hours: float
    training_expires_on: date | None
    max_sessions_per_week: int
    former_police: bool
    time_zone: str
    active: bool
    calendar_kind: str
    calendar_url: str | None
    calendar_status: CalendarStatusOut | None = None


class VenueIn(Strict):
    name: Name
    kind: Literal["in_person", "video"] = "in_person"
    address: Str500 = ""
    neutral: bool = Field(description="neutral ground (library, community centre...); a police "
                          "facility is not, and a venue that is not neutral is never offered or "
                          "booked. Required: there is no default")
    accessible: bool = Field(True, description="step-free access")
    features: list[Key64] = Field(
        default_factory=list, max_length=8, description="access features besides step-free "
        "access: accessible_restroom, hearing_loop, quiet_room; a case that needs one is only "
        "booked where it is")
    capacity: int = Field(6, ge=2, le=500)
    opening_hours: Str500 = Field("", description="like 'mon-fri 09:00-17:00; sat 10:00-14:00'")
    time_zone: Zone = "America/Chicago"
    video_url: Annotated[str, Field(max_length=500, pattern=r"^https://\S+$")] | None = None
    directions: Str500 = Field("", description="how to get there (transit, parking, which door); "
                               "parties' reminders carry it")
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)

    @model_validator(mode="after")
    def _where(self) -> VenueIn:
        if self.kind == "video" and not self.video_url:
            raise invalid_value("a video venue needs a video_url")
        if self.kind == "in_person" and not self.address:
            raise invalid_value("an in-person venue needs an address")
        return self


class VenuePatch(Patch):
    name: Name | None = None
    address: Str500 | None = None
    neutral: bool | None = None
    accessible: bool | None = None
    features: list[Key64] | None = Field(None, max_length=8)
    capacity: int | None = Field(None, ge=2, le=500)
    directions: Str500 | None = None
    active: bool | None = None


class VenueOut(BaseModel):
    id: int
    name: str
    kind: str
    address: str
    neutral: bool
    accessible: bool
    features: list[str]
    capacity: int
    time_zone: str
    video_url: str | None
    active: bool
