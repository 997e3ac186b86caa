"""Staff users and their API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from web.api.schemas.fields import Key64, Patch, Strict


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
