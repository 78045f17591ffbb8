"""Funnel plots (metafor's ``funnel.rma``, R/funnel.rma.r) [METAFOR].

Estimates against standard errors (inverted axis) with the pseudo confidence region around the
pooled estimate, optionally contour-enhanced: shaded regions where a study would be significant
at p < 0.10, 0.05 and 0.01 around ``refline`` (default 0), as metafor's
``funnel(..., level=c(90, 95, 99), refline=0)`` (Peters et al. 2008 [PETERS2008]); studies
imputed by trim and fill are drawn as open circles. SVG ids: contour regions ``contour-<level>``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from pedbone.evidence._mh import MHResult
from pedbone.evidence._plotting import (
    MEASURE_NAMES,
    Fit,
    is_ratio,
    level_of,
    new_figure,
    ratio_ticks,
    save,
)
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["funnel"]


def funnel(
    res: RMAResult | MHResult | Any,
    *,
    path: str | Path | None = None,
    contours: Sequence[float] | None = (90, 95, 99),
    refline: float | None = 0.0,
    title: str | None = None,
    xlab: str | None = None,
    transf: bool | None = None,
) -> Figure:
    """Funnel plot: estimates (x) against standard errors (y, 0 at the top).

    ``res`` is a fitted model or a :class:`~pedbone.evidence.TrimFillResult` (filled studies
    drawn as open circles). With ``contours`` (default 90/95/99 %) the plot is
    contour-enhanced: the regions where a study's two-sided test against ``refline`` would be
    significant at p < 0.10, < 0.05 and < 0.01 are shaded (lighter = more significant). The
    dashed triangle is the pseudo confidence region around the pooled estimate. For a
    meta-regression the residuals are drawn around 0 (metafor's funnel of a model with
    moderators), without contours.
    """
    from pedbone.evidence._trimfill import TrimFillResult

    fill: NDArrayBool | None = None
    if isinstance(res, TrimFillResult):
        fit: Fit = res.fit
        yi = np.asarray(res.yi, dtype=np.float64)
        vi = np.asarray(res.vi, dtype=np.float64)
        fill = np.asarray(res.fill, dtype=bool)
    elif isinstance(res, (RMAResult, MHResult)):
        fit = res
        yi = np.asarray(res.yi, dtype=np.float64)
        vi = np.asarray(res.vi, dtype=np.float64)
    else:
        raise EvidenceInputError("funnel() needs a result of rma, rma_mh, rma_peto or trimfill")
    mreg = isinstance(fit, RMAResult) and not (fit.p == 1 and fit.intercept)
    if mreg:
        # meta-regression: residuals against their SE, around 0 (metafor's funnel.rma with
        # moderators); contours and ratio axes do not apply to residuals
        assert isinstance(fit, RMAResult)
        yi = np.asarray(fit.residuals(), dtype=np.float64)
        contours = None
        transf = False
    ok = np.isfinite(yi) & np.isfinite(vi)
    yi, sei = yi[ok], np.sqrt(vi[ok])
    if fill is not None:
        fill = fill[ok]
    if yi.size == 0:
        raise EvidenceInputError("funnel(): no study with an estimate and a variance")
    ratio = is_ratio(fit, transf)
    fig = new_figure(6.4, 5.2)
    center = 0.0 if mreg else float(fit.estimate)
    ax = fig.add_subplot(1, 1, 1)
    se_max = float(sei.max()) * 1.1
    est = center
    crit = float(stats.norm.isf((1 - level_of(fit) / 100) / 2))
    span = [float(yi.min()), float(yi.max()), est - crit * se_max, est + crit * se_max]
    if contours:
        levels = sorted(float(c) for c in contours)
        if any(not 0 < lv < 100 for lv in levels):
            raise EvidenceInputError(f"contour levels must be percentages in (0, 100): {levels}")
        ref = 0.0 if refline is None else refline
        zs = [float(stats.norm.isf((1 - lv / 100) / 2)) for lv in levels]
        span += [ref - zs[-1] * se_max * 1.1, ref + zs[-1] * se_max * 1.1]
        # nested triangles |x - ref| < z·SE, widest first; what stays outside the widest is
        # the region p <= 1 - max(level) (axes background)
        fills = _shades(len(levels))
        ax.set_facecolor(_OUTSIDE)
        for lv, z, shade in sorted(zip(levels, zs, fills, strict=True), reverse=True):
            patch = ax.fill(
                [ref - z * se_max, ref, ref + z * se_max],
                [se_max, 0.0, se_max],
                facecolor=shade,
                edgecolor="none",
                zorder=0,
            )[0]
            patch.set_gid(f"contour-{lv:g}")
        from matplotlib.patches import Patch

        alphas = [1 - lv / 100 for lv in levels]
        labels = [f"p > {alphas[0]:.2f}"]
        labels += [f"{b:.2f} < p ≤ {a:.2f}" for a, b in itertools.pairwise(alphas)]
        labels.append(f"p ≤ {alphas[-1]:.2f}")
        handles = [
            Patch(facecolor=c, edgecolor="#999999", label=lab)
            for c, lab in zip([*fills, _OUTSIDE], labels, strict=True)
        ]
        legend_handles: list[Any] = list(handles)
    else:
        legend_handles = []
    lo_x, hi_x = min(span), max(span)
    # pseudo confidence region around the pooled estimate
    (tri,) = ax.plot(
        [est - crit * se_max, est, est + crit * se_max],
        [se_max, 0.0, se_max],
        color="#333333",
        linestyle="--",
        linewidth=0.8,
        zorder=2,
    )
    tri.set_gid("pseudo-ci")
    ax.axvline(est, color="#333333", linewidth=0.9, zorder=2).set_gid("estimate-line")
    obs = np.ones(yi.size, dtype=bool) if fill is None else ~fill
    pts = ax.scatter(yi[obs], sei[obs], s=28, facecolor="black", edgecolor="black", zorder=3)
    pts.set_gid("studies")
    pts.set_label("Studies")
    legend_handles.append(pts)
    if fill is not None and fill.any():
        filled = ax.scatter(
            yi[fill], sei[fill], s=28, facecolor="white", edgecolor="black", zorder=3
        )
        filled.set_gid("filled-studies")
        filled.set_label("Imputed (trim and fill)")
        legend_handles.append(filled)
    ax.legend(handles=legend_handles, loc="lower right", fontsize=7, frameon=True)
    pad = 0.04 * (hi_x - lo_x if hi_x > lo_x else 1.0)
    ax.set_xlim(lo_x - pad, hi_x + pad)
    ax.set_ylim(se_max, 0.0)
    ax.set_ylabel("Standard error", fontsize=9)
    name = "Residual value" if mreg else MEASURE_NAMES.get(fit.measure, "Estimate")
    ax.set_xlabel(xlab or (name + (" (log scale)" if ratio else "")), fontsize=9)
    if ratio:
        ratio_ticks(ax, lo_x - pad, hi_x + pad)
    ax.tick_params(labelsize=8)
    if title:
        ax.set_title(title, fontsize=11, fontweight="bold")
    save(fig, path)
    return fig


NDArrayBool = np.ndarray[Any, np.dtype[np.bool_]]


_OUTSIDE = "0.93"


def _shades(n: int) -> list[str]:
    """Fill of each contour band, innermost (not significant) first: white, then greys."""
    if n == 1:
        return ["white"]
    greys = np.linspace(0.55, 0.78, n - 1)
    return ["white", *(f"{g:.2f}" for g in greys)]
