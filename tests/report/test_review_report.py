"""The review report (HTML and PDF) and the bundled example review carried through to it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pedbone.cli import app
from pedbone.report import (
    SynthesisFileError,
    example_synthesis,
    load_synthesis,
    review_report_html,
    review_report_pdf,
    rob_traffic_light_svg,
)
from pedbone.review import document_from_json

runner = CliRunner()

MINIMAL = """
format: pedbone-review-synthesis
studies:
  - {id: "A <script>", design: RCT, randomised: true, population: "p<b>x</b>"}
  - {id: B, design: RCT, randomised: true}
comparisons:
  - id: c
    title: "LS Z <img src=x onerror=alert(1)>"
    outcome: LS Z
    effects:
      - {study: "A <script>", measure: "m <i>", scale: z_change, timepoint_months: 12,
         contrast: {md: 0.5, ci_lb: 0.1, ci_ub: 0.9}}
      - {study: B, measure: m, scale: z_change, timepoint_months: 12,
         contrast: {md: 0.3, ci_lb: -0.1, ci_ub: 0.7}}
rob2:
  "A <script>":
    D1: {answers: {"1.1": Y, "1.2": Y, "1.3": N}}
grade:
  - outcome: "LS <u>Z</u>"
    randomised: true
    studies: 2
    down: {imprecision: [1, "reason <b>bold</b>"]}
"""


@pytest.fixture(scope="module")
def example_doc(tmp_path_factory: pytest.TempPathFactory) -> object:
    from argon2 import PasswordHasher

    tmp = tmp_path_factory.mktemp("rr")
    url = f"sqlite:///{tmp}/r.sqlite3"
    mp = pytest.MonkeyPatch()
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    mp.setattr("pedbone.store._security._hasher", lambda: cheap)
    try:
        assert runner.invoke(app, ["review", "demo", "--database-url", url]).exit_code == 0
        out = tmp / "r.json"
        res = runner.invoke(
            app,
            ["review", "export", "example-bisphosphonates", "-o", str(out), "--database-url", url],
        )
        assert res.exit_code == 0, res.stdout
    finally:
        mp.undo()
    return document_from_json(out.read_bytes())


def test_example_reaches_the_seed_conclusions() -> None:
    syn = example_synthesis()
    (ls,) = syn.comparisons
    # Different scales (percent change, Z change, absolute) and time points: no pooling, as the
    # Cochrane review found [S24].
    assert not ls.decision.pool
    assert any("different scales" in r for r in ls.decision.reasons)
    # Acott 2005: MD = 0.63 - (-0.46) = 1.09; vi = 0.17² + 0.27² = 0.0289 + 0.0729 = 0.1018.
    acott = next(r for r in ls.rows if r.study == "Acott 2005")
    assert acott.yi == pytest.approx(1.09)
    assert acott.vi == pytest.approx(0.1018)
    # Bianchi 2000: MD = 14.9 - 2.6 = 12.3; vi = 9.8²/38 + 5²/38 = 121.04/38 = 3.185263.
    bianchi = next(r for r in ls.rows if r.study == "Bianchi 2000")
    assert bianchi.vi == pytest.approx(121.04 / 38)
    # Rooney 2019: SE = (0.487 - 0.061) / (2 × 1.959964) = 0.108676; vi = 0.0118104.
    rooney = next(r for r in ls.rows if r.study == "Rooney 2019")
    assert rooney.vi == pytest.approx((0.426 / 3.919928) ** 2, rel=1e-6)
    # Golden 2005 has no arm sizes: direction only.
    golden = next(r for r in ls.rows if r.study == "Golden 2005")
    assert golden.vi is None
    assert golden.direction.value == "benefit"
    # 8 of 8 with a direction favour; Kim 2006 unclear. R: binom.test(8, 8)$p.value = 0.0078125
    assert (ls.vote.benefit, ls.vote.harm, ls.vote.unclear) == (8, 0, 1)
    assert ls.vote.p_value == pytest.approx(0.0078125, abs=1e-12)
    # Harms: acute-phase reaction the most frequently reported harm (3 studies, 3+14+4 = 21/51).
    top = syn.most_frequent_harm()
    assert top is not None
    assert top.harm == "acute-phase reaction"
    assert (top.k, top.events) == (3, 21)
    # metafor 3.8: predict(rma(measure="PLO", xi=c(3,14,4), ni=c(17,27,7)), transf=transf.ilogit)
    assert top.pool is not None
    assert top.pool.proportion == pytest.approx(0.40761922, abs=1e-6)
    assert (top.pool.ci_lb, top.pool.ci_ub) == pytest.approx((0.18902123, 0.67012493), abs=1e-6)
    gi = next(h for h in syn.harms if h.harm.startswith("gastro") and h.infusion == "first")
    # metafor: rma(measure="PLO", xi=c(6,1), ni=c(27,7)) -> 0.20810264 (0.10244680 to 0.37695992)
    assert gi.pool is not None
    assert gi.pool.proportion == pytest.approx(0.20810264, abs=1e-6)
    later = [h for h in syn.harms if h.infusion == "later"]
    assert later
    assert all(h.events == 0 for h in later)
    grades = {g.outcome: g.certainty.label for g, _ in syn.grade}
    # High - 3 (risk of bias, inconsistency, imprecision as the EBM summary gives) = Very low
    assert grades["LS bone mass (bisphosphonate vs control)"] == "Very low"
    assert grades["New vertebral fractures"] == "Low"  # High - 2 for imprecision
    henderson = next(r for r in syn.rob2 if r.study == "Henderson 2002")
    # RoB 2 D1: 1.2 NI and 1.3 NI -> Some concerns; other domains not assessed -> no overall
    assert henderson.judgements[0] == "some_concerns"
    assert henderson.overall is None


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_example_report_pdf_reads_back(example_doc: object, tmp_path: Path) -> None:
    pdf = review_report_pdf(example_doc, example_synthesis())  # type: ignore[arg-type]
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = " ".join(text.split())
    for needle in (
        "PRISMA 2020",
        "Records screened (n = 22)",
        "Acott 2005",
        "Bianchi 2000",
        "Henderson 2002",
        "Sbrocchi 2012",
        "different scales",
        "sign test p = 0.0078",
        "acute-phase reaction",
        "21 / 51",
        "41 % (19 to 67 %",
        "Very low",
        "Low",
        "SIMULATED",
        "Ward L, Tricco A",
        "not extractable",
        "Nasomyont 2019",
    ):
        assert needle in flat, needle


def test_stored_text_is_escaped_and_a_pooled_comparison_gets_a_forest_plot() -> None:
    syn = load_synthesis(MINIMAL)
    (c,) = syn.comparisons
    assert c.decision.pool  # two Z-change studies at 12 months
    html = review_report_html(None, syn)
    for raw in ("<script>", "<img src=x", "<b>x</b>", "<u>Z</u>", "<b>bold</b>", "<i>"):
        assert raw not in html, raw
    assert "A &lt;script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count("<svg") >= 3  # forest, traffic light, summary
    # Pooled estimate by hand: vi1 = (0.8/3.919928)² = 0.041651, vi2 = the same -> tau² = 0
    # (REML, |0.5 - 0.3| < sampling error), estimate (0.5 + 0.3)/2 = 0.40.
    assert "estimate 0.40" in c.pooled_text


def test_traffic_light_escapes_study_names() -> None:
    syn = load_synthesis(MINIMAL)
    svg = rob_traffic_light_svg(syn.rob2)
    assert "<script>" not in svg
    assert "A &lt;script&gt;" in svg
    assert svg.count("<circle") == 6 + 2  # D1-D5 + overall, legend: low and not assessed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("format: other\nstudies: []\n", "format"),
        ("format: pedbone-review-synthesis\nstudies:\n  - {id: A}\n", "studies.0.design"),
        ("format: pedbone-review-synthesis\nstudies: [\n", "not valid YAML"),
        (
            "format: pedbone-review-synthesis\nstudies:\n  - {id: A, design: x, randomised: true}"
            "\nharms:\n  - harm: h\n    rows: [{study: Z, infusion: first, events: 1, total: 2}]\n",
            "'Z' is not in studies",
        ),
        (
            "format: pedbone-review-synthesis\nstudies:\n  - {id: A, design: x, randomised: true}"
            "\nharms:\n  - harm: h\n    rows: [{study: A, infusion: first, events: 3, total: 2}]\n",
            "more events than children",
        ),
        (
            "format: pedbone-review-synthesis\nstudies:\n  - {id: A, design: x, randomised: true}"
            "\nrob2:\n  A:\n    D1: {answers: {'1.2': Y}}\n",
            "answer question 1.1",
        ),
    ],
)
def test_bad_synthesis_files_say_why(text: str, message: str) -> None:
    with pytest.raises(SynthesisFileError, match=message):
        load_synthesis(text)


def test_cli_writes_html_and_refuses_what_it_cannot_use(
    example_doc: object, tmp_path: Path
) -> None:
    review = tmp_path / "r.json"
    review.write_text(example_doc.model_dump_json(), encoding="utf-8")  # type: ignore[attr-defined]
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["review", "report", str(review), "-o", str(out)])
    assert res.exit_code != 0
    assert "--synthesis" in res.stderr
    res = runner.invoke(
        app, ["review", "report", str(review), "-o", str(out), "--synthesis", "example"]
    )
    assert res.exit_code == 0, res.stderr
    assert "Acott 2005" in out.read_text(encoding="utf-8")
    res = runner.invoke(
        app, ["review", "report", str(review), "-o", str(out), "--synthesis", "example"]
    )
    assert res.exit_code != 0
    assert "exists" in res.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: pedbone-review-synthesis\nstudies: []\n", encoding="utf-8")
    res = runner.invoke(
        app,
        ["review", "report", str(review), "-o", str(tmp_path / "x.pdf"), "--synthesis", str(bad)],
    )
    assert res.exit_code != 0
    assert "studies" in res.stderr
    res = runner.invoke(app, ["review", "report", str(review), "-o", str(tmp_path / "x.txt")])
    assert res.exit_code != 0
    assert ".pdf or .html" in res.stderr
    # the synthesis may travel inside the review file
    data = json.loads(review.read_text(encoding="utf-8"))
    import yaml

    data["extensions"] = {"pedbone-synthesis": yaml.safe_load(MINIMAL)}
    review.write_text(json.dumps(data), encoding="utf-8")
    out2 = tmp_path / "r2.html"
    res = runner.invoke(app, ["review", "report", str(review), "-o", str(out2)])
    assert res.exit_code == 0, res.stderr
    assert "A &lt;script&gt;" in out2.read_text(encoding="utf-8")


def test_cli_adds_the_clinic_cohort_as_practice_data(example_doc: object, tmp_path: Path) -> None:
    from pedbone.store import Database, create_demo_patients

    url = f"sqlite:///{tmp_path}/clinic.sqlite3"
    db = Database(url)
    with db.unit_of_work() as s:
        create_demo_patients(s)
    db.dispose()
    review = tmp_path / "r.json"
    review.write_text(example_doc.model_dump_json(), encoding="utf-8")  # type: ignore[attr-defined]
    out = tmp_path / "r.html"
    args = ["review", "report", str(review), "-o", str(out), "--synthesis", "example"]
    res = runner.invoke(app, [*args, "--clinic-cohort", "--database-url", url])
    assert res.exit_code == 0, res.stderr
    page = out.read_text(encoding="utf-8")
    assert "practice data" in page
    assert "(demo data)" not in page  # demo patients are left out unless asked for
    res = runner.invoke(
        app, [*args, "--overwrite", "--clinic-cohort", "--include-demo", "--database-url", url]
    )
    assert res.exit_code == 0, res.stderr
    page = out.read_text(encoding="utf-8")
    assert "(demo data)" in page
    # the published series' pooled acute-phase reaction is unchanged by the clinic's data
    assert "21 / 51" in page
