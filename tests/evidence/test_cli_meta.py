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


def test_single_study_prints_no_prediction_interval(tmp_path: Path) -> None:
    path = tmp_path / "k1.csv"
    path.write_text("study,tpos,tneg,cpos,cneg\nA,4,119,11,128\n", encoding="utf-8")
    result = runner.invoke(app, ["meta", str(path), "--measure", "RR", *TABLE])
    assert result.exit_code == 0, result.output
    assert "Prediction interval (" not in result.stdout  # the summary line
    assert "prediction interval [" not in result.stdout  # the back-transformed line
    js = json.loads(
        runner.invoke(app, ["meta", str(path), "--measure", "RR", *TABLE, "--json"]).stdout
    )
    assert js["model"]["pi_lb"] is None


def test_two_studies_never_read_as_defensible(tmp_path: Path) -> None:
    # two nearly identical studies: I² = 0 and Q p = 0.9, yet k = 2 cannot show the spread
    path = tmp_path / "k2.csv"
    path.write_text("study,yi,vi\nA,0.30,0.04\nB,0.32,0.05\n", encoding="utf-8")
    result = runner.invoke(app, ["meta", str(path), "--yi", "yi", "--vi", "vi", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["heterogeneity"]["verdict"] == "too_few"
    text = runner.invoke(app, ["meta", str(path), "--yi", "yi", "--vi", "vi"]).stdout
    assert "Pooling looks defensible" not in text
    assert "Too few studies to judge" in text


def test_subgroup_without_usable_study_is_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "sg.csv"
    rows = ["study,yi,vi,g", "A,0.3,0.04,x", "B,0.5,0.05,x", "C,0.1,0.03,y", "D,0.2,0.06,y"]
    rows += ["E,NA,NA,z", "F,,,z"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    args = ["meta", str(path), "--yi", "yi", "--vi", "vi", "--slab", "study", "--subgroup", "g"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert sorted(out["subgroups"]["fits"]) == ["x", "y"]
    assert "subgroup 'z': no study with an effect size" in out["subgroups"]["notes"][0]
    # only one usable subgroup left: reported, the overall analysis still runs
    path.write_text("\n".join(rows[:3] + rows[5:]) + "\n", encoding="utf-8")
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert "need at least 2 subgroup levels" in out["subgroups"]["error"]
    assert out["model"]["k"] == 2


def test_mods_formula_equals_metafor(tmp_path: Path) -> None:
    from ._metafor import load

    fx = load("metafor_mods_formulas_influence")
    d = fx["data"]["bcg"]
    path = tmp_path / "bcg_mods.csv"
    rows = ["study,yi,vi,ablat,year,alloc,era"]
    for i in range(13):
        rows.append(
            f'"{d["slab"][i]}",{d["yi"][i]!r},{d["vi"][i]!r},{d["ablat"][i]},{d["year"][i]},'
            f"{d['alloc'][i]},{d['era'][i]}"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    for case_id, formula in (
        ("alloc_x_ablat_bcg_REML", "~ alloc * ablat"),
        ("factor_era_bcg_REML", "~ factor(era)"),
    ):
        args = ["meta", str(path), "--yi", "yi", "--vi", "vi", "--mods", formula, "--json"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        model = json.loads(result.stdout)["model"]
        want = next(c["fit"] for c in fx["rma"] if c["id"] == case_id)
        assert list(model["coefficients"]) == want["coef_names"]
        assert_close([c["estimate"] for c in model["coefficients"].values()], want["beta"], "b")
        assert_close(model["qm"], want["QM"], "QM")
    plots = ["--forest", str(tmp_path / "mr_forest.svg"), "--funnel", str(tmp_path / "mr.svg")]
    mr = runner.invoke(
        app, ["meta", str(path), "--yi", "yi", "--vi", "vi", "--mods", "~ ablat", *plots]
    )
    assert mr.exit_code == 0, mr.output
    assert "not given for a meta-regression" in mr.stdout
    assert (tmp_path / "mr_forest.svg").stat().st_size > 0
    text = runner.invoke(app, ["meta", str(path), "--yi", "yi", "--vi", "vi", "--mods", "~ x"])
    assert text.exit_code == 2
    assert "names no column" in text.output


def test_per_arm_standard_errors(tmp_path: Path) -> None:
    # Acott 2005 (examples/evidence): 0.63 ± 0.17 (SE, n 17) vs -0.46 ± 0.27 (SE, n 17)
    # MD = 0.63 - (-0.46) = 1.09; vi = 0.17² + 0.27² = 0.0289 + 0.0729 = 0.1018
    path = tmp_path / "arm.csv"
    path.write_text("study,m1,se1,n1,m2,se2,n2\nAcott,0.63,0.17,17,-0.46,0.27,17\n", "utf-8")
    args = ["meta", str(path), "--measure", "MD", "--m1i", "m1", "--se1i", "se1", "--n1i", "n1"]
    args += ["--m2i", "m2", "--se2i", "se2", "--n2i", "n2", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    model = json.loads(result.stdout)["model"]
    assert model["estimate"] == pytest.approx(1.09, abs=1e-12)
    assert model["se"] == pytest.approx(0.1018**0.5, rel=1e-12)
    bad = runner.invoke(app, [*args[:-3], "--json"])  # --se2i without --n2i
    assert bad.exit_code == 2
    assert "--se2i needs the group size --n2i" in bad.output


def test_bundled_example_documented_analysis_runs_from_the_cli() -> None:
    import numpy as np
    import polars as pl

    from pedbone.evidence import escalc, rma

    csv_path = (
        Path(__file__).resolve().parents[2] / "examples" / "evidence" / "bisphosphonate_ls_bmd.csv"
    )
    # the analysis documented in examples/evidence/bisphosphonate_ls_bmd.md, in Python ...
    ex = pl.read_csv(csv_path)
    z = ex.filter(pl.col("scale") == "LS aBMD Z-score change")
    md = z["m1i"].to_numpy() - z["m2i"].to_numpy()
    vi_arm = z["se1i"].to_numpy() ** 2 + z["se2i"].to_numpy() ** 2
    gen = escalc(
        "GEN",
        yi=z["yi"].fill_null(np.nan),
        ci_lb=z["ci_lb"].fill_null(np.nan),
        ci_ub=z["ci_ub"].fill_null(np.nan),
    )
    yi = np.where(np.isnan(md), gen.yi, md)
    vi = np.where(np.isnan(md), gen.vi, vi_arm)
    want = rma(yi, vi, method="REML", test="knha", slab=z["study"].to_list())
    # ... and from the command line documented beside it
    args = ["meta", str(csv_path), "--measure", "MD", "--m1i", "m1i", "--m2i", "m2i"]
    args += ["--sd1i", "sd1i", "--sd2i", "sd2i", "--se1i", "se1i", "--se2i", "se2i"]
    args += ["--n1i", "n1i", "--n2i", "n2i", "--yi", "yi", "--ci-lb", "ci_lb", "--ci-ub", "ci_ub"]
    args += ["--where", "scale=LS aBMD Z-score change", "--slab", "study", "--test", "knha"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["model"]["k"] == 3
    assert out["model"]["estimate"] == pytest.approx(want.estimate, rel=1e-12)
    assert out["model"]["se"] == pytest.approx(want.se, rel=1e-12)
    assert out["model"]["slab"] == ["Acott 2005", "Ward 2021", "Rooney 2019"]
    assert sum("reported estimate" in n for n in out["notes"]) == 2


def test_where_names_a_missing_column_with_its_option(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text("study,yi,vi\nA,0.3,0.04\nB,0.5,0.05\n", encoding="utf-8")
    args = ["meta", str(path), "--yi", "yi", "--vi", "vi", "--where", "scale=x"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "column 'scale' (given to --where) not found" in result.output
    result = runner.invoke(app, [*args[:-2], "--where", "study=C"])
    assert result.exit_code == 2
    assert "no row has study = 'C'" in result.output
