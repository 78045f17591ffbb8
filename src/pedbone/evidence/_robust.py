"""Cluster-robust inference for ``rma`` and ``rma_mv`` fits (metafor's ``robust``).

Two estimators, as metafor 3.8 offers them:

* ``clubSandwich=False`` (default): the sandwich (X'WX)⁻¹ X'W (⊕ eⱼeⱼ') W X (X'WX)⁻¹ with the
  small-sample factor n/(n - p) (``adjust=True``; CR1, Hedges, Tipton & Johnson 2010
  [HEDGES2010]), t tests on n - p df and an F test of the moderators.
* ``clubSandwich=True``: the bias-reduced linearisation CR2 of Bell & McCaffrey [BELL2002]
  with the working model as target, Satterthwaite df per coefficient and the HTZ Wald test of
  Tipton & Pustejovsky 2015 [TIPTON2015] for the moderators — the computations of the R
  package clubSandwich [CLUBSANDWICH] (``vcovCR(type="CR2")``, ``coef_test``, ``Wald_test``),
  which metafor calls.

Use CR2 with few clusters (< 40): CR1's t tests are then too liberal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from pedbone.evidence._results import RMAResult
from pedbone.evidence._rma_mv import RMAMVResult
from pedbone.evidence._utils import EvidenceInputError, FirstCoefficient, FloatArray

__all__ = ["RobustResult", "robust"]


@dataclass(frozen=True)
class RobustResult(FirstCoefficient):
    """Cluster-robust tests of a fitted model (metafor's ``robust.rma`` object)."""

    beta: FloatArray
    se_beta: FloatArray
    tval_beta: FloatArray
    pval_beta: FloatArray
    df_beta: FloatArray
    ci_lb_beta: FloatArray
    ci_ub_beta: FloatArray
    vb: FloatArray
    coef_names: tuple[str, ...]
    qm: float
    qm_df: tuple[float, float]
    qm_pval: float
    n_clusters: int
    cluster_sizes: dict[str, int]
    vbest: str
    method: str
    level: float
    fit: RMAResult | RMAMVResult

    def summary(self, digits: int = 4) -> str:
        d = digits
        sizes = list(self.cluster_sizes.values())
        lines = [
            "",
            f"Cluster-robust inference ({self.vbest}, {self.method}); "
            f"{self.n_clusters} clusters of {min(sizes)}-{max(sizes)} estimates",
            "",
        ]
        if len(self.beta) > 1 or self.coef_names[0] != "intrcpt":
            lines.append(
                f"Test of Moderators: F(df1 = {self.qm_df[0]:g}, df2 = {self.qm_df[1]:.2f}) = "
                f"{self.qm:.{d}f}, p-val = {self.qm_pval:.{d}g}"
            )
            lines.append("")
        lines.append(
            f"{'':<12} {'estimate':>10} {'se':>10} {'tval':>9} {'df':>8} {'pval':>9} "
            f"{'ci.lb':>10} {'ci.ub':>10}"
        )
        for i, n in enumerate(self.coef_names):
            lines.append(
                f"{n:<12} {self.beta[i]:>10.{d}f} {self.se_beta[i]:>10.{d}f} "
                f"{self.tval_beta[i]:>9.{d}f} {self.df_beta[i]:>8.2f} "
                f"{self.pval_beta[i]:>9.{d}g} {self.ci_lb_beta[i]:>10.{d}f} "
                f"{self.ci_ub_beta[i]:>10.{d}f}"
            )
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.summary()


def _mpow(x: FloatArray, power: float) -> FloatArray:
    """Symmetric matrix power by eigen-decomposition; eigenvalues <= 1e-12 set to 0 (as
    clubSandwich's ``matrix_power``)."""
    vals, vecs = np.linalg.eigh((x + x.T) / 2)
    vp = np.where(vals > 1e-12, np.abs(vals) ** power, 0.0)
    return np.asarray((vecs * vp) @ vecs.T, dtype=np.float64)


def _cluster_labels(fit: RMAResult | RMAMVResult, cluster: Any) -> list[str]:
    k = fit.k
    if isinstance(cluster, str):
        if isinstance(fit, RMAMVResult) and cluster in fit.s_names:
            return list(fit._ranef_keys[fit.s_names.index(cluster)])
        raise EvidenceInputError(
            f"robust: cluster={cluster!r} is not a random-effects factor of the model; "
            "pass the cluster of every fitted estimate as a list"
        )
    vals = list(cluster)
    if len(vals) != k:
        raise EvidenceInputError(
            f"robust: cluster has {len(vals)} values but the model has {k} fitted estimates "
            "(give the cluster of each estimate that entered the fit)"
        )
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in vals):
        raise EvidenceInputError("robust: no missing values allowed in cluster")
    return [str(v) for v in vals]


def _htz(
    C: FloatArray,
    beta: FloatArray,
    vcov: FloatArray,
    Gp: list[FloatArray],
    Hp: list[FloatArray],
) -> tuple[float, float, float, float]:
    """clubSandwich's HTZ Wald test of C β = 0: (F, df1, df2, p)."""
    q = C.shape[0]
    J = len(Gp)
    GC = [C @ g for g in Gp]  # q × n_j
    HC = np.stack([C @ h for h in Hp], axis=0)  # J × q × p
    P = np.empty((q, q, J, J))
    for s in range(q):
        for t in range(q):
            tmp = -HC[:, s, :] @ HC[:, t, :].T
            tmp[np.diag_indices(J)] += np.array([float(g[s] @ g[t]) for g in GC])
            P[s, t] = tmp
    Omega = np.einsum("stjj->st", P)
    On = _mpow(Omega, -0.5)
    B = np.einsum("sa,abjk,bt->stjk", On, P, On)
    var_mat = np.empty((q, q))
    for s in range(q):
        for t in range(q):
            var_mat[s, t] = float(np.sum(B[s, t] * B[t, s]) + np.sum(B[s, s] * B[t, t]))
    nu = q * (q + 1) / float(np.sum(var_mat))
    cb = C @ beta
    Q = float(cb @ np.linalg.solve(C @ vcov @ C.T, cb))
    delta = max((nu - q + 1) / nu, 0.0)
    df2 = nu - q + 1
    F = delta * Q / q
    p = float(stats.f.sf(F, q, df2)) if df2 > 0 else math.nan
    return F, float(q), df2, p


def robust(
    fit: RMAResult | RMAMVResult,
    cluster: Sequence[Any] | str,
    *,
    adjust: bool = True,
    clubSandwich: bool = False,
    level: float | None = None,
) -> RobustResult:
    """Cluster-robust standard errors, tests and CIs for a fitted model (metafor's ``robust``).

    ``cluster`` gives the cluster (study) of every fitted estimate, or names a σ² factor of an
    :func:`rma_mv` fit (``"study"``). ``clubSandwich=True`` uses CR2 with Satterthwaite df and
    the HTZ test (the random effects must be nested in the clusters); otherwise CR1
    (``adjust=True``) or CR0 with t tests on n - p df.
    """
    if not isinstance(fit, (RMAResult, RMAMVResult)):
        raise EvidenceInputError("robust: expects a fit from rma() or rma_mv()")
    lv = fit.level if level is None else float(level)
    if not 0 < lv < 100:
        raise EvidenceInputError(f"level must be in (0, 100) percent, got {lv}")
    labels = _cluster_labels(fit, cluster)
    y, X, beta = fit.yi, fit.X, fit.beta
    p = X.shape[1]
    M = fit.M if isinstance(fit, RMAMVResult) else np.diag(fit.vi + fit.tau2)
    order = list(dict.fromkeys(labels))
    lab = np.asarray(labels)
    groups = [np.flatnonzero(lab == c) for c in order]
    n = len(groups)
    sizes = {c: int(g.size) for c, g in zip(order, groups, strict=True)}
    alpha = 1 - lv / 100
    e = y - X @ beta
    W = np.linalg.inv(M)
    XtW = X.T @ W
    B = np.linalg.inv(XtW @ X)
    btt = list(fit.btt)
    int_only = p == 1 and fit.intercept
    if not clubSandwich:
        dfs = n - p
        if dfs <= 0:
            raise EvidenceInputError(
                f"robust: the number of clusters ({n}) must be larger than the number of "
                f"coefficients ({p})"
            )
        bread = B @ XtW
        U = np.column_stack([bread[:, g] @ e[g] for g in groups])
        vb = U @ U.T
        vbest = "CR0"
        if adjust:
            vb = vb * (n / dfs)
            vbest = "CR1"
        se = np.sqrt(np.diag(vb))
        tval = beta / se
        df_arr = np.full(p, float(dfs))
        pval = 2 * stats.t.sf(np.abs(tval), dfs)
        crit = stats.t.isf(alpha / 2, df_arr)
        bs = beta[btt]
        qm = float(bs @ np.linalg.solve(vb[np.ix_(btt, btt)], bs)) / len(btt)
        qm_df = (float(len(btt)), float(dfs))
        qm_p = float(stats.f.sf(qm, len(btt), dfs))
        method = "default"
    else:
        if n < 2:
            raise EvidenceInputError("robust: cluster-robust variance needs at least 2 clusters")
        same = lab[:, None] == lab[None, :]
        if np.any(np.abs(M[~same]) > 0):
            raise EvidenceInputError(
                "robust(clubSandwich=True): the random effects (or V) are not nested within "
                "the clusters; choose the outermost grouping as cluster"
            )
        C_low = np.linalg.cholesky(B)
        comps = []
        Gp: list[FloatArray] = []
        Hp: list[FloatArray] = []
        for g in groups:
            Mj = M[np.ix_(g, g)]
            Wj = np.linalg.inv(Mj)
            Xj = X[g]
            L = np.linalg.cholesky(Mj)  # Θ_j = L L'
            Uu = L.T  # R's chol(): Θ_j = U'U
            IH = np.eye(g.size) - Xj @ B @ Xj.T @ Wj
            G = Uu @ IH @ Mj @ Uu.T
            A = Uu.T @ _mpow(G, -0.5) @ Uu
            E = Xj.T @ Wj @ A  # p × n_j
            comps.append(E @ e[g])
            ME = B @ E
            Gp.append(ME @ L)
            Hp.append(ME @ Xj @ C_low)
        Uc = np.column_stack(comps)
        vb = B @ (Uc @ Uc.T) @ B
        se = np.sqrt(np.diag(vb))
        tval = beta / se
        Hs = np.stack(Hp, axis=0)  # J × p × p
        df_list = []
        for i in range(p):
            Hrow = Hs[:, i, :]
            P = -Hrow @ Hrow.T
            P[np.diag_indices(n)] += np.array([float(gg[i] @ gg[i]) for gg in Gp])
            df_list.append(float(np.trace(P) ** 2 / np.sum(P * P)))
        df_arr = np.asarray(df_list)
        pval = 2 * stats.t.sf(np.abs(tval), df_arr)
        crit = stats.t.isf(alpha / 2, df_arr)
        if int_only:
            qm = max(0.0, float(tval[0] ** 2))
            qm_df = (1.0, float(df_arr[0]))
            qm_p = float(pval[0])
        else:
            Cm = np.eye(p)[btt]
            qm, df1, df2, qm_p = _htz(Cm, beta, vb, Gp, Hp)
            qm = max(0.0, qm)
            qm_df = (df1, max(0.0, df2))
        vbest = "CR2"
        method = "clubSandwich"
    return RobustResult(
        beta=np.asarray(beta, dtype=np.float64),
        se_beta=np.asarray(se, dtype=np.float64),
        tval_beta=np.asarray(tval, dtype=np.float64),
        pval_beta=np.asarray(pval, dtype=np.float64),
        df_beta=np.asarray(df_arr, dtype=np.float64),
        ci_lb_beta=np.asarray(beta - crit * se, dtype=np.float64),
        ci_ub_beta=np.asarray(beta + crit * se, dtype=np.float64),
        vb=np.asarray(vb, dtype=np.float64),
        coef_names=fit.coef_names,
        qm=qm,
        qm_df=qm_df,
        qm_pval=qm_p,
        n_clusters=n,
        cluster_sizes=sizes,
        vbest=vbest,
        method=method,
        level=lv,
        fit=fit,
    )
