"""Phone lines: what Twilio's Lookup said each number is (mobile, landline, VoIP), so that no text
goes to a landline; ``unchecked`` until a lookup succeeds, retried after ``next_check_at``.

Revision ID: 0016
Revises: 0010
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cases.models

revision: str = "0016"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "phone_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("line_type", sa.String(length=16), nullable=False),
        sa.Column("provider_type", sa.String(length=32), nullable=True),
        sa.Column("checked_at", cases.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", cases.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", cases.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_lines")),
        sa.UniqueConstraint("number", name=op.f("uq_phone_lines_number")),
    )
    op.create_index(op.f("ix_phone_lines_next_check_at"), "phone_lines", ["next_check_at"])
    # Every number already on file is checked by the next run of the job.
    op.execute(
        "INSERT INTO phone_lines (number, line_type, failures, next_check_at, created_at)"
        " SELECT phone, 'unchecked', 0, MIN(created_at), MIN(created_at) FROM parties"
        " WHERE phone IS NOT NULL AND phone <> '' GROUP BY phone"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_phone_lines_next_check_at"), table_name="phone_lines")
    op.drop_table("phone_lines")
