"""Bubble plot of a meta-regression (metafor's ``regplot``, R/regplot.rma.r) [METAFOR].

The observed effects against one moderator, each study a circle whose **area is proportional
to its weight** in the model (metafor's default ``psize``: proportional to the square root of
the weights); the fitted line with its confidence band and, for random/mixed-effects models,
the prediction band; other moderators are held at their mean, as metafor's ``regplot``.

SVG ids: ``bubble-<i>``, ``fitted-line``, ``ci-band``, ``pi-band``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pedbone.evidence._plotting import analysis_scale_label, new_figure, save
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError, make_unique

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["MAX_BUBBLE", "regplot"]

#: diameter (points) of the bubble of the most heavily weighted study
MAX_BUBBLE = 24.0


def regplot(
    res: RMAResult,
    mod: str | int | None = None,
    *,
    path: str | Path | None = None,
    show_ci: bool = True,
    show_pi: bool = True,
    label: bool = False,
    xlab: str | None = None,
    ylab: str | None = None,
    title: str | None = None,
) -> Figure:
    """Bubble plot: observed effects against moderator ``mod`` with the fitted line.

    ``mod`` is a coefficient name (``"ablat"``) or 0-based coefficient index; default the only
    moderator. ``show_ci``/``show_pi`` draw the confidence and prediction bands; ``label``
    writes the study labels beside the bubbles.
    """
    if not isinstance(res, RMAResult) or (res.p == 1 and res.intercept):
        raise EvidenceInputError("regplot() needs a meta-regression fitted with rma(mods=...)")
    first = 1 if res.intercept else 0
    if mod is None:
        if res.p - first != 1:
            raise EvidenceInputError(
                "regplot(): the model has several moderators; choose one with mod= "
                f"({', '.join(res.coef_names[first:])})"
            )
        j = first
    elif isinstance(mod, str):
        if mod not in res.coef_names:
            raise EvidenceInputError(
                f"regplot(): no coefficient {mod!r} (coefficients: {', '.join(res.coef_names)})"
            )
        j = res.coef_names.index(mod)
    else:
        j = int(mod)
        if not 0 <= j < res.p:
            raise EvidenceInputError(f"regplot(): mod must index coefficients 0..{res.p - 1}")
    x = res.X[:, j]
    w = res.weights()
    fig = new_figure(6.4, 5.0)
    ax = fig.add_subplot(1, 1, 1)
    xs = np.linspace(float(x.min()), float(x.max()), 200)
    Xn = np.tile(res.X.mean(axis=0), (xs.size, 1))
    Xn[:, j] = xs
    if res.intercept:
        Xn[:, 0] = 1.0
    pred = res.predict(Xn[:, first:] if res.intercept else Xn)
    if show_pi and res.is_random:
        band = ax.fill_between(xs, pred.pi_lb, pred.pi_ub, color="0.92", zorder=0, linewidth=0)
        band.set_gid("pi-band")
        ax.plot(xs, pred.pi_lb, color="0.6", linestyle=":", linewidth=0.8, zorder=1)
        ax.plot(xs, pred.pi_ub, color="0.6", linestyle=":", linewidth=0.8, zorder=1)
    if show_ci:
        band = ax.fill_between(xs, pred.ci_lb, pred.ci_ub, color="0.80", zorder=1, linewidth=0)
        band.set_gid("ci-band")
    (line,) = ax.plot(xs, pred.pred, color="black", linewidth=1.2, zorder=2)
    line.set_gid("fitted-line")
    w_max = float(np.max(w))
    labels = make_unique(list(res.slab))
    for i in range(res.k):
        d = MAX_BUBBLE * math.sqrt(max(float(w[i]), 0.0) / w_max)  # area ∝ weight
        (pt,) = ax.plot(
            [x[i]],
            [res.yi[i]],
            marker="o",
            markersize=d,
            markerfacecolor="0.45",
            markeredgecolor="black",
            markeredgewidth=0.6,
            alpha=0.85,
            linestyle="none",
            zorder=3,
        )
        pt.set_gid(f"bubble-{i}")
        if label:
            ax.annotate(
                labels[i],
                (x[i], res.yi[i]),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=7,
            )
    ax.set_xlabel(xlab or res.coef_names[j], fontsize=9)
    ax.set_ylabel(ylab or analysis_scale_label(res.measure), fontsize=9)
    ax.tick_params(labelsize=8)
    if title:
        ax.set_title(title, fontsize=11, fontweight="bold")
    save(fig, path)
    return fig
