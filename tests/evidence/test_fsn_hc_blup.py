"""fsn, hc, blup, ranef, profile, permutest and rma(subset=) against metafor 3.8
(fixtures from fixtures/metafor_measures_glmm_tools.R).

Closed forms (fsn) at rtol 1e-9; blup/ranef of rma at rtol 1e-7 (τ² on the boundary is exactly 0
here, ~1e-10 in metafor); hc (a quadrature inside a root search,
both at 1e-12 here and in the fixture) at rtol 1e-7; ranef of rma_mv at rtol 2e-5 (it inherits
the σ² of the rma.mv fit, see test_rma_mv.py).
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from pedbone.evidence import (
    EvidenceInputError,
    blup,
    fsn,
    hc,
    permutest,
    profile,
    ranef,
    rma,
    rma_mv,
    selmodel,
)

FIXTURES = Path(__file__).parent / "fixtures" / "metafor_measures_glmm_tools.json"


@cache
def fx() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURES.read_text(encoding="utf-8"))
    return data


def close(a: Any, e: Any, what: str, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    a_arr = np.atleast_1d(np.asarray(a, dtype=np.float64))
    e_arr = np.atleast_1d(
        np.asarray([math.nan if x is None else x for x in np.atleast_1d(e)], dtype=np.float64)
    )
    assert a_arr.shape == e_arr.shape, f"{what}: shape {a_arr.shape} != {e_arr.shape}"
    ok = np.isclose(a_arr, e_arr, rtol=rtol, atol=atol) | (np.isnan(a_arr) & np.isnan(e_arr))
    assert ok.all(), f"{what}: {a_arr} != metafor {e_arr}"


FSN = fx()["fsn"]


@pytest.mark.parametrize(
    "case", FSN, ids=[f"{c['data']}-{c['type']}-{c['weighted']}-{c['target']}" for c in FSN]
)
def test_fsn_matches_metafor(case: dict[str, Any]) -> None:
    d = fx()["yv"][case["data"]]
    r = fsn(d["yi"], d["vi"], type=case["type"], weighted=case["weighted"], target=case["target"])
    close(r.fsnum, case["fsnum"], "fsnum")
    if case["type"] != "Orwin":
        close(r.pval, case["pval"], "pval")
    if case["type"] != "Rosenthal":
        close(r.meanes, case["meanes"], "meanes")
    if case["type"] == "Orwin":
        close(r.target, case["target_out"], "target")
    assert "Fail-safe N" in r.summary()


def test_fsn_rosenthal_hand_computed() -> None:
    # z = 2, 2, 2 (yi = 0.2, vi = 0.01): z_avg = 6/√3 = 3.4641; N = 3·(3.4641/1.6449)² - 3
    # = 3·4.4350 - 3 = 10.305 → 11
    r = fsn([0.2, 0.2, 0.2], [0.01, 0.01, 0.01])
    assert r.fsnum_raw == pytest.approx(3 * (6 / math.sqrt(3) / 1.6448536269514722) ** 2 - 3)
    assert r.fsnum == 11


def test_fsn_errors() -> None:
    with pytest.raises(EvidenceInputError, match="type"):
        fsn([0.1], [0.1], type="Fisher")
    with pytest.raises(EvidenceInputError, match="vi"):
        fsn([0.1, 0.2])
    assert fsn([0.1, 0.3], type="Orwin").fsnum == 2  # mean 0.2, target 0.1: 2·0.1/0.1 = 2


@pytest.mark.parametrize("name", list(fx()["hc"]))
def test_hc_matches_metafor(name: str) -> None:
    d = fx()["yv"][name]
    h = hc(rma(d["yi"], d["vi"]))
    exp = fx()["hc"][name]
    for ours, theirs in (("beta", "beta"), ("se", "se"), ("tau2", "tau2")):
        close(getattr(h, ours), exp[theirs], f"{name} {ours}")
    close(h.ci_lb, exp["ci_lb"], f"{name} ci_lb", rtol=1e-7)
    close(h.ci_ub, exp["ci_ub"], f"{name} ci_ub", rtol=1e-7)
    assert "HC" in h.summary()


def test_hc_rejects_meta_regression() -> None:
    d = fx()["yv"]["bcg"]
    with pytest.raises(EvidenceInputError, match="moderators"):
        hc(rma(d["yi"], d["vi"], mods=np.arange(13.0)))


BL = fx()["blup"]


@pytest.mark.parametrize("case", BL, ids=[f"{c['data']}-{c['method']}-{c['test']}" for c in BL])
def test_blup_ranef_match_metafor(case: dict[str, Any]) -> None:
    d = fx()["yv"][case["data"]]
    fit = rma(d["yi"], d["vi"], method=case["method"], test=case["test"], mods=case.get("mods"))
    b, r = blup(fit), ranef(fit)
    # τ² on the boundary: pedbone's 0 against metafor's ~1e-10 moves ranef's SE by ~6e-6
    # (its interval by 1.2e-5)
    atol = 2e-5 if 0 < fit.tau2 < 1e-8 or (fit.is_random and fit.tau2 == 0) else 1e-8
    for name, got in (("blup", b), ("ranef", r)):
        exp = case[name]
        close(got.pred, exp["pred"], f"{name} pred", rtol=1e-7, atol=atol)
        close(got.se, exp["se"], f"{name} se", rtol=1e-7, atol=atol)
        close(got.pi_lb, exp["pi_lb"], f"{name} pi_lb", rtol=1e-7, atol=atol)
        close(got.pi_ub, exp["pi_ub"], f"{name} pi_ub", rtol=1e-7, atol=atol)
    assert b.to_frame().height == fit.k


def test_ranef_rma_mv_matches_metafor() -> None:
    d = fx()["ranef_mv"]
    frame = pl.DataFrame({"yi": d["yi"], "district": d["district"], "school": d["school"]})
    res = rma_mv("yi", d["vi"], data=frame, random="~ 1 | district/school")
    got = ranef(res)
    for comp, exp in d["comp"].items():
        r = got[comp]
        order = {n: i for i, n in enumerate(r.slab)}
        idx = [order[n] for n in exp["names"]]
        close(r.pred[idx], exp["pred"], f"{comp} pred", rtol=2e-5, atol=1e-7)
        close(r.se[idx], exp["se"], f"{comp} se", rtol=2e-5, atol=1e-7)


PL = fx()["pl"]


@pytest.mark.parametrize("case", PL, ids=[f"{c['data']}-{c['method']}-{c['level']}" for c in PL])
def test_confint_pl_and_profile_match_metafor(case: dict[str, Any]) -> None:
    """confint(type="PL") and the profile log-likelihood: τ² from Fisher scoring (1e-12 here,
    1e-10 in the fixture) moves the bounds by ~1e-9; rtol 1e-6."""
    d = fx()["yv"][case["data"]]
    fit = rma(d["yi"], d["vi"], method=case["method"], level=case["level"])
    ci = fit.confint(type="PL")
    exp = case["random"]
    for row, iv, atol in zip(
        exp, (ci.tau2, ci.tau, ci.i2, ci.h2), (1e-8, 1e-5, 1e-6, 1e-8), strict=True
    ):
        # τ at the boundary: sqrt of metafor's ~1e-10 is ~1e-5 (pedbone's τ² there is 0)
        close([iv.estimate, iv.ci_lb, iv.ci_ub], row, f"{case['data']} PL", rtol=1e-6, atol=atol)
    assert ci.method == "profile likelihood"
    prof = profile(fit, tau2=case["grid"])
    close(prof.ll, case["ll"], "profile ll", rtol=1e-9)


def test_profile_errors_and_grid() -> None:
    d = fx()["yv"]["bcg"]
    with pytest.raises(EvidenceInputError, match="ML"):
        profile(rma(d["yi"], d["vi"], method="DL"))
    with pytest.raises(EvidenceInputError, match="type"):
        rma(d["yi"], d["vi"]).confint(type="Wald")
    prof = profile(rma(d["yi"], d["vi"]), steps=7)
    assert prof.tau2.shape == (7,)
    assert prof.ll.max() <= prof.ll_hat + 1e-12  # the estimate maximises the profile


PM = fx()["permutest"]


@pytest.mark.parametrize("case", PM, ids=[c["id"] for c in PM])
def test_exact_permutest_matches_metafor(case: dict[str, Any]) -> None:
    """Exact permutation p-values are counts over all permutations: equal to metafor's."""
    mods = case["mods"]
    fit = rma(case["yi"], case["vi"], mods=mods, method=case["method"], test=case["test"])
    pt = permutest(fit, exact=True)
    assert pt.exact
    close(pt.pval, case["pval"], f"{case['id']} pval", rtol=1e-12)
    close(pt.qm_pval, case["QMp"], f"{case['id']} QMp", rtol=1e-12)
    assert "exact" in pt.summary()


def test_random_permutest_is_seeded_and_sensible() -> None:
    d = fx()["yv"]["bcg"]
    fit = rma(d["yi"], d["vi"], mods=np.arange(13.0))
    a = permutest(fit, iter=60, seed=1)
    b = permutest(fit, iter=60, seed=1)
    assert not a.exact
    assert a.iterations == 60
    np.testing.assert_array_equal(a.pval, b.pval)
    assert 1 / 60 <= a.qm_pval <= 1  # the observed data are the first permutation
    with pytest.raises(EvidenceInputError, match="iter"):
        permutest(fit, iter=1)


@pytest.mark.parametrize("case", fx()["subset"]["cases"], ids=lambda c: c["method"])
def test_rma_subset_matches_metafor(case: dict[str, Any]) -> None:
    """rma(subset=) — the level "systematic" is absent from the second subset, so the factor
    gets one coefficient (as metafor builds the model matrix after subsetting)."""
    data = pl.DataFrame(fx()["subset"]["data"])
    data = data.with_columns((pl.col("alloc") == "random").alias("is_random"))
    f1 = rma("yi", "vi", data=data, subset="is_random", method=case["method"])
    exp = case["int"]
    close(
        [f1.estimate, f1.se, f1.tau2],
        [exp["beta"], exp["se"], exp["tau2"]],
        "subset int",
        rtol=1e-7,
        atol=1e-10,
    )
    assert f1.k == case["int"]["k"]
    assert "subset: 7 of 13 studies" in f1.notes
    keep = [a != "systematic" for a in data["alloc"].to_list()]
    f2 = rma("yi", "vi", data=data, mods="~ ablat + alloc", subset=keep, method=case["method"])
    close(f2.beta, case["mods"]["beta"], "subset mods beta", rtol=1e-7)
    close(f2.se_beta, case["mods"]["se"], "subset mods se", rtol=1e-7)
    close(f2.qm, case["mods"]["QM"], "subset QM", rtol=1e-7)
    assert f2.k == case["mods"]["k"]
    # indices and a mask give the same fit
    f3 = rma(
        "yi",
        "vi",
        data=data,
        mods="~ ablat + alloc",
        method=case["method"],
        subset=[i for i, kp in enumerate(keep) if kp],
    )
    assert f3.beta == pytest.approx(f2.beta, rel=1e-12)


def test_rma_subset_errors() -> None:
    with pytest.raises(EvidenceInputError, match="selects no study"):
        rma([0.1, 0.2], [0.01, 0.02], subset=[False, False])
    with pytest.raises(EvidenceInputError, match="indices"):
        rma([0.1, 0.2], [0.01, 0.02], subset=[5])


SM = fx()["selmodel"]


@pytest.mark.parametrize(
    "case", SM["cases"], ids=[f"{c['data']}-{len(c['steps'])}" for c in SM["cases"]]
)
def test_selmodel_stepfun_matches_metafor(case: dict[str, Any]) -> None:
    """selmodel(type="stepfun") refitted by ML: metafor's optim (BFGS, reltol ~1.5e-8) and
    numDeriv Hessian against pedbone's tighter optimum and finite differences — β at absolute
    1e-5, SE, τ² and δ at rtol 2e-4, LRT and logLik at 1e-6 (pedbone's logLik >= metafor's)."""
    d = SM["data"][case["data"]]
    s = selmodel(rma(d["yi"], d["vi"]), steps=case["steps"])
    close(s.beta, case["beta"], "beta", rtol=1e-4, atol=1e-5)
    close(s.se_beta, case["se"], "se", rtol=2e-4)
    close(s.tau2, case["tau2"], "tau2", rtol=2e-4, atol=1e-6)
    close(s.delta, case["delta"], "delta", rtol=2e-4)
    close(s.lrt, case["LRT"], "LRT", rtol=1e-5, atol=1e-6)
    close(s.lrt_pval, case["LRTp"], "LRTp", rtol=1e-5, atol=1e-6)
    assert s.ll >= case["ll"] - 1e-8
    assert "step-function selection" in s.summary()


def test_selmodel_errors() -> None:
    d = SM["data"]["sim"]
    with pytest.raises(EvidenceInputError, match="random-effects"):
        selmodel(rma(d["yi"], d["vi"], method="EE"))
    with pytest.raises(EvidenceInputError, match="increase"):
        selmodel(rma(d["yi"], d["vi"]), steps=(0.5, 0.1))
