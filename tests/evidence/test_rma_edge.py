"""rma edge cases, input forms and read-outs (hand-computed values and documented behaviour)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from scipy import stats

from pedbone.evidence import (
    ConvergenceError,
    EvidenceInputError,
    escalc,
    rma,
    subgroups,
    transf_exp,
)

from ._metafor import escalc_rma

EXAMPLE = (
    Path(__file__).resolve().parents[2] / "examples" / "evidence" / "bisphosphonate_ls_bmd.csv"
)


def _bcg() -> pl.DataFrame:
    return pl.DataFrame(escalc_rma()["datasets"]["bcg"], strict=False)


def _case(case_id: str) -> dict[str, Any]:
    return next(c for c in escalc_rma()["rma"] if c["id"] == case_id)


def test_k1_is_documented_not_silent() -> None:
    # one study: estimate = yi, se = sqrt(vi) = 0.2, z = 2.5, p = 2(1 - Φ(2.5)) = 0.012419...
    res = rma([0.5], [0.04], method="REML")
    assert res.estimate == 0.5
    assert res.se == pytest.approx(0.2)
    assert res.pval == pytest.approx(2 * stats.norm.sf(2.5))
    assert (res.tau2, res.q, res.q_pval, res.i2, res.h2) == (0.0, 0.0, 1.0, 0.0, 1.0)
    assert any("k = 1" in n for n in res.notes)
    assert "k = 1" in res.summary()
    with pytest.raises(EvidenceInputError, match="k >= 2"):
        rma([0.5], [0.04], test="knha")
    with pytest.raises(EvidenceInputError, match="k = 1"):
        res.confint()


def test_tau2_at_the_boundary_is_exactly_zero() -> None:
    # k3_homog: Q = 0.0227 < k - 1, every estimator truncates at 0; metafor stops Fisher
    # scoring at ~1e-10, pedbone returns exactly 0 (documented in docs/evidence.md)
    for method in ("DL", "HE", "ML", "REML", "EB", "PM"):
        res = rma([0.10, 0.12, 0.11], [0.04, 0.05, 0.06], method=method)
        assert res.tau2 == 0.0, method
        assert res.i2 == 0.0
    ci = rma([0.10, 0.12, 0.11], [0.04, 0.05, 0.06]).confint()
    assert ci.tau2.ci_lb == ci.tau2.ci_ub == 0.0
    assert "null set" in ci.note


def test_non_convergence_raises_never_a_silent_number() -> None:
    src = escalc_rma()["yv"]["bcg_RR"]
    with pytest.raises(ConvergenceError, match="did not converge in 2 iterations"):
        rma(src["yi"], src["vi"], method="REML", control={"maxiter": 2, "fallback": False})


# Fisher scoring oscillates on these data, in metafor too ("did not converge" with
# control=list(threshold=1e-10, maxiter=1000)); metafor's remedy stepadj=0.5 converges to
# tau² = 0.159250507772272 (Rscript: rma(yi, vi, control=list(stepadj=0.5, threshold=1e-12,
# maxiter=1000))$tau2). pedbone's bracketed fallback finds the same root and says so.
OSC_YI = [
    0.4517823610372181,
    -0.164864300624802,
    -0.7039960137580228,
    0.24333004525936347,
    -0.05133775340151967,
    0.10153715778391412,
    -0.9826644791046941,
    0.16720586894952158,
    -1.0060756302024172,
]
OSC_VI = [
    0.6911962343089795,
    0.9335169354116263,
    0.8488404811331268,
    0.21188685122443507,
    0.419043931306895,
    0.988921108870576,
    0.703285275132772,
    0.7941116568855446,
    0.0837522830529166,
]


def test_fisher_scoring_fallback_finds_metafors_stepadj_answer() -> None:
    res = rma(OSC_YI, OSC_VI, method="REML")
    assert res.tau2 == pytest.approx(0.159250507772272, rel=1e-9)
    assert "did not converge" in res.notes[0]
    assert "bracketed search" in res.summary()
    with pytest.raises(ConvergenceError):
        rma(OSC_YI, OSC_VI, method="REML", control={"fallback": False})


def test_knha_with_zero_residual_variance_is_an_error() -> None:
    with pytest.raises(EvidenceInputError, match="Knapp-Hartung standard errors would be 0"):
        rma([0.2, 0.2, 0.2], [0.01, 0.02, 0.03], method="DL", test="knha")


@pytest.mark.parametrize("bad", [0.0, -0.01, math.inf])
def test_non_positive_or_infinite_variance_names_the_study(bad: float) -> None:
    with pytest.raises(EvidenceInputError, match=r"Study 2 \(vi = "):
        rma([0.1, 0.2, 0.3], [0.01, bad, 0.02])


def test_missing_values_are_omitted_and_reported() -> None:
    res = rma([0.1, math.nan, 0.3, 0.2], [0.01, 0.02, 0.02, 0.03], slab=["A", "B", "C", "D"])
    assert res.k == 3
    assert res.slab == ("A", "C", "D")
    assert "1 studies omitted" in res.notes[0]
    assert "B" in res.notes[0]


def test_all_studies_double_zero_gives_a_clear_error() -> None:
    es = escalc("RR", ai=[0, 0], bi=[10, 12], ci=[0, 0], di=[11, 9], drop00=True)
    with pytest.raises(EvidenceInputError, match="no studies left"):
        rma(es)


def test_too_many_parameters_and_bad_arguments() -> None:
    with pytest.raises(EvidenceInputError, match="more parameters"):
        rma([0.1, 0.2], [0.01, 0.02], mods=[1.0, 2.0])
    with pytest.raises(EvidenceInputError, match="unknown method"):
        rma([0.1, 0.2], [0.01, 0.02], method="XX")
    with pytest.raises(EvidenceInputError, match="unknown test"):
        rma([0.1, 0.2], [0.01, 0.02], test="hksj")
    with pytest.raises(EvidenceInputError, match="level"):
        rma([0.1, 0.2], [0.01, 0.02], level=0.95 * 0)
    with pytest.raises(EvidenceInputError, match="vi="):
        rma([0.1, 0.2])
    with pytest.raises(EvidenceInputError, match="different lengths"):
        rma([0.1, 0.2], [0.01])
    with pytest.raises(EvidenceInputError, match="not of full rank"):
        rma([0.1, 0.2, 0.3, 0.4], [0.01] * 4, mods=np.array([[1, 2], [2, 4], [3, 6], [4, 8.0]]))
    with pytest.raises(EvidenceInputError, match="equal-effects"):
        rma([0.1, 0.2, 0.3], [0.01] * 3, method="EE").confint()
    with pytest.raises(EvidenceInputError, match="level"):
        rma([0.1, 0.2, 0.3], [0.01] * 3).predict(level=0.95 * 100 + 5)
    with pytest.raises(EvidenceInputError, match="data="):
        rma("yi", "vi", data=42)


def test_data_may_be_a_mapping_of_columns() -> None:
    d = {"y": [0.1, 0.4, 0.3], "v": [0.01, 0.02, 0.03]}
    assert rma("y", "v", data=d, method="EE").k == 3
    es = escalc("PR", xi="x", ni="n", data={"x": [1, 2], "n": [10, 20]})
    # PR: 1/10 with variance 0.1 × 0.9 / 10 = 0.009
    assert es.yi[0] == pytest.approx(0.1)
    assert es.vi[0] == pytest.approx(0.009)


def test_sei_and_escalc_input_equal_vi_input() -> None:
    src = escalc_rma()["yv"]["bcg_RR"]
    a = rma(src["yi"], src["vi"], method="DL")
    b = rma(src["yi"], sei=np.sqrt(src["vi"]), method="DL")
    es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=_bcg())
    c = rma(es, method="DL")
    d = rma("yi", "vi", data=es.frame, method="DL")
    for other in (b, c, d):
        assert other.estimate == pytest.approx(a.estimate, rel=1e-12)
        assert other.tau2 == pytest.approx(a.tau2, rel=1e-12)
    assert c.measure == "RR"
    with pytest.raises(EvidenceInputError, match="already carries vi"):
        rma(es, src["vi"])
    # study labels travel with the escalc result
    labelled = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=_bcg(), slab="author")
    assert rma(labelled).slab[0] == _bcg()["author"][0]
    listed = escalc("PR", xi=[1, 2], ni=[10, 20], slab=["A", "B"])
    assert rma(listed, method="EE").slab == ("A", "B")


def test_moderators_by_column_name_and_formula_equal_metafor() -> None:
    es = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=_bcg())
    want = _case("bcg_alloc_REML_z")["out"]
    res = rma(es, mods=["alloc"], method="REML")  # text column: dummy coded like R
    assert res.coef_names == ("intrcpt", "allocrandom", "allocsystematic")
    np.testing.assert_allclose(res.beta, want["b"], rtol=1e-6)
    assert res.qm == pytest.approx(want["QM"], rel=1e-6)
    want2 = _case("bcg_ablat_year_REML_z")["out"]
    res2 = rma(es, mods="~ ablat + year", method="REML")
    assert res2.coef_names == ("intrcpt", "ablat", "year")
    np.testing.assert_allclose(res2.beta, want2["b"], rtol=1e-6)
    res3 = rma(es, mods={"ablat": _bcg()["ablat"], "year": _bcg()["year"]}, method="REML")
    np.testing.assert_allclose(res3.beta, want2["b"], rtol=1e-6)
    # btt selects the coefficients of the omnibus test (0-based here; metafor is 1-based)
    want3 = _case("bcg_ablat_year_btt_REML_z")["out"]
    assert rma(es, mods="~ ablat + year", btt=2).qm == pytest.approx(want3["QM"], rel=1e-6)
    with pytest.raises(EvidenceInputError, match="'nope' not in data"):
        rma(es, mods=["nope"])


def test_a_column_of_ones_is_the_intercept_as_in_metafor() -> None:
    src = escalc_rma()["yv"]["bcg_RR"]
    ablat = np.asarray(_bcg()["ablat"], dtype=float)
    a = rma(src["yi"], src["vi"], mods=ablat)
    b = rma(src["yi"], src["vi"], mods=np.column_stack([ablat, np.ones(13)]), intercept=False)
    assert b.coef_names == ("intrcpt", "mod1")
    np.testing.assert_allclose(b.beta, a.beta, rtol=1e-12)
    assert b.btt == (1,)
    assert b.qm == pytest.approx(a.qm, rel=1e-12)
    c = rma(src["yi"], src["vi"], mods=np.ones((13, 1)), intercept=False)
    assert c.pi_lb == pytest.approx(rma(src["yi"], src["vi"]).pi_lb, rel=1e-12)


def test_predict_back_transforms_ratio_measures() -> None:
    src = escalc_rma()["yv"]["bcg_RR"]
    res = rma(src["yi"], src["vi"])
    raw, rr = res.predict(), res.predict(transf=np.exp)
    assert rr.pred[0] == pytest.approx(math.exp(raw.pred[0]))
    assert rr.ci_lb[0] == pytest.approx(math.exp(raw.ci_lb[0]))
    assert rr.pi_ub[0] == pytest.approx(math.exp(raw.pi_ub[0]))
    assert math.isnan(rr.se[0])
    assert rr.transformed
    assert transf_exp([0.0])[0] == 1.0
    # meta-regression: newmods without the intercept column
    mr = rma(src["yi"], src["vi"], mods=np.asarray(_bcg()["ablat"], dtype=float))
    pr = mr.predict([0.0, 10.0])
    assert pr.pred[0] == pytest.approx(mr.beta[0])
    assert pr.pred[1] == pytest.approx(mr.beta[0] + 10 * mr.beta[1])
    assert math.isnan(mr.pi_lb)  # no single PI for a meta-regression: use predict(newmods)
    with pytest.raises(EvidenceInputError, match="newmods"):
        mr.predict([[1.0, 2.0]])


def test_readouts_summary_to_dict_and_weights() -> None:
    src = escalc_rma()["yv"]["bcg_RR"]
    res = rma(src["yi"], src["vi"], method="REML")
    text = res.summary()
    assert "Random-Effects Model (k = 13; tau^2 estimator: REML)" in text
    assert "tau^2 (estimated amount of total heterogeneity): 0.3132 (SE = 0.1664)" in text
    assert "Q(df = 12) = 152.2330, p-val < .0001" in text
    assert "Prediction interval (95%)" in text
    d = json.loads(json.dumps(res.to_dict()))
    assert d["method"] == "REML"
    assert d["k"] == 13
    assert d["estimate"] == pytest.approx(res.estimate)
    assert sum(res.weights()) == pytest.approx(100.0)
    assert res.tval is None
    assert res.zval == pytest.approx(res.estimate / res.se)
    kh = rma(src["yi"], src["vi"], test="knha")
    assert kh.tval == kh.zval
    assert kh.ddf == 12
    assert "tval" in kh.coef_table().columns
    assert "REML" in repr(res)
    ci = res.confint()
    assert ci.tau2.ci_lb < res.tau2 < ci.tau2.ci_ub
    assert "tau^2" in str(ci)
    assert json.dumps(ci.to_dict())


def test_subgroups_errors_and_frame() -> None:
    src = escalc_rma()["yv"]["bcg_RR"]
    alloc = _bcg()["alloc"].to_list()
    sg = subgroups(src["yi"], src["vi"], subgroup=alloc, method="DL")
    assert sg.to_frame()["subgroup"].to_list() == ["alternate", "random", "systematic"]
    # common-tau² alternative = metafor rma(yi, vi, mods = ~ factor(alloc), method = "DL")
    assert sg.common_tau2 is not None
    want = _case("bcg_alloc_DL_z")["out"]
    assert sg.common_tau2.qm == pytest.approx(want["QM"], rel=1e-6)
    assert sg.common_tau2.qm_pval == pytest.approx(want["QMp"], rel=1e-6)
    assert "Test for subgroup differences" in sg.summary()
    json.dumps(sg.to_dict())
    with pytest.raises(EvidenceInputError, match="at least 2"):
        subgroups(src["yi"], src["vi"], subgroup=["a"] * 13)
    # a one-study subgroup is fitted with tau² = 0 and says so; knha cannot run on it
    one = subgroups([0.1, 0.2, 0.3], [0.01] * 3, subgroup=["x", "y", "y"], method="REML")
    assert one.fits["x"].k == 1
    assert "k = 1" in one.fits["x"].notes[0]
    with pytest.raises(EvidenceInputError, match="subgroup 'x'"):
        subgroups([0.1, 0.2, 0.3], [0.01] * 3, subgroup=["x", "y", "y"], test="knha")


def test_example_file_pools_lumbar_spine_z_change() -> None:
    # Acott 2005 [S31]: Z change 0-12 mo +0.63 ± 0.17 (SE) vs -0.46 ± 0.27 (SE), 17 vs 17
    # → MD = 1.09, SE = sqrt(0.17² + 0.27²) = 0.319061...
    ex = pl.read_csv(EXAMPLE)
    assert set(ex["source"].to_list()) <= {"[S26]", "[S31]", "[S35]", "[S42]"}
    z = ex.filter(pl.col("scale") == "LS aBMD Z-score change")
    se_arm = np.sqrt(z["se1i"].to_numpy() ** 2 + z["se2i"].to_numpy() ** 2)
    md = z["m1i"].to_numpy() - z["m2i"].to_numpy()
    yi = np.where(np.isnan(md), z["yi"].to_numpy(), md)
    es = escalc(
        "GEN",
        yi=yi,
        ci_lb=z["ci_lb"].fill_null(np.nan),
        ci_ub=z["ci_ub"].fill_null(np.nan),
    )
    vi = np.where(np.isnan(md), es.vi, se_arm**2)
    acott = int(np.flatnonzero(z["study"].to_numpy() == "Acott 2005")[0])
    assert yi[acott] == pytest.approx(1.09)
    assert math.sqrt(vi[acott]) == pytest.approx(0.3190611, rel=1e-6)
    res = rma(yi, vi, method="REML", test="knha", slab=z["study"].to_list())
    assert res.k == 3
    assert 0 < res.estimate < 1.09


def test_every_method_key_cited_in_the_core_exists() -> None:
    import re

    from pedbone.bibliography import cite

    src = Path(__file__).resolve().parents[2] / "src" / "pedbone" / "evidence"
    keys: set[str] = set()
    for path in sorted(src.glob("*.py")):
        keys |= set(re.findall(r"\[([A-Z][A-Z0-9_]{3,})\]", path.read_text("utf-8")))
    assert {"METAFOR", "DERSIMONIAN1986", "KNAPP2003", "HEDGES1981", "REVMAN5"} <= keys
    for key in sorted(keys):
        assert cite(key).kind == "methods", key


def test_fixed_tau2_is_reported_as_specified() -> None:
    src = escalc_rma()["yv"]["bcg_RR"]
    res = rma(src["yi"], src["vi"], tau2=0.1)
    assert res.tau2 == 0.1
    assert res.tau2_fixed
    assert math.isnan(res.se_tau2)
    assert "tau^2 (specified amount of total heterogeneity): 0.1000 (SE = NA)" in res.summary()
    with pytest.raises(EvidenceInputError, match="fixed, not estimated"):
        res.confint()
    with pytest.raises(EvidenceInputError, match="random-effects methods"):
        rma(src["yi"], src["vi"], method="EE", tau2=0.1)
    with pytest.raises(EvidenceInputError, match=">= 0"):
        rma(src["yi"], src["vi"], tau2=-1.0)
