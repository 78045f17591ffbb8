"""checklist override: the written reason a clinician gives to start a course or record a dose
as given although the pre-infusion checklist says HOLD

Revision ID: 0004
Revises: 0003b
Create Date: 2026-12-01 23:25:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("treatments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checklist_override", sa.Text(), nullable=True))
    with op.batch_alter_table("infusions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checklist_override", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("infusions", schema=None) as batch_op:
        batch_op.drop_column("checklist_override")
    with op.batch_alter_table("treatments", schema=None) as batch_op:
        batch_op.drop_column("checklist_override")
