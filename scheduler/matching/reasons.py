"""Why a case got no booking: the first constraint layer that empties its candidate set."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from scheduler.matching.eligibility import Problem, distance_km, has_conflict, venue_usable
from scheduler.matching.model import STEP_FREE
from scheduler.matching.state import State

LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "pl": "Polish", "zh": "Chinese", "ar": "Arabic",
    "tl": "Tagalog", "ko": "Korean", "hi": "Hindi", "ur": "Urdu", "ru": "Russian",
    "uk": "Ukrainian", "vi": "Vietnamese", "fr": "French", "ht": "Haitian Creole",
    "ase": "ASL", "gu": "Gujarati", "it": "Italian", "el": "Greek", "de": "German",
}


def language_words(langs: frozenset[str]) -> str:
    names = sorted(LANGUAGE_NAMES.get(code, code) for code in langs)
    if not names:
        return ""
    if len(names) == 1:
        return f"{names[0]}-speaking"
    return ", ".join(f"{n}-" for n in names[:-1]) + f" and {names[-1]}-speaking"


def _day(when: datetime, zone: str) -> str:
    return when.astimezone(ZoneInfo(zone)).date().isoformat()


def explain(problem: Problem, state: State, c: int) -> str:
    """A sentence a coordinator can act on."""
    p = problem
    policy = p.policy
    case = p.cases[c]
    zone = policy.timezone
    deadline = _day(case.deadline, zone)
    langs = p.case_languages[c]
    pair = p.case_pair[c] == 2
    who = "pair of mediators" if pair else "mediator"
    shown = langs - {policy.working_language} or langs
    speaking = language_words(shown)
    minutes = int(policy.session_length.total_seconds() // 60)
    today = p.now.astimezone(ZoneInfo(zone)).date()

    if not p.case_mediators[c]:
        qualified = [i for i, r in enumerate(p.med_reason) if r is None]
        if not qualified:
            return "no mediator is qualified (training hours missing or expired)"
        covered = frozenset().union(*(p.mediators[i].languages for i in qualified))
        speakers = [i for i in qualified if langs <= p.mediators[i].languages]
        if not langs <= covered or (not pair and not speakers):
            return f"no qualified {speaking} {who}"
        if all(has_conflict(p.mediators[i], case, policy, today)
               for i in speakers or qualified):
            return (f"every qualified {speaking} {who} has a conflict of interest with a party "
                    f"(personal tie or the same officer within {policy.same_officer_months} "
                    "months)")
        # otherwise they offer no time at all: the window layers below say so

    if not p.case_venues[c]:
        needs = []
        if STEP_FREE in case.needs:
            needs.append("accessible")
        needs.append("neutral")
        others = sorted(case.needs - {STEP_FREE})
        where = f" with {', '.join(f.replace('_', ' ') for f in others)}" if others else ""
        if policy.max_venue_km is not None:
            where += f" within {policy.max_venue_km:g} km of the complainant"
        video = (" and no video option is open" if case.accepts_video
                 else " and the parties do not accept video")
        usable = [v for v in p.venues if venue_usable(v) and v.kind == "in_person"]
        near = [v for v in usable if case.area is None or v.location is None
                or policy.max_venue_km is None
                or distance_km(case.area, v.location) <= policy.max_venue_km]
        if near and not case.needs:
            return (f"no neutral venue{where} seats {case.headcount} people plus the "
                    f"mediators{video}")
        return f"no {' '.join(needs)} venue{where} with open hours in the horizon{video}"

    window = p.case_window[c]
    first = p.grid.at(0).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
    if case.deadline <= p.grid.at(0):
        return (f"the deadline {deadline} is before the earliest allowed start {first} "
                f"(minimum notice)")
    if not window:
        return (f"the parties have no common {minutes}-minute window between {first} and "
                f"the deadline {deadline} (holidays excluded)")
    mmask = 0
    for m in p.case_mediators[c]:
        mmask |= p.med_ok[m]
    if not window & mmask or not p.case_mediators[c]:
        return (f"no qualified {speaking} {who} free in the parties' common windows "
                f"before {deadline}")
    if not p.case_static[c]:
        return (f"no neutral{' accessible' if case.needs else ''} venue open when the "
                f"parties and a qualified {speaking} {who} are free before {deadline}")

    starts = p.case_static[c]
    for q in p.case_parties[c]:
        starts &= ~state.pblock[q]
    if not starts:
        return (f"a party is already booked in another case at every common time "
                f"before {deadline}")
    free = 0
    for m in p.case_mediators[c]:
        free |= state.mfree[m]
    if not starts & free:
        return (f"every qualified {speaking} {who} free in the parties' common windows "
                f"before {deadline} is already booked or at their weekly limit")
    rooms = 0
    for v in p.case_venues[c]:
        rooms |= state.vfree[v]
    if not starts & free & rooms:
        return (f"no venue room is left when the parties and a qualified {speaking} {who} "
                f"are free before {deadline}")
    return (f"all options before {deadline} are taken by other bookings "
            f"(no {who} free together with a room at the parties' common times)")
