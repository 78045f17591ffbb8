"""Permutation tests for ``rma`` fits (metafor's ``permutest``).

Follmann & Proschan 1999 [FOLLMANN1999] for the intercept-only model (the signs of yᵢ are
flipped) and Higgins & Thompson 2004 [HIGGINS2004] for meta-regression (the rows of the model
matrix are permuted). ``exact=True`` — or automatically when the number of distinct
permutations is at most ``iter`` — enumerates all of them, as metafor does, and the p-values
then equal metafor's exactly. Otherwise ``iter`` random permutations are drawn from a seeded
NumPy generator (``seed``; the first is the observed data, as in metafor), so a run is
reproducible in pedbone but not draw-for-draw the same as R's. Two-sided p-values are the share
of permutations with |z| at least the observed |z| (less √ε), QM's the share with QM at least
the observed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray

__all__ = ["PermutestResult", "permutest"]

_COMPTOL = math.sqrt(np.finfo(float).eps)


@dataclass(frozen=True)
class PermutestResult:
    """Permutation p-values per coefficient (``pval``) and for the omnibus test (``qm_pval``)."""

    pval: FloatArray
    qm_pval: float
    exact: bool
    iterations: int
    zval_perm: FloatArray
    qm_perm: FloatArray
    coef_names: tuple[str, ...]
    fit: RMAResult

    def summary(self, digits: int = 4) -> str:
        kind = "exact" if self.exact else f"{self.iterations} random"
        lines = ["", f"Permutation test ({kind} permutations)", ""]
        if len(self.coef_names) > 1:
            lines.append(f"Test of Moderators: permutation p-val = {self.qm_pval:.{digits}g}")
            lines.append("")
        for i, n in enumerate(self.coef_names):
            lines.append(
                f"{n:<12} estimate {self.fit.beta[i]:>10.{digits}f}  "
                f"z {self.fit.zval_beta[i]:>9.{digits}f}  permutation p {self.pval[i]:.{digits}g}"
            )
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.summary()


def _n_distinct_perms(labels: list[int]) -> float:
    counts: dict[int, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    out = math.factorial(len(labels))
    for c in counts.values():
        out //= math.factorial(c)
    return float(out)


def _unique_perms(labels: list[int]) -> list[tuple[int, ...]]:
    """Distinct orderings of the row indices, one per distinct arrangement of row labels."""
    k = len(labels)
    seen: set[tuple[int, ...]] = set()
    out: list[tuple[int, ...]] = []
    for perm in itertools.permutations(range(k)):
        key = tuple(labels[i] for i in perm)
        if key not in seen:
            seen.add(key)
            out.append(perm)
    return out


def permutest(
    res: RMAResult,
    *,
    exact: bool = False,
    iter: int = 1000,
    seed: int | None = None,
) -> PermutestResult:
    """Permutation p-values for the coefficients and the omnibus test of an ``rma`` fit."""
    from pedbone.evidence._fit import rma

    if not isinstance(res, RMAResult):
        raise EvidenceInputError("permutest: expects a fit from rma()")
    if iter < 2:
        raise EvidenceInputError("permutest: iter must be at least 2")
    k, p = res.X.shape
    int_only = p == 1 and res.intercept
    control = {
        "threshold": float(res.control.get("threshold", 1e-12)),
        "maxiter": float(res.control.get("maxiter", 1000)),
    }
    tau2 = res.tau2 if res.tau2_fixed else None

    def refit_signs(signs: FloatArray) -> tuple[FloatArray, float]:
        f = rma(
            signs * res.yi,
            res.vi,
            method=res.method,
            test=res.test,
            level=res.level,
            tau2=tau2,
            control=control,
        )
        return f.zval_beta, f.qm

    def refit_rows(order: FloatArray | tuple[int, ...]) -> tuple[FloatArray, float]:
        f = rma(
            res.yi,
            res.vi,
            mods=res.X[list(order)],
            intercept=False,
            method=res.method,
            test=res.test,
            level=res.level,
            btt=list(res.btt),
            tau2=tau2,
            control=control,
        )
        return f.zval_beta, f.qm

    if int_only:
        n_exact = 2.0**k
    else:
        rows = [tuple(r) for r in res.X.tolist()]
        uniq = {r: i for i, r in enumerate(sorted(set(rows)))}
        labels = [uniq[r] for r in rows]
        n_exact = _n_distinct_perms(labels)
    use_exact = exact or n_exact <= iter
    if use_exact and n_exact > 200_000:
        raise EvidenceInputError(
            f"permutest: {n_exact:.3g} exact permutations are too many; use exact=False"
        )
    z_list: list[FloatArray] = []
    qm_list: list[float] = []
    if use_exact:
        if int_only:
            for signs in itertools.product((1.0, -1.0), repeat=k):
                z, q = refit_signs(np.asarray(signs))
                z_list.append(z)
                qm_list.append(q)
        else:
            for order in _unique_perms(labels):
                z, q = refit_rows(order)
                z_list.append(z)
                qm_list.append(q)
        n_iter = len(z_list)
    else:
        rng = np.random.default_rng(seed)
        z_list.append(res.zval_beta)
        qm_list.append(res.qm)
        for _ in range(iter - 1):
            if int_only:
                z, q = refit_signs(rng.choice([-1.0, 1.0], size=k))
            else:
                z, q = refit_rows(tuple(int(i) for i in rng.permutation(k)))
            z_list.append(z)
            qm_list.append(q)
        n_iter = iter
    zp = np.vstack(z_list)
    qp = np.asarray(qm_list)
    pval = np.minimum(1.0, np.mean(np.abs(zp) >= np.abs(res.zval_beta) - _COMPTOL, axis=0))
    qm_p = float(np.mean(qp >= res.qm - _COMPTOL))
    return PermutestResult(
        pval=np.asarray(pval, dtype=np.float64),
        qm_pval=qm_p,
        exact=use_exact,
        iterations=n_iter,
        zval_perm=zp,
        qm_perm=qp,
        coef_names=res.coef_names,
        fit=res,
    )
