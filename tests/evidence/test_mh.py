"""rma_mh against metafor 3.8 rma.mh (fixtures from metafor_mh_peto_sensitivity_bias.R)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pedbone.evidence import rma_mh, rma_peto

from ._metafor import args_of, assert_close, fixtures

CASES = fixtures()["mh"]


def _id(case: dict[str, Any]) -> str:
    return f"{case['dataset']}-{case['measure']}-{args_of(case)}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_rma_mh_matches_metafor(case: dict[str, Any]) -> None:
    t = fixtures()["tables"][case["dataset"]]
    res = rma_mh(
        ai=t["ai"], bi=t["bi"], ci=t["ci"], di=t["di"], measure=case["measure"], **args_of(case)
    )
    exp = case["result"]
    assert res.k == exp["k"]
    assert res.k_yi == exp["k_yi"]
    pairs = {
        "estimate": "beta",
        "se": "se",
        "zval": "zval",
        "pval": "pval",
        "ci_lb": "ci_lb",
        "ci_ub": "ci_ub",
        "q": "QE",
        "q_pval": "QEp",
        "i2": "I2",
        "h2": "H2",
    }
    if case["measure"] == "OR":
        pairs |= {
            "cochran": "CO",
            "cochran_pval": "COp",
            "cmh": "MH",
            "cmh_pval": "MHp",
            "breslow_day": "BD",
            "breslow_day_pval": "BDp",
            "tarone": "TA",
            "tarone_pval": "TAp",
        }
        assert res.k_pos == exp["k_pos"]
    for ours, theirs in pairs.items():
        assert_close(getattr(res, ours), exp[theirs], f"{_id(case)} {ours}")
    pooled = [w for w in res.weights() if not np.isnan(w)]
    assert_close(pooled, exp["weights"], f"{_id(case)} weights")


def test_fixture_covers_zero_cells_and_variants() -> None:
    datasets = {c["dataset"] for c in CASES}
    assert {"bcg", "hine1989", "collins1985a_deaths", "yusuf1985_t6", "zeros"} <= datasets
    assert len(CASES) > 100


def test_hand_computed_odds_ratio() -> None:
    # two tables: (4, 36 | 8, 32) and (6, 34 | 9, 31), N = 80 each
    # R = 4*32/80 + 6*31/80 = 1.6 + 2.325 = 3.925; S = 36*8/80 + 34*9/80 = 3.6 + 3.825 = 7.425
    # OR_MH = 3.925 / 7.425 = 0.528620...
    res = rma_mh(ai=[4, 6], bi=[36, 34], ci=[8, 9], di=[32, 31])
    assert np.exp(res.estimate) == pytest.approx(3.925 / 7.425, rel=1e-12)
    assert res.tau2 == 0.0


def test_polars_columns_and_n_form_agree() -> None:
    t = fixtures()["tables"]["hine1989"]
    df = pl.DataFrame(
        {
            "ev_t": t["ai"],
            "n_t": [a + b for a, b in zip(t["ai"], t["bi"], strict=True)],
            "ev_c": t["ci"],
            "n_c": [c + d for c, d in zip(t["ci"], t["di"], strict=True)],
            "study": t["slab"],
        }
    )
    a = rma_mh(ai="ev_t", n1i="n_t", ci="ev_c", n2i="n_c", data=df, slab="study", measure="RR")
    b = rma_mh(ai=t["ai"], bi=t["bi"], ci=t["ci"], di=t["di"], measure="RR")
    assert a.estimate == pytest.approx(b.estimate, rel=1e-14)
    assert a.slab == t["slab"]


def test_double_zero_study_is_dropped_and_reported() -> None:
    res = rma_mh(ai=[0, 3, 2], bi=[10, 7, 8], ci=[0, 1, 4], di=[10, 9, 6])
    # drop00=(True, False): study 1 has no yi (left out of Q) but its table still enters MH
    assert res.k == 3
    assert res.k_yi == 2
    assert any("Study 1" in n for n in res.notes)
    both = rma_mh(ai=[0, 3, 2], bi=[10, 7, 8], ci=[0, 1, 4], di=[10, 9, 6], drop00=(True, True))
    assert both.k == 2


def test_tarone_needs_two_informative_tables() -> None:
    res = rma_mh(ai=[5], bi=[15], ci=[3], di=[17])
    assert np.isnan(res.tarone_pval)
    assert any("at least two" in n for n in res.notes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ai": [1, 2], "bi": [3], "ci": [1, 1], "di": [2, 2]}, "'bi' has 1 values"),
        ({"ai": [5, 2], "n1i": [4, 9], "ci": [1, 1], "n2i": [9, 9]}, "study 1: negative"),
        ({"ai": [1], "bi": [2], "ci": [1], "di": [2], "measure": "SMD"}, "OR, RR, RD, IRR or IRD"),
        ({"ai": [1], "bi": [2], "ci": [1], "di": [2], "to": "sometimes"}, "unknown 'to'"),
        ({"ai": "x", "bi": [2], "ci": [1], "di": [2]}, "no data="),
    ],
)
def test_bad_input_is_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rma_mh(**kwargs)


def test_summary_and_dict() -> None:
    t = fixtures()["tables"]["bcg"]
    res = rma_mh(ai=t["ai"], bi=t["bi"], ci=t["ci"], di=t["di"])
    text = res.summary()
    assert "Mantel-Haenszel" in text
    assert "Tarone" in text
    d = res.to_dict()
    assert d["exp_estimate"] == pytest.approx(np.exp(res.estimate))
    assert d["k"] == 13


def test_all_double_zero_studies_as_metafor() -> None:
    # metafor 3.8: rma.mh(ai=c(0,0), bi=c(10,12), ci=c(0,0), di=c(9,11)) gives
    # beta NA, k 2, k.yi 0, QE 0, QEp 1, I2 0; with measure="RD": beta 0, se 0, zval NaN
    cells = {"ai": [0, 0], "bi": [10, 12], "ci": [0, 0], "di": [9, 11]}
    res = rma_mh(**cells)
    assert np.isnan(res.estimate)
    assert (res.k, res.k_yi, res.q, res.q_pval, res.i2) == (2, 0, 0.0, 1.0, 0.0)
    assert any("undefined" in n for n in res.notes)
    rd = rma_mh(**cells, measure="RD")
    assert (rd.estimate, rd.se) == (0.0, 0.0)
    assert np.isnan(rd.zval)
    with pytest.raises(ValueError, match="no tables left"):
        rma_mh(**cells, drop00=(True, True))


_counts = st.integers(min_value=1, max_value=60)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_counts, _counts, _counts, _counts), min_size=2, max_size=8))
def test_swapping_arms_mirrors_the_estimate(tables: list[tuple[int, int, int, int]]) -> None:
    a, b, c, d = (list(x) for x in zip(*tables, strict=True))
    for measure in ("OR", "RR", "RD"):
        fwd = rma_mh(ai=a, bi=b, ci=c, di=d, measure=measure)
        rev = rma_mh(ai=c, bi=d, ci=a, di=b, measure=measure)
        assert rev.estimate == pytest.approx(-fwd.estimate, rel=1e-9, abs=1e-12)
        assert rev.se == pytest.approx(fwd.se, rel=1e-9)
        assert rev.q == pytest.approx(fwd.q, rel=1e-9, abs=1e-9)
    fwd_p = rma_peto(ai=a, bi=b, ci=c, di=d)
    rev_p = rma_peto(ai=c, bi=d, ci=a, di=b)
    assert rev_p.estimate == pytest.approx(-fwd_p.estimate, rel=1e-9, abs=1e-12)


def test_docstring_examples_run() -> None:
    import doctest

    import pedbone.evidence._mh as mod

    failures, tried = doctest.testmod(mod)
    assert tried >= 2
    assert failures == 0
