"""Value objects of the matcher: what goes in (cases, mediators, venues, policy) and what comes out.

Every datetime is aware and is read as UTC; intervals are half-open ``(start, end)`` pairs, already
expanded from weekly windows by the caller (see :mod:`calendars.intervals`). Language codes are
ISO 639-1 (``"en"``, ``"es"``, ``"pl"``...) plus ``"ase"`` for American Sign Language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Literal

from cases.qualification import QualificationRules

Interval = tuple[datetime, datetime]
"""A half-open UTC span ``[start, end)``."""

LatLon = tuple[float, float]

PartyRole = Literal["complainant", "officer", "other"]

STEP_FREE = "step_free"
"""The access feature that ``VenueProfile.accessible`` and ``CaseRequest.accessibility`` mean."""


def _empty_weeks() -> Mapping[tuple[int, int], int]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Party:
    """One person who must attend, with the windows they said they can come."""

    party_id: str
    role: PartyRole
    windows: tuple[Interval, ...]


@dataclass(frozen=True, slots=True)
class CaseRequest:
    """A consented case waiting for a session.

    ``languages`` are the session's languages, which the mediator (or the pair, between them)
    must speak; empty means the policy's working language. A party's reading language is not
    one of them: it only chooses their notices. When ``interpreter`` is true an interpreter
    attends (a seat more); the mediators still speak the session language.
    ``co_mediation`` says whether the case needs two mediators (``None``: the policy's default).
    ``access_needs`` are venue features a person attending needs (``"step_free"``,
    ``"hearing_loop"``...); ``accessibility`` is the older flag for ``"step_free"``.
    ``target`` is the booking target (a session starting after it is late); ``None``: none.
    ``attendees`` counts the people in the room besides the mediators (defaults to the parties plus
    the interpreter).
    """

    case_id: str
    referred_at: datetime
    deadline: datetime
    parties: tuple[Party, ...]
    languages: frozenset[str] = frozenset({"en"})
    interpreter: bool = False
    accessibility: bool = False
    accepts_video: bool = False
    area: LatLon | None = None
    attendees: int | None = None
    co_mediation: bool | None = None
    access_needs: frozenset[str] = frozenset()
    target: datetime | None = None

    @property
    def needs(self) -> frozenset[str]:
        """Venue features the case needs (``accessibility`` counts as ``"step_free"``)."""
        return self.access_needs | ({STEP_FREE} if self.accessibility else frozenset())

    @property
    def party_ids(self) -> frozenset[str]:
        return frozenset(p.party_id for p in self.parties)

    @property
    def officer_ids(self) -> frozenset[str]:
        return frozenset(p.party_id for p in self.parties if p.role == "officer")

    @property
    def headcount(self) -> int:
        if self.attendees is not None:
            return self.attendees
        return len(self.parties) + (1 if self.interpreter else 0)


@dataclass(frozen=True, slots=True)
class MediatorProfile:
    """A volunteer mediator as the matcher needs them.

    ``available`` are the weekly hours they offer, expanded to UTC; ``busy`` are the events read
    from their calendar. ``sessions_by_week`` counts sessions already booked per ISO week
    ``(year, week)`` in the policy's zone. ``conflict_person_ids`` are officers or community
    members they must never meet; ``recent_officers`` are ``(officer_id, session_date)`` pairs of
    sessions they mediated, used for the "same officer within N months" rule.
    """

    mediator_id: str
    languages: frozenset[str]
    general_hours: float
    specialised_hours: float
    training_expires_on: date | None
    max_sessions_per_week: int
    available: tuple[Interval, ...]
    busy: tuple[Interval, ...] = ()
    sessions_by_week: Mapping[tuple[int, int], int] = field(
        default_factory=_empty_weeks, hash=False
    )
    conflict_person_ids: frozenset[str] = frozenset()
    recent_officers: tuple[tuple[str, date], ...] = ()
    former_police: bool = False


@dataclass(frozen=True, slots=True)
class VenueProfile:
    """A place (or a video meeting account) where sessions can be held.

    ``rooms`` is how many sessions it can host at once; ``capacity`` is the seats of one room.
    ``booked`` are sessions already held there (each takes one room). ``features`` are the
    access features it offers besides step-free access, which ``accessible`` stands for.
    """

    venue_id: str
    kind: Literal["in_person", "video"]
    neutral: bool
    police_facility: bool
    accessible: bool
    capacity: int
    opening: tuple[Interval, ...]
    booked: tuple[Interval, ...] = ()
    location: LatLon | None = None
    rooms: int = 1
    features: frozenset[str] = frozenset()

    @property
    def offers(self) -> frozenset[str]:
        """Every access feature of the venue, step-free access included when it is accessible."""
        return self.features | ({STEP_FREE} if self.accessible else frozenset())


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    """Agency policy for matching. Durations must be multiples of ``granularity``."""

    session_length: timedelta = timedelta(minutes=90)
    buffer: timedelta = timedelta(minutes=30)
    min_notice: timedelta = timedelta(hours=72)
    granularity: timedelta = timedelta(minutes=30)
    co_mediation: bool = False
    same_officer_months: int = 6
    holidays: frozenset[date] = frozenset()
    timezone: str = "America/Chicago"
    working_language: str = "en"
    max_venue_km: float | None = None
    video_equivalent_km: float = 10.0
    #: who may mediate (the policy's ``[mediators]``; :mod:`cases.qualification`)
    qualification: QualificationRules = field(default_factory=QualificationRules)
    improvement_budget: int = 60_000

    def __post_init__(self) -> None:
        g = self.granularity
        if g <= timedelta(0):
            raise ValueError("granularity must be positive")
        for name in ("session_length", "buffer"):
            value: timedelta = getattr(self, name)
            if value < timedelta(0) or value % g:
                raise ValueError(f"{name} must be a non-negative multiple of the granularity")
        if self.session_length <= timedelta(0):
            raise ValueError("session_length must be positive")


@dataclass(frozen=True, slots=True)
class Booking:
    """One proposed session: who mediates, where, when (UTC)."""

    case_id: str
    mediator_ids: tuple[str, ...]
    venue_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Bookings for the cases that could be placed, and a reason for each one that could not."""

    bookings: list[Booking]
    unbooked: dict[str, str]
