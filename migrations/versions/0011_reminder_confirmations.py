"""Reminder replies: parties' confirmations per session; venues' directions for reminders.

Revision ID: 0011
Revises: 0010
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cases.models

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("venues", sa.Column("directions", sa.Text(), nullable=False,
                                      server_default=""))
    op.create_table(
        "session_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", cases.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"], ondelete="CASCADE",
                                name=op.f("fk_session_confirmations_party_id_parties")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE",
                                name=op.f("fk_session_confirmations_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_confirmations")),
        sa.UniqueConstraint("session_id", "party_id", "sequence",
                            name=op.f("uq_session_confirmations_session_id")),
    )
    op.create_index(op.f("ix_session_confirmations_session_id"), "session_confirmations",
                    ["session_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_session_confirmations_session_id"), "session_confirmations")
    op.drop_table("session_confirmations")
    with op.batch_alter_table("venues") as batch:
        batch.drop_column("directions")
