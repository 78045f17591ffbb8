"""anova (likelihood-ratio tests of nested models) equals R metafor's anova.rma."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from pedbone.evidence import EvidenceInputError, anova, rma

from ._metafor import escalc_rma


def _fit(method: str, mods: Any) -> Any:
    src = escalc_rma()["yv"]["bcg_RR"]
    m = None if mods is None else np.asarray(mods, dtype=float)
    return rma(src["yi"], src["vi"], method=method, mods=m)


CASES: list[dict[str, Any]] = list(escalc_rma()["anova"])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_anova_equals_metafor(case: dict[str, Any]) -> None:
    full, reduced = _fit(case["method"], case["mods_f"]), _fit(case["method"], case["mods_r"])
    res = anova(reduced, full, refit=case["refit"])  # argument order does not matter
    assert res.parms_full == case["parms_f"]
    assert res.parms_reduced == case["parms_r"]
    for got, want in (
        (res.lrt, case["LRT"]),
        (res.pval, case["pval"]),
        (res.q_full, case["QE_f"]),
        (res.q_reduced, case["QE_r"]),
        (res.tau2_full, case["tau2_f"]),
        (res.tau2_reduced, case["tau2_r"]),
        (res.r2, case["R2"]),
    ):
        assert got == pytest.approx(want, rel=1e-6, abs=1e-8)
    keys = ("ll", "dev", "AIC", "BIC", "AICc")
    np.testing.assert_allclose([res.fit_full[k] for k in keys], case["fit_f"], rtol=1e-6)
    np.testing.assert_allclose([res.fit_reduced[k] for k in keys], case["fit_r"], rtol=1e-6)
    assert "Reduced" in str(res)
    json.dumps(res.to_dict())


def test_anova_refuses_meaningless_comparisons() -> None:
    src = escalc_rma()["yv"]["bcg_RR"]
    a = rma(src["yi"], src["vi"], method="REML")
    b = rma(src["yi"], src["vi"], method="REML", mods=np.arange(13.0))
    with pytest.raises(EvidenceInputError, match="refit=True"):
        anova(b, a)
    with pytest.raises(EvidenceInputError, match="same number of parameters"):
        anova(a, a)
    with pytest.raises(EvidenceInputError, match="different methods"):
        anova(b, rma(src["yi"], src["vi"], method="DL"))
    with pytest.raises(EvidenceInputError, match="same yi and vi"):
        anova(b, rma(np.asarray(src["yi"]) + 1, src["vi"], method="REML"))
    assert not math.isnan(anova(b, a, refit=True).lrt)
