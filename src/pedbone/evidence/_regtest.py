"""Regression test for funnel-plot asymmetry (metafor's ``regtest``, R/regtest.r) [METAFOR].

The default ``model="rma"`` adds the standard error (``predictor="sei"``) as a moderator to the
random/mixed-effects model of the input fit (same tau² estimator and test); ``model="lm"`` is
Egger's original weighted least-squares regression (t test on k − p − 1 df).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from pedbone.evidence._fit import rma
from pedbone.evidence._format import fmtp
from pedbone.evidence._mh import MHResult
from pedbone.evidence._ranktest import _yi_vi
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray, as_float_array, control_of

__all__ = ["RegTestResult", "regtest"]

_PREDICTORS = ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")


@dataclass(frozen=True)
class RegTestResult:
    """Regression test for funnel-plot asymmetry (metafor's ``regtest``).

    ``zval``/``pval`` test the coefficient of ``predictor``; ``ddf`` is the t-test degrees of
    freedom (``None`` for a z test). ``estimate``/``ci_lb``/``ci_ub`` are the limit estimate (the
    intercept: the effect as the standard error goes to 0) where metafor reports it.
    """

    model: str
    predictor: str
    zval: float
    pval: float
    ddf: int | None
    estimate: float | None
    ci_lb: float | None
    ci_ub: float | None
    k: int
    method: str
    fit: RMAResult | None = None
    note: str = ""

    @property
    def est(self) -> float | None:
        """metafor's ``est``: alias of ``estimate`` (the limit estimate)."""
        return self.estimate

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary (without the fitted model)."""
        return {
            "test": "Egger regression",
            "model": self.model,
            "predictor": self.predictor,
            "zval": self.zval,
            "pval": self.pval,
            "ddf": self.ddf,
            "estimate": self.estimate,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
            "k": self.k,
            "method": self.method,
            "note": self.note,
        }

    def summary(self) -> str:
        """Read-out like metafor's print-out."""
        stat = "z" if self.ddf is None else f"t(df = {self.ddf})"
        kind = (
            "Weighted Regression with Multiplicative Dispersion"
            if self.model == "lm"
            else f"Mixed-Effects Meta-Regression Model (method {self.method})"
        )
        lines = [
            "Regression Test for Funnel Plot Asymmetry",
            "",
            f"Model:     {kind}",
            f"Predictor: {self.predictor}",
            "",
            f"Test for Funnel Plot Asymmetry: {stat} = {self.zval:.4f}, "
            f"p {fmtp(self.pval, 4, equal=True, sep=True)}",
        ]
        if self.estimate is not None and self.ci_lb is not None and self.ci_ub is not None:
            lines.append(
                f"Limit Estimate (as sei -> 0):   b = {self.estimate:.4f} "
                f"(CI: {self.ci_lb:.4f}, {self.ci_ub:.4f})"
            )
        if self.note:
            lines.append(f"Note: {self.note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def regtest(
    x: RMAResult | MHResult | Sequence[float] | FloatArray,
    vi: Sequence[float] | FloatArray | None = None,
    *,
    sei: Sequence[float] | FloatArray | None = None,
    ni: Sequence[float] | FloatArray | None = None,
    model: str = "rma",
    predictor: str = "sei",
    method: str | None = None,
    test: str | None = None,
) -> RegTestResult:
    """Egger's regression test for funnel-plot asymmetry (metafor's ``regtest``).

    ``x`` is a fitted :func:`rma` model (its moderators, tau² estimator, test and level are
    kept), a Mantel–Haenszel/Peto result (equal-effects model on its ``yi``/``vi``), or the
    effect sizes with ``vi``/``sei`` (then REML and a z test, as metafor). ``model="rma"``
    (default) or ``"lm"`` (Egger's weighted regression); ``predictor`` one of ``sei``
    (default), ``vi``, ``ni``, ``ninv``, ``sqrtni``, ``sqrtninv`` (the last four need ``ni``).
    """
    if model not in ("rma", "lm"):
        raise EvidenceInputError(f"model must be 'rma' or 'lm', not {model!r}")
    if predictor not in _PREDICTORS:
        raise EvidenceInputError(f"predictor must be one of {_PREDICTORS}, not {predictor!r}")
    control: dict[str, float] = {}
    if isinstance(x, RMAResult):
        y, v = x.yi, x.vi
        X = x.X
        p = x.p
        int_only = x.p == 1 and x.intercept
        fit_method = method or x.method
        fit_test = test or x.test
        level = x.level
        control = control_of(x)
        fixed_tau2: float | None = x.tau2 if getattr(x, "tau2_fixed", False) else None
    else:
        fixed_tau2 = None
        y, v = _yi_vi(x, vi, sei, "regtest")
        X = np.ones((y.size, 1))
        p = 1
        int_only = True
        if isinstance(x, MHResult):
            fit_method, fit_test, level = method or "FE", test or "z", x.level
        else:
            fit_method, fit_test, level = method or "REML", test or "z", 95.0
    k = y.size
    if predictor == "sei":
        col = np.sqrt(v)
    elif predictor == "vi":
        col = v
    else:
        if ni is None:
            raise EvidenceInputError(f"predictor {predictor!r} needs the sample sizes ni=")
        n = as_float_array(ni, "ni")
        if n.size != k:
            raise EvidenceInputError(f"ni has {n.size} values for {k} studies")
        col = {"ni": n, "ninv": 1 / n, "sqrtni": np.sqrt(n), "sqrtninv": 1 / np.sqrt(n)}[predictor]
    Xp = np.column_stack([X, col])
    needed = p + 1 + (1 if fit_method not in ("EE", "FE") and model == "rma" else 0)
    if k < needed or (model == "lm" and k <= p + 1):
        raise EvidenceInputError(
            f"regtest needs more studies than parameters (k = {k}, "
            f"{p + 1} coefficients{' + tau²' if needed > p + 1 else ''})"
        )
    if np.linalg.matrix_rank(Xp) < Xp.shape[1]:
        raise EvidenceInputError(
            "model matrix no longer of full rank after adding the predictor (e.g. all "
            "studies have the same variance); the test cannot be computed"
        )
    limit = predictor in ("sei", "vi", "ninv", "sqrtninv") and int_only
    note = f"k = {k}: the test has low power with fewer than 10 studies" if k < 10 else ""
    if model == "rma":
        fit = rma(
            y,
            v,
            mods=Xp,
            intercept=False,
            method=fit_method,
            test=fit_test,
            level=level,
            control=control or None,
            tau2=fixed_tau2,
        )
        return RegTestResult(
            model="rma",
            predictor=predictor,
            zval=float(fit.zval_beta[p]),
            pval=float(fit.pval_beta[p]),
            ddf=fit.ddf,
            estimate=float(fit.beta[0]) if limit else None,
            ci_lb=float(fit.ci_lb_beta[0]) if limit else None,
            ci_ub=float(fit.ci_ub_beta[0]) if limit else None,
            k=k,
            method=fit.method,
            fit=fit,
            note=note,
        )
    w = 1 / v
    XtW = Xp.T * w
    cov = np.linalg.inv(XtW @ Xp)
    b = cov @ (XtW @ y)
    df = k - Xp.shape[1]
    sigma2 = float(np.sum(w * (y - Xp @ b) ** 2)) / df
    se = np.sqrt(np.diag(cov) * sigma2)
    t = b / se
    pv = 2 * stats.t.sf(np.abs(t), df)
    crit = float(stats.t.isf((1 - level / 100) / 2, df))
    return RegTestResult(
        model="lm",
        predictor=predictor,
        zval=float(t[p]),
        pval=float(pv[p]),
        ddf=df,
        estimate=float(b[0]) if limit else None,
        ci_lb=float(b[0] - crit * se[0]) if limit else None,
        ci_ub=float(b[0] + crit * se[0]) if limit else None,
        k=k,
        method="lm",
        fit=None,
        note=note,
    )
