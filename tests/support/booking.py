"""What the booking, reminder, job and leader tests share besides the rows themselves (those are
built by ``tests.support.factories``: ``make_scheduling_case``, ``make_mediator_row``,
``make_venue_row``): the rules, a slot, weekday windows, a mediator's calendar read, conflicts,
booking options, the notices written, and eight bookings raced at once. No tests here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.models import (
    Case,
    Mediator,
    MediatorCalendarSnapshot,
    MediatorConflict,
    Notification,
    Venue,
)
from cases.policy import Policy, load_policy
from cases.service import WeeklyWindow
from scheduler.booking import BookingOption, NotBookable, Rules, SlotTaken, book

POLICY: Policy = load_policy()
RULES = Rules(POLICY)
# A week after the test clock (Wed 2026-11-25 15:00 UTC): Wed 2026-12-02, 12:00-13:30 in Chicago.
SLOT_START = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
#: office hours on weekdays, 10:00-18:00
WEEKDAYS = [WeeklyWindow(d, time(10), time(18)) for d in range(5)]


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


def option(mediator: Mediator, venue: Venue, start: datetime = SLOT_START,
           minutes: int = 90) -> BookingOption:
    return BookingOption((mediator.id,), venue.id, start, start + timedelta(minutes=minutes))


def notices(db: Session, **where: object) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return list(db.scalars(query))


def race_bookings(session_factory: sessionmaker[Session], case_ids: Sequence[int],
                  options: Sequence[BookingOption], now: datetime) -> list[str]:
    """Book ``options[i]`` for ``case_ids[i]``, each in its own thread and session, all started
    together (on SQLite, BEGIN IMMEDIATE then queues them). Returns each outcome, sorted:
    "won", a refusal's message, or any other exception's repr (which fails the caller's test
    with its name)."""
    barrier = threading.Barrier(len(case_ids))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        session = session_factory()
        try:
            barrier.wait()
            case = session.get(Case, case_ids[i])
            assert case is not None
            book(session, case, options[i], RULES, now=now, actor=f"racer{i}")
            session.commit()
            result = "won"
        except (NotBookable, SlotTaken) as exc:
            session.rollback()
            result = str(exc)
        except Exception as exc:
            session.rollback()
            result = repr(exc)
        finally:
            session.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(case_ids))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(outcomes)
