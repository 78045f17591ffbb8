"""escalc equals R metafor 3.8 for every measure, and hand-computed values / errors.

Reference values: tests/evidence/fixtures/metafor_escalc_rma.json, written by metafor_escalc_rma.R.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pedbone.evidence import MEASURES, EvidenceInputError, cmicalc, escalc, rma

from ._metafor import escalc_rma


def _frame(name: str) -> pl.DataFrame:
    return pl.DataFrame(escalc_rma()["datasets"][name], strict=False)


ESC_CASES: list[dict[str, Any]] = list(escalc_rma()["escalc"])


@pytest.mark.parametrize("case", ESC_CASES, ids=[c["id"] for c in ESC_CASES])
def test_escalc_equals_metafor_with_column_names(case: dict[str, Any]) -> None:
    data = _frame(case["data"])
    opts = case["opts"] or {}
    es = escalc(case["measure"], data=data, **case["args"], **opts)
    want_y = np.array([math.nan if v is None else v for v in case["yi"]], dtype=float)
    want_v = np.array([math.nan if v is None else v for v in case["vi"]], dtype=float)
    np.testing.assert_allclose(es.yi, want_y, rtol=1e-10, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(es.vi, want_v, rtol=1e-10, atol=1e-12, equal_nan=True)
    # the input columns are kept, yi and vi appended
    assert es.frame.columns[: data.width] == data.columns
    assert es.frame.columns[-2:] == ["yi", "vi"]


def test_fixture_covers_every_measure() -> None:
    covered = {c["measure"] for c in ESC_CASES}
    # the measures added in issue 13 are checked in test_escalc_more.py
    more = json.loads(
        (Path(__file__).parent / "fixtures" / "metafor_measures_glmm_tools.json").read_text()
    )
    covered |= {c["measure"] for c in more["escalc"]}
    assert covered == set(MEASURES) - {"GEN"}


def test_escalc_with_arrays_equals_columns() -> None:
    d = _frame("bcg")
    a = escalc("RR", ai=d["tpos"].to_list(), bi=d["tneg"], ci=d["cpos"], di=d["cneg"])
    b = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=d)
    np.testing.assert_array_equal(a.yi, b.yi)
    assert a.frame.columns == ["yi", "vi"]
    # n1i/n2i instead of bi/di give the same
    c = escalc(
        "RR",
        ai=d["tpos"],
        ci=d["cpos"],
        n1i=(d["tpos"] + d["tneg"]),
        n2i=(d["cpos"] + d["cneg"]),
    )
    np.testing.assert_allclose(c.vi, a.vi, rtol=1e-14)


def test_smd_hand_computed_exact_and_approx() -> None:
    # n1 = n2 = 10, means 1 and 0, SDs 1: pooled SD 1, d = 1, m = 18 df.
    # exact J = Γ(9)/(√9 Γ(8.5)) = 40320/(3 × 14034.4069...) = 0.957...; approx 1 - 3/71.
    j_exact = math.exp(math.lgamma(9) - math.log(3) - math.lgamma(8.5))
    j_approx = 1 - 3 / (4 * 18 - 1)
    kw: dict[str, Any] = {"m1i": [1.0], "m2i": [0.0], "sd1i": [1.0], "sd2i": [1.0]}
    ex = escalc("SMD", n1i=[10], n2i=[10], **kw)
    ap = escalc("SMD", n1i=[10], n2i=[10], correct="approx", **kw)
    assert ex.yi[0] == pytest.approx(j_exact, rel=1e-14)
    assert ap.yi[0] == pytest.approx(j_approx, rel=1e-14)
    assert abs(j_exact - j_approx) < 1e-3  # the two corrections agree to ~1e-4 here
    # LS variance 1/10 + 1/10 + g²/(2·20)
    assert ex.vi[0] == pytest.approx(0.2 + j_exact**2 / 40, rel=1e-14)
    assert cmicalc(np.array([1.0]))[0] != cmicalc(np.array([1.0]))[0]  # m <= 1: undefined
    none = escalc("SMD", n1i=[10], n2i=[10], correct="none", **kw)
    assert none.yi[0] == pytest.approx(1.0)


def test_smd_revman5_option_hand_computed() -> None:
    # RevMan 5: g = d (1 - 3/(4N - 9)), SE² = N/(n1 n2) + g²/(2 (N - 3.94)).
    # n1 = 12, n2 = 8, means 5 and 3, SDs 2 and 2 → d = 1, N = 20, g = 1 - 3/71 = 0.957746
    # SE² = 20/96 + 0.957746²/(2 × 16.06) = 0.208333 + 0.917277/32.12 = 0.236891
    es = escalc(
        "SMD",
        m1i=[5.0],
        m2i=[3.0],
        sd1i=[2.0],
        sd2i=[2.0],
        n1i=[12],
        n2i=[8],
        correct="approx",
        vtype="RM5",
    )
    g = 1 - 3 / 71
    assert es.yi[0] == pytest.approx(g, rel=1e-14)
    assert es.vi[0] == pytest.approx(20 / 96 + g**2 / (2 * 16.06), rel=1e-14)
    assert es.vi[0] == pytest.approx(0.236891, abs=1e-6)


@given(
    a=st.integers(0, 50),
    b=st.integers(0, 50),
    c=st.integers(0, 50),
    d=st.integers(0, 50),
    measure=st.sampled_from(["RR", "OR", "RD"]),
)
@settings(max_examples=60, deadline=None)
def test_swapping_the_arms_negates_the_effect(a: int, b: int, c: int, d: int, measure: str) -> None:
    if a + b == 0 or c + d == 0:
        return
    one = escalc(measure, ai=[a], bi=[b], ci=[c], di=[d])
    two = escalc(measure, ai=[c], bi=[d], ci=[a], di=[b])
    if math.isnan(one.yi[0]):
        assert math.isnan(two.yi[0])
        return
    assert two.yi[0] == pytest.approx(-one.yi[0], abs=1e-12)
    assert two.vi[0] == pytest.approx(one.vi[0], rel=1e-12)


def test_zero_cells_follow_metafor_rules() -> None:
    # ai=0, bi=10, ci=5, di=5: only0 adds 1/2 to every cell of this study:
    # log((0.5/11) / (5.5/11)) = log(1/11); vi = 1/0.5 - 1/11 + 1/5.5 - 1/11
    es = escalc("RR", ai=[0, 2], bi=[10, 8], ci=[5, 4], di=[5, 6])
    assert es.yi[0] == pytest.approx(math.log(1 / 11), rel=1e-14)
    assert es.vi[0] == pytest.approx(2 - 1 / 11 + 1 / 5.5 - 1 / 11, rel=1e-14)
    assert es.yi[1] == pytest.approx(math.log(0.2 / 0.4), rel=1e-14)  # untouched study
    # a double-zero study is NaN with drop00 and with to="none" (log 0); rma omits it, says so
    dz = escalc("OR", ai=[0, 2, 3], bi=[10, 8, 7], ci=[0, 4, 1], di=[10, 6, 9], drop00=True)
    assert math.isnan(dz.yi[0])
    fit = rma(dz, method="EE")
    assert fit.k == 2
    assert "omitted" in fit.notes[0]
    nz = escalc("OR", ai=[0], bi=[10], ci=[3], di=[7], to="none")
    assert math.isnan(nz.yi[0])


def test_generic_from_ci_on_log_scale() -> None:
    # OR 0.5 (0.25 to 1.0): log SE = (log 1 - log 0.25) / (2 × 1.959964) = 0.353653...
    es = escalc("GEN", yi=[0.5], ci_lb=[0.25], ci_ub=[1.0], log_scale=True)
    se = (math.log(1.0) - math.log(0.25)) / (2 * 1.959963984540054)
    assert es.yi[0] == pytest.approx(math.log(0.5), rel=1e-14)
    assert es.vi[0] == pytest.approx(se**2, rel=1e-12)
    es2 = escalc("GEN", yi=[0.2, 0.4], sei=[0.1, 0.2])
    np.testing.assert_allclose(es2.vi, [0.01, 0.04])


def test_summary_back_transforms_per_study() -> None:
    es = escalc("GEN", yi=[math.log(2.0)], sei=[0.1])
    s = es.summary(transf=np.exp)
    assert s["yi"][0] == pytest.approx(2.0)
    assert s["ci_lb"][0] == pytest.approx(2.0 * math.exp(-1.959963984540054 * 0.1))
    assert "vi" not in s.columns


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"measure": "XYZ"}, "unknown measure"),
        ({"measure": "SMD", "m1i": [1], "m2i": [0], "sd1i": [1], "n1i": [5], "n2i": [5]}, "sd2i"),
        (
            {
                "measure": "MD",
                "m1i": [1],
                "m2i": [0],
                "sd1i": [-1],
                "sd2i": [1],
                "n1i": [5],
                "n2i": [5],
            },
            "negative standard deviation",
        ),
        ({"measure": "RR", "ai": [5, 1], "bi": [-1, 3], "ci": [1, 1], "di": [1, 1]}, "row 1"),
        ({"measure": "PR", "xi": [5], "ni": [3]}, "larger than the sample size"),
        (
            {"measure": "RR", "ai": [1, 2], "bi": [1], "ci": [1, 2], "di": [1, 2]},
            "different lengths",
        ),
        ({"measure": "RR", "ai": "a", "bi": [1], "ci": [1], "di": [1]}, "no data="),
        (
            {"measure": "SMCR", "m1i": [1], "m2i": [0], "sd1i": [1], "ni": [10], "ri": [1.5]},
            "correlation",
        ),
        ({"measure": "GEN", "yi": [1.0]}, "needs vi, sei"),
    ],
)
def test_bad_input_gets_a_clear_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(EvidenceInputError, match=message):
        escalc(**kwargs)


def test_unknown_column_names_the_column() -> None:
    with pytest.raises(EvidenceInputError, match="'nope' not in data"):
        escalc("PR", xi="nope", ni="ni", data=_frame("pritz1997"))


def test_missing_values_keep_the_row_and_are_omitted_by_rma() -> None:
    data = pl.DataFrame(
        {"study": ["A", "B", "C"], "x": [2, None, 5], "n": [20, 30, 25]},
        schema={"study": pl.String, "x": pl.Int64, "n": pl.Int64},
    )
    es = escalc("PLO", xi="x", ni="n", data=data, slab="study")
    assert es.frame.height == 3  # nothing lost
    assert math.isnan(es.yi[1])
    # logit(2/20) = log(2/18); vi = 1/2 + 1/18
    assert es.yi[0] == pytest.approx(math.log(2 / 18), rel=1e-14)
    assert es.vi[0] == pytest.approx(1 / 2 + 1 / 18, rel=1e-14)
    fit = rma(es, method="EE")
    assert fit.k == 2
    assert "B" in fit.notes[0]
