"""Systematic reviews, part 2, in the store: dual extraction with consensus, risk of bias, GRADE.

Every write goes through ``pedbone.review``'s domain objects first (an unknown field, a bad
number, an RoB 2 domain whose answers do not reach a judgement, a GRADE step without a reason
are refused with the domain's message), then the team guard of part 1 applies at flush: only
members of the review (and admins) change these rows. Extractions and per-reviewer risk-of-bias
answers belong to the signed-in reviewer; consensus values keep who decided, when and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pedbone.review.synthesis import (
    ConsensusValue,
    Discrepancy,
    Extraction,
    ExtractionError,
    GradeResult,
    Rob2Domain,
    Rob2Judgement,
    RobError,
    RobinsJudgement,
    Value,
    compare,
    consensus,
    grade,
    rob2_domain,
)
from pedbone.store._errors import PermissionDeniedError, ValidationError
from pedbone.store._models import User
from pedbone.store._review import _user, member_role
from pedbone.store._review_models import SystematicReview
from pedbone.store._review_part2_models import (
    ReviewConsensusValue,
    ReviewExtraction,
    ReviewGradeRow,
    ReviewRobAssessment,
)

__all__ = [
    "consensus_extraction",
    "decide_value",
    "extraction_discrepancies",
    "save_extraction",
    "save_grade",
    "save_rob_domain",
]


def _member(session: Session, review: SystematicReview, what: str) -> User:
    user = _user(session, session.info.get("actor"))
    if user is None:
        raise PermissionDeniedError(f"{what} is the work of a signed-in team member")
    if member_role(session, review, user.id) is None:
        raise PermissionDeniedError(f"user {user.username!r} is not on the team of {review.slug!r}")
    return user


def _values(values: Mapping[str, Value | tuple[str, str] | str]) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for k, v in values.items():
        if isinstance(v, Value):
            out[k] = v
        elif isinstance(v, tuple):
            out[k] = Value(v[0], v[1])
        else:
            out[k] = Value(v)
    return out


def _extraction(row: ReviewExtraction, names: dict[int, str]) -> Extraction:
    vals = {k: Value(v["raw"], v.get("location", "")) for k, v in row.values.items()}
    return Extraction(row.study, names.get(row.reviewer_id, str(row.reviewer_id)), vals)


def save_extraction(
    session: Session,
    review: SystematicReview,
    study: str,
    values: Mapping[str, Value | tuple[str, str] | str],
    *,
    simulated: bool = False,
) -> ReviewExtraction:
    """The signed-in reviewer's extraction of ``study`` (created or replaced as a whole).

    ``values`` maps a form field key to a :class:`Value`, ``(raw, location)`` or raw text.
    """
    user = _member(session, review, "an extraction")
    study = study.strip()
    if not study or len(study) > 120:
        raise ValidationError("study: give the study's label (1 to 120 characters)")
    vals = _values(values)
    try:
        ex = Extraction(study, user.username, vals)
    except ExtractionError as exc:
        raise ValidationError(f"{study}: {exc}") from None
    row = session.scalar(
        select(ReviewExtraction).where(
            ReviewExtraction.review_id == review.id,
            ReviewExtraction.study == study,
            ReviewExtraction.reviewer_id == user.id,
        )
    )
    payload = {k: {"raw": v.raw, "location": v.location} for k, v in ex.values.items()}
    if row is None:
        row = ReviewExtraction(
            review_id=review.id,
            study=study,
            reviewer_id=user.id,
            form=ex.form.name,
            values=payload,
            simulated=simulated,
        )
        session.add(row)
    else:
        row.values = payload
    session.flush()
    return row


def _pair(session: Session, review: SystematicReview, study: str) -> tuple[Extraction, Extraction]:
    rows = list(
        session.scalars(
            select(ReviewExtraction)
            .where(ReviewExtraction.review_id == review.id, ReviewExtraction.study == study)
            .order_by(ReviewExtraction.id)
        )
    )
    if len(rows) < 2:
        raise ValidationError(
            f"{study}: {len(rows)} extraction(s); two independent extractions are compared"
        )
    names = {int(i): str(n) for i, n in session.execute(select(User.id, User.username))}
    return _extraction(rows[0], names), _extraction(rows[1], names)


def extraction_discrepancies(
    session: Session, review: SystematicReview, study: str
) -> list[Discrepancy]:
    """Field-by-field differences between the two reviewers' extractions of ``study``."""
    a, b = _pair(session, review, study)
    return compare(a, b)


def decide_value(
    session: Session,
    review: SystematicReview,
    study: str,
    key: str,
    raw: str,
    *,
    reason: str,
    location: str = "",
) -> ReviewConsensusValue:
    """Record the agreed value of one field, with who decided (the signed-in member) and why."""
    user = _member(session, review, "a consensus decision")
    if not reason.strip():
        raise ValidationError(f"{key}: a consensus decision needs a reason")
    a, _b = _pair(session, review, study)
    try:
        Value(raw, location).parsed(a.form.spec(key))
    except ExtractionError as exc:
        raise ValidationError(str(exc)) from None
    row = session.scalar(
        select(ReviewConsensusValue).where(
            ReviewConsensusValue.review_id == review.id,
            ReviewConsensusValue.study == study,
            ReviewConsensusValue.key == key,
        )
    )
    if row is None:
        row = ReviewConsensusValue(
            review_id=review.id,
            study=study,
            key=key,
            raw=raw,
            location=location,
            decided_by_id=user.id,
            reason=reason.strip(),
        )
        session.add(row)
    else:
        row.raw, row.location, row.decided_by_id = raw, location, user.id
        row.reason = reason.strip()
    session.flush()
    return row


def consensus_extraction(
    session: Session, review: SystematicReview, study: str
) -> dict[str, Value]:
    """The agreed extraction (refused, naming them, while discrepancies lack a decision)."""
    a, b = _pair(session, review, study)
    names = {int(i): str(n) for i, n in session.execute(select(User.id, User.username))}
    decisions = [
        ConsensusValue(
            c.key,
            Value(c.raw, c.location),
            names.get(c.decided_by_id, "?"),
            c.reason,
            c.decided_at,
        )
        for c in session.scalars(
            select(ReviewConsensusValue).where(
                ReviewConsensusValue.review_id == review.id, ReviewConsensusValue.study == study
            )
        )
    ]
    try:
        return consensus(a, b, decisions)
    except ExtractionError as exc:
        raise ValidationError(f"{study}: {exc}") from None


def save_rob_domain(
    session: Session,
    review: SystematicReview,
    study: str,
    tool: str,
    domain: str,
    *,
    answers: Mapping[str, str] | None = None,
    judgement: str | None = None,
    override: str | None = None,
    reason: str = "",
    as_consensus: bool = False,
) -> ReviewRobAssessment:
    """One domain of a risk-of-bias assessment, the signed-in reviewer's own or the consensus.

    RoB 2 (``tool="rob2"``): the judgement is the decision diagram's proposal from ``answers``;
    ``override`` replaces it only with a ``reason``. ROBINS-I (``"robins_i"``) and the
    case-series appraisal (``"case_series"``) take the reviewers' ``judgement`` with a reason.
    """
    user = _member(session, review, "a risk-of-bias assessment")
    if tool == "rob2":
        try:
            proposed = rob2_domain(Rob2Domain(domain), dict(answers or {})).value
            if override is not None:
                override = Rob2Judgement(override).value
        except (RobError, ValueError) as exc:
            raise ValidationError(f"{study} {domain}: {exc}") from None
        given = proposed
    elif tool in ("robins_i", "case_series"):
        if judgement is None or not reason.strip():
            raise ValidationError(f"{study} {domain}: give the judgement and its reason")
        try:
            given = RobinsJudgement(judgement).value if tool == "robins_i" else judgement
        except ValueError as exc:
            raise ValidationError(f"{study} {domain}: {exc}") from None
    else:
        raise ValidationError(f"tool: {tool!r} is not rob2, robins_i or case_series")
    if override is not None and not reason.strip():
        raise ValidationError(f"{study} {domain}: an override needs a written reason")
    reviewer_id = None if as_consensus else user.id
    row = session.scalar(
        select(ReviewRobAssessment).where(
            ReviewRobAssessment.review_id == review.id,
            ReviewRobAssessment.study == study,
            ReviewRobAssessment.tool == tool,
            ReviewRobAssessment.domain == domain,
            ReviewRobAssessment.reviewer_id.is_(None)
            if reviewer_id is None
            else ReviewRobAssessment.reviewer_id == reviewer_id,
        )
    )
    if row is None:
        row = ReviewRobAssessment(
            review_id=review.id, study=study, tool=tool, domain=domain, reviewer_id=reviewer_id
        )
        session.add(row)
    row.answers = dict(answers or {})
    row.judgement, row.override, row.reason = given, override, reason.strip()
    session.flush()
    return row


def save_grade(
    session: Session,
    review: SystematicReview,
    outcome: str,
    *,
    randomised: bool,
    studies: int,
    down: Mapping[str, tuple[int, str]] | None = None,
    up: Mapping[str, tuple[int, str]] | None = None,
) -> tuple[ReviewGradeRow, GradeResult]:
    """Rate the certainty of one outcome (GRADE) and keep every step with its reason."""
    _member(session, review, "a GRADE rating")
    if studies < 1:
        raise ValidationError(f"{outcome}: the number of studies is at least 1")
    try:
        result = grade(outcome, randomised=randomised, down=dict(down or {}), up=dict(up or {}))
    except ValueError as exc:
        raise ValidationError(f"{outcome}: {exc}") from None
    steps: list[dict[str, Any]] = [
        {"factor": str(s.factor), "levels": s.levels, "reason": s.reason} for s in result.steps
    ]
    row = session.scalar(
        select(ReviewGradeRow).where(
            ReviewGradeRow.review_id == review.id, ReviewGradeRow.outcome == outcome
        )
    )
    if row is None:
        row = ReviewGradeRow(review_id=review.id, outcome=outcome)
        session.add(row)
    row.randomised, row.studies = randomised, studies
    row.steps, row.certainty = steps, int(result.certainty)
    session.flush()
    return row, result
