"""Builders for test data, the one home for them: valid by default, every field overridable.

Three kinds, each named for what it writes:

- through the services (``make_case``, ``make_mediator``, ``make_venue``): the rows intake and
  the directory write, validated and audited;
- ``make_scheduling_case``: a case brought to ``scheduling`` through the real flow (intake,
  decision, both consents, the parties' weekly windows), so booking, reminder, job and leader
  tests exercise the same states and notices production does;
- rows written directly (``make_mediator_row``, ``make_venue_row``): what a booking test must be
  able to store although the directory would refuse it (an inactive or untrained mediator, one
  taking no sessions, a CalDAV calendar with no address), to prove booking re-checks the rows.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import replace
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from cases import referrals
from cases.calendar_urls import AllowedHosts
from cases.directory import NewMediator, NewVenue, add_mediator, add_venue
from cases.models import Case, Mediator, Venue
from cases.policy import Policy, load_policy
from cases.sealing import Sealer
from cases.service import NewCase, NewParty, WeeklyWindow, add_case, set_weekly_availability

_counter = itertools.count(1)

#: seals the calendar secrets the factories store, as the service's own ``Sealer`` would
TEST_SEALER = Sealer("the-test-secret-key-0123456789")
#: the calendar hosts the tests' local servers (Radicale, feed servers) run on
TEST_CALENDAR_HOSTS = AllowedHosts.parse(["127.0.0.1"])
#: the windows every scheduling case's parties and every mediator row give unless a test says
#: otherwise: every day, 08:00-21:00 in Chicago
EVERY_DAY = [WeeklyWindow(d, time(8), time(21)) for d in range(7)]


def policy(**changes: Any) -> Policy:
    return replace(load_policy(), **changes)


def new_case(**changes: Any) -> NewCase:
    n = next(_counter)
    complainant = NewParty(role="complainant", full_name="Maria Lopez",
                           phone=f"+1312746{n % 10000:04d}", email=f"maria{n}@example.org",
                           language=changes.pop("complainant_language", "es"))
    officer = NewParty(role="officer", full_name="John Smith", officer_star=f"{1000 + n}",
                       email=f"officer{n}@example.org", phone=f"+1773746{n % 10000:04d}",
                       channels="email,sms")
    values: dict[str, Any] = {
        "log_number": f"2026-{n:05d}",
        "incident_date": date(2026, 10, 3),
        "allegation_categories": ["perceived_bias"],
        "parties": [complainant, officer],
    }
    values.update(changes)
    return NewCase(**values)


def make_case(session: Session, now: datetime, pol: Policy | None = None, *, actor: str = "test",
              **changes: Any) -> Case:
    """A case as intake writes it (``screening``); ``changes`` override ``new_case``'s fields."""
    return add_case(session, new_case(**changes), pol or policy(), now=now, actor=actor)


def give_windows(db: Session, kind: str, owner_id: int, now: datetime,
                 windows: list[WeeklyWindow] | None = None) -> None:
    set_weekly_availability(db, owner_kind=kind, owner_id=owner_id,
                            windows=EVERY_DAY if windows is None else windows,
                            time_zone="America/Chicago", now=now, actor="staff")


def make_scheduling_case(db: Session, now: datetime, *, officer_star: str | None = None,
                         complainant: str | None = None, accepts_video: bool = False,
                         windows: list[WeeklyWindow] | None = None, officer_language: str = "en",
                         pol: Policy | None = None, complainant_phone: str | None = None,
                         **session: object) -> Case:
    """A case in ``scheduling``: both parties consented and gave ``windows`` (every day).

    ``session``: the case's session needs (``session_language``, ``interpreter``,
    ``access_needs``, ``co_mediation``), as staff set them at intake."""
    pol = pol or load_policy()
    n = next(_counter)
    parties = [
        NewParty(role="complainant", full_name=complainant or f"Community Member {n}",
                 phone=complainant_phone or f"+1312746{3000 + n % 6000:04d}",
                 email=f"member{n}@example.org", channels="sms,email"),
        NewParty(role="officer", full_name=f"Officer {n}", email=f"officer{n}@example.org",
                 channels="email", officer_star=officer_star or f"{10000 + n}",
                 language=officer_language),
    ]
    case = make_case(db, now, pol, actor="staff", log_number=f"LOG-{secrets.token_hex(4)}",
                     incident_date=date(2026, 10, 1), allegation_categories=["unprofessionalism"],
                     accepts_video=accepts_video, parties=parties, **session)
    referrals.decide(db, case, eligible=True, reason=None, policy=pol, now=now, actor="staff")
    for party in case.parties:
        referrals.record_consent(db, case, party, granted=True, channel="link", policy=pol,
                                 now=now, actor="party")
        give_windows(db, "party", party.id, now, windows)
    db.flush()
    return case


def make_mediator(session: Session, now: datetime, **changes: Any) -> Mediator:
    """A mediator as the directory adds one (validated, audited, calendar secret sealed)."""
    n = next(_counter)
    values: dict[str, Any] = {
        "full_name": f"Mediator {n}", "email": f"mediator{n}@example.org",
        "languages": ["en", "es"], "general_training_hours": 40,
        "specialized_training_hours": 25, "training_expires_on": date(2028, 1, 1),
    }
    values.update(changes)
    return add_mediator(session, NewMediator(**values), now=now, actor="test",
                        qualification=load_policy().qualification, sealer=TEST_SEALER,
                        allowed=TEST_CALENDAR_HOSTS)


def make_mediator_row(db: Session, now: datetime, windows: list[WeeklyWindow] | None = None,
                      **fields: object) -> Mediator:
    """A qualified mediator row written directly, any column overridable, with ``windows``."""
    n = next(_counter)
    values: dict[str, object] = {
        "full_name": f"Mediator {n}", "email": f"mediator{n}@example.org", "languages": ["en"],
        "general_training_hours": 40, "specialized_training_hours": 25,
        "training_expires_on": date(2027, 12, 31), "feed_token": secrets.token_hex(8),
        "created_at": now, "max_sessions_per_week": 5}
    values.update(fields)
    mediator = Mediator(**values)
    db.add(mediator)
    db.flush()
    give_windows(db, "mediator", mediator.id, now, windows)
    return mediator


def make_venue(session: Session, now: datetime, **changes: Any) -> Venue:
    """A venue as the directory adds one (validated, audited)."""
    n = next(_counter)
    values: dict[str, Any] = {
        "name": f"Library branch {n}", "address": f"{n} W Madison St, Chicago, IL",
        "neutral": True,
        "opening_hours": {str(d): [["09:00", "20:00"]] for d in range(6)},
    }
    values.update(changes)
    return add_venue(session, NewVenue(**values), now=now, actor="test")


def make_venue_row(db: Session, now: datetime, **fields: object) -> Venue:
    """A neutral in-person venue row written directly (8 seats, open Monday to Saturday)."""
    values: dict[str, object] = {"name": f"Library {next(_counter)}", "kind": "in_person",
                                 "neutral": True, "capacity": 8, "created_at": now,
                                 "address": "400 N Franklin St, Chicago, IL",
                                 "opening_hours": {str(d): [["09:00", "20:00"]] for d in range(6)}}
    values.update(fields)
    venue = Venue(**values)
    db.add(venue)
    db.flush()
    return venue
