"""Small builders for test data: valid by default, every field overridable."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from cases.calendar_urls import AllowedHosts
from cases.directory import NewMediator, NewVenue, add_mediator, add_venue
from cases.models import Case, Mediator, Venue
from cases.policy import Policy, load_policy
from cases.sealing import Sealer
from cases.service import NewCase, NewParty, add_case

_counter = iter(range(1, 1_000_000))


def policy(**changes: Any) -> Policy:
    from dataclasses import replace

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


def make_case(session: Session, now: datetime, pol: Policy | None = None, **changes: Any) -> Case:
    return add_case(session, new_case(**changes), pol or policy(), now=now, actor="test")


#: seals the calendar secrets the factories store, as the service's own ``Sealer`` would
TEST_SEALER = Sealer("the-test-secret-key-0123456789")
#: the calendar hosts the tests' local servers (Radicale, feed servers) run on
TEST_CALENDAR_HOSTS = AllowedHosts.parse(["127.0.0.1"])


def make_mediator(session: Session, now: datetime, **changes: Any) -> Mediator:
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


def make_venue(session: Session, now: datetime, **changes: Any) -> Venue:
    n = next(_counter)
    values: dict[str, Any] = {
        "name": f"Library branch {n}", "address": f"{n} W Madison St, Chicago, IL",
        "neutral": True,
        "opening_hours": {str(d): [["09:00", "20:00"]] for d in range(6)},
    }
    values.update(changes)
    return add_venue(session, NewVenue(**values), now=now, actor="test")
