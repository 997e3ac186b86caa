"""Pacing of each sending identity, shared by every dispatcher; on PostgreSQL a NOTIFY when a
notice is written, so dispatchers wake at once instead of at their next poll.

Revision ID: 0014
Revises: 0010
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the channel dispatchers LISTEN on (``notifiers.outbox.wakeup.CHANNEL``)
_NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION cmp_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cmp_outbox', '');
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "sender_pace",
        sa.Column("sender", sa.String(length=80), nullable=False),
        sa.Column("next_slot", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sender", name=op.f("pk_sender_pace")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NOTIFY_FUNCTION)
        op.execute(
            "CREATE TRIGGER notifications_notify AFTER INSERT ON notifications"
            " FOR EACH STATEMENT EXECUTE FUNCTION cmp_outbox_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS notifications_notify ON notifications")
        op.execute("DROP FUNCTION IF EXISTS cmp_outbox_notify()")
    op.drop_table("sender_pace")
