"""Migration 0013 on both backends: existing cases keep what their parties said (a known
interpreter language becomes the case's interpreter, an accessibility note a step-free need),
and it downgrades cleanly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from cases.database import alembic_config, make_engine, upgrade


def _row(table: sa.Table, **given: Any) -> dict[str, Any]:
    """``given`` plus a plain value for every other column that may not be empty."""
    now = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.name in given or column.nullable or column.primary_key \
                or column.server_default is not None:
            continue
        kind = column.type
        if isinstance(kind, sa.JSON):
            values[column.name] = []
        elif isinstance(kind, sa.Boolean):
            values[column.name] = False
        elif isinstance(kind, (sa.Integer, sa.Float)):
            values[column.name] = 0
        elif isinstance(kind, sa.DateTime):
            values[column.name] = now
        elif isinstance(kind, sa.Date):
            values[column.name] = now.date()
        else:
            values[column.name] = "x"
    return {**values, **given}


def test_0013_carries_the_parties_needs_to_the_case_and_downgrades(db_url: str) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    config = alembic_config(db_url)
    before = str(ScriptDirectory.from_config(config).get_revision("0013").down_revision)
    command.downgrade(config, before)  # the revision 0013 follows
    engine = make_engine(db_url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine, only=["cases", "parties"])
        cases, parties = meta.tables["cases"], meta.tables["parties"]
        assert "session_language" not in cases.columns
        with engine.begin() as connection:
            for n, (said, needs) in enumerate([("ASL", "uses a wheelchair"),
                                               ("Cantonese", None), (None, "")], start=1):
                connection.execute(cases.insert().values(**_row(
                    cases, id=n, log_number=f"2026-{n:05d}", state="scheduling")))
                connection.execute(parties.insert().values(**_row(
                    parties, case_id=n, role="complainant", full_name="A Person",
                    interpreter=said, accessibility=needs)))
        upgrade(db_url)
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT id, session_language, interpreter, access_needs FROM cases ORDER BY id"
            )).all()
        # JSON comes back decoded on PostgreSQL and as text on SQLite through sa.text
        got = [(r[0], r[1], r[2], r[3] if isinstance(r[3], list) else json.loads(r[3]))
               for r in rows]
        assert got == [(1, None, "ase", ["step_free"]), (2, None, None, []), (3, None, None, [])]
        command.downgrade(config, before)
        meta = sa.MetaData()
        meta.reflect(engine, only=["cases", "venues"])
        assert "access_needs" not in meta.tables["cases"].columns
        assert "features" not in meta.tables["venues"].columns
        upgrade(db_url)
    finally:
        engine.dispose()
