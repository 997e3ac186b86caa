"""Small matcher inputs for the pure matcher's tests: a fixed September 2026 calendar, one
mediator, one venue and one case, each with keyword overrides."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from scheduler.matching import CaseRequest, MatchPolicy, MediatorProfile, Party, VenueProfile

NOW = datetime(2026, 9, 1, 13, 0, tzinfo=UTC)  # Tuesday 08:00 in Chicago
POLICY = MatchPolicy(min_notice=timedelta(hours=24))
HERE = (41.88, -87.63)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 9, day, hour, minute, tzinfo=UTC)


def daily(first: int, last: int, h0: int, h1: int) -> tuple[tuple[datetime, datetime], ...]:
    return tuple((at(d, h0), at(d, h1)) for d in range(first, last + 1))


WIDE = daily(2, 30, 13, 23)


def mediator(mid: str = "M1", **kw: Any) -> MediatorProfile:
    base = MediatorProfile(
        mediator_id=mid, languages=frozenset({"en"}), general_hours=40, specialised_hours=25,
        training_expires_on=date(2027, 12, 31), max_sessions_per_week=10, available=WIDE)
    return replace(base, **kw)


def venue(vid: str = "V1", **kw: Any) -> VenueProfile:
    base = VenueProfile(
        venue_id=vid, kind="in_person", neutral=True, police_facility=False, accessible=True,
        capacity=10, opening=WIDE, location=HERE)
    return replace(base, **kw)


def case(cid: str = "K1", windows: Any = WIDE, officer: str | None = None, **kw: Any
         ) -> CaseRequest:
    base = CaseRequest(
        case_id=cid, referred_at=NOW - timedelta(days=10), deadline=at(30, 0),
        parties=(Party(officer or f"O-{cid}", "officer", windows),
                 Party(f"C-{cid}", "complainant", windows)),
        area=HERE)
    return replace(base, **kw)
