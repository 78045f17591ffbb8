"""The one loader of the metafor reference fixtures, and how the tests compare to them.

Each fixture is named by its content and sits beside the R script that wrote it
(``fixtures/<name>.json`` from ``fixtures/<name>.R``), as statsmodels keeps its reference
results in ``stats/tests/results/``:

- :data:`ESCALC_RMA` — escalc, rma (estimators × tests, meta-regression, btt, fixed tau²),
  confint, predict, subgroups, anova, prediction-interval types, transf;
- :data:`MH_PETO_SENSITIVITY_BIAS` — rma.mh, rma.peto, leave1out, cumul, influence (intercept
  only), regtest, ranktest, trimfill.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
ESCALC_RMA = "metafor_escalc_rma"
MH_PETO_SENSITIVITY_BIAS = "metafor_mh_peto_sensitivity_bias"
RTOL = 1e-6
ATOL = 1e-9


@cache
def load(name: str) -> dict[str, Any]:
    """The fixture ``fixtures/<name>.json`` (parsed once per test session)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def fixtures() -> dict[str, Any]:
    """The rma.mh / rma.peto / sensitivity / bias fixture."""
    return load(MH_PETO_SENSITIVITY_BIAS)


def escalc_rma() -> dict[str, Any]:
    """The escalc / rma / confint / predict / subgroups / anova fixture."""
    return load(ESCALC_RMA)


def close(
    actual: float | None, expected: float | None, *, rtol: float = RTOL, atol: float = ATOL
) -> bool:
    """Relative tolerance ``rtol`` (absolute ``atol`` near zero); R's NA equals nan/None."""
    a_missing = actual is None or (isinstance(actual, float) and math.isnan(actual))
    e_missing = expected is None or (isinstance(expected, float) and math.isnan(expected))
    if a_missing or e_missing:
        return a_missing and e_missing
    assert actual is not None
    assert expected is not None
    return math.isclose(float(actual), float(expected), rel_tol=rtol, abs_tol=atol)


def assert_close(
    actual: Any, expected: Any, what: str, *, rtol: float = RTOL, atol: float = ATOL
) -> None:
    if isinstance(expected, list):
        assert len(actual) == len(expected), f"{what}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert close(_f(a), e, rtol=rtol, atol=atol), f"{what}[{i}]: {a} != metafor {e}"
    else:
        assert close(_f(actual), expected, rtol=rtol, atol=atol), (
            f"{what}: {actual} != metafor {expected}"
        )


def _f(x: Any) -> float | None:
    return None if x is None else float(x)


def args_of(case: dict[str, Any]) -> dict[str, Any]:
    """R's empty list arrives as ``[]``; R vectors of length 2 as lists → tuples."""
    raw = case["args"] or {}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}


def fit_case(case: dict[str, Any]) -> Any:
    """The metafor fixture's model refitted with pedbone's rma (same data, estimator, test)."""
    from pedbone.evidence import rma

    d = fixtures()["uni_data"][case["dataset"]]
    return rma(d["yi"], d["vi"], method=case["method"], test=case["test"], slab=d["slab"])
