"""regtest, ranktest and trimfill against metafor (fixtures/metafor_mh_peto_sensitivity_bias)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pedbone.evidence import ranktest, regtest, rma, rma_mh, trimfill
from pedbone.evidence._ranktest import _kendall_null_cdf
from pedbone.evidence._utils import EvidenceInputError

from ._metafor import assert_close, fit_case, fixtures

CASES = fixtures()["uni"]
IDS = [f"{c['dataset']}-{c['method']}-{c['test']}" for c in CASES]


def _fit(case: dict[str, Any]) -> Any:
    return fit_case(case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("model", ["rma", "lm"])
def test_regtest_matches_metafor(case: dict[str, Any], model: str) -> None:
    res = regtest(_fit(case), model=model)
    exp = case[f"regtest_{model}"]
    assert_close(res.zval, exp["zval"], "zval")
    assert_close(res.pval, exp["pval"], "pval")
    assert_close(res.ddf, exp["ddf"], "ddf")
    assert_close(res.est, exp["est"], "limit estimate")
    assert_close(res.ci_lb, exp["ci_lb"], "ci_lb")
    assert_close(res.ci_ub, exp["ci_ub"], "ci_ub")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_ranktest_on_model_matches_metafor(case: dict[str, Any]) -> None:
    res = ranktest(_fit(case))
    assert_close(res.tau, case["ranktest"]["tau"], "tau")
    assert_close(res.pval, case["ranktest"]["pval"], "pval")


@pytest.mark.parametrize("case", fixtures()["ranktest"], ids=lambda c: f"k{len(c['yi'])}")
def test_ranktest_exact_and_approximate(case: dict[str, Any]) -> None:
    exact = ranktest(case["yi"], case["vi"])
    assert_close(exact.tau, case["tau"], "tau")
    assert_close(exact.pval, case["pval"], "exact pval")
    approx = ranktest(case["yi"], case["vi"], exact=False)
    assert_close(approx.pval, case["pval_approx"], "approx pval")
    assert not approx.exact


def test_kendall_null_distribution_small_n() -> None:
    # n = 3: inversion counts 0,1,1,2,2,3 over 3! = 6 permutations -> CDF 1/6, 3/6, 5/6, 1
    assert _kendall_null_cdf(3).tolist() == pytest.approx([1 / 6, 3 / 6, 5 / 6, 1.0])


def _trimfill_cases() -> list[tuple[dict[str, Any], str, str | None]]:
    out = []
    for c in CASES:
        for est in ("L0", "R0"):
            for side in (None, "left", "right"):
                out.append((c, est, side))
    return out


@pytest.mark.parametrize(
    ("case", "estimator", "side"),
    _trimfill_cases(),
    ids=[f"{c['dataset']}-{c['method']}-{c['test']}-{e}-{s}" for c, e, s in _trimfill_cases()],
)
def test_trimfill_matches_metafor(case: dict[str, Any], estimator: str, side: str | None) -> None:
    tf = trimfill(_fit(case), estimator=estimator, side=side)
    exp = case[f"trimfill_{estimator}_{side or 'auto'}"]
    assert tf.k0 == exp["k0"]
    assert tf.side == exp["side"]
    assert list(tf.fill) == exp["fill"]
    assert_close(list(tf.yi), exp["yi"], "filled yi")
    assert_close(list(tf.vi), exp["vi"], "filled vi")
    assert_close(tf.se_k0, exp["se_k0"], "se_k0")
    assert_close(tf.p_k0, exp["p_k0"], "p_k0")
    for ours, theirs in {
        "estimate": "beta",
        "se": "se",
        "zval": "zval",
        "pval": "pval",
        "ci_lb": "ci_lb",
        "ci_ub": "ci_ub",
        "q": "QE",
        "q_pval": "QEp",
        "h2": "H2",
    }.items():
        assert_close(getattr(tf, ours), exp[theirs], f"trimfill {ours}")
    assert_close(tf.tau2, exp["tau2"], "tau2", atol=1e-8)
    assert_close(tf.i2, exp["I2"], "I2", atol=1e-6)


def test_fixtures_exercise_filling() -> None:
    k0s = [c["trimfill_L0_auto"]["k0"] for c in CASES]
    assert max(k0s) > 0


def test_regtest_on_mantel_haenszel_result() -> None:
    t = fixtures()["tables"]["bcg"]
    mh = rma_mh(ai=t["ai"], bi=t["bi"], ci=t["ci"], di=t["di"])
    res = regtest(mh)
    # equals an equal-effects regtest on the same yi/vi
    ee = regtest(rma(mh.yi, mh.vi, method="EE"))
    assert res.zval == pytest.approx(ee.zval, rel=1e-12)


def test_small_k_is_refused_with_reason() -> None:
    with pytest.raises(EvidenceInputError, match="at least 3"):
        ranktest([0.1, 0.2], [0.01, 0.02])
    with pytest.raises(EvidenceInputError, match="more studies than parameters"):
        regtest([0.1, 0.2], [0.01, 0.02])
    fit = rma([0.1, 0.4, 0.3, 0.2], [0.01, 0.02, 0.03, 0.04])
    assert "low power" in regtest(fit, model="lm").note
    with pytest.raises(EvidenceInputError, match="without moderators"):
        trimfill(rma([0.1, 0.4, 0.3, 0.2], [0.01, 0.02, 0.03, 0.04], mods=[1.0, 2, 3, 4]))


def test_equal_variances_make_egger_undefined() -> None:
    with pytest.raises(EvidenceInputError, match="full rank"):
        regtest([0.1, 0.4, 0.3, 0.2, 0.5], [0.02] * 5, model="lm")


def test_ni_predictors_need_sample_sizes() -> None:
    fit = rma([0.1, 0.4, 0.3, 0.2, 0.5], [0.01, 0.02, 0.03, 0.04, 0.05])
    with pytest.raises(EvidenceInputError, match="ni="):
        regtest(fit, predictor="ni")
    res = regtest(fit, predictor="ninv", ni=[100, 50, 33, 25, 20])
    assert np.isfinite(res.pval)
    assert res.est is not None


@pytest.mark.parametrize("n", [2, 5, 20, 60])
def test_kendall_null_distribution_is_symmetric_and_complete(n: int) -> None:
    cdf = _kendall_null_cdf(n)
    pmf = np.diff(np.concatenate(([0.0], cdf)))
    assert cdf.size == n * (n - 1) // 2 + 1
    assert cdf[-1] == pytest.approx(1.0, abs=1e-12)
    assert pmf == pytest.approx(pmf[::-1], abs=1e-15)


_MH_BIAS = [c for c in fixtures()["mh"] if "regtest" in c or "ranktest" in c]


@pytest.mark.parametrize("case", _MH_BIAS, ids=[f"{c['dataset']}-{c['measure']}" for c in _MH_BIAS])
def test_regtest_and_ranktest_on_mantel_haenszel_match_metafor(case: dict[str, Any]) -> None:
    t = fixtures()["tables"][case["dataset"]]
    mh = rma_mh(ai=t["ai"], bi=t["bi"], ci=t["ci"], di=t["di"], measure=case["measure"])
    if "regtest" in case:
        res = regtest(mh)
        assert_close(res.zval, case["regtest"]["zval"], "regtest zval")
        assert_close(res.pval, case["regtest"]["pval"], "regtest pval")
        assert_close(res.est, case["regtest"]["est"], "regtest limit estimate")
    if "ranktest" in case:
        rk = ranktest(mh)
        assert_close(rk.tau, case["ranktest"]["tau"], "ranktest tau")
        assert_close(rk.pval, case["ranktest"]["pval"], "ranktest pval")
