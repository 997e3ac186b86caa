"""Staff accounts, their API tokens, and the sign-in attempts counted against them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.base import Base, StaffRole, enum_values


class StaffUser(Base):
    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint(f"role IN ({enum_values(StaffRole)})", name="role_known"),
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
    """A sign-in attempt not known to have succeeded (``web.login_throttle.LoginThrottle``): counted per
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
