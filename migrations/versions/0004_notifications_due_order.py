"""The dispatcher's due index also orders by id, so a claim walks it in (due_at, id) order and stops
at the batch size instead of sorting every due row (PostgreSQL; SQLite's index already ends in the
rowid).

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.create_index("ix_notifications_due", "notifications", ["status", "due_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.create_index("ix_notifications_due", "notifications", ["status", "due_at"])
