"""``pedbone meta``: summary, JSON, plots and line-numbered errors (numbers vs metafor)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pedbone.cli import app

from ._metafor import assert_close, fixtures

runner = CliRunner()


def _bcg_csv(tmp_path: Path) -> Path:
    t = fixtures()["tables"]["bcg"]
    year = fixtures()["uni_data"]["bcg_rr"]["year"]
    path = tmp_path / "bcg.csv"
    rows = ["trial,tpos,tneg,cpos,cneg,year,era,alloc"]
    allocs = ["random"] * 4 + ["alternate"] * 2 + ["random"] * 3 + ["systematic"] * 4
    for i in range(13):
        era = "early" if year[i] < 1960 else "late"
        rows.append(
            f'"{t["slab"][i]}",{t["ai"][i]},{t["bi"][i]},{t["ci"][i]},{t["di"][i]},'
            f"{year[i]},{era},{allocs[i]}"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


TABLE = ["--ai", "tpos", "--bi", "tneg", "--ci", "cpos", "--di", "cneg"]


def test_summary_plots_and_metafor_numbers(tmp_path: Path) -> None:
    data = _bcg_csv(tmp_path)
    forest, funnel = tmp_path / "forest.svg", tmp_path / "funnel.svg"
    args = ["meta", str(data), "--measure", "RR", *TABLE, "--slab", "trial", "--method", "REML"]
    args += ["--test", "knha", "--forest", str(forest), "--funnel", str(funnel)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Heterogeneity read-out" in result.stdout
    # I² = 92 % (considerable) and the prediction interval includes 0 while the CI does not
    assert "Pooling looks hard to defend" in result.stdout
    for path in (forest, funnel):
        assert ET.parse(path).getroot().tag.endswith("svg")
    texts = ["".join(e.itertext()) for e in ET.parse(forest).getroot().iter()]
    assert "Aronson 1948" in texts

    js = runner.invoke(app, [*args, "--json"])
    assert js.exit_code == 0, js.output
    out = json.loads(js.stdout)
    exp = next(
        c["fit"]
        for c in fixtures()["uni"]
        if c["dataset"] == "bcg_rr" and c["method"] == "REML" and c["test"] == "knha"
    )
    assert_close(out["model"]["estimate"], exp["beta"], "estimate")
    assert_close(out["model"]["ci_lb"], exp["ci_lb"], "ci_lb")
    assert out["heterogeneity"]["verdict"] == "not_defensible"
    assert out["plots"] == {"forest": str(forest), "funnel": str(funnel)}


def test_mantel_haenszel_json_matches_metafor(tmp_path: Path) -> None:
    data = _bcg_csv(tmp_path)
    result = runner.invoke(
        app, ["meta", str(data), "--measure", "OR", *TABLE, "--method", "MH", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    exp = next(
        c["result"]
        for c in fixtures()["mh"]
        if c["dataset"] == "bcg" and c["measure"] == "OR" and not c["args"]
    )
    assert_close(out["model"]["estimate"], exp["beta"], "MH estimate")
    assert_close(out["model"]["tarone"], exp["TA"], "Tarone")


def test_subgroups_diversity_and_bias(tmp_path: Path) -> None:
    data = _bcg_csv(tmp_path)
    forest = tmp_path / "sub.svg"
    args = ["meta", str(data), "--measure", "RR", *TABLE, "--slab", "trial"]
    args += ["--subgroup", "era", "--diversity", "alloc", "--bias", "--leave1out"]
    result = runner.invoke(app, [*args, "--forest", str(forest), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out["subgroups"]["fits"]) == {"early", "late"}
    assert set(out["heterogeneity_by_subgroup"]) == {"early", "late"}
    assert out["heterogeneity"]["verdict"] == "not_defensible"
    assert "regtest" in out["bias"]
    assert "ranktest" in out["bias"]
    assert "k0" in out["bias"]["trimfill"]
    assert len(out["leave1out"]) == 13
    ids = [e.get("id", "") for e in ET.parse(forest).getroot().iter()]
    assert sum(i.startswith("diamond-") for i in ids) == 3
    text = runner.invoke(app, args)
    assert "Regression Test for Funnel Plot Asymmetry" in text.stdout
    assert "Clinical diversity in 'alloc'" in text.stdout


def test_generic_yi_vi(tmp_path: Path) -> None:
    d = fixtures()["uni_data"]["hackshaw1998"]
    path = tmp_path / "gen.csv"
    path.write_text(
        "est,var\n" + "\n".join(f"{y},{v}" for y, v in zip(d["yi"], d["vi"], strict=True)),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["meta", str(path), "--yi", "est", "--vi", "var", "--json"])
    assert result.exit_code == 0, result.output
    exp = next(
        c["fit"]
        for c in fixtures()["uni"]
        if c["dataset"] == "hackshaw1998" and c["method"] == "REML" and c["test"] == "z"
    )
    assert_close(json.loads(result.stdout)["model"]["estimate"], exp["beta"], "estimate")


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("a,b\n1,2\n", ["--ai", "tpos"], "column 'tpos' (given to --ai) not found"),
        (
            "tpos,tneg,cpos,cneg\n4,119,11,128\n6,x,29,274\n",
            [],
            "line 3, column 'tneg': 'x' is not a number",
        ),
        ("tpos,tneg,cpos,cneg\n4,119,11,128\n6,300,29\n", [], "line 3: expected 4 fields"),
        ("tpos,tneg,cpos,cneg\n4,119,11,128\n-6,300,29,1\n", [], "line 3, column 'tpos'"),
        ("tpos,tneg,cpos,cneg\n", [], "no data rows"),
    ],
)
def test_bad_input_names_line_and_column(
    tmp_path: Path, content: str, extra: list[str], message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    cols = extra or TABLE
    result = runner.invoke(app, ["meta", str(path), "--measure", "RR", *cols])
    assert result.exit_code == 2
    assert message in result.stderr


def test_missing_file_and_bad_plot_path(tmp_path: Path) -> None:
    result = runner.invoke(app, ["meta", str(tmp_path / "none.csv"), "--yi", "y", "--vi", "v"])
    assert result.exit_code == 2
    assert "file not found" in result.stderr
    data = _bcg_csv(tmp_path)
    result = runner.invoke(
        app, ["meta", str(data), "--measure", "RR", *TABLE, "--forest", str(tmp_path / "f.jpg")]
    )
    assert result.exit_code == 2
    assert ".svg, .png or .pdf" in result.stderr


def test_engine_errors_exit_2(tmp_path: Path) -> None:
    data = _bcg_csv(tmp_path)
    result = runner.invoke(app, ["meta", str(data), "--measure", "RR", *TABLE, "--method", "XX"])
    assert result.exit_code == 2
    assert "unknown method" in result.stderr


def test_leave1out_with_mantel_haenszel(tmp_path: Path) -> None:
    data = _bcg_csv(tmp_path)
    args = ["meta", str(data), "--measure", "RR", *TABLE, "--method", "MH", "--leave1out"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["leave1out"]
    assert len(rows) == 13
    assert "tau2" not in rows[0]


def test_repeated_labels_are_numbered_as_metafor(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(
        "who,tpos,tneg,cpos,cneg\nSmith,4,119,11,128\nJones,6,300,29,274\nSmith,3,228,11,209\n",
        encoding="utf-8",
    )
    args = ["meta", str(path), "--measure", "RR", *TABLE, "--slab", "who", "--leave1out"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    slabs = [row["slab"] for row in json.loads(result.stdout)["leave1out"]]
    assert slabs == ["Smith.1", "Jones", "Smith.2"]


def test_cumulative_by_year_matches_metafor(tmp_path: Path) -> None:
    data = _bcg_csv(tmp_path)
    args = ["meta", str(data), "--measure", "RR", *TABLE, "--slab", "trial", "--cumul", "year"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["cumul"]
    exp = next(
        c["cumul"]
        for c in fixtures()["uni"]
        if c["dataset"] == "bcg_rr" and c["method"] == "REML" and c["test"] == "z"
    )
    assert_close([r["estimate"] for r in rows], exp["estimate"], "cumulative estimate")
    assert rows[0]["slab"] == "Aronson 1948"


def test_single_study_says_what_cannot_be_computed(tmp_path: Path) -> None:
    path = tmp_path / "k1.csv"
    path.write_text("study,tpos,tneg,cpos,cneg\nA,4,119,11,128\n", encoding="utf-8")
    args = ["meta", str(path), "--measure", "RR", *TABLE, "--slab", "study", "--bias"]
    result = runner.invoke(app, [*args, "--leave1out", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["heterogeneity"]["verdict"] == "not_assessable"
    assert "at least 3 studies" in out["bias"]["ranktest"]["error"]
    assert "k = 1" in out["leave1out"]["error"]
    # one study: the pooled RR is that study's RR, exp(-0.8893) (metafor dat.bcg trial 1)
    assert_close(out["model"]["estimate"], fixtures()["uni_data"]["bcg_rr"]["yi"][0], "k=1")
