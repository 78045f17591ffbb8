"""Begg and Mazumdar's rank correlation test for funnel-plot asymmetry (metafor's
``ranktest``, R/ranktest.r) [METAFOR]: Kendall's tau between standardised deviates and sampling
variances; exact p-value when there are no ties (as ``cor.test(exact=TRUE)`` in R), otherwise
the normal approximation with tie correction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from pedbone.evidence._format import fmtp
from pedbone.evidence._mh import MHResult
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray, as_float_array

__all__ = ["RankTestResult", "ranktest"]


@dataclass(frozen=True)
class RankTestResult:
    """Begg and Mazumdar's rank correlation test (metafor's ``ranktest``)."""

    tau: float
    pval: float
    k: int
    exact: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary."""
        return {
            "test": "Begg rank correlation",
            "tau": self.tau,
            "pval": self.pval,
            "k": self.k,
            "exact": self.exact,
            "note": self.note,
        }

    def summary(self) -> str:
        """One-paragraph read-out like metafor's print-out."""
        how = "exact" if self.exact else "normal approximation"
        out = (
            "Rank Correlation Test for Funnel Plot Asymmetry\n\n"
            f"Kendall's tau = {self.tau:.4f}, p {fmtp(self.pval, 4, equal=True, sep=True)} "
            f"({how}, k = {self.k})"
        )
        return out + (f"\nNote: {self.note}" if self.note else "")

    def __str__(self) -> str:
        return self.summary()


def _kendall_null_cdf(n: int) -> FloatArray:
    """CDF of the number of concordant pairs among n untied pairs under independence.

    The count is distributed as the number of inversions of a random permutation; the
    probability mass is built by the usual recursion (adding one element adds 0..m-1
    inversions with equal probability), normalised at every step.
    """
    mass = np.ones(1, dtype=np.float64)
    for m in range(2, n + 1):
        new_len = mass.size + m - 1
        c = np.concatenate(([0.0], np.cumsum(mass)))
        idx = np.arange(new_len)
        hi = np.minimum(idx, mass.size - 1) + 1
        lo = np.maximum(idx - (m - 1), 0)
        mass = (c[hi] - c[lo]) / m
    return np.asarray(np.cumsum(mass), dtype=np.float64)


def _kendall(x: FloatArray, y: FloatArray, exact: bool) -> tuple[float, float, bool]:
    """Kendall's tau-b and R ``cor.test(method="kendall")`` two-sided p-value."""
    n = x.size
    tau = float(stats.kendalltau(x, y).statistic)
    _, xc = np.unique(x, return_counts=True)
    _, yc = np.unique(y, return_counts=True)
    ties = bool(np.any(xc > 1) or np.any(yc > 1))
    if exact and not ties and n <= 1000:
        q = round((tau + 1) * n * (n - 1) / 4)
        cdf = _kendall_null_cdf(n)
        p = 1 - float(cdf[q - 1]) if q > n * (n - 1) / 4 else float(cdf[q])
        return tau, min(2 * p, 1.0), True
    xt = xc[xc > 1].astype(np.float64)
    yt = yc[yc > 1].astype(np.float64)
    t0 = n * (n - 1) / 2
    t1 = float(np.sum(xt * (xt - 1))) / 2
    t2 = float(np.sum(yt * (yt - 1))) / 2
    s = tau * math.sqrt((t0 - t1) * (t0 - t2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = float(np.sum(xt * (xt - 1) * (2 * xt + 5)))
    vu = float(np.sum(yt * (yt - 1) * (2 * yt + 5)))
    v1 = float(np.sum(xt * (xt - 1))) * float(np.sum(yt * (yt - 1)))
    v2 = float(np.sum(xt * (xt - 1) * (xt - 2))) * float(np.sum(yt * (yt - 1) * (yt - 2)))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    z = s / math.sqrt(var_s)
    return tau, float(2 * min(stats.norm.cdf(z), stats.norm.sf(z))), False


def _yi_vi(
    x: RMAResult | MHResult | Any, vi: Any, sei: Any, what: str
) -> tuple[FloatArray, FloatArray]:
    if isinstance(x, (RMAResult, MHResult)):
        y = np.asarray(x.yi, dtype=np.float64)
        v = np.asarray(x.vi, dtype=np.float64)
    else:
        y = as_float_array(x, "yi")
        if vi is None and sei is None:
            raise EvidenceInputError(f"{what}: give vi= (or sei=) with the effect sizes")
        v = as_float_array(vi, "vi") if vi is not None else as_float_array(sei, "sei") ** 2
        if v.size != y.size:
            raise EvidenceInputError(f"{what}: yi has {y.size} values, vi has {v.size}")
    ok = np.isfinite(y) & np.isfinite(v)
    return y[ok], v[ok]


def ranktest(
    x: RMAResult | MHResult | Sequence[float] | FloatArray,
    vi: Sequence[float] | FloatArray | None = None,
    *,
    sei: Sequence[float] | FloatArray | None = None,
    exact: bool = True,
) -> RankTestResult:
    """Begg's rank correlation test for funnel-plot asymmetry (metafor's ``ranktest``).

    ``x`` is a fitted model (its ``yi``/``vi`` are used) or the effect sizes, with ``vi`` or
    ``sei``. The exact null distribution of Kendall's statistic is used when there are no
    ties and ``exact`` is true (as metafor, which calls ``cor.test(..., exact=TRUE)``; pedbone
    switches to the normal approximation above k = 1000, where the two agree closely).
    Fewer than 3 studies: ``EvidenceInputError`` (the test is not defined).
    """
    y, v = _yi_vi(x, vi, sei, "ranktest")
    k = y.size
    if k < 3:
        raise EvidenceInputError(f"ranktest needs at least 3 studies (k = {k})")
    w = 1 / v
    theta = float(np.sum(w * y) / np.sum(w))
    vb = 1 / float(np.sum(w))
    y_star = (y - theta) / np.sqrt(v - vb)
    tau, p, used_exact = _kendall(y_star, v, exact)
    note = ""
    if exact and not used_exact:
        note = "ties (or k > 1000): normal approximation used for the p-value"
    if k < 10:
        note = (note + "; " if note else "") + (
            f"k = {k}: the test has low power with fewer than 10 studies"
        )
    return RankTestResult(tau=tau, pval=p, k=k, exact=used_exact, note=note)
