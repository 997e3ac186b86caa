"""A case's session needs apart from the parties' reading languages, and venue access features.

cases.session_language (None: the working language), cases.interpreter (the language an
interpreter covers), cases.access_needs and venues.features (JSON lists of access features).
Existing cases keep what their parties said: a party's interpreter text becomes the case's
interpreter where it is a known code, and a party's accessibility note becomes a step-free need.

Revision ID: 0013
Revises: 0010
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KNOWN = ("en", "es", "pl", "zh", "ar", "tl", "ko", "hi", "ur", "ase")


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("session_language", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("interpreter", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("access_needs", sa.JSON(), nullable=False,
                                   server_default="[]"))
    with op.batch_alter_table("venues") as batch:
        batch.add_column(sa.Column("features", sa.JSON(), nullable=False, server_default="[]"))
    cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("interpreter", sa.String),
                     sa.column("access_needs", sa.JSON))
    parties = sa.table("parties", sa.column("case_id", sa.Integer),
                       sa.column("interpreter", sa.String), sa.column("accessibility", sa.Text))
    bind = op.get_bind()
    rows = bind.execute(sa.select(parties.c.case_id, parties.c.interpreter,
                                  parties.c.accessibility).order_by(parties.c.case_id)).all()
    interpreter: dict[int, str] = {}
    access: set[int] = set()
    for case_id, said, needs in rows:
        code = (said or "").strip().lower()
        code = "ase" if code == "asl" else code
        if code in KNOWN and case_id not in interpreter:
            interpreter[case_id] = code
        if (needs or "").strip():
            access.add(case_id)
    for case_id, code in interpreter.items():
        bind.execute(cases.update().where(cases.c.id == case_id).values(interpreter=code))
    for case_id in access:
        bind.execute(cases.update().where(cases.c.id == case_id)
                     .values(access_needs=["step_free"]))


def downgrade() -> None:
    with op.batch_alter_table("venues") as batch:
        batch.drop_column("features")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("access_needs")
        batch.drop_column("interpreter")
        batch.drop_column("session_language")
