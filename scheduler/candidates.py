"""From rows to the matcher and back: read cases waiting for a session, mediators and venues into
the matcher's frozen value objects, run it, and book what it proposes.

The matcher (:func:`scheduler.matching.match`) is pure; this module is the only place it meets
the database. Ids cross as strings: ``"<case id>"``, ``"<mediator id>"``, ``"<venue id>"`` and,
for people, ``"party:<id>"`` for a complainant and ``"officer:<star>"`` for an officer, so that an
officer who is a party to two cases is one person to the matcher.

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
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from calendars.intervals import WeeklyWindow, weekly_windows
from calendars.sync import busy_from_json
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
    SessionStatus,
    Venue,
)
from scheduler.booking import (
    ACTIVE,
    MIN_GENERAL_HOURS,
    MIN_SPECIALISED_HOURS,
    BookingOption,
    Rules,
    book_first_available,
)
from scheduler.matching import (
    Booking,
    CaseRequest,
    MatchPolicy,
    MatchResult,
    MediatorProfile,
    VenueProfile,
    match,
)
from scheduler.matching import Party as MatchParty

log = logging.getLogger(__name__)

Span = tuple[datetime, datetime]


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
    p = rules.policy
    return MatchPolicy(
        session_length=p.session_length, buffer=p.buffer, min_notice=p.min_notice,
        co_mediation=p.co_mediation, same_officer_months=p.officer_recent_mediation_months,
        min_general_hours=MIN_GENERAL_HOURS, min_specialised_hours=MIN_SPECIALISED_HOURS,
        holidays=p.holidays, timezone=rules.time_zone)


def person_key(party: Party) -> str:
    if party.role == PartyRole.OFFICER.value and party.officer_star:
        return f"officer:{party.officer_star}"
    return f"party:{party.id}"


def _hhmm(text: str) -> time:
    return time.fromisoformat(text)


def _windows(rows: Sequence[AvailabilityWindow], start: datetime, end: datetime) -> list[Span]:
    """Weekly rows expanded in their own zone, dated rows as they are, clipped to the horizon."""
    out: list[Span] = []
    weekly: dict[str, list[WeeklyWindow]] = defaultdict(list)
    for row in rows:
        if row.weekday is not None and row.start_local and row.end_local:
            weekly[row.time_zone].append(WeeklyWindow(row.weekday, _hhmm(row.start_local),
                                                      _hhmm(row.end_local)))
        elif row.starts_at is not None and row.ends_at is not None:
            s, e = max(row.starts_at, start), min(row.ends_at, end)
            if s < e:
                out.append((s, e))
    for zone, windows in weekly.items():
        out += [(i.start, i.end) for i in weekly_windows(windows, ZoneInfo(zone), start, end)]
    return sorted(out)


def _opening(venue: Venue, start: datetime, end: datetime) -> list[Span]:
    if venue.kind == "video" and not venue.opening_hours:
        return [(start, end)]
    windows = [WeeklyWindow(int(day), _hhmm(a), _hhmm(b))
               for day, spans in venue.opening_hours.items() for a, b in spans]
    return [(i.start, i.end) for i in weekly_windows(windows, ZoneInfo(venue.time_zone), start, end)]


def read_inputs(session: Session, rules: Rules, *, now: datetime,
                case_ids: Sequence[int] | None = None) -> MatchInputs:
    """Cases in scheduling without an active session, active mediators and venues."""
    policy = match_policy(rules)
    tz = ZoneInfo(rules.time_zone)
    has_session = select(MediationSession.case_id).where(MediationSession.status.in_(ACTIVE))
    query = select(Case).where(Case.state == CaseState.SCHEDULING.value,
                               Case.id.not_in(has_session)).order_by(Case.id)
    if case_ids is not None:
        query = query.where(Case.id.in_(case_ids))
    cases = list(session.scalars(query))
    default_deadline = now + rules.policy.booking_limit
    horizon = max([c.booking_deadline or default_deadline for c in cases] + [default_deadline])
    windows_by_owner: dict[tuple[str, int], list[AvailabilityWindow]] = defaultdict(list)
    for w in session.scalars(select(AvailabilityWindow)):
        windows_by_owner[(w.owner_kind, w.owner_id)].append(w)

    requests = []
    for case in cases:
        parties = tuple(
            MatchParty(person_key(p), "officer" if p.role == PartyRole.OFFICER.value
                       else "complainant", tuple(_windows(windows_by_owner[("party", p.id)],
                                                          now, horizon)))
            for p in case.parties)
        complainant = next((p for p in case.parties if p.role == PartyRole.COMPLAINANT.value
                            and p.latitude is not None and p.longitude is not None), None)
        requests.append(CaseRequest(
            case_id=str(case.id), referred_at=case.referred_at or case.created_at,
            deadline=case.booking_deadline or default_deadline, parties=parties,
            languages=frozenset(p.language for p in case.parties if not p.interpreter) or
            frozenset({"en"}),
            interpreter=any(p.interpreter for p in case.parties),
            accessibility=any(p.accessibility for p in case.parties),
            accepts_video=case.accepts_video,
            area=(complainant.latitude, complainant.longitude)
            if complainant is not None and complainant.latitude is not None
            and complainant.longitude is not None else None))

    names: dict[str, set[str]] = defaultdict(set)
    for case in cases:
        for p in case.parties:
            names[p.full_name.casefold()].add(person_key(p))
    sessions = list(session.scalars(select(MediationSession).where(
        MediationSession.status.in_((*ACTIVE, SessionStatus.COMPLETED.value)))))
    stars_by_case: dict[int, list[str]] = defaultdict(list)
    for p in session.scalars(select(Party).where(Party.officer_star.is_not(None))):
        if p.role == PartyRole.OFFICER.value and p.officer_star:
            stars_by_case[p.case_id].append(p.officer_star)
    mediators = []
    unread: list[int] = []
    for m in session.scalars(select(Mediator).where(Mediator.active.is_(True))
                             .order_by(Mediator.id)):
        mine = [s for s in sessions if m.id in (s.mediator_id, s.co_mediator_id)]
        busy: list[Span] = [(s.starts_at, s.ends_at) for s in mine if s.status in ACTIVE]
        snapshot = session.get(MediatorCalendarSnapshot, m.id)
        if m.calendar_kind != "none":
            if snapshot is None or snapshot.last_ok_at is None:
                unread.append(m.id)
                continue  # calendar never read: not offered rather than double-booked
            busy += [(i.start, i.end) for i in busy_from_json(snapshot.busy)]
        by_week: dict[tuple[int, int], int] = defaultdict(int)
        for s in mine:
            if s.status in ACTIVE:
                iso = s.starts_at.astimezone(tz).isocalendar()
                by_week[(iso[0], iso[1])] += 1
        conflicts: set[str] = set()
        for c in session.scalars(select(MediatorConflict)
                                 .where(MediatorConflict.mediator_id == m.id)):
            if c.kind == "officer":
                conflicts.add(f"officer:{c.subject.strip()}")
            else:
                conflicts |= names.get(c.subject.strip().casefold(), set())
        recent: list[tuple[str, date]] = [
            (f"officer:{star}", s.starts_at.astimezone(tz).date())
            for s in mine if s.status == SessionStatus.COMPLETED.value
            for star in stars_by_case[s.case_id]]
        mediators.append(MediatorProfile(
            mediator_id=str(m.id), languages=frozenset(m.languages),
            general_hours=m.general_training_hours, specialised_hours=m.specialized_training_hours,
            training_expires_on=m.training_expires_on,
            max_sessions_per_week=m.max_sessions_per_week,
            available=tuple(_windows(windows_by_owner[("mediator", m.id)], now, horizon)),
            busy=tuple(sorted(busy)), sessions_by_week=dict(by_week),
            conflict_person_ids=frozenset(conflicts), recent_officers=tuple(recent),
            former_police=m.former_police))

    venues = []
    for v in session.scalars(select(Venue).where(Venue.active.is_(True)).order_by(Venue.id)):
        booked = tuple((s.starts_at, s.ends_at) for s in sessions
                       if s.venue_id == v.id and s.status in ACTIVE) if v.kind != "video" else ()
        venues.append(VenueProfile(
            venue_id=str(v.id), kind="video" if v.kind == "video" else "in_person",
            neutral=v.neutral, police_facility=not v.neutral, accessible=v.accessible,
            capacity=v.capacity, opening=tuple(_opening(v, now, horizon)), booked=booked,
            location=(v.latitude, v.longitude)
            if v.latitude is not None and v.longitude is not None else None,
            rooms=1000 if v.kind == "video" else 1))
    return MatchInputs(tuple(requests), tuple(mediators), tuple(venues), policy, tuple(unread))


def option_of(booking: Booking) -> BookingOption:
    return BookingOption(tuple(int(m) for m in booking.mediator_ids), int(booking.venue_id),
                         booking.start, booking.end)


def match_and_book(factory: sessionmaker[Session], rules: Rules, *, now: datetime,
                   matcher: Matcher = match, actor: str = "matcher", rounds: int = 3,
                   hold_for: timedelta | None = None) -> MatchRun:
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
                                           now=now, actor=actor, hold_for=hold_for)
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
