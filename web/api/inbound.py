"""Texts parties sent us, newest first; ``needs_staff`` ones are those no rule could apply (an
unknown message, a consent answer that could belong to more than one case)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from cases.models import InboundMessage
from web.api import views
from web.api.schemas import InboundOut
from web.auth import Staff
from web.context import Db

router = APIRouter(prefix="/inbound", tags=["inbound"])


@router.get("", response_model=list[InboundOut],
            summary="Inbound texts (sender masked); needs_staff=true for the ones to read")
def list_inbound(
    db: Db, user: Staff,
    needs_staff: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[InboundOut]:
    query = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(limit).offset(offset)
    if needs_staff is not None:
        query = query.where(InboundMessage.needs_staff == needs_staff)
    return [views.inbound_out(row) for row in db.scalars(query)]
