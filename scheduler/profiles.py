"""Rows as the matcher sees them: cases, mediators and venues read into its frozen value objects.

:mod:`scheduler.candidates` builds these for a whole run; :mod:`scheduler.booking.constraints` builds
them for one proposed booking, so that both apply the matcher's own rules
(:mod:`scheduler.matching.eligibility`) to the same picture of a person or a place. Ids cross as
strings: ``"<case id>"``, ``"<mediator id>"``, ``"<venue id>"`` and, for people,
``person_key``: ``"officer:<star>"`` for an officer, ``"phone:<digest>"`` for anyone else with a
number, else ``"party:<id>"``, so that an officer named again, or a complainant who comes back
with a new complaint, is one person to the matcher and to the reservations.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from calendars.intervals import IntervalSet, WeeklyWindow, weekly_windows
from calendars.sync import busy_from_json
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
from scheduler.matching import CaseRequest, MatchPolicy, MediatorProfile, VenueProfile
from scheduler.matching import Party as MatchParty

Span = tuple[datetime, datetime]

#: session statuses that take their resources
ACTIVE = (SessionStatus.HELD.value, SessionStatus.BOOKED.value)
#: sessions that used up a place in the mediator's week: still to come, held, or attended by the
#: mediator while a party stayed away. A cancelled one gives its place back.
WEEKLY_LOAD = (*ACTIVE, SessionStatus.COMPLETED.value, SessionStatus.NO_SHOW.value)


def match_policy(policy: Policy, time_zone: str) -> MatchPolicy:
    return MatchPolicy(
        session_length=policy.session_length, buffer=policy.buffer,
        min_notice=policy.min_notice, co_mediation=policy.co_mediation,
        working_language=policy.working_language,
        same_officer_months=policy.officer_recent_mediation_months,
        qualification=policy.qualification,
        holidays=policy.holidays, timezone=time_zone)


def person_key(party: Party) -> str:
    """Who a party is across cases: an officer by star; anyone else by their number, as their
    opt-out is (the number is validated E.164 at intake); else by this case's party row. The
    number goes in as a digest: the key is written to ``reservations`` and may be quoted in an
    error, and it must not be a place to read numbers from."""
    if party.role == PartyRole.OFFICER.value and party.officer_star:
        return f"officer:{party.officer_star}"
    if party.phone:
        return "phone:" + hashlib.sha256(party.phone.encode()).hexdigest()[:20]
    return f"party:{party.id}"


def _hhmm(text: str) -> time:
    return time.fromisoformat(text)


def expand_windows(rows: Iterable[AvailabilityWindow], start: datetime, end: datetime
                   ) -> list[Span]:
    """Weekly rows expanded in their own zone, dated rows as they are, clipped to [start, end)."""
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


def free_windows(windows: Sequence[Span], busy: Sequence[Span]) -> tuple[Span, ...]:
    """A person's windows less the sessions they already have in their other cases."""
    if not busy:
        return tuple(windows)
    free = IntervalSet.of(*windows).subtract(IntervalSet.of(*busy))
    return tuple((i.start, i.end) for i in free)


def opening(venue: Venue, start: datetime, end: datetime) -> list[Span]:
    """The venue's opening hours in [start, end); a video account with none is always open."""
    if venue.kind == "video" and not venue.opening_hours:
        return [(start, end)]
    windows = [WeeklyWindow(int(day), _hhmm(a), _hhmm(b))
               for day, spans in venue.opening_hours.items() for a, b in spans]
    return [(i.start, i.end) for i in weekly_windows(windows, ZoneInfo(venue.time_zone), start, end)]


def case_request(case: Case, windows: Mapping[int, Sequence[AvailabilityWindow]], *,
                 deadline: datetime, start: datetime, end: datetime,
                 working_language: str = "en",
                 busy: Mapping[str, Sequence[Span]] | None = None) -> CaseRequest:
    """The case with its parties' windows (by party id) expanded over [start, end).

    The mediators must speak the case's session language (``working_language`` unless staff
    set another), never the parties' reading languages; the case's own interpreter, access
    needs, co-mediation and booking target go with it."""
    parties = tuple(
        MatchParty(person_key(p), "officer" if p.role == PartyRole.OFFICER.value
                   else "complainant",
                   free_windows(expand_windows(windows.get(p.id, ()), start, end),
                                (busy or {}).get(person_key(p), ())))
        for p in case.parties)
    complainant = next((p for p in case.parties if p.role == PartyRole.COMPLAINANT.value
                        and p.latitude is not None and p.longitude is not None), None)
    return CaseRequest(
        case_id=str(case.id), referred_at=case.referred_at or case.created_at,
        deadline=deadline, parties=parties,
        languages=frozenset({case.session_language or working_language}),
        interpreter=bool(case.interpreter),
        access_needs=frozenset(case.access_needs or ()),
        co_mediation=case.co_mediation,
        target=case.booking_target,
        accepts_video=case.accepts_video,
        area=(complainant.latitude, complainant.longitude)
        if complainant is not None and complainant.latitude is not None
        and complainant.longitude is not None else None)


def calendar_busy(mediator: Mediator, snapshot: MediatorCalendarSnapshot | None
                  ) -> list[Span] | None:
    """Busy times read from the mediator's own calendar; ``None`` when it was never read."""
    if mediator.calendar_kind == "none":
        return []
    if snapshot is None or snapshot.last_ok_at is None:
        return None
    return [(i.start, i.end) for i in busy_from_json(snapshot.busy)]


def mediator_profile(mediator: Mediator, *, sessions: Sequence[MediationSession],
                     calendar: Sequence[Span], conflicts: Iterable[MediatorConflict],
                     names: Mapping[str, set[str]], stars_by_case: Mapping[int, Sequence[str]],
                     windows: Sequence[AvailabilityWindow], tz: ZoneInfo, start: datetime,
                     end: datetime) -> MediatorProfile:
    """The mediator with ``sessions`` (theirs: at least those in ``WEEKLY_LOAD``), their calendar's busy
    times, their declared conflicts resolved through ``names`` (a casefolded name -> person
    keys) and their availability expanded over [start, end)."""
    busy: list[Span] = [(s.starts_at, s.ends_at) for s in sessions if s.status in ACTIVE]
    busy += calendar
    by_week: dict[tuple[int, int], int] = defaultdict(int)
    for s in sessions:
        if s.status in WEEKLY_LOAD:
            iso = s.starts_at.astimezone(tz).isocalendar()
            by_week[(iso[0], iso[1])] += 1
    ties: set[str] = set()
    for c in conflicts:
        if c.kind == "officer":
            ties.add(f"officer:{c.subject.strip()}")
        else:
            ties |= names.get(c.subject.strip().casefold(), set())
    recent: list[tuple[str, date]] = [
        (f"officer:{star}", s.starts_at.astimezone(tz).date())
        for s in sessions if s.status == SessionStatus.COMPLETED.value
        for star in stars_by_case.get(s.case_id, ())]
    return MediatorProfile(
        mediator_id=str(mediator.id), languages=frozenset(mediator.languages),
        general_hours=mediator.general_training_hours,
        specialised_hours=mediator.specialized_training_hours,
        training_expires_on=mediator.training_expires_on,
        max_sessions_per_week=mediator.max_sessions_per_week,
        available=tuple(expand_windows(windows, start, end)),
        busy=tuple(sorted(busy)), sessions_by_week=dict(by_week),
        conflict_person_ids=frozenset(ties), recent_officers=tuple(recent),
        former_police=mediator.former_police)


def venue_profile(venue: Venue, *, sessions: Iterable[MediationSession], start: datetime,
                  end: datetime) -> VenueProfile:
    """The venue with its active sessions (in person) and its opening over [start, end)."""
    booked = tuple((s.starts_at, s.ends_at) for s in sessions
                   if s.venue_id == venue.id and s.status in ACTIVE) \
        if venue.kind != "video" else ()
    return VenueProfile(
        venue_id=str(venue.id), kind="video" if venue.kind == "video" else "in_person",
        neutral=venue.neutral, police_facility=not venue.neutral, accessible=venue.accessible,
        capacity=venue.capacity, opening=tuple(opening(venue, start, end)), booked=booked,
        location=(venue.latitude, venue.longitude)
        if venue.latitude is not None and venue.longitude is not None else None,
        rooms=1000 if venue.kind == "video" else 1, features=frozenset(venue.features or ()))

