"""The suppression list in the domain: keyed by channel and normalised address, one row per
address, lifted and renewed in place; and the migration that moved the old party flags into it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from cases import suppressions
from cases.clock import FixedClock
from cases.database import alembic_config, make_engine, transaction
from cases.models import AuditEvent, Suppression
from cases.outbox import Channel


def test_addresses_are_compared_in_canonical_form(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    assert suppressions.suppress(db, Channel.SMS, "(312) 746-0001", source="sms_keyword", now=now)
    assert suppressions.suppress(db, Channel.EMAIL, " Maria@Example.ORG ", source="unsubscribe",
                                 now=now)  # fmt: skip
    assert suppressions.is_suppressed(db, Channel.SMS, "+13127460001")
    assert suppressions.is_suppressed(db, Channel.EMAIL, "maria@example.org")
    assert not suppressions.is_suppressed(db, Channel.EMAIL, "+13127460001")  # per channel
    assert not suppressions.is_suppressed(db, Channel.SMS, "+13127460002")
    wanted = [(Channel.SMS, "+13127460001"), (Channel.SMS, "+13127460002"), (Channel.SMS, ""),
              (Channel.EMAIL, "MARIA@example.org"), (Channel.SMS, "maria@example.org")]
    assert suppressions.suppressed(db, wanted) == {
        (Channel.SMS, "+13127460001"), (Channel.EMAIL, "maria@example.org")}  # fmt: skip
    rows = db.scalars(select(Suppression)).all()
    assert sorted(r.address for r in rows) == ["+13127460001", "maria@example.org"]
    audit = db.scalars(select(AuditEvent)).all()
    assert all("746" not in str(e.detail) and "maria" not in str(e.detail) for e in audit)


def test_lifting_and_suppressing_again_keeps_one_row(db: Session, clock: FixedClock) -> None:
    phone = "+13127460001"
    assert suppressions.suppress(db, Channel.SMS, phone, source="sms_keyword", now=clock.now())
    assert not suppressions.suppress(db, Channel.SMS, phone, source="provider", now=clock.now())
    clock.advance(timedelta(days=1))
    assert suppressions.lift(db, Channel.SMS, phone, source="sms_keyword", now=clock.now())
    assert not suppressions.lift(db, Channel.SMS, phone, source="sms_keyword", now=clock.now())
    assert not suppressions.is_suppressed(db, Channel.SMS, phone)
    clock.advance(timedelta(days=1))
    assert suppressions.suppress(db, Channel.SMS, phone, source="provider", now=clock.now())
    row = db.scalars(select(Suppression)).one()
    assert (row.since, row.source, row.lifted_at) == (clock.now(), "provider", None)
    actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["suppression.added", "suppression.lifted", "suppression.added"]


def test_two_workers_suppressing_one_number_at_once_make_one_entry(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    barrier = threading.Barrier(4)
    results: list[bool] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            with transaction(session_factory) as session:
                results.append(suppressions.suppress(session, Channel.SMS, "+13127460001",
                                                     source="sms_keyword", now=clock.now()))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [False, False, False, True]
    with session_factory() as session:
        assert len(session.scalars(select(Suppression)).all()) == 1
        added = session.scalars(select(AuditEvent).where(AuditEvent.action == "suppression.added"))
        assert len(added.all()) == 1


def test_the_migration_moves_party_flags_into_the_list_and_back(db_url: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(db_url), "0003")
    at = datetime(2026, 10, 1, 12, tzinfo=UTC)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO cases (id, log_number, incident_date, allegation_categories,"
                              " injury, criminal_conduct, pending_litigation, staff_notes, state,"
                              " co_mediation, accepts_video, recommendation_reasons,"
                              " decision_overrode_policy, reschedule_count, no_show_count,"
                              " created_at, updated_at) VALUES (1, 'L1', '2026-09-01', '[]',"
                              " false, false, false, '', 'screening', false, false, '[]', false,"
                              " 0, 0, :at, :at)"), {"at": at})  # fmt: skip
            for pid, phone, email, sms, mail in [
                (1, "+13127460001", "Maria@Example.org", True, False),
                (2, "+13127460001", "maria@example.org", True, True),  # same person, case 2
                (3, "+13127460002", "o@example.org", False, True),
                (4, "+13127460003", None, False, False),
            ]:
                conn.execute(text(
                    "INSERT INTO parties (id, case_id, role, full_name, phone, email, language,"
                    " channels, time_zone, sms_opted_out, sms_opted_out_at, email_opted_out,"
                    " created_at) VALUES (:id, 1, 'complainant', 'X', :phone, :email, 'en', '[]',"
                    " 'America/Chicago', :sms, :sms_at, :mail, :at)"),
                    {"id": pid, "phone": phone, "email": email, "sms": sms,
                     "sms_at": at if sms else None, "mail": mail, "at": at})  # fmt: skip
        command.upgrade(alembic_config(db_url), "head")
        with Session(engine) as session:
            rows = sorted((r.channel, r.address, r.source, r.lifted_at)
                          for r in session.scalars(select(Suppression)))  # fmt: skip
            assert rows == [
                ("email", "maria@example.org", "migrated", None),
                ("email", "o@example.org", "migrated", None),
                ("sms", "+13127460001", "migrated", None),
            ]
            assert session.scalars(select(Suppression).where(Suppression.channel == "sms")).one().since == at
        command.downgrade(alembic_config(db_url), "0003")
        with engine.connect() as conn:
            flags = conn.execute(text("SELECT id, sms_opted_out, email_opted_out FROM parties"
                                      " ORDER BY id")).all()  # fmt: skip
        assert [(i, bool(s), bool(e)) for i, s, e in flags] == [
            (1, True, True), (2, True, True), (3, False, True), (4, False, False)]  # fmt: skip
        command.upgrade(alembic_config(db_url), "head")
    finally:
        engine.dispose()
