"""Who takes part in the simulated program, and how each of them behaves.

A population at ten times COPA's expected volume (``Rates``): about 600 referrals a year, 60
mediators and 10 venues (one of them video), in five languages. Some phone numbers come back in a
later case (a repeat complainant, an officer named again); some are landlines.

Each behaviour is one small function ``(sim, **event) -> None`` registered in ``BEHAVIOURS`` and
scheduled by name on the runner's event queue, so a new one is one function and one line in
``plan_session``, ``plan_consent`` or ``sim.parties.react`` (what people do about the messages
they receive: reminder replies, the booking page, unsubscribes). A landline's number is told to
the provider emulator, whose Lookup then answers "landline" for it. Every choice comes from the
run's seeded ``random.Random``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cases.directory import NewMediator, NewVenue, add_mediator, add_venue, parse_opening_hours
from cases.service import NewCase, NewParty, WeeklyWindow, set_weekly_availability
from sim.parties import PARTY_BEHAVIOURS
from sim.state import Person, Sim
from sim.words import NO, QUESTION, STOP, YES

CHICAGO = ZoneInfo("America/Chicago")
LANGUAGES = ("en", "es", "pl", "zh", "ar")
LANGUAGE_WEIGHTS = (55, 25, 8, 6, 6)
FIRST = {"en": ["James", "Tanya", "Darnell", "Keisha", "Michael", "Ashley"],
         "es": ["María", "José", "Guadalupe", "Luis", "Rosa", "Juan"],
         "pl": ["Katarzyna", "Piotr", "Agnieszka", "Tomasz"],
         "zh": ["Wei", "Li Na", "Jun", "Mei"], "ar": ["Ahmed", "Fatima", "Omar", "Layla"]}
LAST = {"en": ["Hayes", "Johnson", "Washington", "Brooks", "Carter"],
        "es": ["López", "García", "Hernández", "Martínez"],
        "pl": ["Wójcik", "Nowak", "Kowalski", "Zielińska"],
        "zh": ["Chen", "Wang", "Zhang", "Liu"], "ar": ["Haddad", "Khalil", "Nasser", "Saleh"]}
ELIGIBLE = ["perceived_bias", "failure_to_provide_service", "unnecessary_physical_conduct",
            "unprofessionalism"]


# -- the directory ------------------------------------------------------------------------------

def build_directory(sim: Sim) -> None:
    """60 mediators (half keep a calendar the program reads) and 10 venues, one of them video."""
    from calendars.memory import MemoryCalendar

    rng, now = sim.rng, sim.now()
    hours = parse_opening_hours("mon-sat 09:00-20:00")
    with sim.transaction() as session:
        for n in range(9):
            add_venue(session, NewVenue(name=f"Branch library {n + 1}", neutral=True,
                                        address=f"{100 + n} W Library St, Chicago, IL",
                                        opening_hours=hours), now=now, actor="staff:sim")
        add_venue(session, NewVenue(name="Video room", neutral=True, kind="video",
                                    video_url="https://video.sim.invalid/room",
                                    opening_hours=parse_opening_hours("mon-sun 08:00-21:00")),
                  now=now, actor="staff:sim")
        for n in range(60):
            extra = LANGUAGES[1 + n % 4] if n % 3 else None
            mediator = add_mediator(session, NewMediator(
                full_name=f"Mediator {n + 1:02d}", email=f"mediator{n + 1}@sim-mediation.org",
                languages=["en", extra] if extra else ["en"], general_training_hours=40,
                specialized_training_hours=25, training_expires_on=date(2031, 1, 1),
                max_sessions_per_week=rng.choice((1, 2, 2, 3)),
                calendar_kind="ics" if n % 2 else "none",
                calendar_url=f"https://calendars.sim.invalid/{n}.ics" if n % 2 else None),
                now=now, actor="staff:sim", qualification=sim.world.policy.qualification)
            days = sorted(rng.sample(range(6), 4))
            set_weekly_availability(session, owner_kind="mediator", owner_id=mediator.id,
                                    windows=[WeeklyWindow(d, time(10), time(20)) for d in days],
                                    time_zone="America/Chicago", now=now, actor="staff:sim")
            if n % 2:
                sim.world.calendars[mediator.id] = MemoryCalendar()


# -- people -------------------------------------------------------------------------------------

def _number(sim: Sim) -> str:
    sim.numbers += 1
    return f"+1312746{sim.numbers:04d}"


def new_complainant(sim: Sim) -> Person:
    rng, rates = sim.rng, sim.rates
    repeat = [p for p in sim.ledger.people if p.role == "complainant"]
    if repeat and rng.random() < rates.repeat_complainant:
        return rng.choice(repeat)
    language = rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0]
    key = len(sim.ledger.people)
    person = Person(key=key, role="complainant", language=language,
                    full_name=f"{rng.choice(FIRST[language])} {rng.choice(LAST[language])}",
                    phone=_number(sim), email=f"person{key}@mail.example.org" if rng.random() < 0.6
                    else None, channels="sms,email", landline=rng.random() < rates.landline)
    sim.ledger.people.append(person)
    if person.landline and person.phone:  # what the provider's lookup will answer for it
        sim.world.emulator.set_line_type(person.phone, "landline")
    return person


def officer(sim: Sim) -> Person:
    rng = sim.rng
    star = f"{rng.randrange(sim.rates.officer_pool) + 1000}"
    for person in sim.ledger.people:
        if person.star == star:
            return person
    key = len(sim.ledger.people)
    sms = rng.random() < sim.rates.officer_sms
    person = Person(key=key, role="officer", language="en", star=star,
                    full_name=f"Officer {rng.choice(LAST['en'])} {star}",
                    phone=_number(sim) if sms else None, email=f"officer{star}@police.example.org",
                    channels="sms,email" if sms else "email")
    sim.ledger.people.append(person)
    return person


def new_case(sim: Sim, complainant: Person, cop: Person) -> NewCase:
    rng, rates = sim.rng, sim.rates
    categories = [rng.choice(ELIGIBLE)]
    if rng.random() < rates.excluded_category:
        categories.append("excessive_force")
    sim.referrals += 1
    parties = [NewParty(role=p.role, full_name=p.full_name, phone=p.phone, email=p.email,
                        language=p.language, channels=p.channels, officer_star=p.star)
               for p in (complainant, cop)]
    return NewCase(log_number=f"SIM-{sim.referrals:05d}",
                   incident_date=sim.now().date() - timedelta(days=rng.randrange(10, 40)),
                   allegation_categories=categories, injury=rng.random() < rates.injury,
                   accepts_video=rng.random() < 0.3, parties=parties)


def answer_of(sim: Sim) -> str:
    r, rates = sim.rng.random(), sim.rates
    for answer, share in (("yes", rates.consent_yes), ("no", rates.consent_no),
                          ("late", rates.consent_late), ("question", rates.consent_question)):
        if r < share:
            return answer
        r -= share
    return "never"


# -- party behaviours ---------------------------------------------------------------------------

def consent_reply(sim: Sim, *, case_id: int, party_id: int, person: int, granted: bool) -> None:
    """The party answers: by SMS in their own words when they text, else by phone to staff."""
    who = sim.ledger.people[person]
    if who.phone and not who.landline:
        meaning = sim.world.inbound_sms(who.phone, (YES if granted else NO)[who.language])
        if meaning in ("consent_yes", "consent_no", "too_late"):
            return
    sim.schedule(sim.business_time(sim.now()), "staff_takes_consent", case_id=case_id,
                 party_id=party_id, granted=granted)


def question(sim: Sim, *, case_id: int, party_id: int, person: int, granted: bool) -> None:
    """A question instead of an answer: staff call back and hear the answer."""
    who = sim.ledger.people[person]
    if who.phone and not who.landline:
        sim.world.inbound_sms(who.phone, QUESTION[who.language])
    sim.schedule(sim.business_time(sim.now()), "staff_takes_consent", case_id=case_id,
                 party_id=party_id, granted=granted)


def text_stop(sim: Sim, *, person: int) -> None:
    who = sim.ledger.people[person]
    if who.phone is None:
        return
    sim.world.inbound_sms(who.phone, STOP[who.language] if sim.rng.random() < 0.5 else "STOP")
    sim.ledger.stop(who.phone, sim.now())
    if sim.rng.random() < sim.rates.restart:
        sim.schedule(sim.now() + timedelta(days=sim.rng.uniform(1, 40)), "text_start",
                     person=person)


def text_start(sim: Sim, *, person: int) -> None:
    who = sim.ledger.people[person]
    if who.phone is None:
        return
    sim.world.inbound_sms(who.phone, "START")
    sim.ledger.start(who.phone, sim.now())


def give_availability(sim: Sim, *, case_id: int, party_id: int) -> None:
    rng = sim.rng
    days = sorted(rng.sample(range(6), rng.randint(2, 4)))
    start = rng.choice((10, 13, 16, 17))
    with sim.transaction() as session:
        set_weekly_availability(session, owner_kind="party", owner_id=party_id,
                                windows=[WeeklyWindow(d, time(start), time(start + 4))
                                         for d in days],
                                time_zone="America/Chicago", now=sim.now(),
                                actor=f"party:{party_id}", case_id=case_id)


def calendar_change(sim: Sim, *, session_id: int, mediator_id: int, start: datetime,
                    end: datetime) -> None:
    """The mediator puts something else in their calendar over a booked session."""
    from calendars.intervals import Interval, IntervalSet

    calendar = sim.world.calendars.get(mediator_id)
    if calendar is not None:
        calendar.external = calendar.external.union(IntervalSet([Interval(start, end)]))


def plan_consent(sim: Sim, case_id: int, parties: list[tuple[int, int]], deadline: datetime,
                 ) -> None:
    """Each party's answer — yes, no, late, a question, or never — and maybe a STOP."""
    rng, now = sim.rng, sim.now()
    for party_id, person in parties:
        answer = answer_of(sim)
        granted = answer != "no" and rng.random() < 0.95 if answer != "no" else False
        if answer in ("yes", "no"):
            at = now + timedelta(hours=rng.uniform(0.2, 24 * sim.rates.consent_within_days))
            sim.schedule(at, "consent_reply", case_id=case_id, party_id=party_id,
                         person=person, granted=granted)
        elif answer == "late":
            sim.schedule(deadline + timedelta(hours=rng.uniform(1, 72)), "consent_reply",
                         case_id=case_id, party_id=party_id, person=person, granted=True)
        elif answer == "question":
            sim.schedule(now + timedelta(hours=rng.uniform(1, 72)), "question",
                         case_id=case_id, party_id=party_id, person=person, granted=granted)
        if rng.random() < sim.rates.stop:
            sim.schedule(now + timedelta(hours=rng.uniform(0.5, 24 * sim.rates.stop_within_days)),
                         "text_stop",
                         person=person)


BEHAVIOURS: dict[str, Callable[..., Any]] = {
    "consent_reply": consent_reply,
    "question": question,
    "text_stop": text_stop,
    "text_start": text_start,
    "give_availability": give_availability,
    "calendar_change": calendar_change,
    **PARTY_BEHAVIOURS,
}


def seeded(seed: int) -> random.Random:
    return random.Random(seed)
