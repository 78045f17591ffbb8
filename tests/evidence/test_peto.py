"""rma_peto against metafor 3.8 rma.peto (fixtures from metafor_mh_peto_sensitivity_bias.R)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pedbone.evidence import rma_peto

from ._metafor import args_of, assert_close, fixtures

CASES = fixtures()["peto"]


def _id(case: dict[str, Any]) -> str:
    return f"{case['dataset']}-{args_of(case)}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_rma_peto_matches_metafor(case: dict[str, Any]) -> None:
    t = fixtures()["tables"][case["dataset"]]
    res = rma_peto(ai=t["ai"], bi=t["bi"], ci=t["ci"], di=t["di"], **args_of(case))
    exp = case["result"]
    assert res.k == exp["k"]
    assert res.k_pos == exp["k_pos"]
    for ours, theirs in {
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
    }.items():
        assert_close(getattr(res, ours), exp[theirs], f"{_id(case)} {ours}")
    pooled = [w for w in res.weights() if not np.isnan(w)]
    assert_close(pooled, exp["weights"], f"{_id(case)} weights")


def test_hand_computed_single_table() -> None:
    # table (5, 15 | 3, 17): N = 40, xt = 8, yt = 32, n1 = n2 = 20
    # E = 8*20/40 = 4; V = 8*32*(1/2)*(1/2)/39 = 64/39; log OR = (5-4)/(64/39) = 39/64
    res = rma_peto(ai=[5], bi=[15], ci=[3], di=[17])
    assert res.estimate == pytest.approx(39 / 64, rel=1e-12)
    assert res.se == pytest.approx((39 / 64) ** 0.5, rel=1e-12)


def test_no_events_anywhere_is_an_error() -> None:
    with pytest.raises(ValueError, match="never occurred"):
        rma_peto(ai=[0, 0], bi=[10, 10], ci=[0, 0], di=[10, 10], drop00=False)
