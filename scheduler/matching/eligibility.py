"""Hard constraints, applied before any search: who may mediate a case, where it may be held, when.

Nothing filtered out here can ever be booked. :func:`prepare` turns the inputs into a
:class:`Problem` of slot bitmasks that both the matcher and the benchmark's exact models read, so
every method solves the same model.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cases.qualification import Training, qualification_problems
from scheduler.matching.grid import Grid, startable, touching
from scheduler.matching.model import (
    STEP_FREE,
    CaseRequest,
    LatLon,
    MatchPolicy,
    MediatorProfile,
    VenueProfile,
)


def _require_aware(when: datetime, what: str) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime")


def training_of(mediator: MediatorProfile) -> Training:
    """The facts :mod:`cases.qualification` judges, read from the profile."""
    return Training(mediation_hours=mediator.general_hours,
                    community_police_hours=mediator.specialised_hours,
                    expires_on=mediator.training_expires_on, former_police=mediator.former_police)


def qualification_problem(mediator: MediatorProfile, policy: MatchPolicy, today: date) -> str | None:
    """Why the mediator may not be assigned at all, or ``None`` when they may: the first of
    :func:`cases.qualification.qualification_problems` on ``today`` (the slots after their
    training's expiry are removed in :func:`prepare`), or a weekly limit of nothing."""
    problems = qualification_problems(training_of(mediator), policy.qualification, today)
    return problems[0] if problems else capacity_problem(mediator)


def capacity_problem(mediator: MediatorProfile) -> str | None:
    """A mediator whose weekly limit is nothing takes no sessions at all."""
    return "takes no sessions" if mediator.max_sessions_per_week <= 0 else None


def months_before(day: date, months: int) -> date:
    """The same day of the month ``months`` earlier (clamped to the month's last day)."""
    total = day.year * 12 + (day.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    last = (next_first - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def personal_conflict(mediator: MediatorProfile, case: CaseRequest) -> bool:
    """A declared tie with a party (an officer's star or a person's name)."""
    return bool(mediator.conflict_person_ids & case.party_ids)


def recently_mediated_officer(
    mediator: MediatorProfile, case: CaseRequest, policy: MatchPolicy, today: date
) -> bool:
    """The mediator mediated one of the case's officers within ``same_officer_months``."""
    cutoff = months_before(today, policy.same_officer_months)
    officers = case.officer_ids
    return any(o in officers and d >= cutoff for o, d in mediator.recent_officers)


def has_conflict(
    mediator: MediatorProfile, case: CaseRequest, policy: MatchPolicy, today: date
) -> bool:
    """A personal tie with a party, or the same officer within ``same_officer_months``."""
    return personal_conflict(mediator, case) or \
        recently_mediated_officer(mediator, case, policy, today)


def required_languages(case: CaseRequest, policy: MatchPolicy) -> frozenset[str]:
    """Languages the mediator(s) must cover between them: the session's, never the parties'
    reading languages (an interpreter bridges those; see :class:`CaseRequest`)."""
    return case.languages or frozenset({policy.working_language})


def mediators_needed(case: CaseRequest, policy: MatchPolicy) -> int:
    """2 when the case needs co-mediators (its own choice, else the policy's), else 1."""
    pair = policy.co_mediation if case.co_mediation is None else case.co_mediation
    return 2 if pair else 1


def pair_problem(languages: Sequence[frozenset[str]], need: frozenset[str]) -> str | None:
    """Why these co-mediators cannot hold a session in ``need`` (``None``: they can).

    Each must speak one of the session's languages (nobody sits in a session they cannot
    follow), and together they must speak all of them.
    """
    for spoken in languages:
        if not spoken & need:
            return f"a co-mediator speaks none of {sorted(need)}"
    covered = frozenset().union(*languages)
    if not need <= covered:
        return f"mediators do not speak {sorted(need - covered)}"
    return None


def distance_km(a: LatLon, b: LatLon) -> float:
    """Great-circle distance."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def venue_usable(venue: VenueProfile) -> bool:
    """Neutral ground only: never a police facility."""
    return venue.neutral and not venue.police_facility


def venue_problem(venue: VenueProfile, case: CaseRequest, policy: MatchPolicy,
                  mediators: int | None = None) -> str | None:
    """Why the venue cannot host this case (``None``: it can), whatever the time.

    ``mediators`` is how many mediators attend (the policy's co-mediation by default).
    """
    if not venue_usable(venue):
        return "not neutral ground (a police facility is never used)"
    if venue.kind == "video":
        return None if case.accepts_video else "the case does not accept video"
    missing = case.needs - venue.offers
    if missing == {STEP_FREE}:
        return "not accessible, and a party needs access"
    if missing:
        return f"lacks {', '.join(sorted(missing))}, which a party needs"
    needed = case.headcount + (mediators if mediators is not None
                               else mediators_needed(case, policy))
    if venue.capacity < needed:
        return f"seats {venue.capacity}, needs {needed}"
    if policy.max_venue_km is not None and case.area is not None and venue.location is not None \
            and distance_km(case.area, venue.location) > policy.max_venue_km:
        return f"more than {policy.max_venue_km:g} km from the complainant"
    return None


def venue_distance(venue: VenueProfile, case: CaseRequest, policy: MatchPolicy) -> float | None:
    """How far the venue is for the complainant, or ``None`` when it cannot host this case."""
    if venue_problem(venue, case, policy) is not None:
        return None
    if venue.kind == "video":
        return policy.video_equivalent_km
    if case.area is None or venue.location is None:
        return 0.0
    return distance_km(case.area, venue.location)


@dataclass(slots=True)
class Problem:
    """The prepared model: slot masks of every resource and the static options of every case.

    Resource occupancy is the session plus the buffer after it, ``[s, s + span)``; two sessions
    on one mediator, party or room must have disjoint occupancies, so sessions are at least
    ``buffer`` apart. Calendar busy times and existing venue bookings occupy the same way.
    """

    policy: MatchPolicy
    now: datetime
    grid: Grid
    length: int
    span: int
    cases: Sequence[CaseRequest]
    mediators: Sequence[MediatorProfile]
    venues: Sequence[VenueProfile]
    med_reason: list[str | None]
    med_ok: list[int]
    med_cap: list[dict[tuple[int, int], int]]
    med_base_load: list[int]
    venue_ok: list[int]
    venue_base: list[dict[int, int]]
    case_window: list[int]
    case_mediators: list[list[int]]
    case_languages: list[frozenset[str]]
    case_venues: list[list[int]]
    case_venue_km: list[list[float]]
    case_parties: list[list[int]]
    party_ids: list[str]
    case_static: list[int]
    case_pair: list[int]
    case_ontime: list[int]

    def case_venue_mask(self, c: int) -> int:
        out = 0
        for v in self.case_venues[c]:
            out |= self.venue_ok[v]
        return out


def _first_start(now: datetime, policy: MatchPolicy) -> datetime:
    return now + policy.min_notice


def prepare(
    cases: Sequence[CaseRequest],
    mediators: Sequence[MediatorProfile],
    venues: Sequence[VenueProfile],
    policy: MatchPolicy,
    now: datetime,
) -> Problem:
    """Apply every hard constraint and build the slot masks."""
    _require_aware(now, "now")
    for case in cases:
        _require_aware(case.deadline, f"deadline of case {case.case_id}")
    tz = ZoneInfo(policy.timezone)
    today = now.astimezone(tz).date()
    last = max((c.deadline for c in cases), default=_first_start(now, policy))
    grid = Grid.build(_first_start(now, policy), last, policy.granularity, policy.timezone,
                      policy.holidays)
    length = policy.session_length // policy.granularity
    span = length + policy.buffer // policy.granularity
    size = grid.size
    workable = ((1 << size) - 1) & ~grid.holiday_mask

    med_reason: list[str | None] = []
    med_ok: list[int] = []
    med_cap: list[dict[tuple[int, int], int]] = []
    med_load: list[int] = []
    for m in mediators:
        reason = qualification_problem(m, policy, today)
        med_reason.append(reason)
        caps: dict[tuple[int, int], int] = {}
        ok = 0
        if reason is None:
            free = grid.inside(m.available) & workable
            assert m.training_expires_on is not None
            expiry = datetime.combine(m.training_expires_on + timedelta(days=1), time(), tzinfo=tz)
            free &= (1 << max(grid.floor(expiry), 0)) - 1
            ok = startable(free, length)
            ok &= ~touching(grid.covering(m.busy, span - length), span)
            # busy [a, b) occupies up to b + buffer; a session needs [s, s + span) clear of it.
            for week, week_mask in grid.week_masks.items():
                left = m.max_sessions_per_week - m.sessions_by_week.get(week, 0)
                caps[week] = left
                if left <= 0:
                    ok &= ~week_mask
        med_ok.append(ok)
        med_cap.append(caps)
        med_load.append(sum(m.sessions_by_week.get(w, 0) for w in grid.week_masks))

    venue_ok: list[int] = []
    venue_base: list[dict[int, int]] = []
    for v in venues:
        ok = startable(grid.inside(v.opening) & workable, length) if venue_usable(v) else 0
        base: dict[int, int] = defaultdict(int)
        for start, end in v.booked:
            for t in range(max(grid.floor(start), 0), min(grid.ceil(end) + span - length, size)):
                base[t] += 1
        full = 0
        for t, n in base.items():
            if n >= v.rooms:
                full |= 1 << t
        venue_ok.append(ok & ~touching(full, span))
        venue_base.append(dict(base))

    by_language: dict[tuple[frozenset[str], int], list[int]] = {}
    eligible_base = [i for i, r in enumerate(med_reason) if r is None and med_ok[i]]
    conflicted: dict[str, set[int]] = defaultdict(set)
    cutoff = months_before(today, policy.same_officer_months)
    for i in eligible_base:
        m = mediators[i]
        for pid in m.conflict_person_ids:
            conflicted[pid].add(i)
        for officer, when in m.recent_officers:
            if when >= cutoff:
                conflicted[officer].add(i)

    party_index: dict[str, int] = {}
    case_window: list[int] = []
    case_mediators: list[list[int]] = []
    case_languages: list[frozenset[str]] = []
    case_venues: list[list[int]] = []
    case_venue_km: list[list[float]] = []
    case_parties: list[list[int]] = []
    case_static: list[int] = []
    case_pair: list[int] = []
    case_ontime: list[int] = []
    everything = (1 << size) - 1
    for case in cases:
        langs = required_languages(case, policy)
        case_languages.append(langs)
        pair = mediators_needed(case, policy)
        case_pair.append(pair)
        key = (langs, pair)
        group = by_language.get(key)
        if group is None:
            # one mediator speaks every session language; a co-mediator speaks at least one
            group = [i for i in eligible_base if (mediators[i].languages & langs if pair == 2
                                                  else langs <= mediators[i].languages)]
            by_language[key] = group
        banned: set[int] = set()
        for pid in case.party_ids:
            banned |= conflicted.get(pid, set())
        mlist = [i for i in group if i not in banned] if banned else list(group)
        if pair == 2:
            covered = frozenset().union(*(mediators[i].languages for i in mlist)) if mlist else None
            if covered is None or not langs <= covered or len(mlist) < 2:
                mlist = []
        case_mediators.append(mlist)
        case_ontime.append(everything if case.target is None
                           else everything & ((1 << max(grid.floor(case.target) + 1, 0)) - 1))

        scored = []
        for j, v in enumerate(venues):
            km = venue_distance(v, case, policy)
            if km is not None:
                scored.append((km, v.venue_id, j))
        scored.sort()
        case_venues.append([j for _, _, j in scored])
        case_venue_km.append([km for km, _, _ in scored])

        window = workable
        for party in case.parties:
            window &= grid.inside(party.windows)
        end_slot = grid.floor(case.deadline)
        window = startable(window & ((1 << max(end_slot, 0)) - 1), length)
        case_window.append(window)
        case_parties.append([party_index.setdefault(p.party_id, len(party_index))
                             for p in case.parties])

        vmask = 0
        for j in case_venues[-1]:
            vmask |= venue_ok[j]
        mmask = 0
        for i in mlist:
            mmask |= med_ok[i]
        case_static.append(window & vmask & mmask)

    return Problem(
        policy=policy, now=now, grid=grid, length=length, span=span, cases=cases,
        mediators=mediators, venues=venues, med_reason=med_reason, med_ok=med_ok,
        med_cap=med_cap, med_base_load=med_load, venue_ok=venue_ok, venue_base=venue_base,
        case_window=case_window, case_mediators=case_mediators, case_languages=case_languages,
        case_venues=case_venues, case_venue_km=case_venue_km, case_parties=case_parties,
        party_ids=list(party_index), case_static=case_static, case_pair=case_pair,
        case_ontime=case_ontime,
    )
