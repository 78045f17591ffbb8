"""Generalised linear mixed models for proportions and 2×2 tables (metafor's ``rma.glmm``).

Harms from case series are sparse proportions: the normal approximation of ``rma`` on logits
needs a continuity correction and is biased when events are rare. ``rma_glmm`` fits the exact
binomial likelihood instead (Stijnen, Hamza & Özdemir 2010 [STIJNEN2010]):

* ``measure="PLO"``: the binomial-normal model, xᵢ ~ Bin(nᵢ, expit(Xᵢβ + uᵢ)), uᵢ ~ N(0, τ²);
* ``measure="OR"``, ``model="UM.FS"``: the unconditional model with fixed study effects,
  logit p = αᵢ + (treatment)·(Xᵢβ) ± uᵢ/2 with uᵢ ~ N(0, τ²) (metafor's default coding 1/2).

The integral over uᵢ is approximated by adaptive Gauss–Hermite quadrature with ``nAGQ`` points
(default 7, as metafor passes to lme4's ``glmer``): centred at each study's conditional mode and
scaled by the curvature there, which is exactly lme4's rule, so the fits agree with metafor's.
The ML estimates maximise that likelihood (BFGS over β, study effects and log τ); the variance
of β is the inverse of the numerical Hessian of the full likelihood (as lme4's ``vcov`` with
``use.hessian=TRUE``). ``method="EE"`` fixes τ² = 0 (logistic regression).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy import optimize, special, stats

from pedbone.evidence._utils import (
    ConvergenceError,
    EvidenceInputError,
    FirstCoefficient,
    FloatArray,
    as_frame,
    column_or_array,
    labels,
)

__all__ = ["GLMMResult", "rma_glmm"]


@dataclass(frozen=True)
class GLMMResult(FirstCoefficient):
    """A fitted ``rma_glmm`` model (names as metafor's ``rma.glmm`` object)."""

    beta: FloatArray
    se_beta: FloatArray
    zval_beta: FloatArray
    pval_beta: FloatArray
    ci_lb_beta: FloatArray
    ci_ub_beta: FloatArray
    vb: FloatArray
    coef_names: tuple[str, ...]
    tau2: float
    measure: str
    model: str
    method: str
    k: int
    p: int
    level: float
    ll: float
    nagq: int
    slab: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    def summary(self, digits: int = 4) -> str:
        d = digits
        kind = "Random-Effects" if self.method == "ML" else "Equal-Effects"
        lines = [
            "",
            f"{kind} Model (k = {self.k}; tau^2 estimator: {self.method}; "
            f"model: {self.model if self.measure != 'PLO' else 'binomial-normal'})",
            f"Model type: {self.measure}; adaptive Gauss-Hermite quadrature, nAGQ = {self.nagq}",
            "",
            f"tau^2 (estimated amount of total heterogeneity): {self.tau2:.{d}f}",
            f"tau (square root of estimated tau^2 value):      {self.tau:.{d}f}",
            f"logLik = {self.ll:.{d}f}",
            "",
            f"{'':<12} {'estimate':>10} {'se':>10} {'zval':>9} {'pval':>9} {'ci.lb':>10} "
            f"{'ci.ub':>10}",
        ]
        for i, n in enumerate(self.coef_names):
            lines.append(
                f"{n:<12} {self.beta[i]:>10.{d}f} {self.se_beta[i]:>10.{d}f} "
                f"{self.zval_beta[i]:>9.{d}f} {self.pval_beta[i]:>9.{d}g} "
                f"{self.ci_lb_beta[i]:>10.{d}f} {self.ci_ub_beta[i]:>10.{d}f}"
            )
        for note in self.notes:
            lines.append(f"Note: {note}")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.summary()


class _Binomial:
    """Rows r of binomial counts, each in a study s(r) with random-effect loading c_r."""

    def __init__(
        self, y: FloatArray, n: FloatArray, study: np.ndarray, c: FloatArray, nagq: int
    ) -> None:
        self.y, self.n, self.study, self.c = y, n, study, c
        self.k = int(study.max()) + 1
        self.lchoose = float(
            np.sum(special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1))
        )
        z, w = hermegauss(nagq)
        self.z, self.logw = z, np.log(w)

    def _sum(self, x: FloatArray) -> FloatArray:
        return np.asarray(np.bincount(self.study, weights=x, minlength=self.k), dtype=np.float64)

    def _cond(self, eta0: FloatArray, u: FloatArray) -> FloatArray:
        """Σ_r log p(y_r | u_s) per study, for one u per study."""
        eta = eta0 + self.c * u[self.study]
        # y log p + (n - y) log(1 - p), stably
        ll = self.y * eta - self.n * np.logaddexp(0.0, eta)
        return self._sum(ll)

    def loglik(self, eta0: FloatArray, tau: float) -> float:
        if tau <= 0:
            return float(np.sum(self._cond(eta0, np.zeros(self.k)))) + self.lchoose
        t2 = tau * tau
        u = np.zeros(self.k)
        for _ in range(100):  # Newton for the conditional modes, all studies at once
            eta = eta0 + self.c * u[self.study]
            p = special.expit(eta)
            g1 = self._sum(self.c * (self.y - self.n * p)) - u / t2
            h = self._sum(self.c * self.c * self.n * p * (1 - p)) + 1 / t2
            step = g1 / h
            u = u + step
            if np.max(np.abs(step)) < 1e-12 * (1 + np.max(np.abs(u))):
                break
        eta = eta0 + self.c * u[self.study]
        p = special.expit(eta)
        h = self._sum(self.c * self.c * self.n * p * (1 - p)) + 1 / t2
        s = 1 / np.sqrt(h)
        log_prior_const = -0.5 * math.log(2 * math.pi * t2)
        terms = []
        for zk, lw in zip(self.z, self.logw, strict=True):
            uk = u + s * zk
            terms.append(lw + 0.5 * zk * zk + self._cond(eta0, uk) - uk * uk / (2 * t2))
        lse = special.logsumexp(np.vstack(terms), axis=0)
        return float(np.sum(np.log(s) + log_prior_const + lse)) + self.lchoose


def _num_hessian(f: Any, x: FloatArray, rel: float = 1e-4) -> FloatArray:
    n = x.shape[0]
    h = rel * np.maximum(np.abs(x), 1e-2)
    H = np.empty((n, n))
    f0 = f(x)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h[i]
        H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
        for j in range(i + 1, n):
            ej = np.zeros(n)
            ej[j] = h[j]
            H[i, j] = H[j, i] = (
                f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
            ) / (4 * h[i] * h[j])
    return H


def _num_grad(f: Any, x: FloatArray, rel: float = 1e-6) -> FloatArray:
    g = np.empty_like(x)
    for i in range(x.shape[0]):
        h = rel * max(abs(x[i]), 1.0)
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def rma_glmm(
    measure: str,
    *,
    xi: Any = None,
    mi: Any = None,
    ni: Any = None,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    mods: Any = None,
    data: Any = None,
    model: str = "UM.FS",
    method: str = "ML",
    nAGQ: int = 7,
    level: float = 95.0,
    slab: Sequence[Any] | str | None = None,
) -> GLMMResult:
    """Binomial GLMM meta-analysis (metafor's ``rma.glmm``) for proportions and 2×2 tables.

    ``measure="PLO"``: events ``xi`` with ``ni`` (or non-events ``mi``); ``measure="OR"``
    with ``model="UM.FS"``: the 2×2 cells ``ai, bi, ci, di`` (or ``ai, ci, n1i, n2i``).
    ``mods``: a numeric moderator matrix (k rows) on the logit / log-OR scale. ``method``:
    ``"ML"`` (random effects) or ``"EE"``. Zero-event studies need no continuity correction.
    """
    measure = measure.upper()
    if measure not in ("PLO", "OR"):
        raise EvidenceInputError(
            f"rma_glmm supports measure 'PLO' (proportions) and 'OR' (2×2 tables), not {measure!r}"
        )
    if measure == "OR" and model != "UM.FS":
        raise EvidenceInputError(
            f"rma_glmm(measure='OR'): model {model!r} is not implemented; use 'UM.FS'"
        )
    method = method.upper()
    if method == "FE":
        method = "EE"
    if method not in ("ML", "EE"):
        raise EvidenceInputError(f"rma_glmm: method must be 'ML' or 'EE', got {method!r}")
    if nAGQ < 1 or nAGQ > 50:
        raise EvidenceInputError("rma_glmm: nAGQ must be between 1 and 50")
    if not 0 < level < 100:
        raise EvidenceInputError(f"level must be in (0, 100) percent, got {level}")
    frame = as_frame(data)

    def g(x: Any, name: str) -> FloatArray | None:
        return column_or_array(x, name, frame)

    notes: list[str] = []
    if measure == "PLO":
        x = g(xi, "xi")
        if x is None:
            raise EvidenceInputError("measure 'PLO' needs xi (events)")
        m = g(mi, "mi")
        nn = g(ni, "ni")
        if m is None:
            if nn is None:
                raise EvidenceInputError("measure 'PLO' needs ni (or mi)")
            m = nn - x
        k_all = x.shape[0]
        ys, ns = [x], [x + m]
    else:
        a, c_ = g(ai, "ai"), g(ci, "ci")
        if a is None or c_ is None:
            raise EvidenceInputError("measure 'OR' needs ai and ci")
        b, d = g(bi, "bi"), g(di, "di")
        if b is None:
            n1 = g(n1i, "n1i")
            if n1 is None:
                raise EvidenceInputError("measure 'OR' needs bi or n1i")
            b = n1 - a
        if d is None:
            n2 = g(n2i, "n2i")
            if n2 is None:
                raise EvidenceInputError("measure 'OR' needs di or n2i")
            d = n2 - c_
        k_all = a.shape[0]
        ys, ns = [a, c_], [a + b, c_ + d]
    for y_, n_ in zip(ys, ns, strict=True):
        if y_.shape[0] != k_all or n_.shape[0] != k_all:
            raise EvidenceInputError("all count arguments must have the same length")
    if isinstance(slab, str):
        if frame is None or slab not in frame.columns:
            raise EvidenceInputError(f"slab column {slab!r} not in data")
        slab_l = labels(frame[slab].to_list(), k_all)
    else:
        slab_l = labels(slab, k_all)
    if mods is None:
        X = np.ones((k_all, 1))
        names: tuple[str, ...] = ("intrcpt",)
    else:
        arr = np.asarray(mods, dtype=np.float64)
        arr = arr.reshape(-1, 1) if arr.ndim == 1 else arr
        if arr.shape[0] != k_all:
            raise EvidenceInputError(f"mods: expected {k_all} rows, got {arr.shape[0]}")
        X = np.column_stack([np.ones(k_all), arr])
        names = ("intrcpt", *(f"mod{j + 1}" for j in range(arr.shape[1])))
    ok = np.all(np.isfinite(X), axis=1)
    for y_, n_ in zip(ys, ns, strict=True):
        ok &= np.isfinite(y_) & np.isfinite(n_)
    if not ok.all():
        notes.append(
            f"{int((~ok).sum())} studies omitted (missing counts or moderators): "
            + ", ".join(slab_l[i] for i in np.flatnonzero(~ok))
        )
    for y_, n_ in zip(ys, ns, strict=True):
        bad = ok & ((y_ < 0) | (y_ > n_) | (n_ <= 0) | (y_ != np.round(y_)))
        if bad.any():
            rows = ", ".join(slab_l[i] for i in np.flatnonzero(bad)[:10])
            raise EvidenceInputError(
                f"counts must be whole numbers with 0 <= events <= n and n > 0: {rows}"
            )
    idx = np.flatnonzero(ok)
    X = X[idx]
    k, p = X.shape
    if k == 0:
        raise EvidenceInputError("no studies left to analyse")
    if np.linalg.matrix_rank(X) < p:
        raise EvidenceInputError("moderator matrix is not of full rank")
    if measure == "PLO":
        y = ys[0][idx]
        n = ns[0][idx]
        study = np.arange(k)
        load = np.ones(k)
        n_alpha = 0

        def eta_of(par: FloatArray) -> FloatArray:
            return np.asarray(X @ par[:p], dtype=np.float64)

        start_y = np.clip(y, 0.5, None) / np.clip(n, 1.0, None)
        beta0 = np.linalg.lstsq(X, special.logit(np.clip(start_y, 1e-3, 1 - 1e-3)), rcond=None)[0]
        par0 = np.asarray(beta0, dtype=np.float64)
    else:
        a_, c2 = ys[0][idx], ys[1][idx]
        n1_, n2_ = ns[0][idx], ns[1][idx]
        y = np.ravel(np.column_stack([a_, c2]))
        n = np.ravel(np.column_stack([n1_, n2_]))
        study = np.repeat(np.arange(k), 2)
        load = np.tile([0.5, -0.5], k)
        treat = np.tile([1.0, 0.0], k)
        Xr = X[study] * treat[:, None]
        n_alpha = k

        def eta_of(par: FloatArray) -> FloatArray:
            return np.asarray(Xr @ par[:p] + par[p : p + k][study], dtype=np.float64)

        pc = (c2 + 0.5) / (n2_ + 1)
        alpha0 = special.logit(pc)
        lor = np.log((a_ + 0.5) / (n1_ - a_ + 0.5)) - np.log((c2 + 0.5) / (n2_ - c2 + 0.5))
        beta0 = np.linalg.lstsq(X, lor, rcond=None)[0]
        par0 = np.concatenate([beta0, alpha0])
    fam = _Binomial(y.astype(np.float64), n.astype(np.float64), study, load, nAGQ)
    random = method == "ML"

    def negll(par: FloatArray) -> float:
        tau = math.exp(par[-1]) if random else 0.0
        val = fam.loglik(eta_of(par), tau)
        return -val if math.isfinite(val) else 1e300

    x0 = np.concatenate([par0, [math.log(0.3)]]) if random else par0
    opt = optimize.minimize(
        negll,
        x0,
        jac=lambda t: _num_grad(negll, t),
        method="BFGS",
        options={"gtol": 1e-8, "maxiter": 2000},
    )
    if not np.all(np.isfinite(opt.x)) or opt.fun >= 1e299:
        raise ConvergenceError("rma_glmm: the likelihood could not be maximised")
    xopt = opt.x
    tau = math.exp(xopt[-1]) if random else 0.0
    if random and tau < 1e-5:
        notes.append("tau² estimated at (or near) 0")
    # Hessian over (β, α, τ) — τ itself, as lme4's θ — for the variance of β
    n_fix = p + n_alpha

    def negll_tau(par: FloatArray) -> float:
        t = abs(par[-1]) if random else 0.0
        val = fam.loglik(eta_of(par), t)
        return -val

    hpar = np.concatenate([xopt[:n_fix], [tau]]) if random else xopt[:n_fix]
    if random and tau < 1e-4:
        H = _num_hessian(negll_tau, hpar)[:n_fix, :n_fix]
    else:
        H = _num_hessian(negll_tau, hpar)
    try:
        vfull = np.linalg.inv(H)
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError("rma_glmm: the Hessian is singular") from exc
    vb = vfull[:p, :p]
    beta = xopt[:p]
    se = np.sqrt(np.diag(vb))
    zval = beta / se
    pval = 2 * stats.norm.sf(np.abs(zval))
    crit = float(stats.norm.isf((1 - level / 100) / 2))
    if not opt.success:
        notes.append(f"optimiser: {opt.message}")
    return GLMMResult(
        beta=np.asarray(beta, dtype=np.float64),
        se_beta=np.asarray(se, dtype=np.float64),
        zval_beta=np.asarray(zval, dtype=np.float64),
        pval_beta=np.asarray(pval, dtype=np.float64),
        ci_lb_beta=np.asarray(beta - crit * se, dtype=np.float64),
        ci_ub_beta=np.asarray(beta + crit * se, dtype=np.float64),
        vb=np.asarray(vb, dtype=np.float64),
        coef_names=names,
        tau2=tau * tau,
        measure=measure,
        model="UM.FS" if measure == "OR" else "binomial-normal",
        method=method,
        k=k,
        p=p,
        level=float(level),
        ll=-float(opt.fun),
        nagq=nAGQ,
        slab=tuple(slab_l[i] for i in idx),
        notes=tuple(notes),
    )
