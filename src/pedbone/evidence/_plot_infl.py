"""Plot of the case-deletion diagnostics (metafor's ``plot.infl.rma.uni``,
R/plot.infl.rma.uni.r) [METAFOR].

Eight panels, one point per study joined by lines, studies flagged as influential in red:
externally standardised residuals (reference ±z), DFFITS (3·sqrt(p/(k−p))), Cook's distance
(the median of χ² on m df), covariance ratio (1), leave-one-out tau² (the full model's),
leave-one-out Q (the full model's), hat values (3p/k) and weights (100/k), as metafor draws
them. SVG ids: ``panel-<name>``, ``influential-<name>``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from pedbone.evidence._plotting import new_figure, save

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from pedbone.evidence._influence import InfluenceResult

__all__ = ["plot_influence"]


def plot_influence(
    inf: InfluenceResult, *, path: str | Path | None = None, title: str | None = None
) -> Figure:
    """Draw the eight diagnostics of :func:`influence` in a 4 × 2 grid."""
    k = len(inf.slab)
    p = inf.p or 1
    m = len(inf.btt) or p
    panels = [
        ("rstudent", inf.rstudent, [-1.959963984540054, 0.0, 1.959963984540054]),
        ("dffits", inf.dffits, [3 * math.sqrt(p / (k - p))] if k > p else []),
        ("cook.d", inf.cook_d, [float(stats.chi2.ppf(0.5, m))]),
        ("cov.r", inf.cov_r, [1.0]),
        ("tau2.del", inf.tau2_del, [inf.tau2_full] if math.isfinite(inf.tau2_full) else []),
        ("QE.del", inf.q_del, [inf.q_full] if math.isfinite(inf.q_full) else []),
        ("hat", inf.hat, [3 * p / k]),
        ("weight", inf.weight, [100 / k]),
    ]
    fig = new_figure(8.0, 10.0)
    x = np.arange(1, k + 1)
    flag = np.asarray(inf.is_infl, dtype=bool)
    for j, (name, values, refs) in enumerate(panels):
        ax = fig.add_subplot(4, 2, j + 1)
        ax.set_gid(f"panel-{name}")
        vals = np.asarray(values, dtype=float)
        ax.plot(x, vals, color="0.5", linewidth=0.7, zorder=1)
        ax.plot(x[~flag], vals[~flag], "o", color="black", markersize=4, zorder=2)
        if flag.any():
            (hi,) = ax.plot(x[flag], vals[flag], "o", color="#c0392b", markersize=5, zorder=3)
            hi.set_gid(f"influential-{name}")
        for ref in refs:
            ax.axhline(ref, color="0.4", linestyle="--", linewidth=0.7, zorder=0)
        ax.set_title(name, fontsize=9)
        ax.set_xticks(x if k <= 20 else x[:: max(1, k // 10)])
        ax.tick_params(labelsize=7)
        ax.set_xlim(0.5, k + 0.5)
    fig.subplots_adjust(hspace=0.45, wspace=0.25)
    if title:
        fig.suptitle(title, fontsize=11, fontweight="bold")
    save(fig, path)
    return fig
