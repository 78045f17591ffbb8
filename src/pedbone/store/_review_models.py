"""Tables of the systematic-review workflow (``pedbone.review``), migration ``0005``.

Every table is versioned and audited like the clinic data (``Versioned``), and carries
``__review__ = True``: the flush guard lets review-team members change these rows whatever
their clinic role, and lets nobody else (see ``_review.py``). No review table refers to a
patient, and no patient table to a review: a reviewer sees reviews, never patients.

Nothing is deleted by the workflow: a duplicate keeps its row and points to the record it
duplicates (``duplicate_of_id``); a vote is changed or withdrawn only while the other
reviewer has not voted (the audit log keeps every change).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pedbone.store._models import Base, Versioned

__all__ = [
    "MAX_FULLTEXT_BYTES",
    "ReviewDuplicatePair",
    "ReviewFullText",
    "ReviewMember",
    "ReviewProtocolVersion",
    "ReviewRecord",
    "ReviewResolution",
    "ReviewSearch",
    "ReviewVote",
    "SystematicReview",
]

#: Largest full-text file kept per record (software rule: a scanned 60-page PDF fits).
MAX_FULLTEXT_BYTES = 25 * 1024 * 1024


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


_STAGES = ("title_abstract", "full_text")
_DECISIONS = ("include", "exclude", "maybe")


class _ReviewRow(Versioned):
    __review__: ClassVar[bool] = True


def _review_fk() -> Any:
    return mapped_column(
        ForeignKey("systematic_reviews.id", ondelete="CASCADE"), nullable=False, index=True
    )


class SystematicReview(_ReviewRow, Base):
    """A review; ``protocol`` is the current version (``pedbone.review.Protocol`` as JSON)."""

    __tablename__ = "systematic_reviews"

    slug: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    protocol_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    protocol: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    simulated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class ReviewProtocolVersion(_ReviewRow, Base):
    """Every version of a review's protocol, kept (amendments carry their reason inside)."""

    __tablename__ = "review_protocol_versions"
    __table_args__ = (UniqueConstraint("review_id", "protocol_version", name="review_version"),)

    review_id: Mapped[int] = _review_fk()
    protocol_version: Mapped[int] = mapped_column(Integer, nullable=False)
    protocol: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class ReviewMember(_ReviewRow, Base):
    """A user on a review's team (reviewer or arbiter), from the protocol's ``team``."""

    __tablename__ = "review_members"
    __table_args__ = (
        UniqueConstraint("review_id", "user_id", name="review_user"),
        CheckConstraint(_in("team_role", ("reviewer", "arbiter")), name="team_role"),
    )

    review_id: Mapped[int] = _review_fk()
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    team_role: Mapped[str] = mapped_column(String(16), nullable=False)


class ReviewSearch(_ReviewRow, Base):
    """One import: source, kind and date of the search, the file's name and SHA-256."""

    __tablename__ = "review_searches"
    __table_args__ = (
        UniqueConstraint("review_id", "sha256", name="review_file"),
        CheckConstraint(
            _in("kind", ("database", "register", "website", "organisation", "citations")),
            name="kind",
        ),
    )

    review_id: Mapped[int] = _review_fk()
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="database")
    searched_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    format: Mapped[str] = mapped_column(String(16), nullable=False)
    strategy: Mapped[str | None] = mapped_column(Text)
    records_found: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    errors: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    simulated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class ReviewRecord(_ReviewRow, Base):
    """A bibliographic record found by a search (``pedbone.review.Record`` fields)."""

    __tablename__ = "review_records"
    __table_args__ = (
        Index("ix_review_records_review_doi", "review_id", "doi"),
        Index("ix_review_records_review_pmid", "review_id", "pmid"),
        CheckConstraint(
            _in("fulltext_status", ("not_sought", "retrieved", "not_retrieved")),
            name="fulltext_status",
        ),
    )

    review_id: Mapped[int] = _review_fk()
    search_id: Mapped[int] = mapped_column(
        ForeignKey("review_searches.id", ondelete="CASCADE"), nullable=False, index=True
    )
    title: Mapped[str] = mapped_column(Text, nullable=False)
    authors: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    year: Mapped[int | None] = mapped_column(Integer)
    journal: Mapped[str | None] = mapped_column(String(500))
    volume: Mapped[str | None] = mapped_column(String(64))
    issue: Mapped[str | None] = mapped_column(String(64))
    pages: Mapped[str | None] = mapped_column(String(64))
    doi: Mapped[str | None] = mapped_column(String(255))
    pmid: Mapped[str | None] = mapped_column(String(16))
    abstract: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    url: Mapped[str | None] = mapped_column(String(2000))
    kind: Mapped[str | None] = mapped_column(String(64))
    line: Mapped[int | None] = mapped_column(Integer)
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_records.id", ondelete="SET NULL"), index=True
    )
    study: Mapped[str | None] = mapped_column(String(120))
    fulltext_status: Mapped[str] = mapped_column(String(16), nullable=False, default="not_sought")
    fulltext_filename: Mapped[str | None] = mapped_column(String(255))
    fulltext_sha256: Mapped[str | None] = mapped_column(String(64))
    fulltext_note: Mapped[str | None] = mapped_column(String(500))


class ReviewFullText(Base):
    """The full-text file of a record (base64 text, so JSON backups carry it).

    Not audited row by row (the log would hold the whole file); the record's
    ``fulltext_sha256`` and ``fulltext_filename``, which are audited, say which file it was.
    """

    __tablename__ = "review_fulltexts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("review_records.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    content_b64: Mapped[str] = mapped_column(Text, nullable=False)


class ReviewDuplicatePair(_ReviewRow, Base):
    """A proposed duplicate pair and its fate (pending, merged, distinct)."""

    __tablename__ = "review_duplicate_pairs"
    __table_args__ = (
        UniqueConstraint("review_id", "record_a_id", "record_b_id", name="review_pair"),
        CheckConstraint(_in("status", ("pending", "merged", "distinct")), name="status"),
        CheckConstraint("record_a_id < record_b_id", name="ordered"),
    )

    review_id: Mapped[int] = _review_fk()
    record_a_id: Mapped[int] = mapped_column(
        ForeignKey("review_records.id", ondelete="CASCADE"), nullable=False, index=True
    )
    record_b_id: Mapped[int] = mapped_column(
        ForeignKey("review_records.id", ondelete="CASCADE"), nullable=False, index=True
    )
    match_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    automatic: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    decided_by: Mapped[str | None] = mapped_column(String(64))


class ReviewVote(_ReviewRow, Base):
    """One reviewer's vote on one record at one stage (one row per reviewer, record, stage)."""

    __tablename__ = "review_votes"
    __table_args__ = (
        UniqueConstraint("record_id", "stage", "reviewer_id", name="one_vote"),
        CheckConstraint(_in("stage", _STAGES), name="stage"),
        CheckConstraint(_in("decision", _DECISIONS), name="decision"),
    )

    review_id: Mapped[int] = _review_fk()
    record_id: Mapped[int] = mapped_column(
        ForeignKey("review_records.id", ondelete="CASCADE"), nullable=False, index=True
    )
    stage: Mapped[str] = mapped_column(String(16), nullable=False)
    reviewer_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    decision: Mapped[str] = mapped_column(String(16), nullable=False)
    reason_code: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(2000))
    simulated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class ReviewResolution(_ReviewRow, Base):
    """How a conflict on a record at a stage was settled, by whom and why."""

    __tablename__ = "review_resolutions"
    __table_args__ = (
        UniqueConstraint("record_id", "stage", name="one_resolution"),
        CheckConstraint(_in("stage", _STAGES), name="stage"),
        CheckConstraint(_in("decision", _DECISIONS), name="decision"),
        CheckConstraint(_in("method", ("discussion", "arbiter")), name="method"),
    )

    review_id: Mapped[int] = _review_fk()
    record_id: Mapped[int] = mapped_column(
        ForeignKey("review_records.id", ondelete="CASCADE"), nullable=False, index=True
    )
    stage: Mapped[str] = mapped_column(String(16), nullable=False)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)
    reason_code: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    resolved_by: Mapped[str] = mapped_column(String(64), nullable=False)
    why: Mapped[str] = mapped_column(String(2000), nullable=False)
    simulated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
