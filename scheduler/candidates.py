"""From rows to the matcher and back: read cases waiting for a session, mediators and venues into
the matcher's frozen value objects (:mod:`scheduler.profiles`), run it, and book what it proposes.

The matcher (:func:`scheduler.matching.match`) is pure; this module is the only place it meets
the database. A venue that is not neutral ground is never read in, so never offered.

Proposals are booked one by one through :func:`scheduler.booking.book_first_available`, which
re-checks every hard constraint and lets the database refuse a double booking. A case whose
proposal lost a race (another worker or a member of staff booked the slot first) is matched again
with fresh rows, up to ``rounds`` times: that is "the engine tries the next best option".
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.database import transaction
from cases.models import (
    AvailabilityWindow,
    Case,
    CaseState,
    MediationSession,
    Mediator,
    MediatorCalendarSnapshot,
    MediatorConflict,
    Party,
    PartyRole,
    Reservation,
    Venue,
)
from scheduler import profiles
from scheduler.booking import BookingOption, Rules, book_first_available
from scheduler.matching import (
    Booking,
    CaseRequest,
    MatchPolicy,
    MatchResult,
    MediatorProfile,
    VenueProfile,
    match,
)
from scheduler.profiles import ACTIVE, WEEKLY_LOAD, person_key

log = logging.getLogger(__name__)


class Matcher(Protocol):
    def __call__(self, cases: Sequence[CaseRequest], mediators: Sequence[MediatorProfile],
                 venues: Sequence[VenueProfile], *, now: datetime,
                 policy: MatchPolicy | None = None) -> MatchResult: ...


@dataclass(frozen=True, slots=True)
class MatchInputs:
    cases: tuple[CaseRequest, ...]
    mediators: tuple[MediatorProfile, ...]
    venues: tuple[VenueProfile, ...]
    policy: MatchPolicy
    #: mediators left out because their own calendar has never been read (see its status)
    unread_calendars: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class MatchRun:
    """What one run did: sessions booked (by case), and why the other cases were not."""

    booked: dict[int, int]
    unbooked: dict[int, str]


def match_policy(rules: Rules) -> MatchPolicy:
    return profiles.match_policy(rules.policy, rules.time_zone)


def read_inputs(session: Session, rules: Rules, *, now: datetime,
                case_ids: Sequence[int] | None = None,
                moving: MediationSession | None = None) -> MatchInputs:
    """Cases in scheduling without an active session, active mediators and neutral venues.

    ``moving``: a booked session to find other times for; its case alone is read, as if the
    session were not there (it neither takes its mediators' and venue's time nor counts
    towards a weekly limit), the same way :func:`scheduler.booking.constraints.problems`
    treats it."""
    policy = match_policy(rules)
    tz = ZoneInfo(rules.time_zone)
    has_session = select(MediationSession.case_id).where(MediationSession.status.in_(ACTIVE))
    query = select(Case).where(Case.state == CaseState.SCHEDULING.value,
                               Case.id.not_in(has_session)).order_by(Case.id)
    if moving is not None:
        query = select(Case).where(Case.id == moving.case_id)
    elif case_ids is not None:
        query = query.where(Case.id.in_(case_ids))
    cases = list(session.scalars(query))
    default_deadline = now + rules.policy.booking_limit
    horizon = max([c.booking_deadline or default_deadline for c in cases] + [default_deadline])
    windows_by_owner: dict[tuple[str, int], list[AvailabilityWindow]] = defaultdict(list)
    for w in session.scalars(select(AvailabilityWindow)):
        windows_by_owner[(w.owner_kind, w.owner_id)].append(w)

    # what each person already has in their other cases (an officer named again, a complainant
    # back with a new complaint): the reservations of their person_key the booking would meet
    people = {person_key(p) for case in cases for p in case.parties}
    people_busy: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for r in session.scalars(select(Reservation).where(
            Reservation.active.is_(True), Reservation.ends_at > now,
            Reservation.resource.in_(people))):
        if moving is None or r.session_id != moving.id:
            people_busy[r.resource].append((r.starts_at, r.ends_at))
    requests = [profiles.case_request(
        case, {p.id: windows_by_owner[("party", p.id)] for p in case.parties},
        deadline=case.booking_deadline or default_deadline, start=now, end=horizon,
        working_language=rules.policy.working_language, busy=people_busy)
        for case in cases]

    names: dict[str, set[str]] = defaultdict(set)
    for case in cases:
        for p in case.parties:
            names[p.full_name.casefold()].add(person_key(p))
    sessions = [s for s in session.scalars(select(MediationSession).where(
        MediationSession.status.in_(WEEKLY_LOAD)))
        if moving is None or s.id != moving.id]
    stars_by_case: dict[int, list[str]] = defaultdict(list)
    for p in session.scalars(select(Party).where(Party.officer_star.is_not(None))):
        if p.role == PartyRole.OFFICER.value and p.officer_star:
            stars_by_case[p.case_id].append(p.officer_star)
    mediators = []
    unread: list[int] = []
    for m in session.scalars(select(Mediator).where(Mediator.active.is_(True))
                             .order_by(Mediator.id)):
        calendar = profiles.calendar_busy(m, session.get(MediatorCalendarSnapshot, m.id))
        if calendar is None:
            unread.append(m.id)
            continue  # calendar never read: not offered rather than double-booked
        mediators.append(profiles.mediator_profile(
            m, sessions=[s for s in sessions if m.id in (s.mediator_id, s.co_mediator_id)],
            calendar=calendar, conflicts=session.scalars(
                select(MediatorConflict).where(MediatorConflict.mediator_id == m.id)),
            names=names, stars_by_case=stars_by_case,
            windows=windows_by_owner[("mediator", m.id)], tz=tz, start=now, end=horizon))

    venues = [profiles.venue_profile(v, sessions=sessions, start=now, end=horizon)
              for v in session.scalars(select(Venue).where(Venue.active.is_(True),
                                                           Venue.neutral.is_(True))
                                       .order_by(Venue.id))]
    return MatchInputs(tuple(requests), tuple(mediators), tuple(venues), policy, tuple(unread))


def option_of(booking: Booking) -> BookingOption:
    return BookingOption(tuple(int(m) for m in booking.mediator_ids), int(booking.venue_id),
                         booking.start, booking.end)


def match_and_book(factory: sessionmaker[Session], rules: Rules, *, now: datetime,
                   matcher: Matcher = match, actor: str = "matcher", rounds: int = 3
                   ) -> MatchRun:
    """Match every case waiting for a session and book the proposals; re-match race losers."""
    booked: dict[int, int] = {}
    unbooked: dict[int, str] = {}
    pending: list[int] | None = None
    for _ in range(rounds):
        with transaction(factory) as session:
            inputs = read_inputs(session, rules, now=now, case_ids=pending)
        if not inputs.cases:
            break
        result = matcher(inputs.cases, inputs.mediators, inputs.venues, now=now,
                         policy=inputs.policy)
        left_out = (f" ({len(inputs.unread_calendars)} mediator(s) not offered: their own "
                    f"calendar could not be read yet, see their calendar status)"
                    if inputs.unread_calendars else "")
        unbooked.update({int(k): v + left_out for k, v in result.unbooked.items()})
        lost: list[int] = []
        for proposal in result.bookings:
            case_id = int(proposal.case_id)
            outcome = book_first_available(factory, case_id, [option_of(proposal)], rules,
                                           now=now, actor=actor)
            if outcome.session is not None:
                booked[case_id] = outcome.session.id
                unbooked.pop(case_id, None)
            else:
                reason = outcome.failures[-1][1] if outcome.failures else "not booked"
                unbooked[case_id] = reason
                if "slot taken" in reason:
                    lost.append(case_id)
        if not lost:
            break
        pending = lost
    return MatchRun(booked, unbooked)
