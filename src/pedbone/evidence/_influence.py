"""Case-deletion diagnostics of a fitted model (metafor's ``influence.rma.uni``,
R/influence.rma.uni.r) [METAFOR]: externally studentised residuals, DFFITS, Cook's distance,
covariance ratio, leave-one-out tau² and Q, hat values, weights, DFBETAS and metafor's flag for
influential studies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import stats

from pedbone.evidence._refit import refit
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["InfluenceResult", "influence"]


@dataclass(frozen=True, eq=False)
class InfluenceResult:
    """Case-deletion diagnostics of every study (metafor's ``influence.rma.uni``).

    Arrays are in study order. ``is_infl`` is metafor's flag: |DFFITS| > 3·sqrt(p/(k−p)),
    pchisq(Cook's D, m) > 0.5, hat > 3p/k, or any |DFBETAS| > 1.
    """

    slab: tuple[str, ...]
    rstudent: FloatArray
    dffits: FloatArray
    cook_d: FloatArray
    cov_r: FloatArray
    tau2_del: FloatArray
    q_del: FloatArray
    hat: FloatArray
    weight: FloatArray
    dfbs: FloatArray
    is_infl: NDArray[np.bool_]
    coef_names: tuple[str, ...]
    #: coefficients (0-based) over which Cook's distance and the covariance ratio are taken
    btt: tuple[int, ...] = ()
    #: the full model's tau², Q and number of coefficients (reference lines of :meth:`plot`)
    tau2_full: float = math.nan
    q_full: float = math.nan
    p: int = 0

    @property
    def QE_del(self) -> FloatArray:  # noqa: N802 - metafor's name
        """metafor's ``QE.del``: alias of ``q_del``."""
        return self.q_del

    def plot(self, *, path: str | Path | None = None, title: str | None = None) -> Figure:
        """The eight diagnostics per study, influential studies in red (metafor's
        ``plot(influence(res))``)."""
        from pedbone.evidence._plot_infl import plot_influence

        return plot_influence(self, path=path, title=title)

    def to_frame(self) -> pl.DataFrame:
        """One row per study; DFBETAS columns are named ``dfbs_<coefficient>``."""
        cols: dict[str, Any] = {
            "slab": list(self.slab),
            "rstudent": self.rstudent,
            "dffits": self.dffits,
            "cook_d": self.cook_d,
            "cov_r": self.cov_r,
            "tau2_del": self.tau2_del,
            "q_del": self.q_del,
            "hat": self.hat,
            "weight": self.weight,
        }
        for j, name in enumerate(self.coef_names):
            cols[f"dfbs_{name}"] = self.dfbs[:, j]
        cols["inf"] = ["*" if f else "" for f in self.is_infl]
        return pl.DataFrame(cols)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary of lists (NaN becomes None)."""
        out: dict[str, Any] = {}
        for name, series in self.to_frame().to_dict(as_series=True).items():
            vals = series.to_list()
            out[name] = [None if isinstance(v, float) and not math.isfinite(v) else v for v in vals]
        return out

    def __str__(self) -> str:
        with pl.Config(tbl_rows=-1, tbl_cols=-1, float_precision=4):
            return str(self.to_frame())


def influence(res: RMAResult, *, btt: Sequence[int] | int | None = None) -> InfluenceResult:
    """Influence diagnostics for each study of a fitted model (metafor's ``influence``).

    Works for intercept-only models and meta-regressions: DFBETAS per coefficient; Cook's
    distance and the covariance ratio over the coefficients ``btt`` (0-based indices, as
    ``rma(btt=)``). The default is all coefficients, intercept included, as metafor's
    ``influence.rma.uni``; ``btt=[1, 2]`` gives metafor's ``influence(res, btt=2:3)`` (the
    moderators only). Costs one refit per study.
    """
    if not isinstance(res, RMAResult):
        raise EvidenceInputError("influence needs a model fitted with rma()")
    k, p = res.k, res.p
    if k == 1:
        raise EvidenceInputError("influence diagnostics need k >= 2 studies (k = 1)")
    X = res.X
    beta = res.beta
    if btt is None:
        btt_l = list(range(p))
    else:
        btt_l = [int(btt)] if isinstance(btt, int) else [int(i) for i in btt]
        if not btt_l or any(i < 0 or i >= p for i in btt_l) or len(set(btt_l)) != len(btt_l):
            raise EvidenceInputError(
                f"btt must list distinct coefficient indices 0..{p - 1} "
                f"({', '.join(res.coef_names)}), got {btt}"
            )
    cols = sorted(btt_l)
    m = len(cols)
    pred_full = X @ beta
    svb = np.linalg.inv(res.vb[np.ix_(cols, cols)])
    det_vb = float(np.linalg.det(res.vb[np.ix_(cols, cols)]))
    w = 1 / (res.vi + res.tau2)
    XtW = X.T * w
    hat = np.einsum("ij,jk,ik->i", X, np.linalg.inv(XtW @ X), X) * w
    hat = np.where(hat > 1 - 10 * np.finfo(float).eps, 1.0, hat)
    nan = np.full(k, math.nan)
    tau2_del, q_del, delpred, vdelpred, s2w_del = (nan.copy() for _ in range(5))
    dffits, cook_d, cov_r = nan.copy(), nan.copy(), nan.copy()
    dfbs = np.full((k, p), math.nan)
    for i in range(k):
        mask = np.ones(k, dtype=bool)
        mask[i] = False
        fit = refit(res, res.yi[mask], res.vi[mask], mods=X[mask])
        if fit is None:
            continue
        xi = X[i]
        tau2_del[i] = fit.tau2
        q_del[i] = fit.q
        delpred[i] = float(xi @ fit.beta)
        vdelpred[i] = float(xi @ fit.vb @ xi)
        s2w_del[i] = fit.s2w
        dffits[i] = (pred_full[i] - delpred[i]) / math.sqrt(
            fit.s2w * hat[i] * (fit.tau2 + res.vi[i])
        )
        wd = 1 / (res.vi + fit.tau2)
        vb_del = np.linalg.inv((X.T * wd) @ X)
        dfb = beta - fit.beta
        dfbs[i] = dfb / np.sqrt(fit.s2w * np.diag(vb_del))
        d = dfb[cols]
        cook_d[i] = float(d @ svb @ d)
        cov_r[i] = float(np.linalg.det(fit.vb[np.ix_(cols, cols)])) / det_vb
    resid = res.yi - delpred
    resid = np.where(np.abs(resid) < 100 * np.finfo(float).eps, 0.0, resid)
    se_resid = np.sqrt(res.vi * s2w_del + vdelpred + tau2_del * s2w_del)
    rstudent = resid / se_resid
    weight = res.weights()
    with np.errstate(invalid="ignore"):
        flag = (
            (np.abs(dffits) > 3 * math.sqrt(p / (k - p)) if k > p else np.zeros(k, dtype=bool))
            | (stats.chi2.cdf(cook_d, m) > 0.5)
            | (hat > 3 * p / k)
            | np.any(np.abs(dfbs) > 1, axis=1)
        )
    return InfluenceResult(
        slab=tuple(res.slab),
        rstudent=np.asarray(rstudent, dtype=np.float64),
        dffits=dffits,
        cook_d=cook_d,
        cov_r=cov_r,
        tau2_del=tau2_del,
        q_del=q_del,
        hat=np.asarray(hat, dtype=np.float64),
        weight=np.asarray(weight, dtype=np.float64),
        dfbs=dfbs,
        is_infl=np.asarray(flag, dtype=bool),
        coef_names=tuple(res.coef_names),
        btt=tuple(cols),
        tau2_full=float(res.tau2) if res.is_random else math.nan,
        q_full=float(res.q),
        p=p,
    )
