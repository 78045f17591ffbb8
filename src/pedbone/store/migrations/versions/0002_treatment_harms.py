"""treatment course and harm details: protocol of a course, planned/given infusions, CTCAE
grade, onset after the dose and relatedness of an adverse event

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 03:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("treatments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("protocol_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("infusions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=True))
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ctcae_grade", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("onset_days", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("relatedness", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.drop_column("relatedness")
        batch_op.drop_column("onset_days")
        batch_op.drop_column("ctcae_grade")
    with op.batch_alter_table("infusions", schema=None) as batch_op:
        batch_op.drop_column("status")
    with op.batch_alter_table("treatments", schema=None) as batch_op:
        batch_op.drop_column("protocol_id")
