"""systematic reviews (pedbone.review part 1): reviews, protocol versions, team, searches,
records, full texts, duplicate pairs, votes and resolutions; the 'reviewer' user role

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:03:33
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create_table(*args: Any, **kwargs: Any) -> Any:
    """Every table keeps SQLite's AUTOINCREMENT (ids never handed out twice, as 0003 set up)."""
    return op.create_table(*args, sqlite_autoincrement=True, **kwargs)


def upgrade() -> None:
    with op.batch_alter_table(
        "users", schema=None, table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_users_role"), "role IN ('admin', 'clinician', 'researcher', 'reviewer')"
        )
    _create_table(
        "systematic_reviews",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("protocol_version", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.JSON(), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_systematic_reviews")),
        sa.UniqueConstraint("slug", name=op.f("uq_systematic_reviews_slug")),
    )
    _create_table(
        "review_members",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("team_role", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "team_role IN ('reviewer', 'arbiter')", name=op.f("ck_review_members_team_role")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["systematic_reviews.id"],
            name=op.f("fk_review_members_review_id_systematic_reviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_review_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_members")),
        sa.UniqueConstraint("review_id", "user_id", name="review_user"),
    )
    with op.batch_alter_table("review_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_members_review_id"), ["review_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_review_members_user_id"), ["user_id"], unique=False)

    _create_table(
        "review_protocol_versions",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("protocol_version", sa.Integer(), nullable=False),
        sa.Column("protocol", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["systematic_reviews.id"],
            name=op.f("fk_review_protocol_versions_review_id_systematic_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_protocol_versions")),
        sa.UniqueConstraint("review_id", "protocol_version", name="review_version"),
    )
    with op.batch_alter_table("review_protocol_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_protocol_versions_review_id"), ["review_id"], unique=False
        )

    _create_table(
        "review_searches",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("searched_on", sa.Date(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("strategy", sa.Text(), nullable=True),
        sa.Column("records_found", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('database', 'register', 'website', 'organisation', 'citations')",
            name=op.f("ck_review_searches_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["systematic_reviews.id"],
            name=op.f("fk_review_searches_review_id_systematic_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_searches")),
        sa.UniqueConstraint("review_id", "sha256", name="review_file"),
    )
    with op.batch_alter_table("review_searches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_searches_review_id"), ["review_id"], unique=False
        )

    _create_table(
        "review_records",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("search_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("journal", sa.String(length=500), nullable=True),
        sa.Column("volume", sa.String(length=64), nullable=True),
        sa.Column("issue", sa.String(length=64), nullable=True),
        sa.Column("pages", sa.String(length=64), nullable=True),
        sa.Column("doi", sa.String(length=255), nullable=True),
        sa.Column("pmid", sa.String(length=16), nullable=True),
        sa.Column("abstract", sa.Text(), nullable=True),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("study", sa.String(length=120), nullable=True),
        sa.Column("fulltext_status", sa.String(length=16), nullable=False),
        sa.Column("fulltext_filename", sa.String(length=255), nullable=True),
        sa.Column("fulltext_sha256", sa.String(length=64), nullable=True),
        sa.Column("fulltext_note", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "fulltext_status IN ('not_sought', 'retrieved', 'not_retrieved')",
            name=op.f("ck_review_records_fulltext_status"),
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["review_records.id"],
            name=op.f("fk_review_records_duplicate_of_id_review_records"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["systematic_reviews.id"],
            name=op.f("fk_review_records_review_id_systematic_reviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["search_id"],
            ["review_searches.id"],
            name=op.f("fk_review_records_search_id_review_searches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_records")),
    )
    with op.batch_alter_table("review_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_records_duplicate_of_id"), ["duplicate_of_id"], unique=False
        )
        batch_op.create_index("ix_review_records_review_doi", ["review_id", "doi"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_review_records_review_id"), ["review_id"], unique=False
        )
        batch_op.create_index("ix_review_records_review_pmid", ["review_id", "pmid"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_review_records_search_id"), ["search_id"], unique=False
        )

    _create_table(
        "review_duplicate_pairs",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("record_a_id", sa.Integer(), nullable=False),
        sa.Column("record_b_id", sa.Integer(), nullable=False),
        sa.Column("match_kind", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'merged', 'distinct')",
            name=op.f("ck_review_duplicate_pairs_status"),
        ),
        sa.CheckConstraint(
            "record_a_id < record_b_id", name=op.f("ck_review_duplicate_pairs_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["record_a_id"],
            ["review_records.id"],
            name=op.f("fk_review_duplicate_pairs_record_a_id_review_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_b_id"],
            ["review_records.id"],
            name=op.f("fk_review_duplicate_pairs_record_b_id_review_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["systematic_reviews.id"],
            name=op.f("fk_review_duplicate_pairs_review_id_systematic_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_duplicate_pairs")),
        sa.UniqueConstraint("review_id", "record_a_id", "record_b_id", name="review_pair"),
    )
    with op.batch_alter_table("review_duplicate_pairs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_duplicate_pairs_record_a_id"), ["record_a_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_duplicate_pairs_record_b_id"), ["record_b_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_duplicate_pairs_review_id"), ["review_id"], unique=False
        )

    _create_table(
        "review_fulltexts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_b64", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["review_records.id"],
            name=op.f("fk_review_fulltexts_record_id_review_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_fulltexts")),
        sa.UniqueConstraint("record_id", name=op.f("uq_review_fulltexts_record_id")),
    )
    _create_table(
        "review_resolutions",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=False),
        sa.Column("why", sa.String(length=2000), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('include', 'exclude', 'maybe')",
            name=op.f("ck_review_resolutions_decision"),
        ),
        sa.CheckConstraint(
            "method IN ('discussion', 'arbiter')", name=op.f("ck_review_resolutions_method")
        ),
        sa.CheckConstraint(
            "stage IN ('title_abstract', 'full_text')", name=op.f("ck_review_resolutions_stage")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["review_records.id"],
            name=op.f("fk_review_resolutions_record_id_review_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["users.id"],
            name=op.f("fk_review_resolutions_resolved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["systematic_reviews.id"],
            name=op.f("fk_review_resolutions_review_id_systematic_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_resolutions")),
        sa.UniqueConstraint("record_id", "stage", name="one_resolution"),
    )
    with op.batch_alter_table("review_resolutions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_resolutions_record_id"), ["record_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_resolutions_resolved_by_id"), ["resolved_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_resolutions_review_id"), ["review_id"], unique=False
        )

    _create_table(
        "review_votes",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('include', 'exclude', 'maybe')", name=op.f("ck_review_votes_decision")
        ),
        sa.CheckConstraint(
            "stage IN ('title_abstract', 'full_text')", name=op.f("ck_review_votes_stage")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["review_records.id"],
            name=op.f("fk_review_votes_record_id_review_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["systematic_reviews.id"],
            name=op.f("fk_review_votes_review_id_systematic_reviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_review_votes_reviewer_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_votes")),
        sa.UniqueConstraint("record_id", "stage", "reviewer_id", name="one_vote"),
    )
    with op.batch_alter_table("review_votes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_votes_record_id"), ["record_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_votes_review_id"), ["review_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_review_votes_reviewer_id"), ["reviewer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("review_votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_votes_reviewer_id"))
        batch_op.drop_index(batch_op.f("ix_review_votes_review_id"))
        batch_op.drop_index(batch_op.f("ix_review_votes_record_id"))

    op.drop_table("review_votes")
    with op.batch_alter_table("review_resolutions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_resolutions_review_id"))
        batch_op.drop_index(batch_op.f("ix_review_resolutions_resolved_by_id"))
        batch_op.drop_index(batch_op.f("ix_review_resolutions_record_id"))

    op.drop_table("review_resolutions")
    op.drop_table("review_fulltexts")
    with op.batch_alter_table("review_duplicate_pairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_duplicate_pairs_review_id"))
        batch_op.drop_index(batch_op.f("ix_review_duplicate_pairs_record_b_id"))
        batch_op.drop_index(batch_op.f("ix_review_duplicate_pairs_record_a_id"))

    op.drop_table("review_duplicate_pairs")
    with op.batch_alter_table("review_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_records_search_id"))
        batch_op.drop_index("ix_review_records_review_pmid")
        batch_op.drop_index(batch_op.f("ix_review_records_review_id"))
        batch_op.drop_index("ix_review_records_review_doi")
        batch_op.drop_index(batch_op.f("ix_review_records_duplicate_of_id"))

    op.drop_table("review_records")
    with op.batch_alter_table("review_searches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_searches_review_id"))

    op.drop_table("review_searches")
    with op.batch_alter_table("review_protocol_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_protocol_versions_review_id"))

    op.drop_table("review_protocol_versions")
    with op.batch_alter_table("review_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_members_user_id"))
        batch_op.drop_index(batch_op.f("ix_review_members_review_id"))

    op.drop_table("review_members")
    op.drop_table("systematic_reviews")
    op.execute("UPDATE users SET role = 'researcher', active = false WHERE role = 'reviewer'")
    with op.batch_alter_table(
        "users", schema=None, table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_users_role"), "role IN ('admin', 'clinician', 'researcher')"
        )
