"""Staff accounts (admin), the policy in force (admin), and one's own API tokens."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select

from cases import audit
from cases.errors import NotFound
from cases.models import ApiToken, StaffUser
from web.api import views
from web.api.schemas import Id, TokenIn, TokenOut, UserIn, UserOut, UserPatch
from web.auth import Admin, Principal, api_principal, change_user, create_user, issue_api_token
from web.context import Ctx, Db

router = APIRouter(tags=["users"])
Anyone = Annotated[Principal, Depends(api_principal)]


def _user(db: Db, user_id: int) -> StaffUser:
    user = db.get(StaffUser, user_id)
    if user is None:
        raise NotFound("user", user_id)
    return user


@router.get("/users", response_model=list[UserOut])
def users(db: Db, admin: Admin) -> list[UserOut]:
    return [views.user_out(u) for u in db.scalars(select(StaffUser).order_by(StaffUser.id))]


@router.post("/users", status_code=201, response_model=UserOut)
def add_user(body: UserIn, db: Db, ctx: Ctx, admin: Admin) -> UserOut:
    now = ctx.now()
    user = create_user(db, username=body.username, password=body.password, role=body.role,
                       now=now)
    audit.record(db, at=now, actor=admin.username, action="user.added", subject_kind="user",
                 subject_id=user.id, role=user.role)
    return views.user_out(user)


@router.patch("/users/{user_id}", response_model=UserOut,
              summary="Change a user's role, deactivate them, or set a new password")
def update_user(user_id: Id, body: UserPatch, db: Db, ctx: Ctx, admin: Admin) -> UserOut:
    user = _user(db, user_id)
    change_user(db, user, role=body.role, active=body.active, password=body.password)
    audit.record(db, at=ctx.now(), actor=admin.username, action="user.updated",
                 subject_kind="user", subject_id=user.id,
                 fields=sorted(body.model_fields_set))
    return views.user_out(user)


@router.get("/policy", summary="The eligibility and timing policy in force")
def policy(ctx: Ctx, admin: Admin) -> dict[str, Any]:
    data = asdict(ctx.policy)
    return {k: (sorted(v) if isinstance(v, frozenset) else
                v.total_seconds() / 3600 if isinstance(v, timedelta) else v)
            for k, v in data.items()} | {"units": "durations in hours"}


@router.get("/me", response_model=UserOut, tags=["users"])
def me(db: Db, principal: Anyone) -> UserOut:
    return views.user_out(_user(db, principal.user_id))


@router.get("/me/tokens", response_model=list[TokenOut])
def my_tokens(db: Db, principal: Anyone) -> list[TokenOut]:
    rows = db.scalars(select(ApiToken).where(ApiToken.user_id == principal.user_id)
                      .order_by(ApiToken.id))
    return [TokenOut(id=r.id, name=r.name, created_at=r.created_at, last_used_at=r.last_used_at,
                     token=None)
            for r in rows]


@router.post("/me/tokens", status_code=201, response_model=TokenOut,
             summary="A new API token for scripts; its value is shown only now")
def new_token(body: TokenIn, db: Db, ctx: Ctx, principal: Anyone) -> TokenOut:
    now = ctx.now()
    row, plain = issue_api_token(db, _user(db, principal.user_id), body.name, now)
    audit.record(db, at=now, actor=principal.username, action="token.issued",
                 subject_kind="api_token", subject_id=row.id)
    return TokenOut(id=row.id, name=row.name, created_at=row.created_at, last_used_at=None,
                    token=plain)


@router.delete("/me/tokens/{token_id}", status_code=204, response_class=Response)
def revoke_token(token_id: Id, db: Db, ctx: Ctx, principal: Anyone) -> Response:
    row = db.get(ApiToken, token_id)
    if row is None or row.user_id != principal.user_id:
        raise NotFound("token", token_id)
    db.delete(row)
    audit.record(db, at=ctx.now(), actor=principal.username, action="token.revoked",
                 subject_kind="api_token", subject_id=token_id)
    return Response(status_code=204)
