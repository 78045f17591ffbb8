"""Moderators as formulas and influence of meta-regressions against metafor 3.8.

Fixture: fixtures/metafor_mods_formulas_influence.json (written by the R script of the same
name): dat.bcg log risk ratios with ``factor()``, interactions, ``I()``, ``log()``, no-intercept
models, a numeric column as a factor, and missing moderator values (text and numeric).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from pedbone.evidence import EvidenceInputError, influence, rma

from ._metafor import assert_close, load

FX = load("metafor_mods_formulas_influence")
CTRL = {"threshold": 1e-12}


def _frame(name: str) -> pl.DataFrame:
    d = FX["data"][name]
    return pl.DataFrame(
        {
            "yi": d["yi"],
            "vi": d["vi"],
            "ablat": pl.Series(d["ablat"], dtype=pl.Float64),
            "year": d["year"],
            "alloc": pl.Series(d["alloc"], dtype=pl.String),
            "era": d["era"],
            "slab": d["slab"],
        }
    )


def _fit(case: dict[str, Any]) -> Any:
    return rma(
        "yi",
        "vi",
        data=_frame(case["data"]),
        mods=case["mods_py"],
        method=case["method"],
        test=case["test"],
        slab="slab",
        control=CTRL,
    )


@pytest.mark.parametrize("case", FX["rma"], ids=[c["id"] for c in FX["rma"]])
def test_formula_fits_equal_metafor(case: dict[str, Any]) -> None:
    res = _fit(case)
    want = case["fit"]
    assert list(res.coef_names) == want["coef_names"]
    assert res.k == want["k"]
    for ours, theirs in (
        (res.beta, "beta"),
        (res.se_beta, "se"),
        (res.pval_beta, "pval"),
        (res.ci_lb_beta, "ci_lb"),
        (res.ci_ub_beta, "ci_ub"),
    ):
        assert_close(list(ours), want[theirs], f"{case['id']} {theirs}", atol=1e-8)
    for ours_s, theirs in ((res.tau2, "tau2"), (res.q, "QE"), (res.qm, "QM"), (res.qm_pval, "QMp")):
        assert_close(ours_s, want[theirs], f"{case['id']} {theirs}", atol=1e-8)
    if case["method"] != "FE":
        assert_close(res.i2, want["I2"], f"{case['id']} I2", atol=1e-6)
    assert [b + 1 for b in res.btt] == (
        want["btt"] if isinstance(want["btt"], list) else [want["btt"]]
    )
    omitted = [
        s for s, ok in zip(FX["data"][case["data"]]["slab"], want["not_na"], strict=True) if not ok
    ]
    if omitted:
        note = next(n for n in res.notes if "missing moderator values" in n)
        assert all(s in note for s in omitted)
    else:
        assert not any("omitted" in n for n in res.notes)


def test_no_intercept_factor_model_has_one_coefficient_per_level() -> None:
    # issue 13: rma(mods=["alloc"], intercept=False) dropped a level (QM 15.66, not 15.98)
    res = rma("yi", "vi", data=_frame("bcg"), mods=["alloc"], intercept=False, control=CTRL)
    assert res.coef_names == ("allocalternate", "allocrandom", "allocsystematic")
    assert res.qm == pytest.approx(15.9841274205512, rel=1e-6)  # metafor: ~ 0 + alloc, REML
    assert res.qm_df == (3,)


def test_missing_text_and_numeric_moderators_are_omitted_with_a_note() -> None:
    res = rma("yi", "vi", data=_frame("bcg_na"), mods="~ alloc + ablat", slab="slab")
    assert res.k == 11
    (note,) = [n for n in res.notes if "omitted" in n]
    assert "missing moderator values: ablat, alloc" in note
    slabs = FX["data"]["bcg_na"]["slab"]
    assert slabs[2] in note
    assert slabs[6] in note


def test_bad_formulas_are_refused_clearly() -> None:
    with pytest.raises(EvidenceInputError, match="'nope' not in data"):
        rma("yi", "vi", data=_frame("bcg"), mods="~ ablat + nope")
    with pytest.raises(EvidenceInputError, match=r"not a model formula|cannot build"):
        rma("yi", "vi", data=_frame("bcg"), mods="~ ablat +")
    with pytest.raises(EvidenceInputError, match="no data="):
        rma([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], mods="~ x")


INFL = FX["influence"]


@pytest.mark.parametrize("case", INFL, ids=[c["id"] for c in INFL])
def test_influence_of_meta_regression_equals_metafor(case: dict[str, Any]) -> None:
    res = rma(
        "yi",
        "vi",
        data=_frame("bcg"),
        mods=case["mods_py"],
        method=case["method"],
        test=case["test"],
        control=CTRL,
    )
    assert list(res.coef_names) == case["coef_names"]
    btt = case["btt"] if isinstance(case["btt"], list) else [case["btt"]]
    for label, inf in (
        ("default", influence(res)),
        ("with_btt", influence(res, btt=[b - 1 for b in btt])),
    ):
        want = case[label]
        for name, ours in (
            ("rstudent", inf.rstudent),
            ("dffits", inf.dffits),
            ("cook_d", inf.cook_d),
            ("cov_r", inf.cov_r),
            ("QE_del", inf.q_del),
            ("hat", inf.hat),
            ("weight", inf.weight),
        ):
            assert_close(list(ours), want[name], f"{case['id']} {label} {name}", rtol=1e-5)
        if case["method"] != "FE":
            assert_close(list(inf.tau2_del), want["tau2_del"], f"{label} tau2_del", rtol=1e-5)
        for j, col in enumerate(want["dfbs"]):
            assert_close(list(inf.dfbs[:, j]), col, f"{case['id']} {label} dfbs[{j}]", rtol=1e-5)
        assert list(inf.is_infl) == want["is_infl"], f"{case['id']} {label} is_infl"


def test_cooks_distance_uses_all_coefficients_by_default() -> None:
    # issue 13: BCG ~ ablat + year, study 1: metafor 0.0348 (all), 0.0265 with btt = 2:3
    res = rma("yi", "vi", data=_frame("bcg"), mods="~ ablat + year", control=CTRL)
    assert influence(res).cook_d[0] == pytest.approx(0.0347619334902523, rel=1e-5)
    assert influence(res, btt=[1, 2]).cook_d[0] == pytest.approx(0.0264582227605647, rel=1e-5)
    assert influence(res).btt == (0, 1, 2)
    with pytest.raises(EvidenceInputError, match="btt"):
        influence(res, btt=[3])


@pytest.mark.parametrize("data", ["bcg", "bcg_na"])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("cols", [["alloc"], ["alloc", "ablat"], ["ablat", "alloc"], ["year"]])
def test_column_lists_are_coded_as_the_formula(data: str, intercept: bool, cols: list[str]) -> None:
    # the fast path for plain columns (used by subgroups) must equal formulaic's "~ a + b"
    frame = _frame(data)
    fast = rma("yi", "vi", data=frame, mods=cols, intercept=intercept, control=CTRL)
    formula = "~ " + " + ".join(cols)
    slow = rma("yi", "vi", data=frame, mods=formula, intercept=intercept, control=CTRL)
    assert fast.coef_names == slow.coef_names
    np.testing.assert_allclose(fast.X, slow.X)
    np.testing.assert_allclose(fast.beta, slow.beta, rtol=1e-12)
    assert fast.k == slow.k
    assert fast.notes == slow.notes
