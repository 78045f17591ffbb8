"""Tables of systematic reviews, part 2: extractions, consensus, risk of bias, GRADE (``0008``).

Like part 1's tables (``_review_models``) every row is versioned, audited and guarded by the
review team (``__review__``): only members of the review (and admins) change them. A reviewer's
extraction and risk-of-bias answers are their own rows (``reviewer_id``); the consensus rows
(``reviewer_id`` NULL in risk of bias; :class:`ReviewConsensusValue` for extraction) keep who
decided and why. Values are stored as the domain objects' JSON (``pedbone.review``), validated
there before they reach the database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pedbone.store._models import Base, UTCDateTime, utcnow
from pedbone.store._review_models import _in, _review_fk, _ReviewRow

__all__ = [
    "ReviewConsensusValue",
    "ReviewExtraction",
    "ReviewGradeRow",
    "ReviewRobAssessment",
]

_TOOLS = ("rob2", "robins_i", "case_series")


def _user_fk(nullable: bool) -> Any:
    return mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), nullable=nullable, index=True)


class ReviewExtraction(_ReviewRow, Base):
    """One reviewer's extraction of one study: field key -> {raw, location} (JSON)."""

    __tablename__ = "review_extractions"
    __table_args__ = (
        UniqueConstraint("review_id", "study", "reviewer_id", name="review_study_reviewer"),
    )

    review_id: Mapped[int] = _review_fk()
    study: Mapped[str] = mapped_column(String(120), nullable=False)
    reviewer_id: Mapped[int] = _user_fk(nullable=False)
    form: Mapped[str] = mapped_column(String(120), nullable=False)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    simulated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class ReviewConsensusValue(_ReviewRow, Base):
    """The agreed value of one field of one study, with who decided, when and why."""

    __tablename__ = "review_consensus_values"
    __table_args__ = (UniqueConstraint("review_id", "study", "key", name="review_study_key"),)

    review_id: Mapped[int] = _review_fk()
    study: Mapped[str] = mapped_column(String(120), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    raw: Mapped[str] = mapped_column(Text, nullable=False)
    location: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    decided_by_id: Mapped[int] = _user_fk(nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class ReviewRobAssessment(_ReviewRow, Base):
    """One domain of one study's risk-of-bias assessment, by a reviewer or (NULL) consensus."""

    __tablename__ = "review_rob_assessments"
    __table_args__ = (
        UniqueConstraint(
            "review_id", "study", "tool", "domain", "reviewer_id", name="review_rob_domain"
        ),
        CheckConstraint(_in("tool", _TOOLS), name="tool"),
        CheckConstraint("override IS NULL OR length(reason) > 0", name="override_reason"),
    )

    review_id: Mapped[int] = _review_fk()
    study: Mapped[str] = mapped_column(String(120), nullable=False)
    tool: Mapped[str] = mapped_column(String(16), nullable=False)
    domain: Mapped[str] = mapped_column(String(64), nullable=False)
    reviewer_id: Mapped[int | None] = _user_fk(nullable=True)  # NULL: the consensus row
    answers: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)
    judgement: Mapped[str] = mapped_column(String(32), nullable=False)  # proposed or given
    override: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")


class ReviewGradeRow(_ReviewRow, Base):
    """The GRADE certainty of one outcome: the start, each step with its reason (JSON)."""

    __tablename__ = "review_grade_rows"
    __table_args__ = (
        UniqueConstraint("review_id", "outcome", name="review_outcome"),
        CheckConstraint("certainty BETWEEN 1 AND 4", name="certainty"),
        CheckConstraint("studies >= 1", name="studies"),
    )

    review_id: Mapped[int] = _review_fk()
    outcome: Mapped[str] = mapped_column(String(200), nullable=False)
    randomised: Mapped[bool] = mapped_column(Boolean, nullable=False)
    studies: Mapped[int] = mapped_column(Integer, nullable=False)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    certainty: Mapped[int] = mapped_column(Integer, nullable=False)
