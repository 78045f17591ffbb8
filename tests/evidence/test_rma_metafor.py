"""rma, confint, predict and subgroups equal R metafor 3.8 to 1e-6.

Reference values: tests/evidence/fixtures/metafor_escalc_rma.json, written by metafor_escalc_rma.R
(metafor itself) beside it; the input data are in the JSON.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from pedbone.evidence import (
    EvidenceInputError,
    rma,
    subgroups,
    transf_exp,
    transf_iarcsin,
    transf_ilogit,
    transf_ipft,
    transf_ipft_hm,
    transf_pft,
)

from ._metafor import escalc_rma

RTOL = 1e-6
ATOL = 1e-8  # absolute, for values near 0 (tau² at the boundary, p-values, I²)


def _cases(kind: str) -> list[dict[str, Any]]:
    return list(escalc_rma()[kind])


def close(got: Any, want: Any, what: str, atol: float = ATOL) -> None:
    """Compare to metafor; JSON null (metafor NA) must be NaN/None here too."""
    w = np.atleast_1d(np.asarray(want, dtype=object))
    g = np.atleast_1d(np.asarray(got, dtype=np.float64))
    wf = np.array([math.nan if x is None else float(x) for x in w], dtype=np.float64)
    if want is None:  # metafor NA for a whole vector (e.g. no PI in equal-effects models)
        wf = np.full(g.shape, math.nan)
    np.testing.assert_allclose(g, wf, rtol=RTOL, atol=atol, err_msg=what, equal_nan=True)


def _fit(case: dict[str, Any]) -> Any:
    src = escalc_rma()["yv"][case["src"]]
    return rma(
        src["yi"],
        src["vi"],
        method=case["method"],
        test=case["test"],
        level=case["level"],
        mods=None if case.get("mods") is None else np.asarray(case["mods"], dtype=float),
        btt=case.get("btt"),
        tau2=case.get("tau2"),
    )


RMA_CASES = _cases("rma")


@pytest.mark.parametrize("case", RMA_CASES, ids=[c["id"] for c in RMA_CASES])
def test_rma_equals_metafor(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises((EvidenceInputError, RuntimeError)):
            _fit(case)
        return
    res = _fit(case)
    out = case["out"]
    close(res.beta, out["b"], "b")
    close(res.se_beta, out["se"], "se")
    close(res.zval_beta, out["zval"], "zval")
    close(res.pval_beta, out["pval"], "pval")
    close(res.ci_lb_beta, out["ci_lb"], "ci.lb")
    close(res.ci_ub_beta, out["ci_ub"], "ci.ub")
    close(res.tau2, out["tau2"], "tau2")
    if res.is_random and case.get("tau2") is None:  # a fixed tau² has no SE here
        close(res.se_tau2, out["se_tau2"], "se.tau2")
    close(res.q, out["QE"], "QE")
    close(res.q_pval, out["QEp"], "QEp")
    close(res.qm, out["QM"], "QM")
    close(res.qm_pval, out["QMp"], "QMp")
    close(res.i2, out["I2"], "I2", atol=1e-6)
    close(res.h2, out["H2"], "H2")
    close(res.s2w, out["s2w"], "s2w")
    close(res.ll, out["ll"], "logLik")
    close(res.r2, out["R2"], "R2", atol=1e-5)
    assert res.k == out["k"]
    assert res.p == out["p"]
    if "fitstats" in case:
        fs = res.fitstats()
        for est in ("ML", "REML"):
            got = [fs[est][key] for key in ("ll", "dev", "AIC", "BIC", "AICc")]
            close(got, case["fitstats"][est], f"fitstats {est}", atol=1e-6)
    if "predict" in case:
        newmods = case.get("newmods")
        pr = res.predict(None if newmods is None else np.asarray(newmods, dtype=float))
        for key in ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
            close(getattr(pr, key), case["predict"][key], f"predict {key}")
        if newmods is None:
            close(res.pi_lb, case["predict"]["pi_lb"], "pi_lb attribute")
            close(res.pi_ub, case["predict"]["pi_ub"], "pi_ub attribute")
    if "predict_transf" in case:
        transf = {
            "exp": transf_exp,
            "ilogit": transf_ilogit,
            "ipft.hm": transf_ipft_hm(case.get("transf_ni") or [1.0]),
        }[case["transf"]]
        pt = res.predict(transf=transf)
        for key in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
            close(getattr(pt, key), case["predict_transf"][key], f"predict(transf) {key}")
    if "confint" in case:
        ci = res.confint()
        for key, attr in (("tau2", "tau2"), ("tau", "tau"), ("I2", "i2"), ("H2", "h2")):
            iv = getattr(ci, attr)
            close([iv.estimate, iv.ci_lb, iv.ci_ub], case["confint"][key], f"confint {key}", 1e-6)


SUB_CASES = _cases("subgroups")


@pytest.mark.parametrize("case", SUB_CASES, ids=[c["id"] for c in SUB_CASES])
def test_subgroups_equal_metafor(case: dict[str, Any]) -> None:
    sg = subgroups(
        case["yi"], case["vi"], subgroup=case["group"], method=case["method"], test=case["test"]
    )
    assert list(sg.fits) == case["levels"]
    for fit, want in zip(sg.fits.values(), case["fits"], strict=True):
        close(fit.beta, want["b"], "b")
        close(fit.se_beta, want["se"], "se")
        close(fit.tau2, want["tau2"], "tau2")
        close(fit.q, want["QE"], "QE")
    close(sg.q_between, case["Q"], "Q between")
    assert sg.df == case["Qdf"]
    close(sg.pval, case["Qp"], "Q between p")
    assert sg.overall is not None
    assert sg.to_frame().height == len(case["levels"])


def test_transformations_equal_metafor() -> None:
    tr = escalc_rma()["transf"]
    close(transf_ilogit(tr["x"]), tr["ilogit"], "ilogit")
    close(transf_iarcsin(tr["x"]), tr["iarcsin"], "iarcsin")
    close(transf_ipft(tr["ni"])(tr["x"]), tr["ipft"], "ipft")
    close(transf_ipft_hm(tr["ni"])(tr["x"]), tr["ipft_hm"], "ipft.hm")
    close(transf_pft([0, 0.1, 0.5, 0.9, 1, 0.25, 0.75], tr["ni"]), tr["pft"], "pft")


def test_fixture_covers_every_method_test_and_dataset() -> None:
    ids = {c["id"] for c in RMA_CASES}
    for method in ("EE", "FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"):
        for test in ("z", "knha", "adhoc", "t"):
            assert f"bcg_RR_{method}_{test}" in ids
            assert f"sim400_{method}_{test}" in ids
    assert len(RMA_CASES) >= 500
    assert sum("error" in c for c in RMA_CASES) == 0


PI_CASES = _cases("pi_types")


@pytest.mark.parametrize("case", PI_CASES, ids=[c["id"] for c in PI_CASES])
def test_prediction_interval_types_equal_metafor(case: dict[str, Any]) -> None:
    src = escalc_rma()["yv"]["bcg_RR"]
    newmods = case.get("newmods")
    mods = None if newmods is None else np.asarray(escalc_rma()["datasets"]["bcg"]["ablat"], float)
    res = rma(src["yi"], src["vi"], method=case["method"], test=case["test"], mods=mods)
    pr = res.predict(newmods, pi_type=case["pi_type"])
    close(pr.pi_lb, case["pi_lb"], "pi.lb")
    close(pr.pi_ub, case["pi_ub"], "pi.ub")


CI_CASES = _cases("confint_levels")


@pytest.mark.parametrize("case", CI_CASES, ids=[c["id"] for c in CI_CASES])
def test_confint_at_another_level_equals_metafor(case: dict[str, Any]) -> None:
    src = escalc_rma()["yv"]["bcg_RR"]
    res = rma(src["yi"], src["vi"], method=case["method"], test=case["test"])
    ci = res.confint(level=case["level"])
    fx = ci.fixed["intrcpt"]
    close([fx.estimate, fx.ci_lb, fx.ci_ub], case["fixed"], "fixed")
    for key, attr in (("tau2", "tau2"), ("tau", "tau"), ("I2", "i2"), ("H2", "h2")):
        iv = getattr(ci, attr)
        close([iv.estimate, iv.ci_lb, iv.ci_ub], case[key], f"confint {key}", 1e-6)
