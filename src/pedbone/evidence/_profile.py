"""Profile likelihood of τ² and its confidence interval (metafor's ``profile`` and
``confint(type="PL")``).

For a random-effects ``rma`` fit by ML or REML, the (restricted) log-likelihood with τ² held
fixed and β re-estimated by GLS; the profile-likelihood CI holds the τ² values with
2·(ℓ̂ - ℓ(τ²)) ≤ χ²₁(level) (Hardy & Thompson 1996 [HARDY1996]), searched in [0, max(100,
10·τ̂²)] as metafor 3.8 does, by Brent's method to 1e-12. I² and H² bounds follow from the τ²
bounds with the same typical sampling variance as the estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from pedbone.evidence._confint import ConfintResult, Interval
from pedbone.evidence._predict import check_level, crit_value
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray

__all__ = ["ProfileResult", "confint_pl", "profile"]


@dataclass(frozen=True)
class ProfileResult:
    """(Restricted) log-likelihood over a grid of τ² values."""

    tau2: FloatArray
    ll: FloatArray
    method: str
    tau2_hat: float
    ll_hat: float


def _ll_at(res: RMAResult, t: float) -> float:
    y, v, X = res.yi, res.vi, res.X
    k, p = X.shape
    w = 1 / (v + t)
    XtW = X.T * w
    XtWX = XtW @ X
    beta = np.linalg.solve(XtWX, XtW @ y)
    rss = float(np.sum(w * (y - X @ beta) ** 2))
    if res.method == "REML":
        return float(
            -0.5 * (k - p) * math.log(2 * math.pi)
            + 0.5 * float(np.linalg.slogdet(X.T @ X)[1])
            - 0.5 * float(np.sum(np.log(v + t)))
            - 0.5 * float(np.linalg.slogdet(XtWX)[1])
            - 0.5 * rss
        )
    return float(-0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(v + t))) - 0.5 * rss)


def _check(res: RMAResult) -> None:
    if not isinstance(res, RMAResult):
        raise EvidenceInputError("expects a fit from rma()")
    if res.method not in ("ML", "REML"):
        raise EvidenceInputError(
            f"the likelihood profile needs method='ML' or 'REML' (this fit: {res.method!r})"
        )
    if res.tau2_fixed:
        raise EvidenceInputError("tau² was fixed, not estimated; there is nothing to profile")
    if res.k < 2:
        raise EvidenceInputError("k = 1: tau² cannot be profiled")


def profile(
    res: RMAResult, *, tau2: Sequence[float] | None = None, steps: int = 20
) -> ProfileResult:
    """The profile (restricted) log-likelihood of τ² (metafor's ``profile.rma.uni``).

    ``tau2``: the values to evaluate; default ``steps`` points from 0 to the upper
    profile-likelihood bound (or 4·τ̂² when that is larger).
    """
    _check(res)
    if tau2 is None:
        ci = confint_pl(res)
        upper = max(ci.tau2.ci_ub, 4 * res.tau2, 1e-4)
        grid = np.linspace(0.0, upper, steps)
    else:
        grid = np.asarray(tau2, dtype=np.float64)
        if np.any(grid < 0) or not np.all(np.isfinite(grid)):
            raise EvidenceInputError("profile: tau2 values must be finite and >= 0")
    ll = np.asarray([_ll_at(res, float(t)) for t in grid])
    return ProfileResult(grid, ll, res.method, res.tau2, _ll_at(res, res.tau2))


def confint_pl(res: RMAResult, level: float | None = None) -> ConfintResult:
    """Profile-likelihood CI for τ² (and τ, I², H²) of an ML/REML ``rma`` fit."""
    _check(res)
    lv = check_level(res.level if level is None else level)
    objective = float(stats.chi2.isf(1 - lv / 100, 1))
    ll_hat = _ll_at(res, res.tau2)

    def f(t: float) -> float:
        return -2 * (_ll_at(res, t) - ll_hat) - objective

    tmin, tmax = 0.0, max(100.0, 10 * res.tau2)
    notes: list[str] = []
    if f(tmin) < 0:
        lb = tmin
    else:
        lb = float(optimize.brentq(f, tmin, res.tau2, xtol=1e-12, rtol=4 * np.finfo(float).eps))
    if f(tmax) < 0:
        ub = tmax
        notes.append(f"upper bound of tau² is above the search limit {tmax:g}")
    else:
        ub = float(optimize.brentq(f, res.tau2, tmax, xtol=1e-12, rtol=4 * np.finfo(float).eps))
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
        note="; ".join(notes),
        method="profile likelihood",
    )
