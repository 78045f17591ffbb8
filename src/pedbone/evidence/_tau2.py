"""Estimators of the between-study variance tau² (metafor's ``rma.uni`` methods).

All formulas follow metafor 3.8 (Viechtbauer 2010 [METAFOR]): DL (DerSimonian–Laird
[DERSIMONIAN1986]), HE (Hedges), HS (Hunter–Schmidt [HUNTER2004]), SJ (Sidik–Jonkman
[SIDIK2005]), ML, REML, EB (empirical Bayes [MORRIS1983]) and PM (Paule–Mandel [PAULE1982]).
The traces of the k×k matrix ``P = W - W X (X'WX)⁻¹ X'W`` are computed from
p×p matrices so that large k costs O(k p²), never O(k³).

Convergence (documented in docs/evidence.md): ML/REML/EB use metafor's Fisher scoring with its
step halving at the boundary, but stop when the change in tau² is below ``threshold`` (default
1e-12, metafor: 1e-5) within ``maxiter`` (default 1000, metafor: 100); if the iterate ends
within ``threshold * 100`` of zero and the score at zero points down, tau² is set to exactly 0
(metafor stops at a tiny positive value). PM is the root of the generalised Q-statistic found
by Brent's method to ``xtol`` 1e-14 (metafor: ``uniroot`` with tol ≈ 1.2e-4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from pedbone.evidence._utils import ConvergenceError, EvidenceInputError, FloatArray

__all__ = ["TAU2_METHODS", "Tau2Fit", "estimate_tau2", "qe_func"]

TAU2_METHODS = ("DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")


@dataclass(frozen=True)
class Tau2Fit:
    """tau² estimate with its standard error and the iteration record."""

    tau2: float
    se_tau2: float
    iterations: int = 0
    converged: bool = True
    note: str = ""


def _wls(y: FloatArray, w: FloatArray, X: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Weighted least squares: returns (S=(X'WX)⁻¹, beta, residuals)."""
    XtW = X.T * w
    S = np.asarray(np.linalg.inv(XtW @ X), dtype=np.float64)
    beta = S @ (XtW @ y)
    return S, beta, np.asarray(y - X @ beta, dtype=np.float64)


def _mx(X: FloatArray, d: FloatArray) -> FloatArray:
    """X' diag(d) X."""
    return np.asarray((X.T * d) @ X, dtype=np.float64)


def tr_pd(w: FloatArray, X: FloatArray, S: FloatArray, d: FloatArray) -> float:
    """tr(P D) for diagonal D, with P = W - W X S X' W."""
    return float(np.sum(w * d) - np.trace(S @ _mx(X, w * w * d)))


def tr_pdpe(w: FloatArray, X: FloatArray, S: FloatArray, d: FloatArray, e: FloatArray) -> float:
    """tr(P D P E) for diagonal D, E, with P = W - W X S X' W."""
    Md = _mx(X, w * w * d)
    Me = _mx(X, w * w * e)
    return float(
        np.sum(w * w * d * e) - 2.0 * np.trace(S @ _mx(X, w**3 * d * e)) + np.trace(S @ Md @ S @ Me)
    )


def qe_func(tau2: float, y: FloatArray, vi: FloatArray, X: FloatArray) -> float:
    """Generalised Q: sum of w (y - X b)² with w = 1/(vi + tau2) (metafor's ``.QE.func``)."""
    w = 1.0 / (vi + tau2)
    _, _, e = _wls(y, w, X)
    return float(np.sum(w * e * e))


def _loglik(tau2: float, y: FloatArray, vi: FloatArray, X: FloatArray, reml: bool) -> float:
    k, p = X.shape
    w = 1.0 / (vi + tau2)
    S, _, e = _wls(y, w, X)
    rss = float(np.sum(w * e * e))
    if not reml:
        return float(
            -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(vi + tau2))) - 0.5 * rss
        )
    _, logdet = np.linalg.slogdet(np.linalg.inv(S))
    return float(
        -0.5 * (k - p) * math.log(2 * math.pi)
        - 0.5 * float(np.sum(np.log(vi + tau2)))
        - 0.5 * float(logdet)
        - 0.5 * rss
    )


def estimate_tau2(
    method: str,
    y: FloatArray,
    vi: FloatArray,
    X: FloatArray,
    *,
    threshold: float = 1e-12,
    maxiter: int = 1000,
    tau2_max: float | None = None,
    fallback: bool = True,
) -> Tau2Fit:
    """Estimate tau² by ``method`` for outcomes ``y`` (mean-centred, as metafor), variances ``vi``.

    Raises ``ConvergenceError`` if an iterative estimator does not converge.
    """
    k, p = X.shape
    ones = np.ones(k)
    if k - p < 1:
        raise EvidenceInputError(
            f"random-effects model needs k > p (k = {k}, p = {p} coefficients): "
            "too few studies to estimate tau²"
        )
    if method == "HS":
        w = 1.0 / vi
        S, _, e = _wls(y, w, X)
        rss = float(np.sum(w * e * e))
        tau2 = max(0.0, (rss - k) / float(np.sum(w)))
        se = math.sqrt(
            1.0
            / float(np.sum(w)) ** 2
            * (
                2 * (k - p)
                + 4 * tau2 * tr_pd(w, X, S, ones)
                + 2 * tau2**2 * tr_pdpe(w, X, S, ones, ones)
            )
        )
        return Tau2Fit(tau2, se)
    if method == "DL":
        w = 1.0 / vi
        S, _, e = _wls(y, w, X)
        rss = float(np.sum(w * e * e))
        trP = tr_pd(w, X, S, ones)
        tau2 = max(0.0, (rss - (k - p)) / trP)
        se = math.sqrt(
            1.0
            / trP**2
            * (2 * (k - p) + 4 * tau2 * trP + 2 * tau2**2 * tr_pdpe(w, X, S, ones, ones))
        )
        return Tau2Fit(tau2, se)
    if method == "SJ":
        tau2_0 = float(np.var(y - y.mean()))  # var(y) * (k-1)/k
        # identical outcomes: tau2_0 = 0 and so tau² = 0, as in metafor
        w = 1.0 / (vi + tau2_0)
        S, _, e = _wls(y, w, X)
        rss = float(np.sum(w * e * e))
        tau2 = max(0.0, tau2_0 * rss / (k - p))
        se = math.sqrt(
            tau2_0**2
            / (k - p) ** 2
            * (
                2 * tr_pdpe(w, X, S, vi, vi)
                + 4 * tau2 * tr_pdpe(w, X, S, vi, ones)
                + 2 * tau2**2 * tr_pdpe(w, X, S, ones, ones)
            )
        )
        return Tau2Fit(tau2, se)
    # HE (also the starting value of ML/REML/EB)
    S0 = np.linalg.inv(X.T @ X)
    e0 = y - X @ (S0 @ (X.T @ y))
    rss0 = float(e0 @ e0)
    trPV = float(np.sum(vi) - np.trace(S0 @ _mx(X, vi)))
    tau2_he = (rss0 - trPV) / (k - p)
    if method == "HE":
        tau2 = max(0.0, tau2_he)
        trPVPV = float(
            np.sum(vi * vi)
            - 2 * np.trace(S0 @ _mx(X, vi * vi))
            + np.trace(S0 @ _mx(X, vi) @ S0 @ _mx(X, vi))
        )
        se = math.sqrt(1.0 / (k - p) ** 2 * (2 * trPVPV + 4 * tau2 * trPV + 2 * tau2**2 * (k - p)))
        return Tau2Fit(tau2, se)
    if method == "PM":
        return _pm(y, vi, X, tau2_max)
    if method in ("ML", "REML", "EB"):
        return _fisher(method, y, vi, X, max(0.0, tau2_he), threshold, maxiter, fallback, tau2_max)
    raise EvidenceInputError(
        f"unknown method {method!r}; choose one of EE, FE, {', '.join(TAU2_METHODS)}"
    )


def _eb_pm_se(tau2: float, vi: FloatArray, k: int, p: int) -> float:
    w = 1.0 / (vi + tau2)
    return math.sqrt(2 * k**2 / (k - p) / float(np.sum(w)) ** 2)


def _pm(y: FloatArray, vi: FloatArray, X: FloatArray, tau2_max: float | None) -> Tau2Fit:
    k, p = X.shape
    target = float(k - p)
    if qe_func(0.0, y, vi, X) < target:
        return Tau2Fit(0.0, _eb_pm_se(0.0, vi, k, p))
    hi = tau2_max if tau2_max is not None else max(100.0, 10 * float(np.var(y)))
    for _ in range(60):
        if qe_func(hi, y, vi, X) < target:
            break
        hi *= 10
    else:  # pragma: no cover - Q(tau2) -> 0 as tau2 grows, so this needs absurd data
        raise ConvergenceError("PM estimator: no root of the generalised Q below tau² = 1e60")
    root, info = optimize.brentq(
        lambda t: qe_func(t, y, vi, X) - target, 0.0, hi, xtol=1e-14, rtol=1e-15, full_output=True
    )
    if not info.converged:  # pragma: no cover - brentq on a bracketing interval converges
        raise ConvergenceError(f"PM estimator did not converge: {info.flag}")
    tau2 = float(root)
    return Tau2Fit(tau2, _eb_pm_se(tau2, vi, k, p), int(info.iterations))


def _fisher(
    method: str,
    y: FloatArray,
    vi: FloatArray,
    X: FloatArray,
    tau2: float,
    threshold: float,
    maxiter: int,
    fallback: bool = True,
    tau2_max: float | None = None,
) -> Tau2Fit:
    """Fisher scoring for ML, REML and EB exactly as metafor, with a tighter stopping rule.

    If it does not converge and ``fallback`` is true, the root of the score (estimating)
    equation is found by a bracketed search and a note says so; otherwise
    ``ConvergenceError``.
    """
    k, p = X.shape
    ones = np.ones(k)

    def step(t: float) -> float:
        w = 1.0 / (vi + t)
        S, _, e = _wls(y, w, X)
        Py = w * e
        if method == "ML":
            return float((Py @ Py - np.sum(w)) / np.sum(w * w))
        if method == "REML":
            trP = tr_pd(w, X, S, ones)
            return float((Py @ Py - trP) / tr_pdpe(w, X, S, ones, ones))
        return float((float(np.sum(w * e * e)) * k / (k - p) - k) / np.sum(w))

    change = math.inf
    it = 0
    note = ""
    start = tau2
    while change > threshold:
        it += 1
        if it > maxiter:
            if not fallback:
                raise ConvergenceError(
                    f"{method}: Fisher scoring did not converge in {maxiter} iterations "
                    f"(last tau² = {tau2:.6g}, change {change:.3g}); try another method"
                )
            tau2 = _score_root(method, y, vi, X, start, tau2_max)
            note = (
                f"{method}: Fisher scoring did not converge in {maxiter} iterations (metafor "
                "stops here with an error); tau² is the root of the estimating equation found "
                "by a bracketed search instead"
            )
            break
        old = tau2
        adj = step(tau2)
        if not math.isfinite(adj):
            raise ConvergenceError(f"{method}: Fisher scoring produced a non-finite step")
        while tau2 + adj < 0:
            adj /= 2
            if abs(adj) < 1e-300:
                adj = 0.0
                break
        tau2 = tau2 + adj
        change = abs(old - tau2)
    if tau2 < threshold * 100 and step(0.0) <= 0:
        tau2 = 0.0
    if method in ("ML", "REML") and tau2 > 0:
        # metafor's ll0check: a local maximum below the likelihood at tau2 = 0 is rejected
        reml = method == "REML"
        if _loglik(0.0, y, vi, X, reml) - _loglik(tau2, y, vi, X, reml) > 1e-10:
            note = "Fisher scoring stopped at a local maximum; tau² set to 0 (metafor's ll0check)"
            tau2 = 0.0
    w = 1.0 / (vi + tau2)
    if method == "ML":
        se = math.sqrt(2.0 / float(np.sum(w * w)))
    elif method == "REML":
        S, _, _ = _wls(y, w, X)
        se = math.sqrt(2.0 / tr_pdpe(w, X, S, ones, ones))
    else:
        se = _eb_pm_se(tau2, vi, k, p)
    return Tau2Fit(tau2, se, it, True, note)


def _score_root(
    method: str, y: FloatArray, vi: FloatArray, X: FloatArray, start: float, tau2_max: float | None
) -> float:
    """Maximiser of the (restricted) likelihood / root of the EB equation by bracketing.

    Used only when Fisher scoring fails. EB solves the same equation as PM. For ML/REML the
    log-likelihood is scanned on a grid over [0, upper]; the best grid point is refined with
    Brent's method on the score; a maximum at 0 gives 0.
    """
    k = X.shape[0]
    if method == "EB":
        return _pm(y, vi, X, tau2_max).tau2
    ones = np.ones(k)
    reml = method == "REML"

    def score(t: float) -> float:
        w = 1.0 / (vi + t)
        S, _, e = _wls(y, w, X)
        Py = w * e
        if reml:
            return float(Py @ Py - tr_pd(w, X, S, ones))
        return float(Py @ Py - np.sum(w))

    upper = tau2_max if tau2_max is not None else max(100.0, 10 * float(np.var(y)), 10 * start)
    grid = np.concatenate([[0.0], np.geomspace(1e-10, upper, 400)])
    ll = np.array([_loglik(float(t), y, vi, X, reml) for t in grid])
    i = int(np.argmax(ll))
    if i == 0:
        return 0.0
    lo, hi = float(grid[i - 1]), float(grid[min(i + 1, grid.size - 1)])
    if score(lo) > 0 > score(hi):
        return float(optimize.brentq(score, lo, hi, xtol=1e-14, rtol=1e-15))
    raise ConvergenceError(  # pragma: no cover - the grid maximum is interior or at 0
        f"{method}: neither Fisher scoring nor the bracketed search found the maximum"
    )
