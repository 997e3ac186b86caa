"""The building blocks every request model uses: bounded strings, ids and instants, contact
fields checked through ``cases.contacts`` (so the API and the CLI accept the same spellings), and
the ``Strict`` and ``Patch`` bases. Every string refuses NUL characters and every id and instant
is bounded, so odd input is a 422, never a database error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, ClassVar, Literal

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from cases.contacts import normalise_email, normalise_language, normalise_phone, normalise_zone
from cases.errors import InvalidInput

MAX_ID = 2_147_483_647
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="numeric id")]
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def invalid_value(message: str) -> PydanticCustomError:
    return PydanticCustomError("value_error", "{message}", {"message": message})


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise invalid_value("must not contain NUL characters")
    return value.strip()


def _domain(fn: Callable[[str], str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        try:
            return fn(_no_nul(value))
        except InvalidInput as exc:
            raise invalid_value(exc.message) from exc
    return check


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise invalid_value("must be between 2000-01-01 and 2100-01-01 (UTC)")
    return value.astimezone(UTC)


def _date_in_range(value: date) -> date:
    if not date(1900, 1, 1) <= value < date(2100, 1, 1):
        raise invalid_value("must be between 1900-01-01 and 2100-01-01")
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
                raise invalid_value(f"{name} cannot be null; leave it out to keep the current value")
        return self
