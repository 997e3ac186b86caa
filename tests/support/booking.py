"""Rows the booking, reminder, job and leader tests share (no tests here).

Cases reach ``scheduling`` through the real flow (intake, decision, both consents), so the tests
exercise the same states and notices production does.
"""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import service
from cases.models import (
    Case,
    Mediator,
    MediatorCalendarSnapshot,
    MediatorConflict,
    Notification,
    Venue,
)
from cases.policy import Policy, load_policy
from cases.service import NewCase, NewParty, WeeklyWindow, set_weekly_availability
from scheduler.booking import BookingOption, Rules

POLICY: Policy = load_policy()
RULES = Rules(POLICY)
# A week after the test clock (Wed 2026-11-25 15:00 UTC): Wed 2026-12-02, 12:00-13:30 in Chicago.
SLOT_START = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
_numbers = itertools.count(1)
#: the windows every seeded party and mediator gives unless a test says otherwise: every day,
#: 08:00-21:00 in Chicago
EVERY_DAY = [WeeklyWindow(d, time(8), time(21)) for d in range(7)]
#: office hours on weekdays, 10:00-18:00
WEEKDAYS = [WeeklyWindow(d, time(10), time(18)) for d in range(5)]


def give_windows(db: Session, kind: str, owner_id: int, now: datetime,
                 windows: list[WeeklyWindow] | None = None) -> None:
    set_weekly_availability(db, owner_kind=kind, owner_id=owner_id,
                            windows=EVERY_DAY if windows is None else windows,
                            time_zone="America/Chicago", now=now, actor="staff")


def make_case(db: Session, now: datetime, *, officer_star: str | None = None,
              complainant: str | None = None, accepts_video: bool = False,
              windows: list[WeeklyWindow] | None = None, officer_language: str = "en",
              complainant_phone: str | None = None, **session: object) -> Case:
    """``session``: the case's session needs (``session_language``, ``interpreter``,
    ``access_needs``, ``co_mediation``), as staff set them at intake."""
    n = next(_numbers)
    new = NewCase(
        log_number=f"LOG-{secrets.token_hex(4)}", incident_date=date(2026, 10, 1),
        allegation_categories=["unprofessionalism"], accepts_video=accepts_video,
        **session,  # type: ignore[arg-type]
        parties=[
            NewParty(role="complainant", full_name=complainant or f"Community Member {n}",
                     phone=complainant_phone or f"+1312746{3000 + n % 6000:04d}",
                     email=f"member{n}@example.org",
                     channels="sms,email"),
            NewParty(role="officer", full_name=f"Officer {n}", email=f"officer{n}@example.org",
                     channels="email", officer_star=officer_star or f"{10000 + n}",
                     language=officer_language),
        ])
    case = service.add_case(db, new, POLICY, now=now, actor="staff")
    service.decide(db, case, eligible=True, reason=None, policy=POLICY, now=now, actor="staff")
    for party in case.parties:
        service.record_consent(db, case, party, granted=True, channel="link", policy=POLICY,
                               now=now, actor="party")
        give_windows(db, "party", party.id, now, windows)
    db.flush()
    return case


def make_mediator(db: Session, now: datetime, windows: list[WeeklyWindow] | None = None,
                  **fields: object) -> Mediator:
    n = next(_numbers)
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


def calendar_read(db: Session, mediator: Mediator, now: datetime,
                  busy: list[tuple[datetime, datetime]] | None = None) -> None:
    """The mediator's own calendar as last read at ``now``, with these busy times."""
    db.merge(MediatorCalendarSnapshot(
        mediator_id=mediator.id, fetched_at=now, last_ok_at=now, stale=False,
        busy=[[a.isoformat(), b.isoformat()] for a, b in busy or []]))
    db.flush()


def add_conflict(db: Session, mediator: Mediator, kind: str, subject: str) -> None:
    db.add(MediatorConflict(mediator_id=mediator.id, kind=kind, subject=subject))
    db.flush()


def make_venue(db: Session, now: datetime, **fields: object) -> Venue:
    values: dict[str, object] = {"name": f"Library {next(_numbers)}", "kind": "in_person",
                                 "neutral": True, "capacity": 8, "created_at": now,
                                 "address": "400 N Franklin St, Chicago, IL",
                                 "opening_hours": {str(d): [["09:00", "20:00"]] for d in range(6)}}
    values.update(fields)
    venue = Venue(**values)
    db.add(venue)
    db.flush()
    return venue


def option(mediator: Mediator, venue: Venue, start: datetime = SLOT_START,
           minutes: int = 90) -> BookingOption:
    return BookingOption((mediator.id,), venue.id, start, start + timedelta(minutes=minutes))


def notices(db: Session, **where: object) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return list(db.scalars(query))
