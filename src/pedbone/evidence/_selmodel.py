"""Step-function selection model (metafor's ``selmodel(type="stepfun")``).

Vevea & Hedges 1995 [VEVEA1995]: studies are published with a relative likelihood δⱼ that is
constant within intervals of their one-sided p-value (cut-points ``steps``, the last 1; δ₁ = 1).
The log-likelihood of metafor 3.8's ``.selmodel.ll.stepfun`` (``alternative="greater"``,
no precision weighting) is maximised over β, τ² and δ₂…δ_J by BFGS on (β, log τ², log δ);
SEs of β come from the numerical Hessian (invariant to that parametrisation), and the
likelihood-ratio test compares with the ML random-effects model without selection.

Not implemented: the beta and other selection functions, ``alternative="less"`` or
``"two.sided"``, precision-dependent selection. Selection models need many studies (and some in
every p-value interval); with few studies the δ are barely identified — the result then says so.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray

__all__ = ["SelmodelResult", "selmodel"]


@dataclass(frozen=True)
class SelmodelResult:
    """A fitted step-function selection model."""

    beta: FloatArray
    se_beta: FloatArray
    zval_beta: FloatArray
    pval_beta: FloatArray
    ci_lb_beta: FloatArray
    ci_ub_beta: FloatArray
    tau2: float
    delta: FloatArray
    steps: tuple[float, ...]
    k_per_interval: tuple[int, ...]
    ll: float
    lrt: float
    lrt_df: int
    lrt_pval: float
    coef_names: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def estimate(self) -> float:
        return float(self.beta[0])

    @property
    def se(self) -> float:
        return float(self.se_beta[0])

    def summary(self, digits: int = 4) -> str:
        d = digits
        lines = [
            "",
            f"Random-Effects Model with step-function selection (k = {sum(self.k_per_interval)})",
            "",
            f"tau^2 = {self.tau2:.{d}f}; logLik = {self.ll:.{d}f}",
            f"Test for Selection: LRT(df = {self.lrt_df}) = {self.lrt:.{d}f}, "
            f"p-val = {self.lrt_pval:.{d}g}",
            "",
        ]
        lo = 0.0
        for s, k_j, dl in zip(self.steps, self.k_per_interval, self.delta, strict=True):
            lines.append(f"  {lo:.3g} < p <= {s:.3g}: k = {k_j:>3}, delta = {dl:.{d}f}")
            lo = s
        lines.append("")
        for i, n in enumerate(self.coef_names):
            lines.append(
                f"{n:<12} {self.beta[i]:>10.{d}f} se {self.se_beta[i]:>8.{d}f} "
                f"CI [{self.ci_lb_beta[i]:.{d}f}, {self.ci_ub_beta[i]:.{d}f}]"
            )
        for note in self.notes:
            lines.append(f"Note: {note}")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.summary()


def _hessian(f: Callable[[FloatArray], float], x: FloatArray, h: float = 1e-4) -> FloatArray:
    n = x.size
    H = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            e_i = np.zeros(n)
            e_j = np.zeros(n)
            e_i[i] = h
            e_j[j] = h
            H[i, j] = H[j, i] = (
                f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j) + f(x - e_i - e_j)
            ) / (4 * h * h)
    return H


def selmodel(res: RMAResult, *, steps: Sequence[float] = (0.025, 1.0)) -> SelmodelResult:
    """Fit a step-function selection model to an ``rma`` fit's data (metafor's ``selmodel``)."""
    if not isinstance(res, RMAResult):
        raise EvidenceInputError("selmodel: expects a fit from rma()")
    if not res.is_random or res.tau2_fixed:
        raise EvidenceInputError("selmodel: needs a random-effects fit with tau² estimated")
    if res.method != "ML":  # as metafor: the model is refitted by ML first
        from pedbone.evidence._fit import rma

        res = rma(
            res.yi, res.vi, mods=res.X, intercept=False, method="ML", test=res.test, level=res.level
        )
    st = [float(s) for s in steps]
    if st[-1] != 1.0:
        st.append(1.0)
    if any(not 0 < s <= 1 for s in st) or any(b <= a for a, b in itertools.pairwise(st)):
        raise EvidenceInputError("selmodel: steps must increase within (0, 1]")
    n_int = len(st)
    if n_int < 2:
        raise EvidenceInputError("selmodel: need at least one cut-point below 1")
    y, v, X = res.yi, res.vi, res.X
    _k, p = X.shape
    pv = stats.norm.sf(y / np.sqrt(v))
    pgrp = np.asarray([next(j for j, s in enumerate(st) if q <= s) for q in pv])
    counts = tuple(int(np.sum(pgrp == j)) for j in range(n_int))
    notes: list[str] = []
    if any(c == 0 for c in counts):
        notes.append(f"p-value intervals without studies ({counts}): delta there is not identified")
    cuts = np.sqrt(v)[:, None] * stats.norm.isf(np.asarray(st[:-1]))[None, :]

    def f(par: FloatArray) -> float:
        p_ = X.shape[1]
        beta = par[:p_]
        tau2 = math.exp(par[p_])
        delta = np.concatenate([[1.0], np.exp(par[p_ + 1 :])])
        mu = X @ beta
        se = np.sqrt(v + tau2)
        upper = stats.norm.sf((cuts - mu[:, None]) / se[:, None])
        probs = np.column_stack([upper[:, :1], np.diff(upper, axis=1), 1 - upper[:, -1:]])
        A = probs @ delta
        ll = np.log(delta[pgrp]) + stats.norm.logpdf(y, mu, se) - np.log(A)
        val = -float(np.sum(ll))
        return val if math.isfinite(val) else 1e300

    x0 = np.concatenate([res.beta, [math.log(max(res.tau2, 0.01))], np.zeros(n_int - 1)])
    opt = optimize.minimize(f, x0, method="BFGS", options={"gtol": 1e-9, "maxiter": 5000})
    opt = optimize.minimize(
        f, opt.x, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20000}
    )
    opt = optimize.minimize(f, opt.x, method="BFGS", options={"gtol": 1e-10, "maxiter": 5000})
    xo = opt.x
    H = _hessian(f, xo)
    try:
        cov = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        cov = np.full_like(H, np.nan)
    beta = xo[:p]
    se = np.sqrt(np.diag(cov)[:p])
    z = beta / se
    crit = float(stats.norm.isf((1 - res.level / 100) / 2))
    # the ML fit without selection, for the likelihood-ratio test
    w_ll = -f(np.concatenate([xo[:p], [xo[p]], np.zeros(n_int - 1)]))

    def f0(par: FloatArray) -> float:
        return f(np.concatenate([par, np.zeros(n_int - 1)]))

    o0 = optimize.minimize(f0, xo[: p + 1], method="BFGS", options={"gtol": 1e-10})
    ll0 = max(-float(o0.fun), w_ll)
    ll1 = -float(opt.fun)
    lrt = max(0.0, 2 * (ll1 - ll0))
    return SelmodelResult(
        beta=np.asarray(beta, dtype=np.float64),
        se_beta=np.asarray(se, dtype=np.float64),
        zval_beta=np.asarray(z, dtype=np.float64),
        pval_beta=np.asarray(2 * stats.norm.sf(np.abs(z)), dtype=np.float64),
        ci_lb_beta=np.asarray(beta - crit * se, dtype=np.float64),
        ci_ub_beta=np.asarray(beta + crit * se, dtype=np.float64),
        tau2=math.exp(xo[p]),
        delta=np.concatenate([[1.0], np.exp(xo[p + 1 :])]),
        steps=tuple(st),
        k_per_interval=counts,
        ll=ll1,
        lrt=lrt,
        lrt_df=n_int - 1,
        lrt_pval=float(stats.chi2.sf(lrt, n_int - 1)),
        coef_names=res.coef_names,
        notes=tuple(notes),
    )
