"""Small-study effects / publication bias: Egger's regression test, Begg's rank correlation
test and the trim-and-fill method, with metafor 3.8's numbers [METAFOR].

- :func:`regtest` — metafor's ``regtest``: the default ``model="rma"`` adds the standard error
  (``predictor="sei"``) as a moderator to the random/mixed-effects model of the input fit
  (same tau² estimator and test); ``model="lm"`` is Egger's original weighted least-squares
  regression (t test on k − p − 1 df).
- :func:`ranktest` — Begg and Mazumdar's test: Kendall's tau between standardised deviates
  and sampling variances; exact p-value when there are no ties (as ``cor.test(exact=TRUE)``
  in R), otherwise the normal approximation with tie correction.
- :func:`trimfill` — Duval and Tweedie's trim and fill with the L0 (default), R0 or Q0
  estimator of the number of missing studies; the side is chosen as metafor does, from the
  sign of the slope in a regression of the estimates on their standard errors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from pedbone.evidence._mh import MHResult
from pedbone.evidence._results import RMAResult
from pedbone.evidence._rma import rma
from pedbone.evidence._utils import EvidenceInputError, FloatArray, as_float_array

__all__ = ["RankTestResult", "RegTestResult", "TrimFillResult", "ranktest", "regtest", "trimfill"]

_PREDICTORS = ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")


def _fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "NA"
    return "< .0001" if p < 1e-4 else f"= {p:.4f}"


def _control(res: RMAResult) -> dict[str, float]:
    return dict(res.control) if res.control else {}


# ------------------------------------------------------------------------- ranktest


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
            f"Kendall's tau = {self.tau:.4f}, p {_fmt_p(self.pval)} ({how}, k = {self.k})"
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


# -------------------------------------------------------------------------- regtest


@dataclass(frozen=True)
class RegTestResult:
    """Regression test for funnel-plot asymmetry (metafor's ``regtest``).

    ``zval``/``pval`` test the coefficient of ``predictor``; ``ddf`` is the t-test degrees of
    freedom (``None`` for a z test). ``est``/``ci_lb``/``ci_ub`` are the limit estimate (the
    intercept: the effect as the standard error goes to 0) where metafor reports it.
    """

    model: str
    predictor: str
    zval: float
    pval: float
    ddf: int | None
    est: float | None
    ci_lb: float | None
    ci_ub: float | None
    k: int
    method: str
    fit: RMAResult | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary (without the fitted model)."""
        return {
            "test": "Egger regression",
            "model": self.model,
            "predictor": self.predictor,
            "zval": self.zval,
            "pval": self.pval,
            "ddf": self.ddf,
            "est": self.est,
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
            f"Test for Funnel Plot Asymmetry: {stat} = {self.zval:.4f}, p {_fmt_p(self.pval)}",
        ]
        if self.est is not None and self.ci_lb is not None and self.ci_ub is not None:
            lines.append(
                f"Limit Estimate (as sei -> 0):   b = {self.est:.4f} "
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
        control = _control(x)
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
            est=float(fit.beta[0]) if limit else None,
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
        est=float(b[0]) if limit else None,
        ci_lb=float(b[0] - crit * se[0]) if limit else None,
        ci_ub=float(b[0] + crit * se[0]) if limit else None,
        k=k,
        method="lm",
        fit=None,
        note=note,
    )


# ------------------------------------------------------------------------- trimfill


@dataclass(frozen=True, eq=False)
class TrimFillResult:
    """Trim-and-fill result: the model fitted to observed plus filled-in studies.

    ``fit`` is that model (or the input model when no study is missing); ``fill`` flags the
    imputed studies in ``yi``/``vi``/``slab``. ``estimate``, ``se``, ``ci_lb``, ... delegate
    to ``fit``. ``p_k0`` is the R0 test that no study is missing (NaN for L0/Q0).
    """

    fit: RMAResult
    k0: int
    se_k0: float
    side: str
    estimator: str
    p_k0: float
    fill: tuple[bool, ...]
    yi: FloatArray
    vi: FloatArray
    slab: tuple[str, ...]

    def __getattr__(self, name: str) -> Any:
        # delegate model read-outs (estimate, se, ci_lb, tau2, q, ...) to the fitted model
        if name.startswith("_") or name == "fit":
            raise AttributeError(name)
        return getattr(self.fit, name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary: the filled model plus the trim-and-fill read-out."""
        out = self.fit.to_dict()
        out["trimfill"] = {
            "k0": self.k0,
            "se_k0": None if not math.isfinite(self.se_k0) else self.se_k0,
            "side": self.side,
            "estimator": self.estimator,
            "p_k0": None if not math.isfinite(self.p_k0) else self.p_k0,
        }
        return out

    def summary(self) -> str:
        """Read-out: the number of imputed studies, then the model summary."""
        head = (
            f"Estimated number of missing studies on the {self.side} side: {self.k0} "
            f"(SE = {self.se_k0:.4f}; estimator {self.estimator})"
        )
        if self.estimator == "R0":
            head += f"\nTest of H0: no missing studies on the {self.side} side: p = {self.p_k0:.4f}"
        return head + "\n\n" + self.fit.summary()

    def __str__(self) -> str:
        return self.summary()


def trimfill(
    x: RMAResult,
    *,
    side: str | None = None,
    estimator: str = "L0",
    maxiter: int = 100,
) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill method (metafor's ``trimfill.rma.uni``).

    ``x`` must be an intercept-only model. ``side`` ("left"/"right") is where studies are
    presumed missing; by default it is estimated as metafor does (the side opposite the sign
    of the slope when the estimates are regressed on their standard errors). ``estimator`` is
    ``"L0"`` (default), ``"R0"`` or ``"Q0"``. As in metafor, the model of the filled data set
    uses the input's tau² estimator with a z test.
    """
    if not isinstance(x, RMAResult):
        raise EvidenceInputError("trimfill needs a model fitted with rma()")
    if not (x.p == 1 and x.intercept):
        raise EvidenceInputError("trim and fill applies only to models without moderators")
    if x.k == 1:
        raise EvidenceInputError("trim and fill needs k >= 2 studies (k = 1)")
    estimator = estimator.upper()
    if estimator not in ("L0", "R0", "Q0"):
        raise EvidenceInputError(f"estimator must be L0, R0 or Q0, not {estimator!r}")
    control = _control(x) or None
    yi0 = np.asarray(x.yi, dtype=np.float64)
    vi0 = np.asarray(x.vi, dtype=np.float64)
    if side is None:
        slope_fit = rma(yi0, vi0, mods=np.sqrt(vi0), method=x.method, control=control)
        side = "right" if slope_fit.beta[1] < 0 else "left"
    elif side not in ("left", "right"):
        raise EvidenceInputError(f"side must be 'left' or 'right', not {side!r}")
    yi = -yi0 if side == "right" else yi0.copy()
    ix = np.argsort(yi, kind="stable")
    yi = yi[ix]
    vi = vi0[ix]
    k = yi.size
    k0_sav = -1
    k0 = 0
    it = 0
    beta = math.nan
    se_k0 = math.nan
    yi_c = yi

    def refit(n: int) -> float:
        return float(rma(yi[:n], vi[:n], method=x.method, control=control).beta[0])

    while k0 != k0_sav:
        k0_sav = k0
        it += 1
        if it > maxiter:
            raise EvidenceInputError("trim and fill did not converge")
        beta = refit(k - k0)
        yi_c = yi - beta
        order = np.argsort(np.abs(yi_c), kind="stable")
        ranks = np.empty(k, dtype=np.float64)
        ranks[order] = np.arange(1, k + 1)
        signed = np.sign(yi_c) * ranks
        if estimator == "R0":
            neg = -signed[signed < 0]
            k0_f = (k - (float(neg.max()) if neg.size else 0.0)) - 1
            se_k0 = math.sqrt(2 * max(0.0, k0_f) + 2)
        else:
            sr = float(np.sum(signed[signed > 0]))
            if estimator == "L0":
                k0_f = (4 * sr - k * (k + 1)) / (2 * k - 1)
            else:
                k0_f = k - 0.5 - math.sqrt(2 * k**2 - 4 * sr + 0.25)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0_f**3
                + 27 * k0_f**2
                + 17 * k0_f
                - 18 * k * k0_f**2
                - 18 * k * k0_f
                + 6 * k**2 * k0_f
            ) / 24
            sq = math.sqrt(var_sr) if var_sr >= 0 else math.nan
            if estimator == "L0":
                se_k0 = 4 * sq / (2 * k - 1)
            else:
                se_k0 = 2 * sq / math.sqrt((k - 0.5) ** 2 - k0_f * (2 * k - k0_f - 1))
        k0 = max(0, round(k0_f))
        se_k0 = se_k0 if math.isnan(se_k0) else max(0.0, se_k0)
    p_k0 = 0.5 ** (k0 + 1) if estimator == "R0" else math.nan
    if k0 > 0:
        # mirror the k0 most extreme studies about the trimmed estimate
        mirrored = 2 * beta - yi[k - k0 :]
        fill_y = -mirrored if side == "right" else mirrored
        fill_v = vi[k - k0 :]
        yi_f = np.concatenate([yi0, fill_y])
        vi_f = np.concatenate([vi0, fill_v])
        slab = (*x.slab, *(f"Filled {i + 1}" for i in range(k0)))
        fit = rma(
            yi_f,
            vi_f,
            method=x.method,
            level=x.level,
            slab=list(slab),
            measure=x.measure,
            control=control,
        )
        fill = (False,) * x.k + (True,) * k0
    else:
        fit = x
        yi_f, vi_f, slab = yi0, vi0, tuple(x.slab)
        fill = (False,) * x.k
    return TrimFillResult(
        fit=fit,
        k0=k0,
        se_k0=se_k0,
        side=side,
        estimator=estimator,
        p_k0=p_k0,
        fill=fill,
        yi=yi_f,
        vi=vi_f,
        slab=slab,
    )
