"""The escalc measures and rma_mh rate measures added in issue 13, against metafor 3.8
(fixtures from fixtures/metafor_measures_glmm_tools.R). Closed-form formulas: rtol 1e-10."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from pedbone.evidence import EvidenceInputError, escalc, rma_glmm, rma_mh

FIXTURES = Path(__file__).parent / "fixtures" / "metafor_measures_glmm_tools.json"


@cache
def fx() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURES.read_text(encoding="utf-8"))
    return data


def close(a: Any, e: Any, what: str, rtol: float = 1e-10, atol: float = 1e-13) -> None:
    a_arr = np.atleast_1d(np.asarray(a, dtype=np.float64))
    e_arr = np.atleast_1d(
        np.asarray([math.nan if x is None else x for x in np.atleast_1d(e)], dtype=np.float64)
    )
    assert a_arr.shape == e_arr.shape, f"{what}: shape {a_arr.shape} != {e_arr.shape}"
    ok = np.isclose(a_arr, e_arr, rtol=rtol, atol=atol) | (np.isnan(a_arr) & np.isnan(e_arr))
    assert ok.all(), f"{what}: {a_arr} != metafor {e_arr}"


def frame(name: str) -> pl.DataFrame:
    return pl.DataFrame(fx()["datasets"][name])


ESC = fx()["escalc"]


@pytest.mark.parametrize("case", ESC, ids=[c["id"] for c in ESC])
def test_escalc_new_measures_match_metafor(case: dict[str, Any]) -> None:
    opts = case["opts"] or {}
    es = escalc(case["measure"], data=frame(case["dataset"]), **case["args"], **opts)
    close(es.yi, case["yi"], f"{case['id']} yi")
    close(es.vi, case["vi"], f"{case['id']} vi")


def test_irr_hand_computed() -> None:
    # log((10/500)/(14/520)) = log(0.02/0.0269231) = -0.297252; vi = 1/10 + 1/14 = 0.171429
    es = escalc("IRR", x1i=[10], t1i=[500], x2i=[14], t2i=[520])
    assert es.yi[0] == pytest.approx(math.log((10 / 500) / (14 / 520)), rel=1e-14)
    assert es.vi[0] == pytest.approx(1 / 10 + 1 / 14, rel=1e-14)


def test_zcor_hand_computed() -> None:
    # atanh(0.5) = 0.549306; vi = 1/(28 - 3) = 0.04
    es = escalc("ZCOR", ri=[0.5], ni=[28])
    assert es.yi[0] == pytest.approx(0.5493061443340549, rel=1e-14)
    assert es.vi[0] == pytest.approx(0.04, rel=1e-14)


def test_new_measure_errors() -> None:
    with pytest.raises(EvidenceInputError, match="t1i"):
        escalc("IRR", x1i=[1], x2i=[2], t2i=[10])
    with pytest.raises(EvidenceInputError, match="person-time"):
        escalc("IRD", x1i=[1], x2i=[2], t1i=[0], t2i=[10])
    with pytest.raises(EvidenceInputError, match="outside"):
        escalc("COR", ri=[1.2], ni=[20])
    with pytest.raises(EvidenceInputError, match="UB"):
        escalc("COR", ri=[0.2], ni=[20], vtype="UB")
    with pytest.raises(EvidenceInputError, match="sdi"):
        escalc("MN", mi=[1.0], ni=[10])


MH = fx()["mh"]


@pytest.mark.parametrize("case", MH, ids=[c["id"] for c in MH])
def test_rma_mh_rates_match_metafor(case: dict[str, Any]) -> None:
    d = fx()["datasets"][case["dataset"]]
    opts = case["opts"] or {}
    res = rma_mh(
        measure=case["measure"], x1i=d["x1i"], x2i=d["x2i"], t1i=d["t1i"], t2i=d["t2i"], **opts
    )
    exp = case["result"]
    for ours, theirs in (
        ("estimate", "beta"),
        ("se", "se"),
        ("zval", "zval"),
        ("pval", "pval"),
        ("ci_lb", "ci_lb"),
        ("ci_ub", "ci_ub"),
        ("q", "QE"),
        ("q_pval", "QEp"),
        ("i2", "I2"),
        ("h2", "H2"),
    ):
        close(getattr(res, ours), exp[theirs], f"{case['id']} {ours}")
    if case["measure"] == "IRR":
        close(res.cmh, exp["MH"], f"{case['id']} MH")
        close(res.cmh_pval, exp["MHp"], f"{case['id']} MHp")
    assert res.k_yi == exp["k_yi"]
    w = [x for x in res.weights() if not np.isnan(x)]
    close(w, exp["weights"], f"{case['id']} weights")


GLMM = fx()["glmm"]


@pytest.mark.parametrize("case", GLMM, ids=[c["id"] for c in GLMM])
def test_rma_glmm_matches_metafor(case: dict[str, Any]) -> None:
    """rma.glmm (lme4 glmer, nAGQ = 7 unless stated) against pedbone's own adaptive
    Gauss-Hermite likelihood. The fixtures run glmer with bobyqa (rhoend 1e-12); lme4's
    Hessian is a finite difference, so: β at rtol 2e-5, SE and τ² at rtol 1e-4 (absolute 1e-5
    for τ² on the boundary 0)."""
    opts = dict(case["opts"] or {})
    if "nAGQ" in opts:
        opts["nAGQ"] = int(opts["nAGQ"])
    mods = case["mods"]
    res = rma_glmm(
        case["measure"],
        **dict(case["counts"]),
        mods=None if mods is None else mods,
        **opts,
    )
    exp = case["result"]
    cid = case["id"]
    close(res.beta, exp["beta"], f"{cid} beta", rtol=2e-5, atol=1e-6)
    close(res.se_beta, exp["se"], f"{cid} se", rtol=1e-4, atol=1e-6)
    close(res.ci_lb_beta, exp["ci_lb"], f"{cid} ci_lb", rtol=1e-4, atol=1e-5)
    close(res.ci_ub_beta, exp["ci_ub"], f"{cid} ci_ub", rtol=1e-4, atol=1e-5)
    close(res.tau2, exp["tau2"], f"{cid} tau2", rtol=1e-4, atol=1e-5)
    assert res.k == exp["k"]


def test_rma_glmm_zero_events_need_no_correction() -> None:
    # a case series with no events at all in two studies still fits (exact binomial likelihood)
    res = rma_glmm("PLO", xi=[0, 0, 1, 2, 0, 3], ni=[12, 20, 15, 30, 8, 40])
    assert math.isfinite(res.estimate)
    assert res.estimate < -2.5
    assert "binomial-normal" in res.summary()


def test_rma_glmm_errors() -> None:
    with pytest.raises(EvidenceInputError, match="PLO"):
        rma_glmm("RR", ai=[1], bi=[2], ci=[1], di=[2])
    with pytest.raises(EvidenceInputError, match=r"UM\.RS"):
        rma_glmm("OR", ai=[1], bi=[2], ci=[1], di=[2], model="UM.RS")
    with pytest.raises(EvidenceInputError, match="events <= n"):
        rma_glmm("PLO", xi=[5, 2], ni=[3, 10])
