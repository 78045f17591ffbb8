"""Q-profile confidence intervals for tau², tau, I² and H² (metafor's ``confint.rma.uni``,
R/confint.rma.uni.r; Viechtbauer 2007 [VIECHTBAUER2007]) and Wald intervals of the
coefficients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scipy import optimize, stats

from pedbone.evidence._predict import check_level, crit_value
from pedbone.evidence._tau2 import qe_func
from pedbone.evidence._utils import EvidenceInputError

if TYPE_CHECKING:
    from pedbone.evidence._results import RMAResult

__all__ = ["ConfintResult", "Interval", "confint_rma"]


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval."""

    estimate: float
    ci_lb: float
    ci_ub: float


@dataclass(frozen=True)
class ConfintResult:
    """Confidence intervals for the heterogeneity parameters (Q-profile, metafor's ``confint``).

    ``fixed`` holds the Wald intervals of the model coefficients, in coefficient order.
    """

    level: float
    tau2: Interval
    tau: Interval
    i2: Interval
    h2: Interval
    fixed: dict[str, Interval]
    method: str = "Q-profile"
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python representation (JSON-serialisable)."""

        def iv(x: Interval) -> dict[str, float]:
            return {"estimate": x.estimate, "ci_lb": x.ci_lb, "ci_ub": x.ci_ub}

        return {
            "level": self.level,
            "method": self.method,
            "tau2": iv(self.tau2),
            "tau": iv(self.tau),
            "i2": iv(self.i2),
            "h2": iv(self.h2),
            "fixed": {k: iv(v) for k, v in self.fixed.items()},
            "note": self.note,
        }

    def __str__(self) -> str:
        lv = f"{self.level:g}"
        rows = [f"       estimate   ci.lb   ci.ub  ({lv}% CI, {self.method})"]
        for name, x in (("tau^2", self.tau2), ("tau", self.tau), ("I^2(%)", self.i2)):
            rows.append(f"{name:<7}{x.estimate:9.4f} {x.ci_lb:7.4f} {x.ci_ub:7.4f}")
        rows.append(f"{'H^2':<7}{self.h2.estimate:9.4f} {self.h2.ci_lb:7.4f} {self.h2.ci_ub:7.4f}")
        if self.note:
            rows.append(self.note)
        return "\n".join(rows)


def confint_rma(res: RMAResult, level: float | None) -> ConfintResult:
    lv = check_level(res.level if level is None else level)
    if not res.is_random:
        raise EvidenceInputError("confint: an equal-effects model has no tau² to bound")
    if res.tau2_fixed:
        raise EvidenceInputError(
            "confint: tau² was fixed, not estimated; there is nothing to bound"
        )
    if res.k == 1:
        raise EvidenceInputError("confint: k = 1, tau² cannot be bounded")
    k, p = res.k, res.p
    alpha = 1 - lv / 100
    crit_u = float(stats.chi2.isf(alpha / 2, k - p))
    crit_l = float(stats.chi2.ppf(alpha / 2, k - p))
    tmax = max(100.0, res.tau2 * 10)
    y, v, X = res.yi, res.vi, res.X

    def q(t: float) -> float:
        return qe_func(t, y, v, X)

    def root(target: float) -> float:
        return float(optimize.brentq(lambda t: q(t) - target, 0.0, tmax, xtol=1e-14, rtol=1e-15))

    q_min, q_max = q(0.0), q(tmax)
    note = ""
    if q_min < crit_l:
        lb = ub = 0.0
        note = "both Q-profile bounds fall below 0: the CI for tau² is the null set (shown as 0)"
    else:
        ub = tmax if q_max > crit_l else root(crit_l)
        if q_max > crit_l:
            note = f"upper bound of tau² is above the search limit {tmax:g}"
        lb = 0.0 if q_min < crit_u else root(crit_u)
        if q_max > crit_u:
            lb = tmax
    vt = res.vt
    crit = crit_value(res, lv)
    fixed = {
        n: Interval(float(b), float(b - crit * s), float(b + crit * s))
        for n, b, s in zip(res.coef_names, res.beta, res.se_beta, strict=True)
    }
    return ConfintResult(
        level=lv,
        tau2=Interval(res.tau2, lb, ub),
        tau=Interval(math.sqrt(res.tau2), math.sqrt(lb), math.sqrt(ub)),
        i2=Interval(res.i2, 100 * lb / (vt + lb), 100 * ub / (vt + ub)),
        h2=Interval(res.h2, 1 + lb / vt, 1 + ub / vt),
        fixed=fixed,
        note=note,
    )
