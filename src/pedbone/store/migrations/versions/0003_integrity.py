"""data integrity: ids never reused (SQLite AUTOINCREMENT), one course per protocol and start
date, committed import previews (each committed once)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:00:00

SQLite reuses ``max(id) + 1`` after the row with the highest id was deleted; a form left open
on the deleted record then saved over the new one (hazard H30). Every table with an integer key
is rebuilt here as ``AUTOINCREMENT`` (batch recreation: the rows are copied; pedbone runs
SQLite migrations with foreign-key enforcement switched off, so that dropping the old table
cascades nothing, and checks the foreign keys before committing). The counter of each table
starts above the highest id the table ever had, as far as the audit log knows, so ids deleted
before this migration are not handed out again either. PostgreSQL's sequences never reuse ids;
nothing changes there but the constraints and the new table.

The downgrade drops the constraint and the table; the tables stay ``AUTOINCREMENT`` (harmless).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Tables of revision 0002 with an integer id (``settings`` has a text key).
TABLES = (
    "audit_log",
    "users",
    "patients",
    "diagnoses",
    "anthropometry",
    "puberty_assessments",
    "medications",
    "diets",
    "mobility_assessments",
    "lab_results",
    "fractures",
    "vertebral_assessments",
    "vertebrae",
    "dxa_scans",
    "dxa_measurements",
    "treatments",
    "infusions",
    "adverse_events",
    "calcium_intakes",
    "sun_exposures",
    "symptoms",
    "notes",
)


def _duplicate_courses(bind: sa.Connection) -> list[tuple[int, str, object]]:
    rows = bind.execute(
        sa.text(
            "SELECT patient_id, protocol_id, start_date FROM treatments "
            "WHERE protocol_id IS NOT NULL "
            "GROUP BY patient_id, protocol_id, start_date HAVING COUNT(*) > 1"
        )
    )
    return [(int(r[0]), str(r[1]), r[2]) for r in rows]


def _course_unique(batch_op: object) -> None:
    batch_op.create_unique_constraint(  # type: ignore[attr-defined]
        op.f("uq_treatments_patient_id"), ["patient_id", "protocol_id", "start_date"]
    )


def upgrade() -> None:
    bind = op.get_bind()
    duplicates = _duplicate_courses(bind)
    if duplicates:
        listing = "; ".join(f"patient {p}, protocol {c}, start {d}" for p, c, d in duplicates)
        raise RuntimeError(
            "revision 0003 makes a course unique per patient, protocol and start date, but the "
            f"database holds the same course twice ({listing}); delete the duplicate course "
            "(with its planned infusions) with the pedbone version in use, then upgrade again"
        )
    existing = set(sa.inspect(bind).get_table_names())
    if bind.dialect.name == "sqlite":
        for name in TABLES:
            if name not in existing:
                continue
            with op.batch_alter_table(
                name, recreate="always", table_kwargs={"sqlite_autoincrement": True}
            ) as batch_op:
                if name == "treatments":  # in the same rebuild (another would drop the option)
                    _course_unique(batch_op)
        for name in TABLES:
            if name not in existing:
                continue
            top = bind.execute(sa.text(f'SELECT MAX(id) FROM "{name}"')).scalar()
            logged = bind.execute(
                sa.text("SELECT MAX(CAST(row_id AS INTEGER)) FROM audit_log WHERE table_name = :t"),
                {"t": name},
            ).scalar()
            highest = max(int(top or 0), int(logged or 0))
            bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": name})
            if highest:
                bind.execute(
                    sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :s)"),
                    {"t": name, "s": highest},
                )
    else:
        with op.batch_alter_table("treatments", schema=None) as batch_op:
            _course_unique(batch_op)
    op.create_table(
        "import_commits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("preview_key", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_commits")),
        sa.UniqueConstraint("preview_key", name=op.f("uq_import_commits_preview_key")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("import_commits")
    with op.batch_alter_table(
        "treatments", schema=None, table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_constraint(op.f("uq_treatments_patient_id"), type_="unique")
