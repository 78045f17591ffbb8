"""Review domain: duplicates on crafted near-duplicates, screening rules, kappa, PRISMA counts."""

from __future__ import annotations

import datetime as dt

import pytest

from pedbone.review import (
    Decision,
    FullText,
    FullTextStatus,
    MatchKind,
    Record,
    RecordEntry,
    Resolution,
    ResolutionMethod,
    ReviewDocument,
    Search,
    SourceKind,
    Stage,
    Status,
    Vote,
    agreement,
    cohen_kappa,
    document_from_json,
    duplicate_groups,
    find_duplicates,
    parse_protocol,
    prisma_counts,
    prisma_csv,
    prisma_svg,
    protocol_template,
    record_outcome,
    review_json_schema,
    visible_votes,
)

T = "Effects of once-weekly oral alendronate on bone in children on glucocorticoid treatment"


def rec(title: str = T, **kw: object) -> Record:
    base: dict[str, object] = {"authors": ("Rudge S",), "year": 2005}
    base.update(kw)
    return Record(title=title, **base)  # type: ignore[arg-type]


def test_exact_ids_and_fuzzy_near_duplicates() -> None:
    records = {
        1: rec(doi="10.1093/x/1", pmid="15695300"),
        2: rec(T.upper() + ".", pmid="15695300"),  # same PMID, shouted title
        3: rec(T.replace("glucocorticoid", "glucocorticoïd"), authors=("Rudge, S.",)),  # accent
        4: rec(T + ": a randomised trial", authors=("Hailwood S",), year=2006),  # queued
        5: rec("Pamidronate in burns", authors=("Klein GL",)),  # unrelated
        6: rec(T, year=2009),  # same title, 4 years apart: not proposed
        7: rec(doi="10.1093/x/2", pmid="15695300"),  # same PMID but a different DOI
    }
    pairs = {(p.a, p.b): p for p in find_duplicates(records)}
    assert pairs[(1, 2)].kind is MatchKind.PMID
    assert pairs[(1, 2)].certain
    assert pairs[(1, 3)].kind is MatchKind.FUZZY
    assert pairs[(1, 3)].certain
    assert pairs[(1, 3)].score == 100.0
    assert not pairs[(1, 4)].certain
    assert "first author differs" in pairs[(1, 4)].reason
    assert not any(5 in k for k in pairs)
    assert not any(6 in k for k in pairs)
    assert not pairs[(1, 7)].certain
    assert "different DOIs" in pairs[(1, 7)].reason
    # pairs already judged are never proposed again
    again = find_duplicates(records, decided=[(1, 4), (2, 1)])
    assert {(p.a, p.b) for p in again}.isdisjoint({(1, 4), (1, 2)})


def test_duplicate_groups_point_to_first_record() -> None:
    # 5 joins 3, then 3 joins 1: both point to 1; the first of each group maps to nothing
    assert duplicate_groups([(3, 5), (1, 3), (7, 8)]) == {3: 1, 5: 1, 8: 7}


def v(
    rid: int, who: str, d: str, stage: Stage = Stage.TITLE_ABSTRACT, reason: str | None = None
) -> Vote:
    return Vote(record_id=rid, stage=stage, reviewer=who, decision=Decision(d), reason=reason)


def test_outcomes_maybe_counts_as_include_and_reasons_must_match() -> None:
    assert record_outcome([v(1, "a", "include")]).status is Status.AWAITING
    assert record_outcome([v(1, "a", "include"), v(1, "b", "maybe")]).status is Status.INCLUDED
    assert record_outcome([v(1, "a", "maybe"), v(1, "b", "maybe")]).status is Status.INCLUDED
    assert record_outcome([v(1, "a", "maybe"), v(1, "b", "exclude")]).status is Status.CONFLICT
    ft = Stage.FULL_TEXT
    same = [v(1, "a", "exclude", ft, "adults"), v(1, "b", "exclude", ft, "adults")]
    assert record_outcome(same) == record_outcome(same)
    assert record_outcome(same).reason == "adults"
    differ = [v(1, "a", "exclude", ft, "adults"), v(1, "b", "exclude", ft, "wrong_design")]
    out = record_outcome(differ)
    assert out.status is Status.CONFLICT
    assert "adults vs wrong_design" in (out.conflict or "")
    res = Resolution(
        record_id=1,
        stage=ft,
        decision=Decision.EXCLUDE,
        reason="adults",
        method=ResolutionMethod.ARBITER,
        by="arb",
        why="mean age 22 y",
    )
    assert record_outcome(differ, res).status is Status.EXCLUDED
    assert record_outcome(differ, res).resolved


def test_blindness_until_both_voted() -> None:
    one = [v(1, "a", "include")]
    assert visible_votes(one, "b") == []
    assert visible_votes(one, "a") == one
    both = [*one, v(1, "b", "exclude")]
    assert visible_votes(both, "b") == both


def test_kappa_matches_psych() -> None:
    # fixtures/kappa_psych.R (psych::cohen.kappa): kappa 0.4166666667, var 0.0601731289,
    # CI -0.0641166490 to 0.8974499823. By hand: table [[6,2],[2,4]], n = 14,
    # po = 10/14, pe = (8*8 + 6*6)/14^2 = 100/196, kappa = (140-100)/(196-100) = 40/96.
    a = "IIIIIIIEEEEEIE"
    b = "IIIIIEEEEEIIIE"
    k, se, lo, hi, pct, table = cohen_kappa(list(zip(a, b, strict=True)), ["I", "E"])
    assert k == pytest.approx(40 / 96, abs=1e-12)
    assert se**2 == pytest.approx(0.0601731289, abs=1e-10)
    assert (lo, hi) == (
        pytest.approx(-0.0641166490, abs=1e-9),
        pytest.approx(0.8974499823, abs=1e-9),
    )
    assert pct == pytest.approx(100 * 10 / 14)
    assert table == ((6, 2), (2, 4))
    # three categories
    a3 = [1, 1, 1, 2, 2, 3, 3, 3, 1, 2, 3, 1, 1, 2, 3, 3, 2, 1, 1, 1]
    b3 = [1, 1, 2, 2, 2, 3, 3, 1, 1, 2, 3, 1, 2, 2, 3, 2, 2, 1, 1, 3]
    k3, se3, lo3, _hi3, *_ = cohen_kappa([(str(x), str(y)) for x, y in zip(a3, b3, strict=True)])
    assert k3 == pytest.approx(0.6254681648, abs=1e-10)
    assert se3**2 == pytest.approx(0.0200431059, abs=1e-10)
    assert lo3 == pytest.approx(0.3479888573, abs=1e-9)


def test_agreement_per_pair_counts_maybe_as_include() -> None:
    votes = [
        v(1, "a", "include"),
        v(1, "b", "maybe"),
        v(2, "a", "exclude"),
        v(2, "b", "exclude"),
        v(3, "a", "exclude"),
        v(3, "b", "include"),
        v(4, "a", "include"),
    ]
    (ag,) = agreement(votes, Stage.TITLE_ABSTRACT)
    # records 1-3 both rated: I/I, E/E, E/I -> po = 2/3; rows a: I 1, E 2; cols b: I 2, E 1
    # pe = (1*2 + 2*1)/9 = 4/9; kappa = (2/3 - 4/9)/(5/9) = 2/5
    assert (ag.n, ag.reviewer_a, ag.reviewer_b) == (3, "a", "b")
    assert ag.kappa == pytest.approx(0.4)
    assert ag.percent_agreement == pytest.approx(200 / 3)


def _doc() -> ReviewDocument:
    """A crafted review, counted by hand in test_prisma_counts_by_hand."""
    protocol = parse_protocol(protocol_template())
    day = dt.date(2026, 11, 30)
    searches = (
        Search(
            id=1, source="MEDLINE", searched_on=day, sha256="a" * 64, format="nbib", records_found=6
        ),
        Search(
            id=2, source="Embase", searched_on=day, sha256="b" * 64, format="ris", records_found=3
        ),
        Search(
            id=3,
            source="Reference lists",
            kind=SourceKind.CITATIONS,
            searched_on=day,
            sha256="c" * 64,
            format="ris",
            records_found=2,
        ),
    )
    recs = []
    for i in range(1, 12):
        sid = 1 if i <= 6 else 2 if i <= 9 else 3
        recs.append(RecordEntry(id=i, search_id=sid, record=Record(title=f"Record {i}")))
    # 7 and 8 duplicate 1 and 2; 5's full text not retrieved; 4 and 6 are reports of one study
    recs[6] = recs[6].model_copy(update={"duplicate_of": 1})
    recs[7] = recs[7].model_copy(update={"duplicate_of": 2})
    recs[4] = recs[4].model_copy(update={"fulltext": FullText(status=FullTextStatus.NOT_RETRIEVED)})
    recs[3] = recs[3].model_copy(update={"study": "Rudge 2005"})
    recs[5] = recs[5].model_copy(update={"study": "Rudge 2005"})
    ta, ft = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
    votes = []
    for rid, (da, db) in {
        1: ("include", "include"),
        2: ("exclude", "exclude"),
        3: ("include", "exclude"),
        4: ("include", "maybe"),
        5: ("include", "include"),
        6: ("include", "include"),
        9: ("exclude", "exclude"),
    }.items():
        votes += [v(rid, "reviewer1", da), v(rid, "reviewer2", db)]
    votes += [
        v(1, "reviewer1", "exclude", ft, "adults"),
        v(1, "reviewer2", "exclude", ft, "adults"),
        v(3, "reviewer1", "exclude", ft, "wrong_design"),
        v(3, "reviewer2", "exclude", ft, "wrong_design"),
        v(4, "reviewer1", "include", ft),
        v(4, "reviewer2", "include", ft),
        v(6, "reviewer1", "include", ft),
        v(6, "reviewer2", "include", ft),
        v(10, "reviewer1", "include", ft),
        v(10, "reviewer2", "include", ft),
        v(11, "reviewer1", "exclude", ft, "adults"),
    ]  # 11 awaits a second vote
    resolutions = (
        Resolution(
            record_id=3,
            stage=ta,
            decision=Decision.INCLUDE,
            method=ResolutionMethod.DISCUSSION,
            by="arbiter",
            why="abstract unclear on age",
        ),
    )
    return ReviewDocument(
        protocol=protocol,
        searches=searches,
        records=tuple(recs),
        votes=tuple(votes),
        resolutions=resolutions,
    )


def test_prisma_counts_by_hand() -> None:
    c = prisma_counts(_doc())
    # identified: MEDLINE 6 + Embase 3 = 9 database records; 2 from citation searching
    assert (c.database_results, c.citations_results) == (9, 2)
    assert c.per_source == {"MEDLINE": 6, "Embase": 3}
    assert c.per_source_other == {"Reference lists": 2}
    # duplicates: 7, 8 -> 2; screened: 1-6 and 9 = 7; excluded at TA: 2 and 9 = 2
    assert (c.duplicates, c.records_screened, c.records_excluded) == (2, 7, 2)
    # sought: 1, 3 (resolved include), 4, 5, 6 = 5; not retrieved: 5; assessed: 4
    assert (c.dbr_sought_reports, c.dbr_notretrieved_reports, c.dbr_assessed) == (5, 1, 4)
    # excluded at FT: 1 (adults), 3 (ineligible design)
    assert c.dbr_excluded == {"Adults only or no paediatric results": 1, "Ineligible design": 1}
    # other methods: 10, 11 sought and assessed; 10 included, 11 awaits its second vote
    assert (c.other_sought_reports, c.other_assessed, c.awaiting_full_text) == (2, 2, 1)
    # included reports: 4, 6 (one study "Rudge 2005") and 10 -> 3 reports of 2 studies
    assert (c.new_reports, c.new_studies, c.total_studies, c.total_reports) == (3, 2, 2, 3)
    assert c.provisional
    row = c.as_row()
    assert row["dbr_excluded"] == "Adults only or no paediatric results, 1; Ineligible design, 1"


def test_prisma_csv_uses_the_package_fields_and_svg_is_inert() -> None:
    doc = _doc()
    text = prisma_csv(prisma_counts(doc))
    lines = text.splitlines()
    assert lines[0] == "data,node,box,description,boxtext,tooltips,url,n"
    assert "database_results,node7,box2," in text
    assert text.count("\n") == 31
    assert any(line.startswith("records_screened,") and line.endswith(",7") for line in lines)
    payload = "<script>alert(1)</script>"
    search = doc.searches[0].model_copy(update={"source": payload})
    svg = prisma_svg(
        prisma_counts(doc.model_copy(update={"searches": (search, *doc.searches[1:])}))
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "Records screened (n = 7)" in svg


def test_document_round_trip_and_schema() -> None:
    doc = _doc()
    again = document_from_json(doc.to_json())
    assert again == doc
    schema = review_json_schema()
    assert schema["properties"]["format"]["const"] == "pedbone-review"
    assert "Vote" in schema["$defs"]
    assert "Protocol" in schema["$defs"]


def test_document_refuses_unknown_reviewer_and_version() -> None:
    from pedbone.review import DocumentError

    doc = _doc().model_dump(mode="json")
    doc["votes"][0]["reviewer"] = "mallory"
    import json

    with pytest.raises(DocumentError, match="not on the review team"):
        document_from_json(json.dumps(doc))
    doc["schema_version"] = 9
    with pytest.raises(DocumentError, match="schema_version 9"):
        document_from_json(json.dumps(doc))
