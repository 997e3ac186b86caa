"""The declarative base, the column types every model shares, and the states a row may be in.

Times are stored in UTC on every backend (``UTCDateTime``); what is shown to people is converted
at the edge to the program's or the person's zone. The states are ``StrEnum``s whose values are
what the database holds (and its CHECK constraints allow, through ``enum_values``).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

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


def enum_values(enum_cls: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum_cls)
