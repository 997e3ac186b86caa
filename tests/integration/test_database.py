from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cases.models import Case, MediationSession, Mediator, Reservation, Venue


def _session_row(db: Session, now: datetime) -> MediationSession:
    case = Case(log_number="2026-0001", incident_date=date(2026, 10, 1), created_at=now,
                updated_at=now)
    mediator = Mediator(full_name="M", email="m@example.org", feed_token="t1", created_at=now)
    venue = Venue(name="Library", created_at=now)
    db.add_all([case, mediator, venue])
    db.flush()
    row = MediationSession(case_id=case.id, mediator_id=mediator.id, venue_id=venue.id,
                           starts_at=now, ends_at=now + timedelta(hours=2), uid="u1",
                           created_at=now, updated_at=now)
    db.add(row)
    db.flush()
    return row


def test_datetimes_round_trip_as_aware_utc(db: Session) -> None:
    chicago_evening = datetime(2026, 11, 1, 1, 30, tzinfo=UTC)
    db.add(Case(log_number="L1", incident_date=date(2026, 10, 1), created_at=chicago_evening,
                updated_at=chicago_evening))
    db.commit()
    db.expunge_all()
    loaded = db.scalars(select(Case)).one()
    assert loaded.created_at == chicago_evening
    assert loaded.created_at.tzinfo is not None


def test_naive_datetimes_are_refused(db: Session) -> None:
    db.add(Case(log_number="L2", incident_date=date(2026, 10, 1),
                created_at=datetime(2026, 1, 1), updated_at=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        db.flush()


def test_overlapping_active_reservations_of_one_resource_are_impossible(db: Session) -> None:
    now = datetime(2026, 12, 1, 16, tzinfo=UTC)
    row = _session_row(db, now)
    db.add(Reservation(session_id=row.id, resource="mediator:1", starts_at=now,
                       ends_at=now + timedelta(hours=2)))
    db.commit()
    db.add(Reservation(session_id=row.id, resource="mediator:1",
                       starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=3)))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_adjacent_inactive_and_other_resources_do_not_conflict(db: Session) -> None:
    now = datetime(2026, 12, 1, 16, tzinfo=UTC)
    row = _session_row(db, now)
    two_hours = timedelta(hours=2)
    db.add(Reservation(session_id=row.id, resource="mediator:1", starts_at=now,
                       ends_at=now + two_hours))
    db.add(Reservation(session_id=row.id, resource="mediator:1", starts_at=now + two_hours,
                       ends_at=now + 2 * two_hours))
    db.add(Reservation(session_id=row.id, resource="venue:1", starts_at=now,
                       ends_at=now + two_hours))
    db.add(Reservation(session_id=row.id, resource="mediator:1", starts_at=now,
                       ends_at=now + two_hours, active=False))
    db.commit()
    assert len(db.scalars(select(Reservation)).all()) == 4


def test_migrations_produce_exactly_the_models_schema(db_url: str) -> None:
    """A model change without a migration (or the reverse) fails here, on both backends."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from cases.database import make_engine
    from cases.models import Base

    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
