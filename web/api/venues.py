"""Venues: neutral places (never a police facility) and video rooms."""

from __future__ import annotations

from fastapi import APIRouter

from cases.directory import NewVenue, add_venue, list_venues, parse_opening_hours
from cases.directory import update_venue as change_venue
from cases.errors import NotFound
from cases.models import Venue
from web.api import views
from web.api.schemas import Id, VenueIn, VenueOut, VenuePatch
from web.auth import Staff
from web.context import Ctx, Db

router = APIRouter(prefix="/venues", tags=["venues"])


def _get(db: Db, venue_id: int) -> Venue:
    venue = db.get(Venue, venue_id)
    if venue is None:
        raise NotFound("venue", venue_id)
    return venue


@router.get("", response_model=list[VenueOut])
def venues(db: Db, user: Staff) -> list[VenueOut]:
    return [views.venue_out(v) for v in list_venues(db)]


@router.post("", status_code=201, response_model=VenueOut)
def create_venue(body: VenueIn, db: Db, ctx: Ctx, user: Staff) -> VenueOut:
    data = body.model_dump()
    data["opening_hours"] = parse_opening_hours(body.opening_hours)
    venue = add_venue(db, NewVenue(**data), now=ctx.now(), actor=user.username)
    return views.venue_out(venue)


@router.get("/{venue_id}", response_model=VenueOut)
def show_venue(venue_id: Id, db: Db, user: Staff) -> VenueOut:
    return views.venue_out(_get(db, venue_id))


@router.patch("/{venue_id}", response_model=VenueOut)
def update_venue(venue_id: Id, body: VenuePatch, db: Db, ctx: Ctx, user: Staff) -> VenueOut:
    venue = _get(db, venue_id)
    change_venue(db, venue, body.model_dump(exclude_unset=True), now=ctx.now(),
                 actor=user.username)
    return views.venue_out(venue)
