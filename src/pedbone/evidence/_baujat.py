"""Baujat plot (metafor's ``baujat``, R/baujat.rma.r) [METAFOR]; Baujat et al. 2002.

x: each study's contribution to the (residual) heterogeneity statistic, its squared Pearson
residual ``(y_i - X_i b)² / (v_i + tau²)``; y: its influence on the fitted result,
``(X_i b - X_i b_(-i))² / Var(X_i b_(-i))`` with ``b_(-i)`` the model refitted without study
i (same estimator), as metafor computes it. SVG ids: ``study-<i>``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pedbone.evidence._plotting import new_figure, save
from pedbone.evidence._refit import refit
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray, make_unique

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["baujat", "baujat_values"]


def baujat_values(res: RMAResult) -> tuple[FloatArray, FloatArray]:
    """The plotted coordinates: (contribution to QE, influence on the fitted result)."""
    if not isinstance(res, RMAResult):
        raise EvidenceInputError("baujat() needs a model fitted with rma()")
    if res.k < 2:
        raise EvidenceInputError("baujat() needs k >= 2 studies")
    resid = res.yi - res.X @ res.beta
    x = resid**2 / (res.tau2 + res.vi)
    y = np.full(res.k, math.nan)
    pred_full = res.X @ res.beta
    for i in range(res.k):
        mask = np.ones(res.k, dtype=bool)
        mask[i] = False
        fit = refit(res, res.yi[mask], res.vi[mask], mods=res.X[mask])
        if fit is None:
            continue
        xi = res.X[i]
        y[i] = float((xi @ fit.beta - pred_full[i]) ** 2 / (xi @ fit.vb @ xi))
    return np.asarray(x, dtype=np.float64), y


def baujat(res: RMAResult, *, path: str | Path | None = None, title: str | None = None) -> Figure:
    """Baujat plot: contribution to heterogeneity (x) against influence (y), labelled."""
    x, y = baujat_values(res)
    fig = new_figure(6.4, 5.0)
    ax = fig.add_subplot(1, 1, 1)
    labels = make_unique(list(res.slab))
    for i in range(res.k):
        if not (math.isfinite(x[i]) and math.isfinite(y[i])):
            continue
        (pt,) = ax.plot([x[i]], [y[i]], marker="o", markersize=5, color="black", linestyle="none")
        pt.set_gid(f"study-{i}")
        ax.annotate(labels[i], (x[i], y[i]), xytext=(4, 3), textcoords="offset points", fontsize=7)
    ax.set_xlabel("Squared Pearson residual (contribution to overall heterogeneity)", fontsize=9)
    ax.set_ylabel("Influence on overall result", fontsize=9)
    ax.tick_params(labelsize=8)
    if title:
        ax.set_title(title, fontsize=11, fontweight="bold")
    save(fig, path)
    return fig
