"""Best linear unbiased predictions (metafor's ``blup`` and ``ranef``).

For ``rma`` fits: the shrunken study effects λᵢyᵢ + (1 - λᵢ)xᵢ'β with λᵢ = τ²/(τ² + vᵢ)
(``blup``), and the predicted random effects λᵢ(yᵢ - xᵢ'β) (``ranef``), with the variances
metafor 3.8 uses (Raudenbush & Bryk 1985 [RAUDENBUSH1985]). For ``rma_mv`` fits, ``ranef``
gives per σ² component the predicted level effects σ²Z'W(y - Xβ) with variance
σ²I - σ⁴Z'PZ (diagonal), P = W - WX(X'WX)⁻¹X'W and W = M⁻¹ (metafor's ``ranef.rma.mv``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from pedbone.evidence._results import RMAResult
from pedbone.evidence._rma_mv import RMAMVResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray

__all__ = ["BLUPResult", "blup", "ranef"]


@dataclass(frozen=True)
class BLUPResult:
    """Predictions with SE and prediction interval per study (or per level)."""

    pred: FloatArray
    se: FloatArray
    pi_lb: FloatArray
    pi_ub: FloatArray
    slab: tuple[str, ...]
    level: float

    def to_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "slab": list(self.slab),
                "pred": self.pred,
                "se": self.se,
                "pi_lb": self.pi_lb,
                "pi_ub": self.pi_ub,
            }
        )


def _crit(ddf: int | None, level: float) -> float:
    a = 1 - level / 100
    return float(stats.t.isf(a / 2, ddf)) if ddf is not None else float(stats.norm.isf(a / 2))


def _check(res: RMAResult, level: float | None) -> float:
    if not isinstance(res, RMAResult):
        raise EvidenceInputError("expects a fit from rma()")
    lv = res.level if level is None else float(level)
    if not 0 < lv < 100:
        raise EvidenceInputError(f"level must be in (0, 100) percent, got {lv}")
    return lv


def blup(res: RMAResult, *, level: float | None = None) -> BLUPResult:
    """Study-specific true effects, shrunken towards the model (metafor's ``blup.rma.uni``)."""
    lv = _check(res, level)
    li = res.tau2 / (res.tau2 + res.vi)
    xb = res.X @ res.beta
    hx = np.einsum("ij,jk,ik->i", res.X, res.vb, res.X)
    pred = li * res.yi + (1 - li) * xb
    se = np.sqrt(li * res.vi + (1 - li) ** 2 * hx)
    c = _crit(res.ddf, lv)
    return BLUPResult(pred, se, pred - c * se, pred + c * se, tuple(res.slab), lv)


def ranef(res: RMAResult | RMAMVResult, *, level: float | None = None) -> Any:
    """Predicted random effects (metafor's ``ranef``).

    For an ``rma`` fit a :class:`BLUPResult` per study; for an ``rma_mv`` fit a dict mapping
    each σ² component name to a :class:`BLUPResult` over its levels (sorted).
    """
    if isinstance(res, RMAMVResult):
        return _ranef_mv(res, level)
    lv = _check(res, level)
    k = res.k
    if not res.is_random:
        z = np.zeros(k)
        return BLUPResult(z, z.copy(), z.copy(), z.copy(), tuple(res.slab), lv)
    li = res.tau2 / (res.tau2 + res.vi)
    hx = np.einsum("ij,jk,ik->i", res.X, res.vb, res.X)
    pred = li * (res.yi - res.X @ res.beta)
    se = np.sqrt(li * res.vi + li**2 * hx)
    c = _crit(res.ddf, lv)
    return BLUPResult(pred, se, pred - c * se, pred + c * se, tuple(res.slab), lv)


def _ranef_mv(res: RMAMVResult, level: float | None) -> dict[str, BLUPResult]:
    lv = res.level if level is None else float(level)
    if res.g_names is not None:
        raise EvidenceInputError("ranef: models with an 'inner | outer' term are not supported")
    W = np.linalg.inv(res.M)
    WX = W @ res.X
    P = W - WX @ res.vb @ WX.T
    e = res.yi - res.X @ res.beta
    c = _crit(res.ddf, lv)
    out: dict[str, BLUPResult] = {}
    for name, s2, key in zip(res.s_names, res.sigma2, res._ranef_keys, strict=True):
        levels = sorted(set(key))
        keys = np.asarray(key)
        Z = (keys[:, None] == np.asarray(levels)[None, :]).astype(np.float64)
        pred = s2 * (Z.T @ (W @ e))
        var = s2 - s2 * s2 * np.einsum("ij,ik,kj->j", Z, P, Z)
        se = np.sqrt(np.maximum(var, 0.0))
        out[name] = BLUPResult(pred, se, pred - c * se, pred + c * se, tuple(levels), lv)
    return out
