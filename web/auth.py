"""Who is asking: staff passwords (argon2), signed session cookies with CSRF tokens, hashed API
tokens and roles. The sign-in limit is :mod:`web.login_throttle`.

Roles nest: an admin can do what staff can, staff can do what a viewer can. A viewer sees reports
only, which carry no personal data.

A session cookie carries the user's ``session_epoch``; signing out, a new password, a new role
or deactivation raise it (``change_user``, ``end_sessions``), so every cookie issued before stops
working on the next request, in every process. API tokens stop with their user's deactivation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.errors import InvalidInput
from cases.models import ApiToken, StaffRole, StaffUser
from web.context import Db, get_context

SESSION_COOKIE = "cmp_session"
LOGIN_CSRF_COOKIE = "cmp_login_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_LIFETIME = timedelta(hours=12)
ROLE_RANK = {StaffRole.VIEWER.value: 0, StaffRole.STAFF.value: 1, StaffRole.ADMIN.value: 2}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")


# --- passwords ---------------------------------------------------------------------------------

def check_new_password(password: str, field: str = "password") -> str:
    if len(password) < 10:
        raise InvalidInput(field, "must be at least 10 characters long")
    if len(password) > 200:
        raise InvalidInput(field, "must be at most 200 characters long")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the user exists (``None`` checks against a dummy hash)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, username: str, password: str) -> StaffUser | None:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        return None
    return user


def create_user(session: Session, *, username: str, password: str, role: str,
                now: datetime) -> StaffUser:
    name = username.strip().lower()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-" for c in name):
        raise InvalidInput("username", "use 1-64 letters, digits, '.', '_' or '-'")
    if role not in ROLE_RANK:
        raise InvalidInput("role", "must be admin, staff or viewer")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == name)) is not None:
        raise InvalidInput("username", "is already taken")
    user = StaffUser(username=name, password_hash=hash_password(check_new_password(password)),
                     role=role, active=True, created_at=now)
    session.add(user)
    session.flush()
    return user


def end_sessions(user: StaffUser) -> None:
    """Every session cookie issued to ``user`` so far stops working."""
    user.session_epoch = (user.session_epoch or 0) + 1


def _keeps_an_admin(session: Session, user: StaffUser) -> bool:
    """Whether another active admin remains besides ``user``. All active admins' rows are locked
    first (PostgreSQL), so that two admins demoting each other at once cannot both succeed."""
    admins = session.scalars(select(StaffUser.id).where(
        StaffUser.role == StaffRole.ADMIN.value, StaffUser.active.is_(True))
        .with_for_update()).all()
    return any(admin_id != user.id for admin_id in admins)


def change_user(session: Session, user: StaffUser, *, role: str | None = None,
                active: bool | None = None, password: str | None = None) -> None:
    """Set a user's role, active flag or password; any of these ends the user's sessions.

    :raises InvalidInput: an unknown role, a password too short or long, or a change that would
        leave no active admin (the last admin cannot demote or deactivate themselves).
    """
    if role is not None and role not in ROLE_RANK:
        raise InvalidInput("role", "must be admin, staff or viewer")
    was_admin = user.role == StaffRole.ADMIN.value and user.active
    stops_admin = (role is not None and role != StaffRole.ADMIN.value) or active is False
    if was_admin and stops_admin and not _keeps_an_admin(session, user):
        raise InvalidInput("role" if role is not None else "active",
                           "cannot be changed: this is the last active admin; make another "
                           "admin first")
    changed = False
    if role is not None and role != user.role:
        user.role, changed = role, True
    if active is not None and active != user.active:
        user.active, changed = active, True
    if password is not None:
        user.password_hash, changed = hash_password(check_new_password(password)), True
    if changed:
        end_sessions(user)


# --- signed values -----------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, data: bytes) -> bytes:
    return hmac.new(f"{purpose}:{secret}".encode(), data, hashlib.sha256).digest()


@dataclass(frozen=True)
class SessionData:
    user_id: int
    epoch: int
    issued_at: int
    nonce: str


def make_session_cookie(secret: str, user: StaffUser, now: datetime) -> str:
    payload = json.dumps({"u": user.id, "e": user.session_epoch or 0, "i": int(now.timestamp()),
                          "n": secrets.token_urlsafe(12)}, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, 'session', payload))}"


def read_session_cookie(secret: str, value: str, now: datetime) -> SessionData | None:
    try:
        payload_part, mac_part = value.split(".", 1)
        payload = _unb64(payload_part)
        if not hmac.compare_digest(_unb64(mac_part), _mac(secret, "session", payload)):
            return None
        data = json.loads(payload)
        issued = int(data["i"])
        result = SessionData(user_id=int(data["u"]), epoch=int(data["e"]), issued_at=issued,
                             nonce=str(data["n"]))
    except (ValueError, KeyError, TypeError):
        return None
    if not 0 <= now.timestamp() - issued < SESSION_LIFETIME.total_seconds():
        return None
    return result


def csrf_token_for(secret: str, nonce: str) -> str:
    return _mac(secret, "csrf", nonce.encode()).hex()[:40]


# --- API tokens --------------------------------------------------------------------------------

def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(session: Session, user: StaffUser, name: str, now: datetime) -> tuple[ApiToken,
                                                                                            str]:
    """Create a token; the plain value is returned once and only its sha256 is stored."""
    plain = "cmp_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=hash_api_token(plain), created_at=now)
    session.add(row)
    session.flush()
    return row, plain


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "-"


# --- dependencies ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: str
    via: str  # "cookie" | "token"
    csrf_token: str = ""

    def at_least(self, role: StaffRole) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role.value]

    @property
    def sees_personal_data(self) -> bool:
        return self.at_least(StaffRole.STAFF)


def _principal_from_token(session: Session, token: str, now: datetime) -> Principal | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_api_token(token)))
    if row is None or not row.user.active:
        return None
    row.last_used_at = now
    return Principal(row.user.id, row.user.username, row.user.role, "token")


def principal_from_cookie(request: Request, session: Session) -> Principal | None:
    ctx = get_context(request)
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    data = read_session_cookie(ctx.secret, value, ctx.now())
    if data is None:
        return None
    user = session.get(StaffUser, data.user_id)
    if user is None or not user.active or data.epoch != (user.session_epoch or 0):
        return None
    return Principal(user.id, user.username, user.role, "cookie",
                     csrf_token_for(ctx.secret, data.nonce))


def optional_principal(request: Request, db: Db) -> Principal | None:
    """The caller, from ``Authorization: Bearer`` or the session cookie; ``None`` if anonymous.

    A cookie-authenticated change must carry the CSRF token (header or form field is checked
    by the caller for forms; the API checks the header here).
    """
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "invalid credentials", headers={"WWW-Authenticate": "Bearer"})
        found = _principal_from_token(db, token.strip(), get_context(request).now())
        if found is None:
            raise HTTPException(401, "invalid credentials", headers={"WWW-Authenticate": "Bearer"})
        return found
    return principal_from_cookie(request, db)


def api_principal(request: Request,
                  principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
    if principal.via == "cookie" and request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, principal.csrf_token):
            raise HTTPException(403, "missing or wrong CSRF token")
    return principal


def require(role: StaffRole) -> object:
    """A dependency that admits ``role`` and the roles above it; 401 anonymous, 403 too low."""

    def dependency(principal: Annotated[Principal, Depends(api_principal)]) -> Principal:
        if not principal.at_least(role):
            raise HTTPException(403, f"needs the {role.value} role")
        return principal

    return Depends(dependency)


Viewer = Annotated[Principal, require(StaffRole.VIEWER)]
Staff = Annotated[Principal, require(StaffRole.STAFF)]
Admin = Annotated[Principal, require(StaffRole.ADMIN)]
