"""Calendar pushes: how far each mediator's own calendar has caught up with each session.

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cases.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=False),
        sa.Column("pushed_sequence", sa.Integer(), nullable=True),
        sa.Column("pushed_status", sa.String(length=16), nullable=True),
        sa.Column("pushed_at", cases.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("pushed_status IN ('booked', 'cancelled')",
                           name=op.f("ck_calendar_pushes_pushed_status_known")),
        sa.ForeignKeyConstraint(["mediator_id"], ["mediators.id"],
                                name=op.f("fk_calendar_pushes_mediator_id_mediators")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"],
                                name=op.f("fk_calendar_pushes_session_id_sessions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_pushes")),
        sa.UniqueConstraint("session_id", "mediator_id",
                            name=op.f("uq_calendar_pushes_session_id")),
    )


def downgrade() -> None:
    op.drop_table("calendar_pushes")
