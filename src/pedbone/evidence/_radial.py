"""Radial (Galbraith) plot (metafor's ``radial``, R/radial.rma.r) [METAFOR]; Galbraith 1988.

Each study at x = 1/sqrt(v_i + tau²) (its precision) and y = y_i/sqrt(v_i + tau²) (its
standardised effect). The pooled estimate is the slope of the line through the origin; the
two dashed lines at ±z (the level's critical value) mark the region where about 95 % of the
studies should fall if they share that effect. Intercept-only models. SVG ids: ``study-<i>``,
``estimate-line``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from pedbone.evidence._plotting import new_figure, save
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["radial"]


def radial(res: RMAResult, *, path: str | Path | None = None, title: str | None = None) -> Figure:
    """Radial (Galbraith) plot of an intercept-only model."""
    if not isinstance(res, RMAResult) or not (res.p == 1 and res.intercept):
        raise EvidenceInputError("radial() needs a model without moderators fitted with rma()")
    s = np.sqrt(res.vi + res.tau2)
    x, y = 1 / s, res.yi / s
    z = float(stats.norm.isf((1 - res.level / 100) / 2))
    fig = new_figure(6.4, 5.0)
    ax = fig.add_subplot(1, 1, 1)
    x_max = float(x.max()) * 1.08
    xs = np.array([0.0, x_max])
    (line,) = ax.plot(xs, res.estimate * xs, color="black", linewidth=1.0)
    line.set_gid("estimate-line")
    for sign in (-1, 1):
        ax.plot(xs, res.estimate * xs + sign * z, color="0.4", linestyle="--", linewidth=0.8)
    for i in range(res.k):
        (pt,) = ax.plot([x[i]], [y[i]], marker="o", markersize=5, color="black", linestyle="none")
        pt.set_gid(f"study-{i}")
    ax.axhline(0, color="0.7", linewidth=0.6)
    ax.set_xlim(0, x_max)
    ax.set_xlabel("x_i = 1 / sqrt(v_i + tau²)", fontsize=9)
    ax.set_ylabel("z_i = y_i / sqrt(v_i + tau²)", fontsize=9)
    ax.tick_params(labelsize=8)
    if title:
        ax.set_title(title, fontsize=11, fontweight="bold")
    save(fig, path)
    return fig
