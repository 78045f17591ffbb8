"""rma_mv, vcalc and robust against metafor 3.8 rma.mv / vcalc / robust and clubSandwich
(fixtures from fixtures/metafor_rma_mv_vcalc_robust.R).

Tolerances: the model matrices and V are metafor's, so coefficient-level numbers agree as
closely as the variance components do. metafor's nlminb stops at rel.tol 1e-12 (1e-10 where it
cannot reach that; recorded per case), which leaves its σ²/τ²/ρ about 1e-7 from the optimum;
pedbone maximises to a gradient below 1e-9. Variance components, coefficients, SEs and the
log-likelihood are compared at rtol 2e-5 (absolute 1e-7 near a zero boundary); vcalc at 1e-12;
robust (which uses the fitted model's numbers) at rtol 1e-5 with metafor's own fit rebuilt.
"""

from __future__ import annotations

import json
import math
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from pedbone.evidence import (
    ConvergenceError,
    EvidenceInputError,
    RMAMVResult,
    rma,
    rma_mv,
    robust,
    vcalc,
)

FIXTURES = Path(__file__).parent / "fixtures" / "metafor_rma_mv_vcalc_robust.json"
RTOL = 2e-5
ATOL = 1e-7


@cache
def fx() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURES.read_text(encoding="utf-8"))
    return data


def close(a: Any, e: Any, what: str, rtol: float = RTOL, atol: float = ATOL) -> None:
    a_arr = np.atleast_1d(np.asarray(a, dtype=np.float64))
    e_arr = np.atleast_1d(np.asarray(e, dtype=np.float64))
    assert a_arr.shape == e_arr.shape, f"{what}: shape {a_arr.shape} != {e_arr.shape}"
    ok = np.isclose(a_arr, e_arr, rtol=rtol, atol=atol) | (np.isnan(a_arr) & np.isnan(e_arr))
    assert ok.all(), f"{what}: {a_arr} != metafor {e_arr}"


def fit_from_case(case: dict[str, Any]) -> RMAMVResult:
    args = case["args"]
    X = np.asarray(case["X"], dtype=np.float64)
    names = case["coef_names"]
    names = [names] if isinstance(names, str) else names
    has_int = names[0] == "intrcpt"
    groups = {g: v for g, v in case["groups"].items() if isinstance(v, list)}
    frame = pl.DataFrame({"yi": case["yi"], **{g: [str(x) for x in v] for g, v in groups.items()}})
    mods: Any = X[:, 1:] if has_int else X
    if mods.shape[1] == 0:
        mods = None
    sigma2 = args.get("sigma2")
    if sigma2 is not None:
        sigma2 = [None if (isinstance(s, list) and not s) else s for s in sigma2]
    return rma_mv(
        "yi",
        np.asarray(case["V"], dtype=np.float64),
        data=frame,
        mods=mods,
        intercept=has_int,
        random=args["random"],
        struct=args.get("struct", "CS"),
        method=args["method"],
        test=args["test"],
        sigma2=sigma2,
    )


MV = fx()["mv"]


@pytest.mark.parametrize("case", MV, ids=[c["id"] for c in MV])
def test_rma_mv_matches_metafor(case: dict[str, Any]) -> None:
    res = fit_from_case(case)
    exp = case["result"]
    cid = case["id"]
    close(res.beta, exp["beta"], f"{cid} beta")
    close(res.se_beta, exp["se"], f"{cid} se")
    close(res.zval_beta, exp["zval"], f"{cid} zval")
    close(res.pval_beta, exp["pval"], f"{cid} pval", rtol=1e-4, atol=1e-9)
    close(res.ci_lb_beta, exp["ci_lb"], f"{cid} ci_lb")
    close(res.ci_ub_beta, exp["ci_ub"], f"{cid} ci_ub")
    if res.sigma2:
        close(res.sigma2, exp["sigma2"], f"{cid} sigma2")
    if res.g_names is not None:
        close(res.tau2, exp["tau2"], f"{cid} tau2")
        if res.rho:
            close(res.rho, exp["rho"], f"{cid} rho")
    close(res.q, exp["QE"], f"{cid} QE", rtol=1e-10)
    close(res.qm, exp["QM"], f"{cid} QM")
    close(res.qm_pval, exp["QMp"], f"{cid} QMp", rtol=1e-4, atol=1e-12)
    for m in ("ML", "REML"):
        for stat in ("ll", "dev", "AIC", "BIC", "AICc"):
            close(res.fitstats()[m][stat], exp[f"{stat}_{m}"], f"{cid} {stat} {m}", atol=1e-6)
    if exp["I2"] is not None and not (isinstance(exp["I2"], float) and math.isnan(exp["I2"])):
        i2 = res.i2()
        close(
            [*(i2[n] for n in res.s_names), i2["total"]], exp["I2"], f"{cid} I2", atol=1e-4
        )  # percent: 1e-4 % = 1e-6 on the proportion (σ² near 0 differs by ~1e-8)
    if res.g_names is None or len(res.tau2) == 1:
        pr = res.predict()
        close(pr.pred[0], exp["pred"], f"{cid} pred")
        close(pr.pi_lb[0], exp["pi_lb"], f"{cid} pi_lb")
        close(pr.pi_ub[0], exp["pi_ub"], f"{cid} pi_ub")


def test_rma_mv_likelihood_is_at_least_metafors() -> None:
    """pedbone's optimum is never below metafor's (it is the same model, maximised harder)."""
    for case in MV:
        res = fit_from_case(case)
        exp = case["result"][f"ll_{case['args']['method']}"]
        assert res.ll >= exp - 1e-9, case["id"]


def test_konstantopoulos_published_values() -> None:
    """Konstantopoulos 2011 three-level model as metafor's documentation prints it:
    σ²₁ = 0.0651, σ²₂ = 0.0327, estimate 0.1847 (SE 0.0846)."""
    case = next(c for c in MV if c["id"] == "konstantopoulos-REML")
    res = fit_from_case(case)
    assert round(res.sigma2[0], 4) == 0.0651
    assert round(res.sigma2[1], 4) == 0.0327
    assert round(res.estimate, 4) == 0.1847
    assert round(res.se, 4) == 0.0846
    assert "Multivariate Meta-Analysis Model (k = 56; method: REML)" in res.summary()


def test_sim_cases_use_vcalc_v() -> None:
    """The random cases' V was built by metafor's vcalc(vi, study, obs = esid, rho)."""
    for case in (c for c in MV if c["id"].startswith("sim")):
        g = case["groups"]
        V = vcalc(case["args"]["vi"], g["study"], obs=g["esid"], rho=case["args"]["vcalc_rho"])
        close(V, case["V"], case["id"], rtol=1e-12, atol=1e-15)


VC = fx()["vcalc"]


@pytest.mark.parametrize("name", list(VC["cases"]))
def test_vcalc_matches_metafor(name: str) -> None:
    case = VC["cases"][name]
    data = pl.DataFrame(VC["data"])
    kw: dict[str, Any] = {}
    if "obs" in name:
        kw["obs"] = "obs"
    if "type" in name:
        kw["type"] = "type"
    if "time" in name:
        kw["time1"] = "time"
    rho = case["args"].get("rho")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        V = vcalc("vi", "study", data=data, rho=rho, phi=case["args"].get("phi"), **kw)
    close(V, case["V"], name, rtol=1e-12, atol=1e-15)


def test_vcalc_hand_computed() -> None:
    # two estimates of one study, rho 0.5: cov = 0.5·sqrt(0.04·0.09) = 0.5·0.06 = 0.03
    V = vcalc([0.04, 0.09, 0.01], [1, 1, 2], obs=[1, 2, 1], rho=0.5)
    assert V[0, 1] == pytest.approx(0.03, abs=1e-15)
    assert V[0, 2] == 0.0
    assert np.allclose(np.diag(V), [0.04, 0.09, 0.01])


def test_vcalc_errors() -> None:
    with pytest.raises(EvidenceInputError, match="rho"):
        vcalc([0.1, 0.2], [1, 1], obs=[1, 2])
    with pytest.raises(EvidenceInputError, match="phi"):
        vcalc([0.1, 0.2], [1, 1], time1=[1, 2])
    with pytest.raises(EvidenceInputError, match="values"):
        vcalc([0.1, 0.2], [1, 1, 2])
    with pytest.warns(UserWarning, match="not positive definite"):
        vcalc([0.1, 0.2], [1, 1], type=["a", "a"], rho=0.3)


def test_rma_mv_input_errors() -> None:
    frame = pl.DataFrame({"yi": [0.1, 0.2, 0.3], "s": ["a", "a", "b"]})
    with pytest.raises(EvidenceInputError, match="V="):
        rma_mv("yi", data=frame, random="~ 1 | s")
    with pytest.raises(EvidenceInputError, match="column 'nope'"):
        rma_mv("yi", [0.1, 0.1, 0.1], data=frame, random="~ 1 | nope")
    with pytest.raises(EvidenceInputError, match="write it as"):
        rma_mv("yi", [0.1, 0.1, 0.1], data=frame, random="1 | s")
    with pytest.raises(EvidenceInputError, match="struct"):
        rma_mv("yi", [0.1, 0.1, 0.1], data=frame, random="~ s | s", struct="AR")
    with pytest.raises(EvidenceInputError, match="method"):
        rma_mv("yi", [0.1, 0.1, 0.1], data=frame, random="~ 1 | s", method="DL")
    with pytest.raises(EvidenceInputError, match="positive"):
        rma_mv("yi", [0.1, 0.0, 0.1], data=frame, random="~ 1 | s")
    with pytest.raises(EvidenceInputError, match="positive definite"):
        rma_mv("yi", np.ones((3, 3)), data=frame, random="~ 1 | s")
    assert issubclass(ConvergenceError, RuntimeError)


def test_rma_mv_omits_missing_rows_with_note() -> None:
    case = next(c for c in MV if c["id"] == "konstantopoulos-REML")
    g = case["groups"]
    y = list(case["yi"])
    y[0] = float("nan")
    frame = pl.DataFrame({"yi": y, "district": g["district"], "school": g["school"]})
    res = rma_mv(
        "yi", np.diag(np.asarray(case["V"]))[:], data=frame, random="~ 1 | district/school"
    )
    assert res.k == 55
    assert "1 rows omitted" in res.notes[0]


def test_rma_mv_without_random_is_equal_effects_gls() -> None:
    # hand check: with V diagonal and no random effects, rma_mv is rma(method="EE")
    y, v = [0.1, 0.5, 0.3, -0.2], [0.04, 0.09, 0.02, 0.05]
    a = rma_mv(y, v)
    b = rma(y, v, method="EE")
    assert a.estimate == pytest.approx(b.estimate, rel=1e-12)
    assert a.se == pytest.approx(b.se, rel=1e-12)
    assert a.q == pytest.approx(b.q, rel=1e-12)


def test_rma_mv_single_level_equals_rma_reml() -> None:
    y = [0.1, 0.5, 0.3, -0.2, 0.8, 0.4]
    v = [0.04, 0.09, 0.02, 0.05, 0.03, 0.06]
    frame = pl.DataFrame({"yi": y, "id": [str(i) for i in range(6)]})
    a = rma_mv("yi", v, data=frame, random="~ 1 | id")
    b = rma(y, v, method="REML")
    assert a.sigma2[0] == pytest.approx(b.tau2, rel=1e-6)
    assert a.estimate == pytest.approx(b.estimate, rel=1e-7)


RB = fx()["robust"]


def _robust_fit(case: dict[str, Any]) -> Any:
    X = np.asarray(case["X"], dtype=np.float64)
    y = np.asarray(case["yi"], dtype=np.float64)
    if case["model"] == "rma.uni":
        mods = X[:, 1:] if X.shape[1] > 1 else None
        return rma(
            y, case["V"], mods=mods, method=case["args"]["method"], control={"threshold": 1e-13}
        )
    g = case["groups"]
    frame = pl.DataFrame({"yi": y, "study": g["study"], "esid": g["esid"]})
    return rma_mv(
        "yi",
        np.asarray(case["V"], dtype=np.float64),
        data=frame,
        mods=X[:, 1:] if X.shape[1] > 1 else None,
        random="~ 1 | study/esid",
        method=case["args"]["method"],
    )


@pytest.mark.parametrize("case", RB, ids=[c["id"] for c in RB])
def test_robust_matches_metafor_and_clubsandwich(case: dict[str, Any]) -> None:
    fit = _robust_fit(case)
    if case["model"] == "rma.uni":
        close(fit.tau2, case["fit"]["tau2"], "tau2", rtol=1e-6, atol=1e-10)
    r = robust(fit, case["cluster"], clubSandwich=case["clubSandwich"])
    exp = case["result"]
    cid = case["id"]
    close(r.beta, exp["beta"], f"{cid} beta")
    close(r.se_beta, exp["se"], f"{cid} se")
    close(r.tval_beta, exp["zval"], f"{cid} t")
    dfs = np.broadcast_to(np.asarray(exp["dfs"], dtype=np.float64), r.df_beta.shape)
    close(r.df_beta, dfs, f"{cid} df")  # metafor's CR1 has one df (n - p) for all
    close(r.pval_beta, exp["pval"], f"{cid} p", rtol=1e-4, atol=1e-10)
    close(r.ci_lb_beta, exp["ci_lb"], f"{cid} ci_lb")
    close(r.ci_ub_beta, exp["ci_ub"], f"{cid} ci_ub")
    close(r.vb, exp["vb"], f"{cid} vb")
    close(r.qm, exp["QM"], f"{cid} QM")
    close(r.qm_df, exp["QMdf"], f"{cid} QMdf")
    close(r.qm_pval, exp["QMp"], f"{cid} QMp", rtol=1e-4, atol=1e-10)
    assert r.n_clusters == exp["n"]
    if case["clubSandwich"]:
        close(r.vb, exp["cs_vcov"], f"{cid} clubSandwich vcovCR")
        close(r.df_beta, exp["cs_df"], f"{cid} clubSandwich df")
        if "cs_F" in exp:
            close(r.qm, exp["cs_F"], f"{cid} clubSandwich HTZ F")
            close(r.qm_df[1], exp["cs_df_denom"], f"{cid} clubSandwich HTZ df")


def test_robust_errors() -> None:
    case = next(c for c in RB if c["id"] == "konst-int-TRUE")
    fit = _robust_fit(case)
    with pytest.raises(EvidenceInputError, match="fitted estimates"):
        robust(fit, ["a", "b"])
    with pytest.raises(EvidenceInputError, match="not nested"):
        robust(fit, [str(i % 3) for i in range(fit.k)], clubSandwich=True)
    with pytest.raises(EvidenceInputError, match="random-effects factor"):
        robust(fit, "nope")
    r = robust(fit, "study", clubSandwich=True)
    close(r.se, case["result"]["se"], "cluster by factor name")
    assert "CR2" in r.summary()


def test_berkey_with_a_formula_as_a_reviewer_writes_it() -> None:
    """``mods="~ outcome - 1"`` (one coefficient per outcome) gives metafor's Berkey fit."""
    case = next(c for c in MV if c["id"] == "berkey-UN-REML")
    g = case["groups"]
    frame = pl.DataFrame({"yi": case["yi"], "trial": g["trial"], "outcome": g["outcome"]})
    res = rma_mv(
        "yi",
        np.asarray(case["V"]),
        data=frame,
        mods="~ outcome - 1",
        random="~ outcome | trial",
        struct="UN",
    )
    assert res.coef_names == ("outcomeAL", "outcomePD")
    close(res.beta, case["result"]["beta"], "beta")
    close(res.tau2, case["result"]["tau2"], "tau2")
    close(res.rho, case["result"]["rho"], "rho")
    assert "struct = UN" in res.summary()
