"""The hard constraints of one proposed booking, read from the rows: the one check that both the
matcher's proposals and a member of staff's bookings pass before anything is reserved.

:func:`problems` reads the case, mediators and venue into the matcher's own value objects
(:mod:`scheduler.profiles`) and applies the matcher's rules to them
(:mod:`scheduler.matching.eligibility`: qualification, conflicts of interest, languages, venue
neutrality, access and seats), then the rules of time the matcher applies through its slot grid:
minimum notice, holidays, the case's booking deadline (the policy's limit), the session length
the policy allows, the venue's opening hours, the mediator's weekly limit and the busy times read
from their calendar.

The windows that parties and mediators gave are hard for the matcher; a member of staff may book
outside them ("agreed by phone") only by giving a reason, which the booking's audit records.

The weekly limit is counted under a lock on the mediator's row (``SELECT ... FOR UPDATE`` on
PostgreSQL; on SQLite ``BEGIN IMMEDIATE`` already serialises writers, counts included), held
until the caller's transaction ends, so two bookings racing for one mediator cannot both take
the last place of a week. Double booking itself is refused by the reservations (see
:mod:`scheduler.booking.reservations`), not here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from calendars.intervals import Interval, IntervalSet
from cases.errors import DomainError
from cases.models import (
    AvailabilityWindow,
    Case,
    MediationSession,
    Mediator,
    MediatorCalendarSnapshot,
    MediatorConflict,
    Party,
    PartyRole,
    SessionStatus,
    Venue,
)
from cases.policy import Policy
from cases.qualification import qualification_problems
from scheduler import profiles
from scheduler.matching import CaseRequest, MatchPolicy
from scheduler.matching.eligibility import (
    capacity_problem,
    pair_problem,
    personal_conflict,
    recently_mediated_officer,
    required_languages,
    training_of,
    venue_problem,
)
from scheduler.profiles import ACTIVE, WEEKLY_LOAD
from scheduler.reminders import ReminderOffsets


class NotBookable(DomainError):
    """The option breaks a hard constraint; ``reasons`` say which (ids only, no names)."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("not bookable: " + "; ".join(reasons))
        self.reasons = tuple(reasons)


@dataclass(frozen=True, slots=True)
class BookingOption:
    """Who mediates, where, when (UTC). ``mediator_ids[1]`` is the co-mediator, if any."""

    mediator_ids: tuple[int, ...]
    venue_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Rules:
    """What booking needs from the agency's policy and settings (built from ``Settings`` by
    :func:`scheduler.wiring.booking_rules`)."""

    policy: Policy
    time_zone: str = "America/Chicago"

    @property
    def offsets(self) -> ReminderOffsets:
        """The reminder plan, as the policy's ``[reminders]`` declares it."""
        return ReminderOffsets.from_policy(self.policy.reminders)


@dataclass(frozen=True, slots=True)
class Problems:
    """``hard``: never booked. ``windows``: outside the windows someone gave, which staff may
    override with a reason."""

    hard: tuple[str, ...]
    windows: tuple[str, ...]

    def refusals(self, override_reason: str | None) -> list[str]:
        """What refuses the booking: every hard problem, and the windows unless overridden."""
        overridden = bool((override_reason or "").strip())
        return [*self.hard, *(() if overridden else (
            f"{w} (book outside it only with an override_reason)" for w in self.windows))]

    def overridden(self, override_reason: str | None) -> dict[str, object]:
        """The audit's record of the windows booked over, and the reason staff gave."""
        if not self.windows:
            return {}
        return {"outside_windows": list(self.windows),
                "override_reason": (override_reason or "").strip()}


def lock_mediators(session: Session, mediator_ids: Sequence[int]) -> None:
    """Hold the mediators' rows until the transaction ends (in id order: no deadlock between
    two bookings of the same pair), so that their weekly counts cannot change underneath."""
    session.execute(select(Mediator.id).where(Mediator.id.in_(sorted(set(mediator_ids))))
                    .order_by(Mediator.id).with_for_update())


def problems(session: Session, case: Case, option: BookingOption, rules: Rules, *,
             now: datetime, moving: MediationSession | None = None) -> Problems:
    """What the option breaks, read from the rows after locking its mediators. ``moving`` is
    the session being rescheduled: it does not count against itself."""
    if option.start.tzinfo is None or option.end.tzinfo is None:
        return Problems(("times must be aware UTC",), ())
    lock_mediators(session, option.mediator_ids)
    policy, tz = rules.policy, ZoneInfo(rules.time_zone)
    mpolicy = profiles.match_policy(policy, rules.time_zone)
    start, end = option.start, option.end
    hard: list[str] = _time_problems(case, option, policy, tz, now=now)
    parties = list(case.parties)
    windows = _windows_of(session, "party", [p.id for p in parties])
    request = profiles.case_request(case, windows, deadline=_deadline(case, policy, now),
                                    start=start, end=end,
                                    working_language=policy.working_language)
    outside = [f"party {p.id} ({_role(p)}): outside the availability they gave"
               for p, mp in zip(parties, request.parties, strict=True)
               if not _covers(mp.windows, start, end)]

    wanted = 2 if case.co_mediation else 1
    if len(option.mediator_ids) != wanted or len(set(option.mediator_ids)) != wanted:
        hard.append(f"the case needs {wanted} distinct mediator(s)")
    names: dict[str, set[str]] = defaultdict(set)
    for p in parties:
        names[p.full_name.casefold()].add(profiles.person_key(p))
    spoken: set[str] = set()
    for mediator_id in option.mediator_ids:
        mediator = session.get(Mediator, mediator_id)
        if mediator is None:
            hard.append(f"mediator {mediator_id} does not exist")
            continue
        spoken |= set(mediator.languages)
        mine, theirs = _mediator_problems(session, mediator, request, names, option, rules,
                                          mpolicy, now=now, moving=moving)
        hard += [f"mediator {mediator_id}: {r}" for r in mine]
        outside += [f"mediator {mediator_id}: {r}" for r in theirs]
    missing = required_languages(request, mpolicy) - spoken
    if missing and option.mediator_ids:
        hard.append(f"no mediator speaks {', '.join(sorted(missing))}")
    elif wanted == 2 and len(option.mediator_ids) == 2:
        pair = [session.get(Mediator, i) for i in option.mediator_ids]
        why = pair_problem([frozenset(m.languages) for m in pair if m is not None],
                           required_languages(request, mpolicy))
        if why is not None:
            hard.append(why)

    venue = session.get(Venue, option.venue_id)
    if venue is None:
        hard.append(f"venue {option.venue_id} does not exist")
    else:
        hard += [f"venue {venue.id}: {r}" for r in
                 _venue_problems(venue, request, mpolicy, wanted, start, end)]
    return Problems(tuple(hard), tuple(outside))


def _role(party: Party) -> str:
    return "officer" if party.role == PartyRole.OFFICER.value else party.role


def _deadline(case: Case, policy: Policy, now: datetime) -> datetime:
    return case.booking_deadline or now + policy.booking_limit


def _covers(spans: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return IntervalSet(Interval(s, e) for s, e in spans).contains(Interval(start, end))


def _windows_of(session: Session, kind: str, ids: Sequence[int]
                ) -> dict[int, list[AvailabilityWindow]]:
    out: dict[int, list[AvailabilityWindow]] = defaultdict(list)
    for w in session.scalars(select(AvailabilityWindow).where(
            AvailabilityWindow.owner_kind == kind, AvailabilityWindow.owner_id.in_(ids))):
        out[w.owner_id].append(w)
    return out


def _time_problems(case: Case, option: BookingOption, policy: Policy, tz: ZoneInfo, *,
                   now: datetime) -> list[str]:
    out = []
    start, end = option.start, option.end
    length = end - start
    if start >= end:
        out.append("the session ends before it starts")
    elif not policy.min_session_length <= length <= policy.max_session_length:
        out.append(f"a session of {_minutes(length)} is outside the policy's "
                   f"{_minutes(policy.min_session_length)} to "
                   f"{_minutes(policy.max_session_length)}")
    if start < now + policy.min_notice:
        out.append(f"less than {policy.min_notice} notice")
    deadline = _deadline(case, policy, now)
    if end > deadline:
        out.append(f"ends after the case's booking deadline {deadline.date().isoformat()} "
                   f"(the policy books within {policy.booking_limit.days} days)")
    local_day = start.astimezone(tz).date()
    if local_day in policy.holidays:
        out.append(f"{local_day} is a holiday")
    return out


def _minutes(span: Any) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes} min" if minutes < 24 * 60 else f"{minutes // (24 * 60)} days"


def _mediator_problems(session: Session, m: Mediator, request: CaseRequest,
                       names: dict[str, set[str]], option: BookingOption, rules: Rules,
                       mpolicy: MatchPolicy, *, now: datetime,
                       moving: MediationSession | None) -> tuple[list[str], list[str]]:
    """(hard problems, windows problems) of one mediator for the option."""
    tz = ZoneInfo(rules.time_zone)
    start, end = option.start, option.end
    sessions = [s for s in session.scalars(select(MediationSession).where(
        (MediationSession.mediator_id == m.id) | (MediationSession.co_mediator_id == m.id),
        MediationSession.status.in_(WEEKLY_LOAD)))
        if moving is None or s.id != moving.id]
    case_ids = {s.case_id for s in sessions if s.status == SessionStatus.COMPLETED.value}
    stars: dict[int, list[str]] = defaultdict(list)
    for p in session.scalars(select(Party).where(Party.case_id.in_(case_ids))):
        if p.role == PartyRole.OFFICER.value and p.officer_star:
            stars[p.case_id].append(p.officer_star)
    calendar = profiles.calendar_busy(m, session.get(MediatorCalendarSnapshot, m.id))
    own = {(s.starts_at, s.ends_at) for s in sessions if s.status in ACTIVE}
    if moving is not None:
        own.add((moving.starts_at, moving.ends_at))
    profile = profiles.mediator_profile(
        m, sessions=sessions, calendar=calendar or [],
        conflicts=session.scalars(select(MediatorConflict)
                                  .where(MediatorConflict.mediator_id == m.id)),
        names=names, stars_by_case=stars,
        windows=_windows_of(session, "mediator", [m.id]).get(m.id, []), tz=tz,
        start=start, end=end)

    hard = [] if m.active else ["inactive"]
    session_day = start.astimezone(tz).date()
    hard += qualification_problems(training_of(profile), mpolicy.qualification, session_day)
    hard += [why] if (why := capacity_problem(profile)) else []
    if personal_conflict(profile, request):
        hard.append("conflict of interest with a party")
    if recently_mediated_officer(profile, request, mpolicy, now.astimezone(tz).date()):
        hard.append(f"mediated this officer within {mpolicy.same_officer_months} months")
    iso = start.astimezone(tz).isocalendar()
    if profile.sessions_by_week.get((iso[0], iso[1]), 0) >= m.max_sessions_per_week:
        hard.append(f"weekly session limit reached ({m.max_sessions_per_week} a week)")
    if calendar is None:
        hard.append("their calendar has not been read yet, so their busy times are unknown")
    else:
        # their own sessions (which we also write into their calendar) are the reservations'
        # business; any other event, plus the buffer after it, must stay clear of the session
        buffer = rules.policy.buffer
        clash = [(a, b) for a, b in calendar if (a, b) not in own
                 and a < end + buffer and b + buffer > start]
        if clash:
            hard.append("busy in their own calendar at that time")
    windows = [] if _covers(profile.available, start, end) else \
        ["outside the availability they gave"]
    return hard, windows


def _venue_problems(venue: Venue, request: CaseRequest, mpolicy: MatchPolicy, mediators: int,
                    start: datetime, end: datetime) -> list[str]:
    out = [] if venue.active else ["inactive"]
    profile = profiles.venue_profile(venue, sessions=(), start=start, end=end)
    why = venue_problem(profile, request, mpolicy, mediators=mediators)
    if why is not None:
        out.append(why)
    if not _covers(profile.opening, start, end):
        out.append("closed at that time (outside its opening hours)")
    return out

