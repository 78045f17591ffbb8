"""Review part 2 in the store: dual extraction with consensus, risk of bias, GRADE; team guard."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from pedbone.review import protocol_template
from pedbone.store import (
    AuditEntry,
    Database,
    PermissionDeniedError,
    User,
    ValidationError,
    create_user,
    review,
    review_synthesis,
)
from pedbone.store._review_part2_models import ReviewConsensusValue, ReviewExtraction

SLUG = "bisphosphonates-secondary-op"
STUDY = "Acott 2005"


@pytest.fixture
def team(db: Database) -> dict[str, User]:
    users = {}
    with db.unit_of_work() as s:
        for name, role in (
            ("reviewer1", "reviewer"),
            ("reviewer2", "reviewer"),
            ("arbiter", "clinician"),
            ("doc", "clinician"),
        ):
            users[name] = create_user(s, name, "a long passphrase", role)
        review.create_review(s, protocol_template())
    return users


def _extract(db: Database, user: User, values: dict[str, Any]) -> None:
    with db.unit_of_work(actor=user) as s:
        r = review.find_review(s, SLUG)
        review_synthesis.save_extraction(s, r, STUDY, values)


def test_dual_extraction_discrepancy_resolved_with_who_and_why(db: Database, team: Any) -> None:
    # Acott 2005 [S31]: 17 vs 17; reviewer 2 mistypes the control arm size.
    _extract(
        db,
        team["reviewer1"],
        {"arm1.n_randomised": ("17", "Table 1"), "arm2.n_randomised": ("17", "Table 1")},
    )
    _extract(
        db,
        team["reviewer2"],
        {"arm1.n_randomised": ("17", "Table 1"), "arm2.n_randomised": ("71", "Table 1")},
    )
    with db.session() as s:
        r = review.find_review(s, SLUG)
        (d,) = review_synthesis.extraction_discrepancies(s, r, STUDY)
        assert d.key == "arm2.n_randomised"
        assert d.first is not None
        assert d.second is not None
        assert (d.first.raw, d.second.raw) == ("17", "71")
    with (
        pytest.raises(ValidationError, match=r"without a decision: arm2\.n_randomised"),
        db.session() as s,
    ):
        review_synthesis.consensus_extraction(s, review.find_review(s, SLUG), STUDY)
    with (
        pytest.raises(PermissionDeniedError, match="not on the team"),
        db.unit_of_work(actor=team["doc"]) as s,
    ):
        review_synthesis.decide_value(
            s, review.find_review(s, SLUG), STUDY, "arm2.n_randomised", "17", reason="x"
        )
    with (
        pytest.raises(ValidationError, match="needs a reason"),
        db.unit_of_work(actor=team["arbiter"]) as s,
    ):
        review_synthesis.decide_value(
            s, review.find_review(s, SLUG), STUDY, "arm2.n_randomised", "17", reason=" "
        )
    with db.unit_of_work(actor=team["arbiter"]) as s:
        review_synthesis.decide_value(
            s,
            review.find_review(s, SLUG),
            STUDY,
            "arm2.n_randomised",
            "17",
            reason="Table 1 reads 17 (transposed digits)",
            location="Table 1",
        )
    with db.session() as s:
        agreed = review_synthesis.consensus_extraction(s, review.find_review(s, SLUG), STUDY)
        assert agreed["arm2.n_randomised"].raw == "17"
        row = s.scalar(select(ReviewConsensusValue))
        assert row is not None
        assert row.decided_by_id == team["arbiter"].id
        assert "transposed" in row.reason
        audited = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.table_name == "review_consensus_values")
        )
        assert audited == 1


def test_extraction_refuses_bad_values_and_outsiders(db: Database, team: Any) -> None:
    with pytest.raises(ValidationError, match="not a whole count"):
        _extract(db, team["reviewer1"], {"arm1.n_randomised": "17.5"})
    with pytest.raises(PermissionDeniedError, match="not on the team"):
        _extract(db, team["doc"], {"arm1.n_randomised": "17"})
    with pytest.raises(PermissionDeniedError, match="signed-in"), db.unit_of_work() as s:
        review_synthesis.save_extraction(s, review.find_review(s, SLUG), STUDY, {})
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ReviewExtraction)) == 0


def test_rob_and_grade_rows(db: Database, team: Any) -> None:
    with db.unit_of_work(actor=team["reviewer1"]) as s:
        r = review.find_review(s, SLUG)
        # D1: 1.2 NI and 1.3 NI -> Some concerns (RoB 2 D1 diagram)
        row = review_synthesis.save_rob_domain(
            s, r, "Henderson 2002", "rob2", "D1", answers={"1.1": "NI", "1.2": "NI", "1.3": "NI"}
        )
        assert row.judgement == "some_concerns"
        assert row.reviewer_id == team["reviewer1"].id
        with pytest.raises(ValidationError, match="override needs a written reason"):
            review_synthesis.save_rob_domain(
                s,
                r,
                "Henderson 2002",
                "rob2",
                "D1",
                answers={"1.1": "NI", "1.2": "NI", "1.3": "NI"},
                override="high",
            )
        with pytest.raises(ValidationError, match=r"answer question 1\.1"):
            review_synthesis.save_rob_domain(s, r, "X", "rob2", "D1", answers={"1.2": "Y"})
        c = review_synthesis.save_rob_domain(
            s,
            r,
            "Bianchi 2000",
            "robins_i",
            "confounding",
            judgement="serious",
            reason="controls had milder disease [S26]",
            as_consensus=True,
        )
        assert c.reviewer_id is None
        assert c.judgement == "serious"
        g, result = review_synthesis.save_grade(
            s,
            r,
            "LS bone mass",
            randomised=True,
            studies=9,
            down={
                "risk_of_bias": (1, "unclear allocation concealment [S24b]"),
                "inconsistency": (1, "heterogeneity in interventions and outcomes [S24b]"),
                "imprecision": (1, "limited study size [S24b]"),
            },
        )
        assert g.certainty == 1
        assert result.certainty.label == "Very low"
        assert [st["levels"] for st in g.steps] == [-1, -1, -1]
        with pytest.raises(ValidationError, match="every step needs a reason"):
            review_synthesis.save_grade(
                s, r, "Fractures", randomised=True, studies=2, down={"imprecision": (2, "")}
            )
