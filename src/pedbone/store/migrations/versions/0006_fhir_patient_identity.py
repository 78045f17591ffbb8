"""FHIR patient identity: Belgian INSZ/NISS number and administrative gender, kept apart
from the sex at birth that the references use

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table(
        "patients", schema=None, table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.add_column(sa.Column("ssin", sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column("administrative_gender", sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_patients_ssin"), ["ssin"])


def downgrade() -> None:
    with op.batch_alter_table(
        "patients", schema=None, table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_patients_ssin"), type_="unique")
        batch_op.drop_column("administrative_gender")
        batch_op.drop_column("ssin")
