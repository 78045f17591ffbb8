"""``pedbone review`` commands and the bundled example review (simulated screening)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pedbone.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr("pedbone.store._security._hasher", lambda: cheap)
    return f"sqlite:///{tmp_path}/r.sqlite3"


def test_example_review_counts_by_hand(url: str, tmp_path: Path) -> None:
    code, out, _ = run("review", "demo", "--database-url", url)
    assert code == 0
    assert out.count("sign in as: demo-") == 3
    code, out, _ = run("review", "status", "example-bisphosphonates", "--database-url", url)
    assert code == 0
    assert "SIMULATED" in out
    # MEDLINE 6 + Embase 17 records; Rudge 2005 is in both (1 duplicate) -> 22 screened;
    # excluded at title/abstract: the 2022 meta-analysis, Gatti 2005, Idolazzi 2017, the ISCD
    # positions, Ward 2011 (OI), Bishop 2013 (OI), the Cochrane review -> 7; sought 15 + 3 from
    # reference lists; Iwasaki 2012 not retrieved; excluded at full text: the risedronate trial
    # (adults) and George 2015 (population) -> 15 reports included; Klein 2005 and its 2-year
    # follow-up (Przkora 2007) are one study -> 14 studies.
    assert "title/abstract: 22 screened, 7 excluded, 0 awaiting votes" in out
    assert "full text: 18 sought, 1 not retrieved, 17 assessed" in out
    assert "included: 14 studies in 15 reports" in out
    # TA votes: 20 agreements of 22 (Brown 2005 maybe/exclude, Cochrane exclude/include);
    # table [[14,1],[1,6]]: po = 20/22, pe = (15*15 + 7*7)/22^2 = 274/484,
    # kappa = (440 - 274)/(484 - 274) = 166/210 = 0.790
    assert "n = 22, 90.9 % agree, kappa 0.79" in out
    csv = tmp_path / "p.csv"
    code, _, _ = run(
        "review",
        "prisma",
        "example-bisphosphonates",
        "-o",
        str(csv),
        "-o",
        str(tmp_path / "p.svg"),
        "--database-url",
        url,
    )
    assert code == 0
    rows = {line.split(",")[0]: line.rsplit(",", 1)[1] for line in csv.read_text().splitlines()}
    assert (rows["database_results"], rows["citations_results"], rows["duplicates"]) == (
        "23",
        "3",
        "1",
    )
    assert (rows["records_screened"], rows["records_excluded"], rows["dbr_sought_reports"]) == (
        "22",
        "7",
        "15",
    )
    assert (rows["dbr_notretrieved_reports"], rows["dbr_assessed"]) == ("1", "14")
    assert (rows["new_studies"], rows["new_reports"]) == ("14", "15")
    svg = (tmp_path / "p.svg").read_text()
    assert "Records screened (n = 22)" in svg
    code, _, err = run(
        "review", "prisma", "example-bisphosphonates", "-o", str(csv), "--database-url", url
    )
    assert code == 2
    assert "exists" in err


def test_export_import_and_included(url: str, tmp_path: Path) -> None:
    run("review", "demo", "--database-url", url)
    out_json = tmp_path / "r.json"
    code, out, _ = run(
        "review",
        "export",
        "example-bisphosphonates",
        "-o",
        str(out_json),
        "--included-csv",
        str(tmp_path / "i.csv"),
        "--included-ris",
        str(tmp_path / "i.ris"),
        "--schema",
        str(tmp_path / "s.json"),
        "--database-url",
        url,
    )
    assert code == 0, out
    doc = json.loads(out_json.read_text())
    assert doc["format"] == "pedbone-review"
    assert all(v["simulated"] for v in doc["votes"])
    lines = (tmp_path / "i.csv").read_text().splitlines()
    assert len(lines) == 16  # header + 15 included reports
    assert lines[1].endswith(",,15695300")
    assert (tmp_path / "i.ris").read_text().count("ER  -") == 15
    code, out, _ = run(
        "review", "import-review", str(out_json), "--id", "copy", "--database-url", url
    )
    assert code == 0
    code, out, _ = run("review", "status", "copy", "--database-url", url)
    assert "included: 14 studies in 15 reports" in out


def test_init_import_and_refused_reimport(url: str, tmp_path: Path) -> None:
    proto = tmp_path / "protocol.yaml"
    code, _, _ = run("review", "init", "-o", str(proto))
    assert code == 0
    code, _, err = run("review", "init", "--protocol", str(proto), "--database-url", url)
    assert code == 2
    assert "no pedbone user named 'reviewer1'" in err
    for name in ("reviewer1", "reviewer2", "arbiter"):
        result = runner.invoke(
            app,
            ["user", "add", name, "--role", "reviewer", "--password-stdin", "--database-url", url],
            input="a long passphrase\n",
        )
        assert result.exit_code == 0, result.stdout + result.stderr
    code, out, _ = run("review", "init", "--protocol", str(proto), "--database-url", url)
    assert code == 0
    ris = Path(__file__).parent / "fixtures" / "embase_style_synthetic.ris"
    args = (
        "review",
        "import",
        "bisphosphonates-secondary-op",
        str(ris),
        "--source",
        "Embase",
        "--date",
        "2026-11-30",
        "--database-url",
        url,
    )
    code, out, err = run(*args)
    assert code == 0
    assert "3 records imported" in out
    assert "skipped line 38: record has no title" in err
    code, _, err = run(*args)
    assert code == 2
    assert "already imported" in err


def test_screen_in_the_terminal_and_amend(url: str, tmp_path: Path) -> None:
    proto = tmp_path / "protocol.yaml"
    run("review", "init", "-o", str(proto))
    for name in ("reviewer1", "reviewer2", "arbiter"):
        runner.invoke(
            app,
            ["user", "add", name, "--role", "reviewer", "--password-stdin", "--database-url", url],
            input="a long passphrase\n",
        )
    run("review", "init", "--protocol", str(proto), "--database-url", url)
    ris = Path(__file__).parent / "fixtures" / "embase_style_synthetic.ris"
    run(
        "review",
        "import",
        "bisphosphonates-secondary-op",
        str(ris),
        "--source",
        "Embase",
        "--date",
        "2026-11-30",
        "--database-url",
        url,
    )
    result = runner.invoke(
        app,
        [
            "review",
            "screen",
            "bisphosphonates-secondary-op",
            "--user",
            "reviewer1",
            "--password-stdin",
            "--database-url",
            url,
        ],
        input="a long passphrase\ni\ne\nq\n",
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "3 record(s) to screen at title_abstract" in result.stdout
    code, out, _ = run("review", "status", "bisphosphonates-secondary-op", "--database-url", url)
    assert "3 awaiting votes" in out  # one vote each is not yet a decision
    changed = proto.read_text().replace('title: "Bisphosphonates', 'title: "IV bisphosphonates')
    (tmp_path / "v2.yaml").write_text(changed)
    code, out, err = run(
        "review",
        "amend",
        "bisphosphonates-secondary-op",
        "--protocol",
        str(tmp_path / "v2.yaml"),
        "--reason",
        "IV only",
        "--author",
        "lead",
        "--database-url",
        url,
    )
    assert code == 0, err
    assert "protocol version 2 (IV only)" in out
    code, out, _ = run("review", "status", "bisphosphonates-secondary-op", "--database-url", url)
    assert "IV bisphosphonates" in out
    assert "protocol v2" in out
