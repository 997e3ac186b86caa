"""Notifications: when the first attempt whose outcome is unknown was claimed (``unconfirmed_since``),
so that a notice in doubt is looked up at the provider for every lost attempt, not only the latest.

Revision ID: 0008
Revises: 0005
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cases.models

revision: str = "0008"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("unconfirmed_since", cases.models.UTCDateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("unconfirmed_since")
