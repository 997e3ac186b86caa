"""Cases, parties, consents, party links and availability windows, as the API reads and writes them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from cases.service import NewCase, NewParty
from web.api.schemas.fields import (
    Channel,
    Day,
    Email,
    Key32,
    Key64,
    Language,
    Name,
    Phone,
    Reason,
    Str16,
    Str32,
    Str64,
    Str200,
    Str2000,
    Str4000,
    Strict,
    Zone,
    invalid_value,
)


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

    def new_party(self) -> NewParty:
        """The party as the domain takes it (the API's and the staff form's one translation)."""
        return NewParty(**self.model_dump(exclude={"channels"}), channels=list(self.channels))

    @model_validator(mode="after")
    def _reachable(self) -> PartyIn:
        if self.phone is None and self.email is None:
            raise invalid_value("needs a phone number or an email address")
        if self.role == "officer" and not self.officer_star:
            raise invalid_value("officer_star is required for an officer")
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

    def new_case(self) -> NewCase:
        """The case as the domain takes it: one translation for the API and the staff form, so a
        field added to intake cannot reach one and not the other."""
        return NewCase(
            log_number=self.log_number, incident_date=self.incident_date,
            allegation_categories=list(self.allegation_categories),
            parties=[p.new_party() for p in self.parties],
            injury=self.injury, criminal_conduct=self.criminal_conduct,
            pending_litigation=self.pending_litigation, staff_notes=self.staff_notes,
            accepts_video=self.accepts_video, co_mediation=self.co_mediation,
            session_language=self.session_language, interpreter=self.interpreter,
            access_needs=self.access_needs)


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
            raise invalid_value("the window must end after it starts")
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
