"""No resource is ever booked twice: an exclusion constraint on PostgreSQL, triggers on SQLite.

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_OVERLAP = """
SELECT RAISE(ABORT, 'reservation overlaps an active reservation of the same resource')
WHERE NEW.active AND EXISTS (
    SELECT 1 FROM reservations r
    WHERE r.resource = NEW.resource AND r.active AND r.id != COALESCE(NEW.id, -1)
      AND r.starts_at < NEW.ends_at AND NEW.starts_at < r.ends_at
);
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE reservations ADD CONSTRAINT ex_reservations_no_overlap "
            "EXCLUDE USING gist (resource WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            "WHERE (active)"
        )
    elif dialect == "sqlite":
        op.execute(
            "CREATE TRIGGER reservations_no_overlap_insert BEFORE INSERT ON reservations "
            "BEGIN" + SQLITE_OVERLAP + "END"
        )
        op.execute(
            "CREATE TRIGGER reservations_no_overlap_update BEFORE UPDATE ON reservations "
            "BEGIN" + SQLITE_OVERLAP + "END"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("ALTER TABLE reservations DROP CONSTRAINT ex_reservations_no_overlap")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER reservations_no_overlap_insert")
        op.execute("DROP TRIGGER reservations_no_overlap_update")
