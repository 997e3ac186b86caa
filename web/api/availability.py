"""Weekly availability of parties (usually given on their own page) and mediators."""

from __future__ import annotations

from datetime import time

from fastapi import APIRouter
from sqlalchemy import select

from cases import service
from cases.directory import get_mediator
from cases.errors import NotFound
from cases.models import AvailabilityWindow, Party
from web.api.schemas import AvailabilityIn, Id, WindowOut
from web.auth import Staff
from web.context import Ctx, Db

router = APIRouter(tags=["availability"])


def _windows(db: Db, kind: str, owner_id: int) -> list[WindowOut]:
    rows = db.scalars(select(AvailabilityWindow).where(
        AvailabilityWindow.owner_kind == kind, AvailabilityWindow.owner_id == owner_id)
        .order_by(AvailabilityWindow.weekday, AvailabilityWindow.start_local,
                  AvailabilityWindow.id))
    return [WindowOut(weekday=r.weekday, start=r.start_local, end=r.end_local,
                      time_zone=r.time_zone, starts_at=r.starts_at, ends_at=r.ends_at)
            for r in rows]


def _to_windows(body: AvailabilityIn) -> list[service.WeeklyWindow]:
    return [service.WeeklyWindow(w.weekday, time.fromisoformat(w.start),
                                 time(23, 59) if w.end == "24:00" else time.fromisoformat(w.end))
            for w in body.windows]


def _party(db: Db, party_id: int) -> Party:
    party = db.get(Party, party_id)
    if party is None:
        raise NotFound("party", party_id)
    return party


@router.get("/parties/{party_id}/availability", response_model=list[WindowOut])
def party_availability(party_id: Id, db: Db, user: Staff) -> list[WindowOut]:
    _party(db, party_id)
    return _windows(db, "party", party_id)


@router.put("/parties/{party_id}/availability", response_model=list[WindowOut],
            summary="Replace a party's weekly windows (e.g. given by phone)")
def set_party_availability(party_id: Id, body: AvailabilityIn, db: Db, ctx: Ctx,
                           user: Staff) -> list[WindowOut]:
    party = _party(db, party_id)
    service.set_weekly_availability(db, owner_kind="party", owner_id=party.id,
                                    windows=_to_windows(body), time_zone=body.time_zone,
                                    now=ctx.now(), actor=user.username, case_id=party.case_id)
    db.flush()
    return _windows(db, "party", party.id)


@router.get("/mediators/{mediator_id}/availability", response_model=list[WindowOut])
def mediator_availability(mediator_id: Id, db: Db, user: Staff) -> list[WindowOut]:
    get_mediator(db, mediator_id)
    return _windows(db, "mediator", mediator_id)


@router.put("/mediators/{mediator_id}/availability", response_model=list[WindowOut],
            summary="Replace a mediator's standing weekly hours")
def set_mediator_availability(mediator_id: Id, body: AvailabilityIn, db: Db, ctx: Ctx,
                              user: Staff) -> list[WindowOut]:
    mediator = get_mediator(db, mediator_id)
    service.set_weekly_availability(db, owner_kind="mediator", owner_id=mediator.id,
                                    windows=_to_windows(body), time_zone=body.time_zone,
                                    now=ctx.now(), actor=user.username)
    db.flush()
    return _windows(db, "mediator", mediator.id)
