"""leave1out, cumul and influence against metafor (fixtures/metafor_mh_peto_sensitivity_bias)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pedbone.evidence import cumul, influence, leave1out, rma
from pedbone.evidence._utils import EvidenceInputError

from ._metafor import assert_close, fit_case, fixtures

CASES = fixtures()["uni"]
IDS = [f"{c['dataset']}-{c['method']}-{c['test']}" for c in CASES]


def _fit(case: dict[str, Any]) -> Any:
    return fit_case(case)


def _compare_table(frame: Any, exp: dict[str, Any], what: str, test: str) -> None:
    stat = "tval" if test == "knha" else "zval"
    for ours, theirs in {
        "estimate": "estimate",
        "se": "se",
        stat: "zval",
        "pval": "pval",
        "ci_lb": "ci_lb",
        "ci_ub": "ci_ub",
        "q": "Q",
        "q_pval": "Qp",
        "h2": "H2",
    }.items():
        assert_close(frame[ours].to_list(), exp[theirs], f"{what} {ours}")
    # at the tau² = 0 boundary metafor's Fisher scoring stops at tau² ~ 1e-10 (I² ~ 1e-8 %)
    assert_close(frame["i2"].to_list(), exp["I2"], f"{what} i2", atol=1e-6)
    if "tau2" in frame.columns:
        assert_close(frame["tau2"].to_list(), exp["tau2"], f"{what} tau2", atol=1e-8)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_model_matches_metafor(case: dict[str, Any]) -> None:
    fit = _fit(case)
    exp = case["fit"]
    for ours, theirs in {"estimate": "beta", "se": "se", "tau2": "tau2", "q": "QE"}.items():
        assert_close(getattr(fit, ours), exp[theirs], f"fit {ours}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_leave1out_matches_metafor(case: dict[str, Any]) -> None:
    fit = _fit(case)
    out = leave1out(fit)
    assert out["slab"].to_list() == fixtures()["uni_data"][case["dataset"]]["slab"]
    assert ("tau2" in out.columns) == (case["method"] != "FE")
    _compare_table(out, case["leave1out"], "leave1out", case["test"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cumul_matches_metafor(case: dict[str, Any]) -> None:
    d = fixtures()["uni_data"][case["dataset"]]
    out = cumul(_fit(case), order=d["year"])
    expected_slabs = [d["slab"][i - 1] for i in case["cumul"]["order"]]
    assert out["slab"].to_list() == expected_slabs
    _compare_table(out, case["cumul"], "cumul", case["test"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_influence_matches_metafor(case: dict[str, Any]) -> None:
    inf = influence(_fit(case))
    exp = case["influence"]
    for ours, theirs in {
        "rstudent": "rstudent",
        "dffits": "dffits",
        "cook_d": "cook_d",
        "cov_r": "cov_r",
        "tau2_del": "tau2_del",
        "q_del": "QE_del",
        "hat": "hat",
        "weight": "weight",
    }.items():
        assert_close(list(getattr(inf, ours)), exp[theirs], f"influence {ours}", rtol=1e-5)
    assert_close(list(inf.dfbs[:, 0]), exp["dfbs"], "influence dfbs", rtol=1e-5)
    assert list(inf.is_infl) == exp["is_infl"]


def test_influence_flags_an_outlier() -> None:
    # nine homogeneous studies and one far-off precise study: it must be flagged
    yi = [0.1, 0.12, 0.08, 0.11, 0.09, 0.1, 0.13, 0.07, 0.1, 1.5]
    vi = [0.01] * 9 + [0.002]
    inf = influence(rma(yi, vi, method="DL"))
    assert inf.is_infl[-1]
    assert not inf.is_infl[:9].any()
    frame = inf.to_frame()
    assert frame["inf"].to_list()[-1] == "*"


def test_transf_back_transforms_and_drops_se() -> None:
    d = fixtures()["uni_data"]["bcg_rr"]
    fit = rma(d["yi"], d["vi"])
    raw = leave1out(fit)
    rr = leave1out(fit, transf=np.exp)
    assert rr["estimate"].to_list() == pytest.approx(np.exp(raw["estimate"].to_numpy()).tolist())
    assert rr["se"].is_nan().all()


def test_moderator_models_are_refused_where_metafor_refuses() -> None:
    d = fixtures()["uni_data"]["bcg_rr"]
    fit = rma(d["yi"], d["vi"], mods=np.asarray(d["year"], dtype=float))
    with pytest.raises(EvidenceInputError, match="without moderators"):
        leave1out(fit)
    with pytest.raises(EvidenceInputError, match="without moderators"):
        cumul(fit)
    # influence works with moderators: one DFBETAS column per coefficient
    assert influence(fit).dfbs.shape == (fit.k, 2)


def test_k1_is_refused() -> None:
    fit = rma([0.3], [0.04], method="EE")
    with pytest.raises(EvidenceInputError, match="k = 1"):
        leave1out(fit)
    with pytest.raises(EvidenceInputError, match="k = 1"):
        influence(fit)


def _table_cases() -> list[tuple[str, dict[str, Any]]]:
    out = [("mh", c) for c in fixtures()["mh"] if c.get("leave1out")]
    out += [("peto", c) for c in fixtures()["peto"] if c.get("leave1out")]
    return out


def _table_fit(kind: str, case: dict[str, Any]) -> Any:
    from pedbone.evidence import rma_mh, rma_peto

    from ._metafor import args_of

    t = fixtures()["tables"][case["dataset"]]
    cells = {"ai": t["ai"], "bi": t["bi"], "ci": t["ci"], "di": t["di"]}
    if kind == "mh":
        return rma_mh(**cells, measure=case["measure"], **args_of(case))
    return rma_peto(**cells, **args_of(case))


@pytest.mark.parametrize(
    ("kind", "case"),
    _table_cases(),
    ids=[f"{k}-{c['dataset']}-{c.get('measure', 'OR')}-{c['args']}" for k, c in _table_cases()],
)
def test_leave1out_and_cumul_of_mh_and_peto_match_metafor(kind: str, case: dict[str, Any]) -> None:
    fit = _table_fit(kind, case)
    for name, frame in (("leave1out", leave1out(fit)), ("cumul", cumul(fit))):
        exp = case[name]
        # metafor's labels are the study numbers when no slab is given
        assert [int(s.split()[-1]) for s in frame["slab"].to_list()] == [
            int(s) for s in exp["slab"]
        ]
        assert "tau2" not in frame.columns
        for ours, theirs in {
            "estimate": "estimate",
            "se": "se",
            "zval": "zval",
            "pval": "pval",
            "ci_lb": "ci_lb",
            "ci_ub": "ci_ub",
            "q": "Q",
            "q_pval": "Qp",
            "i2": "I2",
            "h2": "H2",
        }.items():
            assert_close(frame[ours].to_list(), exp[theirs], f"{kind} {name} {ours}")


def test_fixed_tau2_stays_fixed_in_refits() -> None:
    d = fixtures()["uni_data"]["bcg_rr"]
    fit = rma(d["yi"], d["vi"], tau2=0.2)
    out = leave1out(fit)
    assert out["tau2"].to_list() == [0.2] * 13
    assert list(influence(fit).tau2_del) == [0.2] * 13
