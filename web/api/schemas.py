"""Request and response models shared by the API routers.

Requests validate precisely (contacts through ``cases.contacts``, so the API and the CLI accept
the same spellings); every string refuses NUL characters and every id and instant is bounded,
so odd input is a 422, never a database error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Literal

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from cases.contacts import normalise_email, normalise_language, normalise_phone, normalise_zone
from cases.errors import InvalidInput

MAX_ID = 2_147_483_647
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="numeric id")]
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("value_error", "{message}", {"message": message})


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise _fail("must not contain NUL characters")
    return value.strip()


def _domain(fn: Callable[[str], str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        try:
            return fn(_no_nul(value))
        except InvalidInput as exc:
            raise _fail(exc.message) from exc
    return check


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise _fail("must be between 2000-01-01 and 2100-01-01 (UTC)")
    return value.astimezone(UTC)


def _date_in_range(value: date) -> date:
    if not date(1900, 1, 1) <= value < date(2100, 1, 1):
        raise _fail("must be between 1900-01-01 and 2100-01-01")
    return value


_Clean = AfterValidator(_no_nul)
Str16 = Annotated[str, Field(max_length=16), _Clean]
Str32 = Annotated[str, Field(max_length=32), _Clean]
Str64 = Annotated[str, Field(max_length=64), _Clean]
Str200 = Annotated[str, Field(max_length=200), _Clean]
Str500 = Annotated[str, Field(max_length=500), _Clean]
Str2000 = Annotated[str, Field(max_length=2000), _Clean]
Str4000 = Annotated[str, Field(max_length=4000), _Clean]
Key32 = Annotated[str, Field(min_length=1, max_length=32), _Clean]
Key64 = Annotated[str, Field(min_length=1, max_length=64), _Clean]
Name = Annotated[str, Field(min_length=1, max_length=200), _Clean]
Reason = Annotated[str, Field(min_length=1, max_length=2000), _Clean]


Phone = Annotated[str, Field(max_length=40), AfterValidator(_domain(normalise_phone))]
Email = Annotated[str, Field(max_length=254), AfterValidator(_domain(normalise_email))]
Language = Annotated[str, Field(max_length=16), AfterValidator(_domain(normalise_language))]
Zone = Annotated[str, Field(max_length=64), AfterValidator(_domain(normalise_zone))]
Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]
Day = Annotated[date, AfterValidator(_date_in_range)]
Channel = Literal["sms", "email"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Patch(Strict):
    """A partial update: a field left out is unchanged; ``null`` only where the field allows it."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null(self) -> Patch:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.nullable:
                raise _fail(f"{name} cannot be null; leave it out to keep the current value")
        return self


# --- cases ---------------------------------------------------------------------------------------

class PartyIn(Strict):
    role: Literal["complainant", "officer"]
    full_name: Name
    message_name: Str200 | None = Field(
        None, description="The name messages greet the party by, as it follows 'Hello' in "
        "their language (e.g. 'Ms. Nowak', 'Pani Anno', 'Abdul Rahman'); empty: no name")
    phone: Phone | None = None
    email: Email | None = None
    language: Language = "en"
    channels: list[Channel] = Field(default=["sms", "email"], max_length=2)
    time_zone: Zone = "America/Chicago"
    officer_star: Str16 | None = None
    interpreter: Str32 | None = None
    accessibility: Str2000 | None = None
    guardian_name: Str200 | None = None
    area: Str64 | None = None
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)

    @model_validator(mode="after")
    def _reachable(self) -> PartyIn:
        if self.phone is None and self.email is None:
            raise _fail("needs a phone number or an email address")
        if self.role == "officer" and not self.officer_star:
            raise _fail("officer_star is required for an officer")
        return self


class CaseIn(Strict):
    log_number: Key32
    incident_date: Day
    allegation_categories: list[Key64] = Field(min_length=1, max_length=12)
    parties: list[PartyIn] = Field(min_length=2, max_length=12)
    injury: bool = False
    criminal_conduct: bool = False
    pending_litigation: bool = False
    staff_notes: Str4000 = ""
    accepts_video: bool = False
    co_mediation: bool | None = None
    session_language: Str32 | None = Field(
        None, description="the language the session is held in (en, es, pl, zh, ar, tl, ko, "
        "hi, ur, ase for ASL); default: the program's working language. A party's `language` "
        "only chooses their notices")
    interpreter: Str32 | None = Field(
        None, description="the language an interpreter covers (e.g. pl, ase); default: the "
        "first a party asked for")
    access_needs: list[Key64] | None = Field(
        None, max_length=8, description="venue access features needed (step_free, "
        "accessible_restroom, hearing_loop, quiet_room); default: step_free when a party noted "
        "an accessibility need")


class SessionNeedsIn(Strict):
    """What the session needs; a field left out stays as it is."""

    session_language: Str32 | None = None
    interpreter: Str32 | None = Field(None, description='"" or "none" clears it')
    access_needs: list[Key64] | None = Field(None, max_length=8)
    co_mediation: bool | None = None


class DecisionIn(Strict):
    eligible: bool
    reason: Str2000 | None = None


class ReasonIn(Strict):
    reason: Reason


class PartyOut(BaseModel):
    id: int
    role: str
    full_name: str
    message_name: str | None
    phone: str | None
    email: str | None
    language: str
    channels: list[str]
    time_zone: str
    officer_star: str | None
    interpreter: str | None
    accessibility: str | None
    guardian_name: str | None
    sms_opted_out: bool
    consent: str | None


class CaseSummary(BaseModel):
    id: int
    log_number: str
    state: str
    allegation_categories: list[str]
    recommendation: str | None
    referred_at: datetime | None
    consent_deadline: datetime | None
    created_at: datetime


class CaseOut(CaseSummary):
    incident_date: date
    injury: bool
    criminal_conduct: bool
    pending_litigation: bool
    staff_notes: str
    accepts_video: bool
    co_mediation: bool
    session_language: str
    interpreter: str | None
    access_needs: list[str]
    recommendation_reasons: list[str]
    decided_by: str | None
    decision_reason: str | None
    decision_overrode_policy: bool
    booking_target: datetime | None
    booking_deadline: datetime | None
    outcome: str | None
    returned_reason: str | None
    closed_at: datetime | None
    parties: list[PartyOut]


class TimelineEntry(BaseModel):
    at: datetime
    kind: Literal["audit", "notification", "session"]
    action: str
    actor: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class ConsentIn(Strict):
    granted: bool
    channel: Literal["phone", "in_person", "mail"] = "phone"


class ConsentOut(BaseModel):
    party_id: int
    role: str
    status: str
    requested_at: datetime | None
    deadline: datetime | None
    answered_at: datetime | None
    channel: str | None
    recorded_by: str | None


class LinkIn(Strict):
    purpose: Literal["consent", "availability", "booking"]


class LinkOut(BaseModel):
    url: str
    expires_at: datetime


# --- availability ------------------------------------------------------------------------------

class WindowIn(Strict):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM local")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", description="HH:MM local")

    @model_validator(mode="after")
    def _ordered(self) -> WindowIn:
        if self.end != "24:00" and self.start >= self.end:
            raise _fail("the window must end after it starts")
        return self


class AvailabilityIn(Strict):
    time_zone: Zone = "America/Chicago"
    windows: list[WindowIn] = Field(max_length=50)


class WindowOut(BaseModel):
    weekday: int | None
    start: str | None
    end: str | None
    time_zone: str
    starts_at: datetime | None
    ends_at: datetime | None


# --- sessions ------------------------------------------------------------------------------------

class BookIn(Strict):
    case_id: int = Field(ge=1, le=MAX_ID)
    mediator_id: int = Field(ge=1, le=MAX_ID)
    co_mediator_id: int | None = Field(None, ge=1, le=MAX_ID)
    venue_id: int = Field(ge=1, le=MAX_ID)
    starts_at: Instant
    ends_at: Instant | None = None
    override_reason: Str2000 | None = Field(
        None, description="why the session may fall outside the windows the parties and "
        "mediators gave (e.g. 'agreed by phone'); recorded in the audit. Every other rule holds.")

    @model_validator(mode="after")
    def _ordered(self) -> BookIn:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise _fail("ends_at must be after starts_at")
        return self


class RescheduleIn(Strict):
    starts_at: Instant
    ends_at: Instant | None = None
    mediator_id: int | None = Field(None, ge=1, le=MAX_ID)
    venue_id: int | None = Field(None, ge=1, le=MAX_ID)
    reason: Str2000 | None = None
    override_reason: Str2000 | None = Field(
        None, description="as for booking: why the new time may fall outside people's windows")

    @model_validator(mode="after")
    def _ordered(self) -> RescheduleIn:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise _fail("ends_at must be after starts_at")
        return self


class OutcomeIn(Strict):
    outcome: Literal["successful", "impasse"]
    note: Str2000 | None = None


class SessionOut(BaseModel):
    id: int
    case_id: int
    mediator_id: int
    co_mediator_id: int | None
    venue_id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    sequence: int
    interpreter: str | None
    cancel_reason: str | None
    no_show_reason: str | None


class RemindOut(BaseModel):
    queued: int
    notification_ids: list[int]


# --- notifications -------------------------------------------------------------------------------

class InboundOut(BaseModel):
    id: int
    received_at: datetime
    sender: str  # masked
    body: str
    interpretation: str
    needs_staff: bool
    party_id: int | None
    case_ids: list[int]  # the cases it could be about, when it was applied to none


class NotificationOut(BaseModel):
    id: int
    case_id: int | None
    party_id: int | None
    mediator_id: int | None
    session_id: int | None
    recipient_kind: str
    kind: str
    channel: str
    language: str
    to: str
    status: str
    attempts: int
    due_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    fallback_of_id: int | None
    created_at: datetime


# --- mediators and venues ------------------------------------------------------------------------

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
            raise _fail("a video venue needs a video_url")
        if self.kind == "in_person" and not self.address:
            raise _fail("an in-person venue needs an address")
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


# --- users -------------------------------------------------------------------------------------

class UserIn(Strict):
    username: Key64
    password: Annotated[str, Field(min_length=10, max_length=200)]
    role: Literal["admin", "staff", "viewer"]


class UserPatch(Patch):
    role: Literal["admin", "staff", "viewer"] | None = None
    active: bool | None = None
    password: Annotated[str, Field(min_length=10, max_length=200)] | None = None


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    active: bool
    created_at: datetime


class TokenIn(Strict):
    name: Key64


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    token: str | None = Field(None, description="shown once, when the token is created")
