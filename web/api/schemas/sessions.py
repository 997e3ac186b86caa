"""Sessions (booking, rescheduling, outcomes, reminders) and the notices and replies they cause."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from web.api.schemas.fields import MAX_ID, Instant, Str2000, Strict, invalid_value


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
            raise invalid_value("ends_at must be after starts_at")
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
            raise invalid_value("ends_at must be after starts_at")
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
