"""Suppressions: opt-outs belong to the phone number / email address, not to a party row; the
parties' flags move into the list. SendGrid events already applied (replays change nothing).
Inbound messages say which cases they could be about.

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cases.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("since", cases.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("lifted_at", cases.models.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('sms', 'email')",
                           name=op.f("ck_suppressions_channel_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint("channel", "address", name=op.f("uq_suppressions_channel")),
    )
    # One entry per number / address, from the earliest party that opted out with it.
    op.execute(
        "INSERT INTO suppressions (channel, address, since, source)"
        " SELECT 'sms', phone, MIN(COALESCE(sms_opted_out_at, created_at)), 'migrated'"
        " FROM parties WHERE sms_opted_out AND phone IS NOT NULL AND phone <> ''"
        " GROUP BY phone"
    )
    op.execute(
        "INSERT INTO suppressions (channel, address, since, source)"
        " SELECT 'email', LOWER(TRIM(email)), MIN(created_at), 'migrated'"
        " FROM parties WHERE email_opted_out AND email IS NOT NULL AND TRIM(email) <> ''"
        " GROUP BY LOWER(TRIM(email))"
    )
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of ``parties`` would drop a
    # table that consents and notifications reference.
    for column in ("sms_opted_out", "sms_opted_out_at", "email_opted_out"):
        op.drop_column("parties", column)

    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("received_at", cases.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("provider", "event_id", name=op.f("uq_webhook_events_provider")),
    )
    op.create_index(op.f("ix_webhook_events_received_at"), "webhook_events", ["received_at"])

    op.add_column("inbound_messages",
                  sa.Column("case_ids", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    op.drop_column("inbound_messages", "case_ids")
    op.drop_index(op.f("ix_webhook_events_received_at"), table_name="webhook_events")
    op.drop_table("webhook_events")
    op.add_column("parties", sa.Column("sms_opted_out", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.add_column("parties", sa.Column("sms_opted_out_at", cases.models.UTCDateTime(timezone=True),
                                       nullable=True))
    op.add_column("parties", sa.Column("email_opted_out", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.execute(
        "UPDATE parties SET sms_opted_out = true, sms_opted_out_at = (SELECT s.since"
        " FROM suppressions s WHERE s.channel = 'sms' AND s.address = parties.phone)"
        " WHERE EXISTS (SELECT 1 FROM suppressions s WHERE s.channel = 'sms'"
        " AND s.address = parties.phone AND s.lifted_at IS NULL)"
    )
    op.execute(
        "UPDATE parties SET email_opted_out = true WHERE EXISTS (SELECT 1 FROM suppressions s"
        " WHERE s.channel = 'email' AND s.address = LOWER(TRIM(parties.email))"
        " AND s.lifted_at IS NULL)"
    )
    op.drop_table("suppressions")
