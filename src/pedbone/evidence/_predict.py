"""Predicted (average) effects with confidence and prediction intervals (metafor's
``predict.rma``, R/predict.rma.r) [METAFOR]; prediction-interval types [RILEY2011].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from scipy import stats

from pedbone.evidence._utils import EvidenceInputError, FloatArray, Transform

if TYPE_CHECKING:
    from pedbone.evidence._results import RMAResult

__all__ = ["PredictResult", "check_level", "crit_value", "newmods_matrix", "predict_rma"]


@dataclass(frozen=True)
class PredictResult:
    """Predicted (average) effects with confidence and prediction intervals.

    After a back-transformation (``transf``) ``se`` is all NaN, as in metafor. Equal-effects
    models have no prediction interval (``pi_lb``/``pi_ub`` NaN), as in metafor.
    """

    pred: FloatArray
    se: FloatArray
    ci_lb: FloatArray
    ci_ub: FloatArray
    pi_lb: FloatArray
    pi_ub: FloatArray
    level: float
    transformed: bool = False

    def to_frame(self) -> pl.DataFrame:
        """The predictions as a polars DataFrame (metafor's ``as.data.frame(predict(...))``)."""
        return pl.DataFrame(
            {
                "pred": self.pred,
                "se": self.se,
                "ci_lb": self.ci_lb,
                "ci_ub": self.ci_ub,
                "pi_lb": self.pi_lb,
                "pi_ub": self.pi_ub,
            }
        )

    def __len__(self) -> int:
        return int(self.pred.shape[0])

    def __str__(self) -> str:
        return str(self.to_frame())


def newmods_matrix(
    X: FloatArray, p: int, intercept: bool, newmods: Any, add_intercept: bool | None
) -> FloatArray:
    """The design rows to predict at: the fitted rows (one row for an intercept-only model), or
    ``newmods`` (moderator values per row, metafor's ``newmods=``) with the intercept column added
    when the model has one (or as ``add_intercept`` says)."""
    if newmods is None:
        rows: FloatArray = X[:1] if (p == 1 and intercept) else X
        return rows
    arr = np.asarray(newmods, dtype=np.float64)
    n_mods = p - (1 if intercept else 0)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    elif arr.ndim == 1:
        arr = arr.reshape(-1, 1) if n_mods == 1 else arr.reshape(1, -1)
    add_int = intercept if add_intercept is None else add_intercept
    if add_int:
        arr = np.column_stack([np.ones(arr.shape[0]), arr])
    if arr.shape[1] != p:
        raise EvidenceInputError(
            f"newmods: expected {n_mods} moderator values per row, "
            f"got {arr.shape[1] - int(add_int)}"
        )
    return arr


def check_level(level: float) -> float:
    if not 0 < level < 100:
        raise EvidenceInputError(f"level must be in (0, 100) percent, got {level}")
    return float(level)


def crit_value(res: RMAResult, level: float) -> float:
    alpha = 1 - level / 100
    if res.ddf is not None:
        return float(stats.t.isf(alpha / 2, res.ddf)) if res.ddf > 0 else math.nan
    return float(stats.norm.isf(alpha / 2))


def predict_rma(
    res: RMAResult,
    newmods: Any,
    *,
    transf: Transform | None,
    level: float | None,
    intercept: bool | None,
    pi_type: str = "default",
) -> PredictResult:
    lv = check_level(res.level if level is None else level)
    Xn = newmods_matrix(res.X, res.p, res.intercept, newmods, intercept)
    pred = Xn @ res.beta
    vpred = np.einsum("ij,jk,ik->i", Xn, res.vb, Xn)
    se = np.sqrt(vpred)
    crit = crit_value(res, lv)
    ci_lb, ci_ub = pred - crit * se, pred + crit * se
    if pi_type not in ("default", "riley", "t", "simple"):
        raise EvidenceInputError(
            f"pi_type must be 'default', 'riley', 't' or 'simple', got {pi_type!r}"
        )
    alpha = 1 - lv / 100
    crit_pi, vpi = crit, vpred
    if pi_type == "simple":
        crit_pi, vpi = float(stats.norm.isf(alpha / 2)), np.zeros_like(vpred)
    elif pi_type in ("riley", "t"):
        parms = res.p + (1 if res.is_random and not res.tau2_fixed else 0)
        pi_df = max(1, res.k - parms if pi_type == "riley" else res.k - res.p)
        crit_pi = float(stats.t.isf(alpha / 2, pi_df))
    if res.is_random:
        pi_lb = pred - crit_pi * np.sqrt(vpi + res.tau2)
        pi_ub = pred + crit_pi * np.sqrt(vpi + res.tau2)
    else:  # metafor gives no prediction interval for equal-effects models
        pi_lb = np.full_like(pred, math.nan)
        pi_ub = np.full_like(pred, math.nan)
    if transf is not None:

        def t(a: FloatArray) -> FloatArray:
            return np.asarray(transf(a), dtype=np.float64)

        pred, ci_lb, ci_ub, pi_lb, pi_ub = t(pred), t(ci_lb), t(ci_ub), t(pi_lb), t(pi_ub)
        # a decreasing transformation swaps the bounds (metafor does the same)
        ci_lb, ci_ub = np.minimum(ci_lb, ci_ub), np.maximum(ci_lb, ci_ub)
        pi_lb, pi_ub = np.minimum(pi_lb, pi_ub), np.maximum(pi_lb, pi_ub)
        se = np.full_like(pred, math.nan)
    return PredictResult(
        pred=np.asarray(pred, dtype=np.float64),
        se=np.asarray(se, dtype=np.float64),
        ci_lb=np.asarray(ci_lb, dtype=np.float64),
        ci_ub=np.asarray(ci_ub, dtype=np.float64),
        pi_lb=np.asarray(pi_lb, dtype=np.float64),
        pi_ub=np.asarray(pi_ub, dtype=np.float64),
        level=lv,
        transformed=transf is not None,
    )
