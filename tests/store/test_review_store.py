"""Systematic reviews in the store: team guard, imports, dedupe, blind dual screening, audit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from pedbone.review import Stage, parse_protocol, prisma_counts, protocol_template
from pedbone.store import (
    AuditEntry,
    Database,
    Patient,
    PermissionDeniedError,
    ReviewDuplicatePair,
    ReviewRecord,
    User,
    ValidationError,
    create_user,
    review,
)

FIX = Path(__file__).parents[1] / "review" / "fixtures"
DAY = dt.date(2026, 11, 30)


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


def _as(db: Database, user: User) -> Any:
    return db.unit_of_work(actor=user)


def _import(db: Database, name: str, source: str) -> review.SearchImport:
    with db.unit_of_work() as s:
        r = review.find_review(s, "bisphosphonates-secondary-op")
        return review.import_search(
            s, r, (FIX / name).read_bytes(), filename=name, source=source, searched_on=DAY
        )


def test_import_reports_bad_lines_and_refuses_the_same_file(db: Database, team: Any) -> None:
    result = _import(db, "embase_style_synthetic.ris", "Embase")
    assert result.imported == 3
    assert result.errors == ["line 38: record has no title"]
    with pytest.raises(ValidationError, match="already imported as search"):
        _import(db, "embase_style_synthetic.ris", "Embase again")
    with db.unit_of_work() as s:
        r = review.find_review(s, "bisphosphonates-secondary-op")
    with pytest.raises(ValidationError, match="no record could be read"), db.unit_of_work() as s:
        review.import_search(
            s,
            r,
            b"TY  - JOUR\nAU  - X\nER  - \n",
            filename="x.ris",
            source="MEDLINE",
            searched_on=DAY,
        )
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ReviewRecord)) == 3


def test_dedupe_merges_certain_queues_uncertain_and_never_resets(db: Database, team: Any) -> None:
    _import(db, "embase_style_synthetic.ris", "Embase")
    _import(db, "pubmed_synthetic.nbib", "MEDLINE")
    with db.unit_of_work() as s:
        r = review.find_review(s, "bisphosphonates-secondary-op")
        report = review.run_dedupe(s, r)
    # Rudge 2005 is in both files: Embase "Rudge S." + title without the final full stop vs
    # MEDLINE "Rudge S" + title with it -> titles 100 % alike, same author and year: merged.
    assert (report.merged, report.queued) == (1, 0)
    with db.session() as s:
        dup = s.scalars(select(ReviewRecord).where(ReviewRecord.duplicate_of_id.is_not(None))).one()
        assert dup.pmid == "15695300"  # the later import points to the earlier record
        assert s.scalar(select(func.count()).select_from(ReviewRecord)) == 6  # nothing deleted
        pair_id = s.scalars(select(ReviewDuplicatePair.id)).one()
    with db.unit_of_work() as s:
        r = review.find_review(s, "bisphosphonates-secondary-op")
        assert review.run_dedupe(s, r).merged == 0  # already judged: not proposed again
        review.decide_pair(s, pair_id, duplicate=False)  # a person splits it
    with db.session() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(ReviewRecord)
                .where(ReviewRecord.duplicate_of_id.is_not(None))
            )
            == 0
        )
        r = review.find_review(s, "bisphosphonates-secondary-op")
        assert prisma_counts(review.review_document(s, r)).duplicates == 0


def _first_record(db: Database) -> int:
    with db.session() as s:
        return int(s.scalars(select(ReviewRecord.id).order_by(ReviewRecord.id)).first() or 0)


def test_blind_until_both_voted_then_locked(db: Database, team: dict[str, User]) -> None:
    _import(db, "embase_style_synthetic.ris", "Embase")
    rid = _first_record(db)
    ta = Stage.TITLE_ABSTRACT
    with _as(db, team["reviewer1"]) as s:
        review.cast_vote(s, rid, ta, "include")
    with _as(db, team["reviewer2"]) as s:
        assert review.visible_votes(s, rid, ta) == []  # reviewer1's vote is hidden
    with _as(db, team["arbiter"]) as s:
        assert review.visible_votes(s, rid, ta) == []  # from the arbiter too
    with _as(db, team["reviewer1"]) as s:
        assert [v.decision.value for v in review.visible_votes(s, rid, ta)] == ["include"]
        review.cast_vote(s, rid, ta, "maybe")  # may change while alone
    with _as(db, team["reviewer1"]) as s:
        assert review.withdraw_vote(s, rid, ta)  # undo
        review.cast_vote(s, rid, ta, "include")
    with _as(db, team["reviewer2"]) as s:
        review.cast_vote(s, rid, ta, "exclude")
        seen = review.visible_votes(s, rid, ta)
    assert sorted((v.reviewer, v.decision.value) for v in seen) == [
        ("reviewer1", "include"),
        ("reviewer2", "exclude"),
    ]
    with pytest.raises(ValidationError, match="locked"), _as(db, team["reviewer1"]) as s:
        review.cast_vote(s, rid, ta, "exclude")
    with pytest.raises(ValidationError, match="locked"), _as(db, team["reviewer1"]) as s:
        review.withdraw_vote(s, rid, ta)
    with db.session() as s:  # every change is in the audit log
        actions = s.execute(
            select(AuditEntry.username, AuditEntry.action)
            .where(AuditEntry.table_name == "review_votes")
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(a) for a in actions] == [
        ("reviewer1", "insert"),
        ("reviewer1", "update"),
        ("reviewer1", "delete"),
        ("reviewer1", "insert"),
        ("reviewer2", "insert"),
    ]


def test_team_guard_roles_and_conflict_resolution(db: Database, team: dict[str, User]) -> None:
    _import(db, "embase_style_synthetic.ris", "Embase")
    rid = _first_record(db)
    ta, ft = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
    # a clinician who is not on the team cannot vote, and a reviewer cannot touch patients
    with pytest.raises(PermissionDeniedError, match="not a reviewer"), _as(db, team["doc"]) as s:
        review.cast_vote(s, rid, ta, "include")

    def edit_title(s: Any) -> None:
        row = s.get(ReviewRecord, rid)
        row.title = "changed by someone outside the team"
        s.flush()

    def add_patient(s: Any) -> None:
        s.add(Patient(family_name="X", given_name="Y", birth_date=dt.date(2015, 1, 1), sex="F"))
        s.flush()

    with pytest.raises(PermissionDeniedError, match="not on this"), _as(db, team["doc"]) as s:
        edit_title(s)
    with (
        pytest.raises(PermissionDeniedError, match="reviewer role"),
        _as(db, team["reviewer1"]) as s,
    ):
        add_patient(s)
    with (
        pytest.raises(PermissionDeniedError, match="not a reviewer"),
        _as(db, team["arbiter"]) as s,
    ):
        review.cast_vote(s, rid, ta, "include")  # an arbiter settles, does not screen
    with _as(db, team["reviewer1"]) as s:
        review.cast_vote(s, rid, ta, "include")
    with _as(db, team["reviewer2"]) as s:
        review.cast_vote(s, rid, ta, "exclude")
    with (
        pytest.raises(PermissionDeniedError, match="not an arbiter"),
        _as(db, team["reviewer1"]) as s,
    ):
        review.resolve_conflict(s, rid, ta, "include", method="arbiter", why="I think so")
    with _as(db, team["arbiter"]) as s:
        review.resolve_conflict(
            s,
            rid,
            ta,
            "include",
            method="arbiter",
            why="the abstract reports children on glucocorticoids",
        )
    # full text: maybe refused, exclusion needs a protocol reason
    with pytest.raises(ValidationError, match="no maybe"), _as(db, team["reviewer1"]) as s:
        review.cast_vote(s, rid, ft, "maybe")
    with (
        pytest.raises(ValidationError, match="protocol's reasons"),
        _as(db, team["reviewer1"]) as s,
    ):
        review.cast_vote(s, rid, ft, "exclude")
    with (
        pytest.raises(ValidationError, match="not in the protocol"),
        _as(db, team["reviewer1"]) as s,
    ):
        review.cast_vote(s, rid, ft, "exclude", reason="too_long")
    with _as(db, team["reviewer1"]) as s:
        review.cast_vote(s, rid, ft, "exclude", reason="wrong_design")
    with _as(db, team["reviewer2"]) as s:
        review.cast_vote(s, rid, ft, "exclude", reason="wrong_design")
    with db.session() as s:
        r = review.find_review(s, "bisphosphonates-secondary-op")
        c = prisma_counts(review.review_document(s, r))
    assert (c.records_screened, c.records_excluded, c.dbr_sought_reports, c.dbr_assessed) == (
        3,
        0,
        1,
        1,
    )
    assert c.dbr_excluded == {"Ineligible design": 1}
    assert c.awaiting_title_abstract == 2


def test_review_file_round_trip(db: Database, team: dict[str, User], tmp_path: Path) -> None:
    _import(db, "embase_style_synthetic.ris", "Embase")
    rid = _first_record(db)
    with _as(db, team["reviewer1"]) as s:
        review.cast_vote(s, rid, Stage.TITLE_ABSTRACT, "include", note="children, <b>GC</b>")
    with db.session() as s:
        r = review.find_review(s, "bisphosphonates-secondary-op")
        doc = review.review_document(s, r)
    with db.unit_of_work() as s:
        copy = review.import_review_document(s, doc, slug="copy")
        again = review.review_document(s, copy)
    assert prisma_counts(again).as_row() == prisma_counts(doc).as_row()
    assert [v.note for v in again.votes] == ["children, <b>GC</b>"]
    assert again.protocol.id == "copy"
    with pytest.raises(ValidationError, match="already exists"), db.unit_of_work() as s:
        review.import_review_document(s, doc, slug="copy")


def test_protocol_amendment_changes_team(db: Database, team: dict[str, User]) -> None:
    from pedbone.review import amend

    with db.unit_of_work() as s:
        r = review.find_review(s, "bisphosphonates-secondary-op")
        p = parse_protocol(r.protocol)
        team_list = [m.model_dump() for m in p.team] + [{"username": "doc", "role": "arbiter"}]
        review.amend_protocol(
            s, r, amend(p, {"team": team_list}, reason="second arbiter", author="lead", on=DAY)
        )
        assert review.member_role(s, r, team["doc"].id) is not None
        bad = [*team_list, {"username": "nobody", "role": "reviewer"}]
        with pytest.raises(ValidationError, match="no pedbone user named 'nobody'"):
            review.amend_protocol(
                s,
                r,
                amend(parse_protocol(r.protocol), {"team": bad}, reason="x", author="lead", on=DAY),
            )


def test_json_backup_round_trip_keeps_the_review(
    db: Database, team: dict[str, User], tmp_path: Path
) -> None:
    from pedbone.store import backup, restore

    _import(db, "embase_style_synthetic.ris", "Embase")
    rid = _first_record(db)
    with _as(db, team["reviewer1"]) as s:
        review.cast_vote(s, rid, Stage.TITLE_ABSTRACT, "include")
    with db.unit_of_work() as s:
        review.attach_fulltext(s, rid, "paper.pdf", b"%PDF-1.4 test", "application/pdf")
    path = backup(db, tmp_path / "b.json")
    fresh = Database(f"sqlite:///{tmp_path}/fresh.sqlite3")
    try:
        restore(fresh, path)
        with fresh.session() as s:
            r = review.find_review(s, "bisphosphonates-secondary-op")
            doc = review.review_document(s, r)
            assert [(v.reviewer, v.decision.value) for v in doc.votes] == [("reviewer1", "include")]
            assert review.fulltext(s, rid) == ("paper.pdf", "application/pdf", b"%PDF-1.4 test")
    finally:
        fresh.dispose()
