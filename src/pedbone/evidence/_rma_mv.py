"""Multilevel and multivariate meta-analytic models (metafor's ``rma.mv``).

Several effects per study — lumbar spine, total body less head and hip, at 6 and 12 months — are
not independent. ``rma_mv`` fits the linear mixed model of Viechtbauer 2010 [METAFOR]

    y = X β + Σ_s Z_s u_s + Z_g g + e,   e ~ N(0, V),

with known sampling (co)variances ``V`` (from :func:`vcalc` when only variances are reported),
nested random intercepts (``random="~ 1 | study/esid"``: one variance component σ² per level,
Konstantopoulos 2011 [KONSTANTOPOULOS2011]) and at most one ``"~ inner | outer"`` term whose
covariance matrix has the structure ``struct`` (``"CS"``, ``"HCS"``, ``"UN"``, ``"ID"``,
``"DIAG"``; Berkey 1998 [BERKEY1998] is the ``"UN"`` example). Variance components are estimated
by REML (default) or ML: the (restricted) log-likelihood is maximised by BFGS with its analytic
gradient over log-variances and Fisher-z correlations (metafor uses the same parametrisation,
so boundary estimates approach 0 the same way).

The multilevel I² follows the metafor project's recipe [METAFOR_I2]: each σ² over the total
variance, with the "typical" sampling variance (k - p) / tr(P) and P = W - W X (X'WX)⁻¹ X' W,
W = V⁻¹.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import linalg, optimize, sparse, stats
from scipy.sparse import csgraph

from pedbone.evidence._fit import _design
from pedbone.evidence._predict import newmods_matrix
from pedbone.evidence._results import EscalcResult, PredictResult
from pedbone.evidence._utils import (
    ConvergenceError,
    EvidenceInputError,
    FirstCoefficient,
    FloatArray,
    as_float_array,
    as_frame,
    labels,
)

__all__ = ["STRUCTS", "RMAMVResult", "rma_mv"]

STRUCTS = ("CS", "HCS", "UN", "ID", "DIAG")


def _mods_design(
    mods: Any, data: pl.DataFrame | None, k: int, intercept: bool
) -> tuple[FloatArray, tuple[str, ...], dict[int, tuple[str, ...]]]:
    """The model matrix, built exactly as ``rma`` builds it (one design code for both):
    X, coefficient names and the rows lacking a moderator (with the moderators they lack)."""
    X, names, lacking = _design(mods, data, k, intercept)
    if not intercept:
        # as metafor: a column of ones among the moderators is the intercept (moved first)
        ones = [j for j in range(X.shape[1]) if np.all(X[:, j] == 1.0)]
        if ones:
            j = ones[0]
            order = [j] + [i for i in range(X.shape[1]) if i != j]
            X = X[:, order]
            names = ("intrcpt", *(names[i] for i in order[1:]))
    return X, names, lacking


# ------------------------------------------------------------------ random-effects structure


@dataclass(frozen=True)
class _Sigma:
    name: str
    key: tuple[str, ...]  # the grouping value of every row
    nlevels: int


@dataclass(frozen=True)
class _GTerm:
    inner_name: str
    outer_name: str
    struct: str
    inner: tuple[str, ...]
    outer: tuple[str, ...]
    levels: tuple[str, ...]  # sorted inner levels (R's factor order)

    @property
    def n_tau2(self) -> int:
        return len(self.levels) if self.struct in ("HCS", "UN", "DIAG") else 1

    @property
    def n_rho(self) -> int:
        if self.struct in ("CS", "HCS"):
            return 1
        if self.struct == "UN":
            q = len(self.levels)
            return q * (q - 1) // 2
        return 0


def _column(data: pl.DataFrame | None, name: str, k: int) -> list[str]:
    if data is None:
        raise EvidenceInputError(f"random=: variable {name!r} needs data= with that column")
    if name not in data.columns:
        raise EvidenceInputError(
            f"random=: column {name!r} not in data (columns: {', '.join(data.columns)})"
        )
    col = data[name]
    if col.null_count():
        raise EvidenceInputError(f"random=: column {name!r} has missing values")
    vals = col.to_list()
    if len(vals) != k:  # pragma: no cover - data and yi come from the same frame
        raise EvidenceInputError(f"random=: column {name!r} has {len(vals)} rows for {k}")
    return [_fmt_level(v) for v in vals]


def _fmt_level(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _parse_random(
    random: str | Sequence[str] | None, struct: str, data: pl.DataFrame | None, k: int
) -> tuple[list[_Sigma], _GTerm | None]:
    if random is None:
        return [], None
    forms = [random] if isinstance(random, str) else list(random)
    sigmas: list[_Sigma] = []
    gterm: _GTerm | None = None
    for f in forms:
        txt = f.strip()
        if not txt.startswith("~") or "|" not in txt:
            raise EvidenceInputError(
                f"random= term {f!r}: write it as '~ 1 | study', '~ 1 | study/esid' or "
                "'~ outcome | study'"
            )
        lhs, rhs = (s.strip() for s in txt[1:].split("|", 1))
        if lhs == "1":
            parts = [p.strip() for p in rhs.split("/")]
            if not all(parts):
                raise EvidenceInputError(f"random= term {f!r}: empty grouping variable")
            cols = [_column(data, p, k) for p in parts]
            for depth in range(1, len(parts) + 1):
                key = tuple("/".join(c[i] for c in cols[:depth]) for i in range(k))
                sigmas.append(_Sigma("/".join(parts[:depth]), key, len(set(key))))
        else:
            if gterm is not None:
                raise EvidenceInputError(
                    "random=: only one '~ inner | outer' term is supported (metafor allows two)"
                )
            st = struct.upper()
            if st not in STRUCTS:
                raise EvidenceInputError(
                    f"struct must be one of {', '.join(STRUCTS)}, got {struct!r}"
                )
            if "/" in rhs or "/" in lhs:
                raise EvidenceInputError(f"random= term {f!r}: nesting is only for '~ 1 | a/b'")
            inner = tuple(_column(data, lhs, k))
            outer = tuple(_column(data, rhs, k))
            gterm = _GTerm(lhs, rhs, st, inner, outer, tuple(sorted(set(inner))))
    return sigmas, gterm


# ------------------------------------------------------------------ the variance model


class _VarModel:
    """M(θ) = V + Σ σ²_s Z_s Z_s' + G-term; θ holds log-variances and atanh-correlations."""

    def __init__(self, V: FloatArray, sigmas: list[_Sigma], g: _GTerm | None) -> None:
        self.V = V
        k = V.shape[0]
        self.sig_mats = [
            (np.asarray(s.key)[:, None] == np.asarray(s.key)[None, :]).astype(np.float64)
            for s in sigmas
        ]
        self.g = g
        if g is not None:
            inner = np.asarray(g.inner)
            same_outer = np.asarray(g.outer)[:, None] == np.asarray(g.outer)[None, :]
            lev_index = {lev: i for i, lev in enumerate(g.levels)}
            self.li = np.asarray([lev_index[x] for x in inner])
            self.same_outer = same_outer.astype(np.float64)
            self.same_inner = (inner[:, None] == inner[None, :]).astype(np.float64)
            q = len(g.levels)
            self.q = q
            self.onehot = np.zeros((k, q))
            self.onehot[np.arange(k), self.li] = 1.0
            self.pairs = [(a, b) for a in range(q) for b in range(a + 1, q)]
        self.n_sigma = len(sigmas)
        self.n_tau2 = 0 if g is None else g.n_tau2
        self.n_rho = 0 if g is None else g.n_rho
        self.n_par = self.n_sigma + self.n_tau2 + self.n_rho
        # independent blocks: connected components of the non-zero pattern of M; the
        # likelihood is computed block by block, batched over blocks of equal size
        pattern = V != 0
        for Z in self.sig_mats:
            pattern |= Z != 0
        if g is not None:
            pattern |= self.same_outer != 0
        n_comp, comp = csgraph.connected_components(sparse.csr_matrix(pattern), directed=False)
        by_size: dict[int, list[NDArray[np.intp]]] = {}
        for c in range(n_comp):
            members = np.flatnonzero(comp == c)
            by_size.setdefault(members.size, []).append(members)
        self.groups: list[NDArray[np.intp]] = [np.vstack(v) for v in by_size.values()]

    def split(self, par: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        s = self.n_sigma
        t = s + self.n_tau2
        return par[:s], par[s:t], par[t:]

    def g_parts(self, tau2: FloatArray, rho: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Level variances (per level) and the q×q correlation matrix of the G-term."""
        assert self.g is not None
        q = self.q
        st = self.g.struct
        tau2_l = np.full(q, tau2[0]) if tau2.shape[0] == 1 else tau2
        R = np.eye(q)
        if st in ("CS", "HCS"):
            R = np.full((q, q), rho[0])
            np.fill_diagonal(R, 1.0)
        elif st == "UN":
            for (a, b), r in zip(self.pairs, rho, strict=True):
                R[a, b] = R[b, a] = r
        return tau2_l, R

    def g_matrix(self, tau2_l: FloatArray, R: FloatArray) -> FloatArray:
        sd = np.sqrt(tau2_l)
        T = R * np.outer(sd, sd)
        return np.asarray(self.same_outer * T[np.ix_(self.li, self.li)], dtype=np.float64)

    def marginal(self, sigma2: FloatArray, tau2: FloatArray, rho: FloatArray) -> FloatArray:
        M = self.V.copy()
        for s2, Z in zip(sigma2, self.sig_mats, strict=True):
            M += s2 * Z
        if self.g is not None:
            M += self.g_matrix(*self.g_parts(tau2, rho))
        return M

    def natural(self, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        a, b, c = self.split(theta)
        return np.exp(a), np.exp(b), np.tanh(c)

    def derivs(self, theta: FloatArray) -> list[FloatArray]:
        """dM/dθ_j for every θ_j (log-variances, atanh-correlations)."""
        sigma2, tau2, rho = self.natural(theta)
        out = [s2 * Z for s2, Z in zip(sigma2, self.sig_mats, strict=True)]
        if self.g is None:
            return out
        tau2_l, R = self.g_parts(tau2, rho)
        sd = np.sqrt(tau2_l)
        q = self.q
        if tau2.shape[0] == 1:
            # every level shares tau²: dG/dlog τ² = G
            out.append(self.g_matrix(tau2_l, R))
        else:
            for lev in range(q):
                # d(sd_a sd_b)/dlog τ²_lev = 0.5 sd_a sd_b ([a=lev] + [b=lev])
                e = np.zeros(q)
                e[lev] = 1.0
                D = 0.5 * (e[:, None] + e[None, :]) * np.outer(sd, sd) * R
                out.append(self.same_outer * D[np.ix_(self.li, self.li)])
        if self.g.struct in ("CS", "HCS"):
            D = np.outer(sd, sd) * (1 - np.eye(q)) * (1 - rho[0] ** 2)
            out.append(self.same_outer * D[np.ix_(self.li, self.li)])
        elif self.g.struct == "UN":
            for (a, b), r in zip(self.pairs, rho, strict=True):
                D = np.zeros((q, q))
                D[a, b] = D[b, a] = sd[a] * sd[b] * (1 - r**2)
                out.append(self.same_outer * D[np.ix_(self.li, self.li)])
        return out


@dataclass
class _LL:
    value: float
    grad: FloatArray
    beta: FloatArray
    vb: FloatArray
    M: FloatArray
    ll_ml: float
    ll_reml: float


def _loglik(
    theta: FloatArray,
    model: _VarModel,
    y: FloatArray,
    X: FloatArray,
    reml: bool,
    free: FloatArray,
    want_grad: bool = True,
) -> _LL:
    k, p = X.shape
    M = model.marginal(*model.natural(theta))
    XtMX = np.zeros((p, p))
    XtMy = np.zeros(p)
    ld_M = 0.0
    invs: list[FloatArray] = []
    for idx in model.groups:
        Mb = M[idx[:, :, None], idx[:, None, :]]  # (m, n, n)
        sign, ld = np.linalg.slogdet(Mb)
        if np.any(sign <= 0):
            raise np.linalg.LinAlgError("marginal covariance not positive definite")
        ld_M += float(np.sum(ld))
        inv = np.linalg.inv(Mb)
        invs.append(np.asarray(inv, dtype=np.float64))
        Xb = X[idx]  # (m, n, p)
        iX = inv @ Xb
        XtMX += np.einsum("mnp,mnq->pq", Xb, iX)
        XtMy += np.einsum("mnp,mn->p", iX, y[idx])
    cx = linalg.cho_factor(XtMX, lower=True, check_finite=False)
    vb = linalg.cho_solve(cx, np.eye(p), check_finite=False)
    beta = vb @ XtMy
    r = y - X @ beta
    Minv_r = np.empty(k)
    for idx, inv in zip(model.groups, invs, strict=True):
        Minv_r[idx] = np.einsum("mij,mj->mi", inv, r[idx])
    rss = float(r @ Minv_r)
    ld_X = 2.0 * float(np.sum(np.log(np.diag(cx[0]))))
    ll_ml = -0.5 * k * math.log(2 * math.pi) - 0.5 * ld_M - 0.5 * rss
    ll_reml = (
        -0.5 * (k - p) * math.log(2 * math.pi)
        + 0.5 * float(np.linalg.slogdet(X.T @ X)[1])
        - 0.5 * ld_M
        - 0.5 * ld_X
        - 0.5 * rss
    )
    grad = np.zeros(theta.shape[0])
    if want_grad:
        derivs = model.derivs(theta)
        for idx, inv in zip(model.groups, invs, strict=True):
            if reml:
                iX = inv @ X[idx]
                A = inv - np.einsum("mip,pq,mjq->mij", iX, vb, iX)
            else:
                A = inv
            mr = Minv_r[idx]
            for j, dM in enumerate(derivs):
                if not free[j]:
                    continue
                dMb = dM[idx[:, :, None], idx[:, None, :]]
                grad[j] += -0.5 * float(np.sum(A * dMb)) + 0.5 * float(
                    np.einsum("mi,mij,mj->", mr, dMb, mr)
                )
    value = ll_reml if reml else ll_ml
    return _LL(value, grad, beta, vb, M, ll_ml, ll_reml)


# ------------------------------------------------------------------ result


@dataclass(frozen=True)
class RMAMVResult(FirstCoefficient):
    """A fitted ``rma_mv`` model (fields named after metafor's ``rma.mv`` object)."""

    beta: FloatArray
    se_beta: FloatArray
    zval_beta: FloatArray
    pval_beta: FloatArray
    ci_lb_beta: FloatArray
    ci_ub_beta: FloatArray
    vb: FloatArray
    coef_names: tuple[str, ...]
    sigma2: tuple[float, ...]
    s_names: tuple[str, ...]
    s_nlevels: tuple[int, ...]
    tau2: tuple[float, ...]
    rho: tuple[float, ...]
    g_levels: tuple[str, ...]
    g_names: tuple[str, str] | None
    struct: str | None
    k: int
    p: int
    method: str
    test: str
    level: float
    ddf: int | None
    q: float
    q_df: int
    q_pval: float
    qm: float
    qm_df: tuple[int, ...]
    qm_pval: float
    btt: tuple[int, ...]
    ll: float
    fit_stats: Mapping[str, Mapping[str, float]]
    yi: FloatArray
    V: FloatArray
    M: FloatArray
    X: FloatArray
    intercept: bool
    slab: tuple[str, ...]
    measure: str
    iterations: int
    notes: tuple[str, ...] = ()
    sigma2_fixed: tuple[bool, ...] = ()
    _ranef_keys: tuple[tuple[str, ...], ...] = field(default=(), repr=False)

    def fitstats(self) -> dict[str, dict[str, float]]:
        """Log-likelihood, deviance, AIC, BIC, AICc under ML and REML (metafor's fitstats)."""
        return {m: dict(v) for m, v in self.fit_stats.items()}

    def i2(self) -> dict[str, float]:
        """Multilevel I² in percent: per σ² component and ``"total"`` [METAFOR_I2].

        Uses the typical within-study variance (k - p)/tr(P), P = W - W X (X'WX)⁻¹ X'W with
        W = V⁻¹. Defined for models whose random effects are ``~ 1 | ...`` terms; with an
        ``inner | outer`` term the share of a per-level τ² is not one number, so it raises.
        """
        if self.g_names is not None:
            raise EvidenceInputError(
                "i2(): defined for '~ 1 | ...' random effects; with an 'inner | outer' term "
                "report the tau² per level instead"
            )
        W = np.linalg.inv(self.V)
        WX = W @ self.X
        P = W - WX @ np.linalg.solve(self.X.T @ WX, WX.T)
        typical = (self.k - self.p) / float(np.trace(P))
        total = float(sum(self.sigma2))
        denom = total + typical
        out = {n: 100 * s / denom for n, s in zip(self.s_names, self.sigma2, strict=True)}
        out["total"] = 100 * total / denom
        return out

    def predict(
        self, newmods: Any = None, *, level: float | None = None, intercept: bool | None = None
    ) -> PredictResult:
        """Predicted average effect with CI and prediction interval (metafor's predict).

        The prediction interval adds the sum of the σ² components (and τ² of a
        single-τ² ``inner | outer`` term), as metafor does for such models.
        """
        lv = self.level if level is None else float(level)
        if not 0 < lv < 100:
            raise EvidenceInputError(f"level must be in (0, 100) percent, got {lv}")
        Xn = newmods_matrix(self.X, self.p, self.intercept, newmods, intercept)
        pred = Xn @ self.beta
        vpred = np.einsum("ij,jk,ik->i", Xn, self.vb, Xn)
        se = np.sqrt(vpred)
        alpha = 1 - lv / 100
        crit = (
            float(stats.t.isf(alpha / 2, self.ddf))
            if self.ddf is not None
            else float(stats.norm.isf(alpha / 2))
        )
        extra = float(sum(self.sigma2))
        if self.g_names is not None:
            if len(self.tau2) != 1:
                raise EvidenceInputError(
                    "predict(): with a τ² per level the prediction interval depends on the "
                    "level; not computed"
                )
            extra += self.tau2[0]
        return PredictResult(
            pred=np.asarray(pred, dtype=np.float64),
            se=np.asarray(se, dtype=np.float64),
            ci_lb=np.asarray(pred - crit * se, dtype=np.float64),
            ci_ub=np.asarray(pred + crit * se, dtype=np.float64),
            pi_lb=np.asarray(pred - crit * np.sqrt(vpred + extra), dtype=np.float64),
            pi_ub=np.asarray(pred + crit * np.sqrt(vpred + extra), dtype=np.float64),
            level=lv,
            transformed=False,
        )

    def summary(self, digits: int = 4) -> str:
        """A metafor-like read-out of the fit."""
        d = digits
        lines = [
            "",
            f"Multivariate Meta-Analysis Model (k = {self.k}; method: {self.method})",
            "",
        ]
        fs = self.fit_stats[self.method]
        lines.append(
            f"logLik = {fs['ll']:.{d}f}  Deviance = {fs['dev']:.{d}f}  AIC = {fs['AIC']:.{d}f}"
            f"  BIC = {fs['BIC']:.{d}f}  AICc = {fs['AICc']:.{d}f}"
        )
        if self.sigma2:
            lines.append("")
            lines.append("Variance Components:")
            w = max(len(n) for n in self.s_names)
            for i, (n, s2) in enumerate(zip(self.s_names, self.sigma2, strict=True)):
                fixed = self.sigma2_fixed[i] if self.sigma2_fixed else False
                lines.append(
                    f"  sigma^2.{i + 1} = {s2:.{d}f}  sqrt = {math.sqrt(s2):.{d}f}  "
                    f"nlvls = {self.s_nlevels[i]:>4}  fixed = {'yes' if fixed else 'no':>3}  "
                    f"factor = {n:<{w}}"
                )
        if self.g_names is not None:
            lines.append("")
            lines.append(
                f"outer factor: {self.g_names[1]}; inner factor: {self.g_names[0]} "
                f"(struct = {self.struct})"
            )
            for lev, t2 in zip(
                self.g_levels if len(self.tau2) > 1 else ("(all)",), self.tau2, strict=True
            ):
                lines.append(f"  tau^2 [{lev}] = {t2:.{d}f}  tau = {math.sqrt(t2):.{d}f}")
            for j, r in enumerate(self.rho):
                lines.append(f"  rho[{j + 1}] = {r:.{d}f}")
        lines += [
            "",
            "Test for Residual Heterogeneity:",
            f"QE(df = {self.q_df}) = {self.q:.{d}f}, p-val = {self.q_pval:.{d}g}",
            "",
        ]
        if self.p > 1 or not self.intercept:
            if self.ddf is None:
                lines.append(f"Test of Moderators: QM(df = {self.qm_df[0]}) = {self.qm:.{d}f}, ")
            else:
                lines.append(
                    f"Test of Moderators: F(df1 = {self.qm_df[0]}, df2 = {self.qm_df[1]}) = "
                    f"{self.qm:.{d}f}, "
                )
            lines[-1] += f"p-val = {self.qm_pval:.{d}g}"
            lines.append("")
        lines.append("Model Results:")
        lines.append("")
        head = f"{'':<12} {'estimate':>10} {'se':>10} {'zval' if self.ddf is None else 'tval':>9}"
        lines.append(head + f" {'pval':>9} {'ci.lb':>10} {'ci.ub':>10}")
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


# ------------------------------------------------------------------ fitting


def _as_vmatrix(V: Any, data: pl.DataFrame | None, k: int) -> FloatArray:
    if V is None:
        raise EvidenceInputError("rma_mv needs V= (sampling variances or a k×k covariance matrix)")
    if isinstance(V, str):
        if data is None or V not in data.columns:
            raise EvidenceInputError(f"V={V!r} is a column name but it is not in data")
        V = as_float_array(data[V], "V")
    arr = np.asarray(V, dtype=np.float64)
    if arr.ndim <= 1:
        arr = as_float_array(arr, "V")
        if arr.shape[0] == 1 and k > 1:
            arr = np.full(k, arr[0])
        if arr.shape[0] != k:
            raise EvidenceInputError(f"V has {arr.shape[0]} variances for {k} estimates")
        return np.diag(arr)
    if arr.shape != (k, k):
        raise EvidenceInputError(f"V must be a vector of {k} variances or a {k}×{k} matrix")
    if not np.allclose(arr, arr.T, rtol=0, atol=1e-12 * max(1.0, float(np.abs(arr).max()))):
        raise EvidenceInputError("V must be symmetric")
    return arr


def rma_mv(
    yi: Any,
    V: Any = None,
    *,
    data: pl.DataFrame | Any = None,
    mods: Any = None,
    intercept: bool = True,
    random: str | Sequence[str] | None = None,
    struct: str = "CS",
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    btt: Sequence[int] | int | None = None,
    sigma2: Sequence[float | None] | None = None,
    slab: Sequence[Any] | str | None = None,
    measure: str | None = None,
    control: Mapping[str, float] | None = None,
) -> RMAMVResult:
    """Fit a multilevel / multivariate meta-analytic model (metafor's ``rma.mv``).

    Parameters
    ----------
    yi
        Observed effects: an array, a column name of ``data`` or an :class:`EscalcResult`
        (then ``V`` defaults to its ``vi`` and ``data`` to its frame).
    V
        Sampling variances (vector or column name) or a full k×k covariance matrix (build it
        with :func:`vcalc` when the within-study correlation is assumed).
    random
        One formula or a list: ``"~ 1 | study"``; nested ``"~ 1 | study/esid"`` (a σ² per
        level); ``"~ outcome | study"`` (correlated effects per study, structure ``struct``).
    struct
        ``"CS"`` (default; one τ², one ρ), ``"HCS"`` (τ² per level, one ρ), ``"UN"`` (τ² per
        level, ρ per pair), ``"ID"`` (one τ², ρ = 0), ``"DIAG"`` (τ² per level, ρ = 0).
    method
        ``"REML"`` (default) or ``"ML"``.
    test
        ``"z"`` (default) or ``"t"`` (t and F tests on k - p df, as metafor's default dfs).
    sigma2
        Fix σ² components: a list as long as the σ² components, ``None`` to estimate one.
    control
        ``maxiter`` (default 1000) and ``gtol`` (gradient tolerance, default 1e-9).

    Rows with a missing estimate, variance or moderator are omitted (noted). With no
    ``random`` term the model is an equal-effects model with known V.
    """
    method = method.upper()
    if method not in ("REML", "ML"):
        raise EvidenceInputError(f"rma_mv: method must be 'REML' or 'ML', got {method!r}")
    if test not in ("z", "t"):
        raise EvidenceInputError(f"rma_mv: test must be 'z' or 't', got {test!r}")
    if not 0 < level < 100:
        raise EvidenceInputError(f"level must be in (0, 100) percent, got {level}")
    frame = as_frame(data)
    if isinstance(yi, EscalcResult):
        if frame is None:
            frame = yi.frame
        if V is None:
            V = yi.vi
        measure = measure or yi.measure
        y_all = yi.yi
    elif isinstance(yi, str):
        if frame is None or yi not in frame.columns:
            raise EvidenceInputError(f"yi={yi!r} is a column name but it is not in data")
        y_all = as_float_array(frame[yi], "yi")
        if V is None and "vi" in frame.columns:
            V = "vi"
    else:
        y_all = as_float_array(yi, "yi")
    k_all = y_all.shape[0]
    V_all = _as_vmatrix(V, frame, k_all)
    if isinstance(slab, str):
        if frame is None or slab not in frame.columns:
            raise EvidenceInputError(f"slab column {slab!r} not in data")
        slab_l = labels(frame[slab].to_list(), k_all)
    else:
        slab_l = labels(slab, k_all)
    X_all, names, lacking = _mods_design(mods, frame, k_all, intercept)
    if names[0] == "intrcpt":
        intercept = True
    sig_all, g_all = _parse_random(random, struct, frame, k_all)
    notes: list[str] = []
    no_yv = ~(
        np.isfinite(y_all)
        & np.isfinite(np.diag(V_all))
        & np.all(np.isfinite(V_all) | ~np.isfinite(np.diag(V_all))[None, :], axis=1)
    )
    no_mod = np.zeros(k_all, dtype=bool)
    no_mod[list(lacking)] = True
    no_mod |= ~no_yv & ~np.all(np.isfinite(X_all), axis=1)
    keep = ~no_yv & ~no_mod
    if no_yv.any():
        dropped = [slab_l[i] for i in np.flatnonzero(no_yv)]
        notes.append(f"{len(dropped)} rows omitted (missing yi/V): {', '.join(dropped)}")
    if no_mod.any():
        which = sorted({m for i in np.flatnonzero(no_mod) for m in lacking.get(int(i), ("mods",))})
        dropped = [slab_l[i] for i in np.flatnonzero(no_mod)]
        notes.append(
            f"{len(dropped)} rows omitted (missing moderator values: {', '.join(which)}): "
            + ", ".join(dropped)
        )
    idx = np.flatnonzero(keep)
    y = y_all[idx]
    Vm = V_all[np.ix_(idx, idx)]
    X = X_all[idx]
    slab_k = tuple(slab_l[i] for i in idx)
    sigmas = [
        _Sigma(s.name, tuple(s.key[i] for i in idx), len({s.key[i] for i in idx})) for s in sig_all
    ]
    g = None
    if g_all is not None:
        inner = tuple(g_all.inner[i] for i in idx)
        g = _GTerm(
            g_all.inner_name,
            g_all.outer_name,
            g_all.struct,
            inner,
            tuple(g_all.outer[i] for i in idx),
            tuple(sorted(set(inner))),
        )
    k, p = X.shape
    if k == 0:
        raise EvidenceInputError("no rows left to analyse")
    if np.any(np.diag(Vm) <= 0):
        bad = [slab_k[i] for i in np.flatnonzero(np.diag(Vm) <= 0)[:10]]
        raise EvidenceInputError(
            "sampling variances must be positive; offending rows: " + ", ".join(bad)
        )
    try:
        np.linalg.cholesky(Vm)
    except np.linalg.LinAlgError as exc:
        raise EvidenceInputError("V is not positive definite") from exc
    if np.linalg.matrix_rank(X) < p:
        raise EvidenceInputError(f"model matrix is not of full rank ({', '.join(names)})")
    if p > k:
        raise EvidenceInputError(f"more coefficients ({p}) than estimates ({k})")
    model = _VarModel(Vm, sigmas, g)
    fixed = np.zeros(model.n_par, dtype=bool)
    theta0 = np.zeros(model.n_par)
    sig_fixed: list[bool] = [False] * model.n_sigma
    if sigma2 is not None:
        if len(sigma2) != model.n_sigma:
            raise EvidenceInputError(
                f"sigma2= has {len(sigma2)} values for {model.n_sigma} σ² components"
            )
        for j, s in enumerate(sigma2):
            if s is not None:
                if not (math.isfinite(s) and s >= 0):
                    raise EvidenceInputError(f"sigma2[{j}] must be >= 0, got {s}")
                fixed[j] = True
                sig_fixed[j] = True
                theta0[j] = math.log(s) if s > 0 else -math.inf
    # metafor's starting values: the residual variance of the V-weighted fit shared equally
    Vinv_half = np.linalg.cholesky(np.linalg.inv(Vm)).T
    sX, sY = Vinv_half @ X, Vinv_half @ y
    beta_fe = np.linalg.lstsq(sX, sY, rcond=None)[0]
    n_var = model.n_sigma + model.n_tau2
    total = max(
        0.001 * n_var,
        float(np.var(y - X @ beta_fe, ddof=1)) - 1 / float(np.mean(1 / np.diag(Vm)))
        if k > 1
        else 0.001,
    )
    qe = float(np.sum((sY - sX @ beta_fe) ** 2))
    for j in range(model.n_sigma + model.n_tau2):
        if not fixed[j]:
            theta0[j] = math.log(total / max(n_var, 1))
    for j in range(model.n_sigma + model.n_tau2, model.n_par):
        theta0[j] = math.atanh(0.5)
    reml = method == "REML"
    con = dict(control or {})
    maxiter = int(con.get("maxiter", 1000))
    gtol = float(con.get("gtol", 1e-9))
    free = ~fixed
    iters = 0
    if free.any():
        theta_fix = theta0.copy()

        def full(t: FloatArray) -> FloatArray:
            out = theta_fix.copy()
            out[free] = t
            return out

        def fun(t: FloatArray) -> tuple[float, FloatArray]:
            th = full(t)
            try:
                res = _loglik(th, model, y, X, reml, free)
            except (np.linalg.LinAlgError, linalg.LinAlgError, ValueError):
                return 1e300, np.zeros(t.shape[0])
            return -res.value, -res.grad[free]

        opt = optimize.minimize(
            fun,
            theta0[free],
            jac=True,
            method="BFGS",
            options={"gtol": gtol, "maxiter": maxiter},
        )
        if not np.all(np.isfinite(opt.x)) or opt.fun >= 1e299:
            raise ConvergenceError("rma_mv: the optimiser did not find a finite likelihood")
        # the boundary (σ² → 0) drives log σ² towards -inf; BFGS may stop with a tiny
        # gradient there, which is the optimum, so only a large gradient is a failure
        grad_norm = float(np.max(np.abs(opt.jac))) if opt.jac.size else 0.0
        if not opt.success and grad_norm > 1e-4:
            raise ConvergenceError(
                f"rma_mv: optimiser did not converge ({opt.message}); max |gradient| = "
                f"{grad_norm:.3g}"
            )
        theta = full(opt.x)
        iters = int(opt.nit)
    else:
        theta = theta0
    fit = _loglik(theta, model, y, X, reml, free, want_grad=False)
    s2_hat, t2_hat, rho_hat = model.natural(theta)
    beta, vb = fit.beta, fit.vb
    ddf = k - p if test == "t" else None
    se = np.sqrt(np.diag(vb))
    zval = beta / se
    alpha = 1 - level / 100
    if ddf is not None:
        pval = 2 * stats.t.sf(np.abs(zval), ddf) if ddf > 0 else np.full(p, math.nan)
        crit = float(stats.t.isf(alpha / 2, ddf)) if ddf > 0 else math.nan
    else:
        pval = 2 * stats.norm.sf(np.abs(zval))
        crit = float(stats.norm.isf(alpha / 2))
    is_int = intercept and names[0] == "intrcpt"
    if btt is None:
        btt_t = tuple(range(1, p)) if (is_int and p > 1) else tuple(range(p))
    else:
        btt_t = (int(btt),) if isinstance(btt, int) else tuple(int(i) for i in btt)
        if not btt_t or any(i < 0 or i >= p for i in btt_t):
            raise EvidenceInputError(f"btt must index coefficients 0..{p - 1}")
    m = len(btt_t)
    bs = beta[list(btt_t)]
    qm = float(bs @ np.linalg.solve(vb[np.ix_(btt_t, btt_t)], bs))
    if ddf is not None:
        qm /= m
        qm_df: tuple[int, ...] = (m, ddf)
        qm_p = float(stats.f.sf(qm, m, ddf)) if ddf > 0 else math.nan
    else:
        qm_df = (m,)
        qm_p = float(stats.chi2.sf(qm, m))
    qe_df = k - p
    qe_p = float(stats.chi2.sf(qe, qe_df)) if qe_df > 0 else 1.0
    parms = p + int(np.sum(free))
    ll_ml, ll_reml = fit.ll_ml, fit.ll_reml
    ld_V = float(np.linalg.slogdet(Vm)[1])
    ll_qe = -0.5 * k * math.log(2 * math.pi) - 0.5 * ld_V

    def aicc(ll: float, n: int) -> float:
        mm = max(n, parms + 2)
        return float(-2 * ll + 2 * parms * mm / (mm - parms - 1))

    fit_stats = {
        "ML": {
            "ll": ll_ml,
            "dev": -2 * (ll_ml - ll_qe),
            "AIC": -2 * ll_ml + 2 * parms,
            "BIC": -2 * ll_ml + parms * math.log(k),
            "AICc": aicc(ll_ml, k),
        },
        "REML": {
            "ll": ll_reml,
            "dev": -2 * ll_reml,
            "AIC": -2 * ll_reml + 2 * parms,
            "BIC": -2 * ll_reml + parms * math.log(k - p) if k > p else math.nan,
            "AICc": aicc(ll_reml, k - p),
        },
    }
    g_levels: tuple[str, ...] = ()
    tau2_out: tuple[float, ...] = ()
    rho_out: tuple[float, ...] = ()
    if g is not None:
        g_levels = g.levels
        tau2_out = tuple(float(t) for t in t2_hat)
        rho_out = tuple(float(r) for r in rho_hat)
    return RMAMVResult(
        beta=np.asarray(beta, dtype=np.float64),
        se_beta=np.asarray(se, dtype=np.float64),
        zval_beta=np.asarray(zval, dtype=np.float64),
        pval_beta=np.asarray(pval, dtype=np.float64),
        ci_lb_beta=np.asarray(beta - crit * se, dtype=np.float64),
        ci_ub_beta=np.asarray(beta + crit * se, dtype=np.float64),
        vb=np.asarray(vb, dtype=np.float64),
        coef_names=names,
        sigma2=tuple(float(s) for s in s2_hat),
        s_names=tuple(s.name for s in sigmas),
        s_nlevels=tuple(s.nlevels for s in sigmas),
        tau2=tau2_out,
        rho=rho_out,
        g_levels=g_levels,
        g_names=None if g is None else (g.inner_name, g.outer_name),
        struct=None if g is None else g.struct,
        k=k,
        p=p,
        method=method,
        test=test,
        level=float(level),
        ddf=ddf,
        q=qe,
        q_df=qe_df,
        q_pval=qe_p,
        qm=qm,
        qm_df=qm_df,
        qm_pval=qm_p,
        btt=btt_t,
        ll=ll_reml if reml else ll_ml,
        fit_stats=fit_stats,
        yi=y,
        V=Vm,
        M=fit.M,
        X=X,
        intercept=is_int,
        slab=slab_k,
        measure=measure or "GEN",
        iterations=iters,
        notes=tuple(notes),
        sigma2_fixed=tuple(sig_fixed),
        _ranef_keys=tuple(s.key for s in sigmas),
    )
