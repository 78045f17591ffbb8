"""Review domain: protocol as data, and the record parsers on real export layouts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pedbone.review import (
    Design,
    Format,
    ProtocolError,
    amend,
    normalise_doi,
    parse_protocol,
    parse_records,
    protocol_template,
    protocol_to_yaml,
    records_to_ris,
)

FIX = Path(__file__).parent / "fixtures"


def test_template_parses_and_states_the_question() -> None:
    p = parse_protocol(protocol_template())
    assert p.version == 1
    assert p.eligibility.age_min_years == 0
    assert p.eligibility.age_max_years == 18
    assert p.eligibility.designs == (
        Design.RCT,
        Design.QUASI_RCT,
        Design.CCT,
        Design.COHORT,
        Design.CASE_CONTROL,
    )
    assert p.eligibility.harms_only_designs == (Design.CASE_SERIES,)
    assert p.reviewers == ("reviewer1", "reviewer2")
    assert p.arbiters == ("arbiter",)
    assert "# " in protocol_template()  # commented
    assert parse_protocol(protocol_to_yaml(p)) == p


def test_amendment_raises_version_and_keeps_reason() -> None:
    p = parse_protocol(protocol_template())
    p2 = amend(
        p,
        {"title": "Narrower"},
        reason="restricted to IV agents",
        author="lead",
        on=dt.date(2026, 12, 1),
    )
    assert (p2.version, p2.title) == (2, "Narrower")
    assert p2.amendments[0].reason == "restricted to IV agents"
    assert p.version == 1  # the old version is unchanged
    with pytest.raises(ProtocolError, match="needs a reason"):
        amend(p, {"title": "x"}, reason="  ", author="lead", on=dt.date(2026, 12, 1))
    with pytest.raises(ProtocolError, match="cannot change version"):
        amend(p, {"version": 7}, reason="x", author="lead", on=dt.date(2026, 12, 1))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("reviewer2, role: reviewer", "reviewer1, role: reviewer"),
            "each username may appear once",
        ),
        (("arbiter, role: arbiter", "arbiter, role: reviewer"), "at least one arbiter"),
        (("age_min_years: 0 ", "age_min_years: 19 "), "above age_max_years"),
        (("code: adults,", "code: wrong_population,"), "codes must be unique"),
        (
            ('label: "Not a bisphosphonate"', 'label: "Not; a bisphosphonate"'),
            "may not contain ';'",
        ),
        (("version: 1 ", "version: 2 "), "one amendment for each of versions"),
    ],
)
def test_protocol_errors_name_the_field(edit: tuple[str, str], message: str) -> None:
    text = protocol_template()
    assert edit[0] in text
    with pytest.raises(ProtocolError, match=message):
        parse_protocol(text.replace(edit[0], edit[1], 1))


def test_protocol_not_yaml_gives_line() -> None:
    with pytest.raises(ProtocolError, match="line 2"):
        parse_protocol("id: x\n  bad: [unclosed\n")


def test_embase_ris_a1_jf_jo_and_bad_record_line() -> None:
    r = parse_records((FIX / "embase_style_synthetic.ris").read_bytes(), filename="x.ris")
    assert r.format is Format.RIS
    assert [rec.line for rec in r.records] == [1, 22, 44]
    acott, rudge, bianchi = r.records
    # A1 -> authors (rispy: first_authors), JF -> journal (rispy: alternate_title3)
    assert acott.authors == ("Acott P.D.", "Wong J.A.", "Lang B.A.", "Crocker J.F.")
    assert acott.journal == "Pediatric Nephrology"
    assert (acott.year, acott.volume, acott.issue, acott.pages) == (2005, "20", "3", "368-373")
    assert acott.doi == "10.1007/s00467-004-1790-8"
    assert acott.abstract is not None
    assert acott.abstract.endswith("(continuation line).")
    assert rudge.journal == "Rheumatology"  # JO -> journal_name
    assert len(rudge.authors) == 6
    assert rudge.doi is None
    assert bianchi.year == 2000
    assert [str(e) for e in r.errors] == ["line 38: record has no title"]


def test_pubmed_nbib_doi_from_lid_and_continuations() -> None:
    r = parse_records((FIX / "pubmed_synthetic.nbib").read_bytes(), filename="x.nbib")
    assert [rec.pmid for rec in r.records] == ["15695300", "16398842", "36225670"]
    rudge, brown, meta = r.records
    assert rudge.title == (
        "Effects of once-weekly oral alendronate on bone in children on glucocorticoid treatment."
    )
    assert rudge.pages == "813-8"
    assert rudge.kind == "Journal Article"
    assert brown.authors == ("Brown JJ", "Zacharin MR")
    assert meta.doi == "10.1177/20406223221129163"  # only in LID (nbib 0.3.2 drops it)
    assert meta.authors == ()
    assert len(r.errors) == 1
    assert r.errors[0].line == 36


def test_scopus_ris_and_malformed_tag() -> None:
    r = parse_records((FIX / "scopus_style_synthetic.ris").read_bytes(), filename="s.ris")
    assert [rec.doi for rec in r.records] == [
        "10.1016/j.eclinm.2019.06.004",
        "10.1136/adc.2006.093997",
    ]
    assert r.records[0].journal == "EClinicalMedicine"  # T2
    assert r.records[1].pages == "753-761"
    assert len(r.errors) == 1
    assert r.errors[0].line == 24
    assert "line 25" in r.errors[0].reason


def test_scopus_csv_columns() -> None:
    r = parse_records((FIX / "scopus_style_synthetic.csv").read_bytes(), filename="s.csv")
    ward, sbrocchi = r.records
    assert ward.authors == ("Ward L.M.", "Choudhury A.", "Alos N.")
    assert ward.pages == "e5222-e5235"
    assert ward.year == 2021
    assert ward.keywords == ("zoledronic acid", "glucocorticoid")
    assert sbrocchi.doi == "10.1007/s00198-012-1911-3"
    assert [str(e) for e in r.errors] == ["line 4: record has no title"]


def test_endnote_xml_styles_and_lines() -> None:
    r = parse_records((FIX / "endnote_synthetic.xml").read_bytes(), filename="e.xml")
    henderson, klein = r.records
    assert henderson.authors[0] == "Henderson, R. C."
    assert henderson.journal == "Journal of Pediatrics"
    assert (henderson.year, henderson.volume, henderson.issue) == (2002, "141", "5")
    assert klein.doi == "10.1007/s00198-004-1731-1"
    assert [str(e) for e in r.errors] == ["line 18: record has no title"]


def test_endnote_xml_with_entities_is_refused() -> None:
    from pedbone.review import ImportFormatError

    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><records/></xml>'
    with pytest.raises(ImportFormatError, match="unsafe XML"):
        parse_records(bomb, filename="e.xml")


def test_ris_without_er_and_stray_text() -> None:
    text = b"stray\nTY  - JOUR\nTI  - One\nER  - \nTY  - JOUR\nTI  - Two\nTY  - JOUR\nTI  - Three\n"
    r = parse_records(text, Format.RIS)
    assert [rec.title for rec in r.records] == ["One"]
    assert [e.line for e in r.errors] == [1, 5, 7]


@pytest.mark.parametrize(
    ("raw", "doi"),
    [
        ("https://doi.org/10.1136/ADC.2006.093997", "10.1136/adc.2006.093997"),
        ("doi:10.1177/20406223221129163.", "10.1177/20406223221129163"),
        ("no doi here", None),
    ],
)
def test_normalise_doi(raw: str, doi: str | None) -> None:
    assert normalise_doi(raw) == doi


def test_ris_round_trip() -> None:
    r = parse_records((FIX / "embase_style_synthetic.ris").read_bytes(), Format.RIS)
    again = parse_records(records_to_ris(r.records).encode(), Format.RIS)
    assert [(x.title, x.authors, x.year, x.doi, x.pages, x.journal) for x in again.records] == [
        (x.title, x.authors, x.year, x.doi, x.pages, x.journal) for x in r.records
    ]
