"""Work-queue items staff handled (so they leave the queue; who and when is kept).

Revision ID: 0010
Revises: 0009
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cases.models

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queue_handled",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("handled_by", sa.String(length=64), nullable=False),
        sa.Column("handled_at", cases.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("how", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_handled")),
        sa.UniqueConstraint("kind", "ref_id", name=op.f("uq_queue_handled_kind")),
    )


def downgrade() -> None:
    op.drop_table("queue_handled")
