"""A seeded, realistic-looking matching workload, shared by ``bench/matching.py`` and the tests.

Chicago geography and zone, US holidays, 30-minute slots over ``business_days`` weekdays.
Officers have weekly windows around their shifts and often appear in several cases; complainants
mostly offer evenings and Saturdays; mediators are volunteers with a few weekly blocks, calendar
events, a weekly cap, languages in proportion to the city's, and some conflicts of interest.
A few mediators are unqualified, expired or former police, and a few venues are not neutral, so
the hard filters have something to filter.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduler.matching import (
    Booking,
    CaseRequest,
    Interval,
    MatchPolicy,
    MediatorProfile,
    Party,
    VenueProfile,
)

ZONE = ZoneInfo("America/Chicago")
NOW = datetime(2026, 9, 1, 13, 0, tzinfo=UTC)  # a Tuesday, 08:00 in Chicago
HOLIDAYS = frozenset({
    date(2026, 9, 7), date(2026, 10, 12), date(2026, 11, 11), date(2026, 11, 26),
    date(2026, 11, 27), date(2026, 12, 25), date(2027, 1, 1),
})
LAT = (41.66, 42.02)
LON = (-87.84, -87.55)
CASE_LANGUAGES = [("en", 68), ("es", 19), ("pl", 4), ("zh", 2), ("ar", 2), ("tl", 1),
                  ("ko", 1), ("hi", 1), ("ur", 1), ("ase", 1)]
MEDIATOR_LANGUAGES = {"es": 0.30, "pl": 0.08, "zh": 0.04, "ar": 0.04, "tl": 0.03, "ko": 0.03,
                      "hi": 0.03, "ur": 0.03, "ase": 0.03}
#: the "scarce" shape: more Polish, Arabic and Chinese cases, fewer mediators who speak them
SCARCE_CASE_LANGUAGES = [("en", 50), ("es", 20), ("pl", 12), ("zh", 8), ("ar", 8), ("ase", 2)]
SCARCE_MEDIATOR_LANGUAGES = {**MEDIATOR_LANGUAGES, "pl": 0.04, "zh": 0.02, "ar": 0.02}
TARGET = timedelta(days=30)
"""The policy's booking target (``[booking] target_days``), from referral."""
SHAPES = ("default", "comediation", "scarce")

Weekly = tuple[int, int, int]
"""(weekday 0=Monday, start hour, end hour) in Chicago time."""


@dataclass(frozen=True, slots=True)
class Workload:
    cases: list[CaseRequest]
    mediators: list[MediatorProfile]
    venues: list[VenueProfile]
    policy: MatchPolicy
    now: datetime


def horizon_days(start: date, business_days: int) -> list[date]:
    days: list[date] = []
    day = start
    while sum(1 for d in days if d.weekday() < 5) < business_days:
        days.append(day)
        day += timedelta(days=1)
    return days


def expand(windows: list[Weekly], days: list[date]) -> tuple[Interval, ...]:
    """Weekly local windows to UTC intervals over the given days."""
    out: list[Interval] = []
    for day in days:
        for weekday, h0, h1 in windows:
            if day.weekday() == weekday:
                a = datetime.combine(day, time(h0), tzinfo=ZONE).astimezone(UTC)
                b = datetime.combine(day, time(0), tzinfo=ZONE) + timedelta(hours=h1)
                out.append((a, b.astimezone(UTC)))
    out.sort()
    return tuple(out)


def _point(rng: random.Random) -> tuple[float, float]:
    return (rng.uniform(*LAT), rng.uniform(*LON))


def _officer_windows(rng: random.Random) -> list[Weekly]:
    windows = []
    for day in rng.sample(range(6), rng.randint(4, 5)):
        start = rng.choice([8, 9, 10, 12, 13, 14, 15, 16])
        windows.append((day, start, min(start + rng.randint(5, 8), 21)))
    return windows


def _complainant_windows(rng: random.Random, narrow: bool = False) -> list[Weekly]:
    windows = []
    for _ in range(rng.randint(1, 3) if narrow else rng.randint(3, 6)):
        kind = rng.random()
        if kind < 0.45:
            day, start = rng.randrange(5), rng.choice([15, 16, 17, 18])
        elif kind < 0.65:
            day, start = 5, rng.choice([9, 10, 12, 13])
        else:
            day, start = rng.randrange(5), rng.choice([9, 10, 11, 12, 13, 14])
        windows.append((day, start, min(start + rng.randint(2, 4), 21)))
    return windows


def _mediator_windows(rng: random.Random) -> list[Weekly]:
    templates = [(d, 17, 21) for d in range(5)] + [(d, 9, 13) for d in range(5)]
    templates += [(d, 13, 17) for d in range(5)] + [(5, 10, 16)]
    return rng.sample(templates, rng.randint(2, 3))


def generate(
    seed: int = 1,
    n_cases: int = 2000,
    n_mediators: int = 150,
    n_venues: int = 20,
    business_days: int = 60,
    shape: str = "default",
) -> Workload:
    """``shape``: ``"default"``; ``"comediation"`` (every case needs two mediators); or
    ``"scarce"`` (scarce Polish, Arabic and Chinese speakers, narrow complainant windows,
    venue rooms about 70% pre-booked)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}")
    scarce = shape == "scarce"
    rng = random.Random(seed)
    now = NOW
    today = now.astimezone(ZONE).date()
    days = horizon_days(today, business_days)
    end = datetime.combine(days[-1] + timedelta(days=1), time(), tzinfo=ZONE).astimezone(UTC)
    weeks = sorted({d.isocalendar()[:2] for d in days})

    venues: list[VenueProfile] = []
    for j in range(n_venues):
        if j == 0:
            venues.append(VenueProfile(
                venue_id="V-video", kind="video", neutral=True, police_facility=False,
                accessible=True, capacity=30, rooms=max(2, n_venues // 8),
                opening=expand([(d, 8, 21) for d in range(6)], days)))
            continue
        police = j == 1
        neutral = j not in (1, 2)
        open_weekly = [(d, rng.choice([9, 10]), rng.choice([18, 20])) for d in range(5)]
        if rng.random() < 0.6:
            open_weekly.append((5, 9, 17))
        opening = expand(open_weekly, days)
        if scarce:  # about 70% of the two-hour blocks of every opening already taken
            blocks = [(a + timedelta(hours=2 * k), a + timedelta(hours=2 * k + 2))
                      for a, b in opening for k in range((b - a) // timedelta(hours=2))]
            booked = tuple(sorted(rng.sample(blocks, int(len(blocks) * 0.7))))
        else:
            booked = tuple(
                (a, a + timedelta(hours=2))
                for a, _ in rng.sample(list(opening), min(len(opening), rng.randint(2, 10)))
            )
        venues.append(VenueProfile(
            venue_id=f"V{j:03d}", kind="in_person", neutral=neutral, police_facility=police,
            accessible=rng.random() < 0.8, capacity=rng.choice([4, 6, 8, 12]),
            rooms=rng.choice([1, 1, 2]), opening=opening, booked=booked, location=_point(rng)))

    n_officers = max(2, int(n_cases * 0.6))
    officer_windows = {f"O{k:05d}": _officer_windows(rng) for k in range(n_officers)}
    officers = list(officer_windows)

    mediators: list[MediatorProfile] = []
    for i in range(n_mediators):
        roll = rng.random()
        general, special = 40.0 + rng.choice([0, 8, 20]), 25.0 + rng.choice([0, 5])
        expires = today + timedelta(days=rng.randint(120, 900))
        if roll < 0.04:
            general = 32.0
        elif roll < 0.07:
            special = 12.0
        elif roll < 0.11:
            expires = today - timedelta(days=rng.randint(1, 200))
        elif roll < 0.16:
            expires = today + timedelta(days=rng.randint(10, 60))
        spoken = SCARCE_MEDIATOR_LANGUAGES if scarce else MEDIATOR_LANGUAGES
        langs = {"en"} | {code for code, p in spoken.items() if rng.random() < p}
        available = expand(_mediator_windows(rng), days)
        busy: list[Interval] = []
        for a, b in available:
            if rng.random() < 0.25:
                hours = (b - a) // timedelta(hours=1)
                start = a + timedelta(hours=rng.randrange(max(hours - 1, 1)))
                busy.append((start, start + timedelta(hours=rng.choice([1, 2]))))
        sessions = {w: 1 for w in weeks if rng.random() < 0.1}
        mediators.append(MediatorProfile(
            mediator_id=f"M{i:04d}", languages=frozenset(langs), general_hours=general,
            specialised_hours=special, training_expires_on=expires,
            max_sessions_per_week=rng.choice([1, 1, 2, 2, 3]), available=available,
            busy=tuple(busy), sessions_by_week=sessions,
            conflict_person_ids=frozenset(rng.sample(officers, rng.choice([0, 0, 1, 2]))),
            recent_officers=tuple((rng.choice(officers), today - timedelta(days=rng.randint(
                10, 360))) for _ in range(rng.choice([0, 0, 1, 3]))),
            former_police=rng.random() < 0.03))

    table = SCARCE_CASE_LANGUAGES if scarce else CASE_LANGUAGES
    codes = [code for code, _ in table]
    weights = [w for _, w in table]
    cases: list[CaseRequest] = []
    for k in range(n_cases):
        referred = now - timedelta(days=rng.uniform(0, 40))
        limit = timedelta(days=60 if rng.random() < 0.8 else 90)
        deadline = min(referred + limit, end)
        lang = rng.choices(codes, weights)[0]
        interpreter = lang != "en" and rng.random() < 0.35
        parties = [Party(o, "officer", expand(officer_windows[o], days))
                   for o in rng.sample(officers, 2 if rng.random() < 0.1 else 1)]
        for n in range(2 if rng.random() < 0.08 else 1):
            parties.append(Party(f"C{k:05d}-{n}", "complainant",
                                 expand(_complainant_windows(rng, scarce), days)))
        cases.append(CaseRequest(
            case_id=f"K{k:05d}", referred_at=referred, deadline=deadline,
            # with an interpreter the session is held in English; without, in both languages
            parties=tuple(parties), interpreter=interpreter,
            languages=frozenset({"en"} if interpreter else {lang, "en"}),
            accessibility=rng.random() < 0.12, accepts_video=rng.random() < 0.35,
            area=_point(rng), target=referred + TARGET))

    policy = MatchPolicy(holidays=HOLIDAYS, max_venue_km=10.0,
                         co_mediation=shape == "comediation")
    return Workload(cases, mediators, venues, policy, now)


def violations(
    cases: list[CaseRequest],
    mediators: list[MediatorProfile],
    venues: list[VenueProfile],
    policy: MatchPolicy,
    now: datetime,
    bookings: list[Booking],
) -> list[str]:
    """Every hard rule a booking list breaks, checked from the raw inputs (not the bitmasks)."""
    from scheduler.matching.eligibility import (
        has_conflict,
        mediators_needed,
        pair_problem,
        qualification_problem,
        required_languages,
        venue_distance,
    )

    zone = ZoneInfo(policy.timezone)
    today = now.astimezone(zone).date()
    case_by = {c.case_id: c for c in cases}
    med_by = {m.mediator_id: m for m in mediators}
    ven_by = {v.venue_id: v for v in venues}
    buffer = policy.buffer
    out: list[str] = []

    def inside(start: datetime, end: datetime, spans: tuple[Interval, ...]) -> bool:
        merged: list[list[datetime]] = []
        for a, b in sorted(spans):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return any(a <= start and end <= b for a, b in merged)

    def clash(a: Booking, b: Booking) -> bool:
        return a.start < b.end + buffer and b.start < a.end + buffer

    seen: set[str] = set()
    per_resource: dict[str, list[Booking]] = {}
    for bk in bookings:
        case = case_by[bk.case_id]
        tag = f"{bk.case_id}@{bk.start.isoformat()}"
        if bk.case_id in seen:
            out.append(f"{tag}: booked twice")
        seen.add(bk.case_id)
        if bk.end - bk.start != policy.session_length:
            out.append(f"{tag}: wrong length")
        if bk.start < now + policy.min_notice:
            out.append(f"{tag}: less than the minimum notice")
        if bk.end > case.deadline:
            out.append(f"{tag}: after the deadline")
        days = {bk.start.astimezone(zone).date(), (bk.end - timedelta(seconds=1))
                .astimezone(zone).date()}
        if days & policy.holidays:
            out.append(f"{tag}: on a holiday")
        for party in case.parties:
            if not inside(bk.start, bk.end, party.windows):
                out.append(f"{tag}: outside the windows of {party.party_id}")
            per_resource.setdefault(f"party {party.party_id}", []).append(bk)
        expected = mediators_needed(case, policy)
        if len(set(bk.mediator_ids)) != expected or len(bk.mediator_ids) != expected:
            out.append(f"{tag}: needs {expected} distinct mediators")
        spoken: set[str] = set()
        for mid in bk.mediator_ids:
            m = med_by[mid]
            spoken |= m.languages
            if qualification_problem(m, policy, today) is not None:
                out.append(f"{tag}: {mid} not qualified")
            elif m.training_expires_on is not None and bk.end.astimezone(zone).date() > (
                    m.training_expires_on):
                out.append(f"{tag}: {mid} training expires before the session")
            if has_conflict(m, case, policy, today):
                out.append(f"{tag}: {mid} has a conflict of interest")
            if not inside(bk.start, bk.end, m.available):
                out.append(f"{tag}: {mid} not available")
            if any(bk.start < b + buffer and a < bk.end + buffer for a, b in m.busy):
                out.append(f"{tag}: {mid} busy in their calendar")
            per_resource.setdefault(f"mediator {mid}", []).append(bk)
        need = required_languages(case, policy)
        if not need <= spoken:
            out.append(f"{tag}: mediators do not speak {sorted(need - spoken)}")
        elif expected == 2:
            why = pair_problem([med_by[mid].languages for mid in bk.mediator_ids], need)
            if why is not None:
                out.append(f"{tag}: {why}")
        venue = ven_by[bk.venue_id]
        if venue_distance(venue, case, policy) is None:
            out.append(f"{tag}: venue {venue.venue_id} not allowed for this case")
        if not inside(bk.start, bk.end, venue.opening):
            out.append(f"{tag}: venue {venue.venue_id} closed")
    for name, booked in per_resource.items():
        booked.sort(key=lambda b: b.start)
        for a, b in itertools.pairwise(booked):
            if clash(a, b):
                out.append(f"{name}: {a.case_id} and {b.case_id} overlap (buffer included)")
    for m in mediators:
        weeks: dict[tuple[int, int], int] = dict(m.sessions_by_week)
        for bk in per_resource.get(f"mediator {m.mediator_id}", []):
            iso = bk.start.astimezone(zone).isocalendar()
            weeks[(iso.year, iso.week)] = weeks.get((iso.year, iso.week), 0) + 1
            if weeks[(iso.year, iso.week)] > m.max_sessions_per_week:
                out.append(f"mediator {m.mediator_id}: over the weekly cap in {iso.week}")
    for v in venues:
        # Rooms in use peak at the start of some occupancy [start, end + buffer), a booking's
        # or a pre-booked session's, so every such start that overlaps a booking is checked,
        # including a pre-booked session starting during one of ours.
        mine = [(bk.start, bk.end) for bk in bookings if bk.venue_id == v.venue_id]
        held = mine + list(v.booked)
        for t, _ in sorted(set(held)):
            if not any(a <= t < b + buffer for a, b in mine):
                continue
            at_once = sum(1 for a, b in held if a <= t < b + buffer)
            if at_once > v.rooms:
                out.append(f"venue {v.venue_id}: more than {v.rooms} rooms at {t}")
    return out
