"""Migration 0016: every number already on file gets one ``unchecked`` phone-line row, due at
once, so the first run of the lookup job checks them; downgrading drops the table. Both backends."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from cases.clock import FixedClock
from cases.database import alembic_config, make_engine, make_session_factory, transaction
from cases.models import Party, PhoneLine
from cases.service import NewParty
from tests.support.factories import make_case, new_case


def test_the_migration_notes_every_number_on_file_once_and_downgrades(
        db_url: str, clock: FixedClock) -> None:
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    try:
        repeat = NewParty(role="complainant", full_name="Ana Ruiz", phone="+13127461001")
        with transaction(factory) as session:
            for _ in range(2):  # the same complainant on two cases
                base = new_case()
                make_case(session, clock.now(), parties=[repeat, base.parties[1]])
        config = alembic_config(db_url)
        before = ScriptDirectory.from_config(config).get_revision("0016").down_revision
        command.downgrade(config, str(before))  # the revision 0016 follows
        assert "phone_lines" not in inspect(engine).get_table_names()

        command.upgrade(alembic_config(db_url), "head")

        with factory() as session:
            phones = {p for p in session.scalars(select(Party.phone)) if p}
            rows = session.scalars(select(PhoneLine)).all()
        assert sorted(r.number for r in rows) == sorted(phones)  # one row per number
        assert len(phones) == 3
        assert {(r.line_type, r.checked_at, r.next_check_at) for r in rows} == {
            ("unchecked", None, clock.now())}
    finally:
        engine.dispose()
