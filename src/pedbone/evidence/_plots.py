"""Publication-quality forest and funnel plots (matplotlib, no display needed).

- :func:`forest` — one row per study (square sized by weight, confidence interval, label,
  estimate [CI] and weight in text columns), a summary diamond per subgroup and overall, the
  prediction interval of random-effects models, heterogeneity and subgroup-difference
  read-outs. Ratio measures are drawn on a log axis labelled in ratio units.
- :func:`funnel` — estimates against standard errors (inverted axis) with the pseudo
  confidence region around the pooled estimate, optionally contour-enhanced: shaded regions
  where a study would be significant at p < 0.10, 0.05 and 0.01 around ``refline`` (default 0),
  as metafor's ``funnel(..., level=c(90, 95, 99), refline=0)`` (Peters et al. 2008
  [PETERS2008]); studies imputed by trim and fill are drawn as open circles.

Artists carry SVG ids (``gid``) so a written SVG can be checked by structure: study rows
``study-<i>``, diamonds ``diamond-<name>``, the prediction interval ``prediction-interval``,
contour regions ``contour-<level>``. Both functions return the matplotlib ``Figure`` and, with
``path=``, write SVG, PNG (300 dpi) or PDF chosen by the file suffix.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from pedbone.evidence._mh import MHResult
from pedbone.evidence._results import RMAResult, SubgroupResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["RATIO_MEASURES", "forest", "funnel"]

#: measures analysed on the log scale (plots label the axis in ratio units)
RATIO_MEASURES = frozenset({"OR", "RR", "PETO", "IRR", "ROM", "HR"})
_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
_MEASURE_NAMES = {
    "OR": "Odds ratio",
    "PETO": "Peto odds ratio",
    "RR": "Risk ratio",
    "RD": "Risk difference",
    "MD": "Mean difference",
    "SMD": "Standardised mean difference",
    "ROM": "Ratio of means",
    "MC": "Mean change",
    "SMCC": "Standardised mean change",
    "SMCR": "Standardised mean change",
    "IRR": "Incidence rate ratio",
}

Fit = RMAResult | MHResult


@dataclass
class _Block:
    name: str | None
    fit: Fit


def _is_ratio(fit: Fit | None, transf: bool | None) -> bool:
    if transf is not None:
        return transf
    return fit is not None and fit.measure in RATIO_MEASURES


def _weights(fit: Fit) -> FloatArray:
    if isinstance(fit, RMAResult):
        return fit.weights()
    if fit.weights_pct is not None:  # Mantel–Haenszel / Peto weights, as metafor
        return fit.weights_pct
    ok = np.isfinite(fit.vi)
    w = np.where(ok, 1 / np.where(ok, fit.vi, 1.0), 0.0)
    return np.asarray(100 * w / w.sum(), dtype=np.float64)


def _weights_in(fit: Fit, sg: SubgroupResult | None) -> FloatArray:
    """Study weights in percent; in a subgroup plot, as shares of the overall model."""
    if sg is None or sg.overall is None or not isinstance(fit, RMAResult):
        return _weights(fit)
    # the overall model's weight of each study: 1/(vi + tau²_overall), as a share of its total
    total = float(np.sum(sg.overall.weights_raw))
    if not sg.overall.is_random:
        return np.asarray(100 / fit.vi / total, dtype=np.float64)
    return np.asarray(100 / (fit.vi + sg.overall.tau2) / total, dtype=np.float64)


def _fmt_ci(est: float, lb: float, ub: float, ratio: bool, digits: int) -> str:
    if not (math.isfinite(est) and math.isfinite(lb) and math.isfinite(ub)):
        return "not estimable"
    f: Callable[[float], float] = math.exp if ratio else float
    return f"{f(est):.{digits}f} [{f(lb):.{digits}f}, {f(ub):.{digits}f}]"


def _fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "NA"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _het_text(fit: Fit) -> str:
    k_df = fit.k - 1
    if k_df < 1:
        return "Heterogeneity: not applicable (one study)"
    parts = [f"Heterogeneity: Q = {fit.q:.2f}, df = {k_df}, p {_fmt_p(fit.q_pval)}"]
    parts.append(f"I² = {fit.i2:.0f}%")
    if isinstance(fit, RMAResult) and fit.is_random:
        parts.append(f"τ² = {fit.tau2:.4f}")
    return "; ".join(parts)


def _save(fig: Figure, path: str | Path | None) -> None:
    if path is None:
        return
    p = Path(path)
    fmt = _FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise EvidenceInputError(
            f"plot file {str(p)!r}: use a .svg, .png or .pdf suffix, not {p.suffix or 'none'!r}"
        )
    if not p.parent.exists():
        raise EvidenceInputError(f"plot file {str(p)!r}: folder {str(p.parent)!r} does not exist")
    import matplotlib as mpl

    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "pedbone", "pdf.fonttype": 42}):
        fig.savefig(p, format=fmt, dpi=300 if fmt == "png" else None, bbox_inches="tight")


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _diamond(ax: Axes, y: float, fit: Fit, gid: str, color: str) -> None:
    from matplotlib.patches import Polygon

    est, lb, ub = fit.estimate, fit.ci_lb, fit.ci_ub
    if not (math.isfinite(est) and math.isfinite(lb) and math.isfinite(ub)):
        return
    h = 0.32
    poly = Polygon(
        [(lb, y), (est, y + h), (ub, y), (est, y - h)],
        closed=True,
        facecolor=color,
        edgecolor="black",
        linewidth=0.8,
        zorder=4,
    )
    poly.set_gid(gid)
    ax.add_patch(poly)


def forest(
    res: RMAResult | MHResult | SubgroupResult,
    *,
    path: str | Path | None = None,
    title: str | None = None,
    xlab: str | None = None,
    transf: bool | None = None,
    refline: float | None = 0.0,
    show_weights: bool = True,
    show_pi: bool = True,
    digits: int = 2,
    label_header: str = "Study",
) -> Figure:
    """Forest plot of a fitted model (or of a :class:`SubgroupResult` with subgroups).

    ``transf`` (default: automatic for ratio measures) draws the log-scale estimates on a
    log axis in ratio units and prints ratios. ``refline`` is the line of no effect on the
    analysis scale (0 = ratio 1). ``show_pi`` adds the prediction interval of random-effects
    models (a bar below each diamond). ``path`` writes the figure (.svg, .png, .pdf).
    """
    blocks: list[_Block]
    overall: Fit | None
    sg: SubgroupResult | None = None
    if isinstance(res, SubgroupResult):
        sg = res
        blocks = [_Block(name, fit) for name, fit in res.fits.items()]
        overall = res.overall
    elif isinstance(res, (RMAResult, MHResult)):
        if isinstance(res, RMAResult) and not (res.p == 1 and res.intercept):
            raise EvidenceInputError("forest() draws models without moderators")
        blocks = [_Block(None, res)]
        overall = res
    else:
        raise EvidenceInputError("forest() needs a result of rma, rma_mh, rma_peto or subgroups")
    ref_fit = overall if overall is not None else blocks[0].fit
    ratio = _is_ratio(ref_fit, transf)

    # ---- layout: rows from top (y = n_rows) to bottom --------------------------------
    rows: list[tuple[str, Any]] = []
    for b in blocks:
        if b.name is not None:
            rows.append(("heading", b))
        for i in range(len(b.fit.slab)):
            rows.append(("study", (b, i)))
        if b.name is not None:
            rows.append(("diamond", b))
            if show_pi and _has_pi(b.fit):
                rows.append(("pi", b))
            rows.append(("het", b))
            rows.append(("gap", None))
    if overall is not None:
        rows.append(("diamond", _Block("overall", overall)))
        if show_pi and _has_pi(overall):
            rows.append(("pi", _Block("overall", overall)))
        rows.append(("het", _Block("overall", overall)))
        if sg is not None:
            rows.append(("subgroup-test", sg))
    n = len(rows)
    fig = _new_figure(11.0, 1.3 + 0.28 * (n + 2))
    ax = fig.add_axes((0.34, 0.9 / (n + 4), 0.36, 1 - 2.4 / (n + 4)))
    from matplotlib.transforms import blended_transform_factory

    tr = blended_transform_factory(ax.transAxes, ax.transData)
    text_kw: dict[str, Any] = {"transform": tr, "va": "center", "fontsize": 9, "clip_on": False}
    x_lab, x_est, x_w = -0.95, 1.05, 1.62
    ax.text(x_lab, n + 1, label_header, fontweight="bold", **text_kw)
    name = _MEASURE_NAMES.get(ref_fit.measure, "Estimate")
    ax.text(x_est, n + 1, f"{name} [{_level(ref_fit):g}% CI]", fontweight="bold", **text_kw)
    if show_weights:
        ax.text(
            x_w,
            n + 1,
            "Weight",
            fontweight="bold",
            ha="right",
            **{k: v for k, v in text_kw.items() if k != "ha"},
        )

    xs: list[float] = []
    weights_cache: dict[int, FloatArray] = {}
    for r, (kind, obj) in enumerate(rows):
        y = n - r
        if kind == "heading":
            ax.text(x_lab, y, str(obj.name), fontweight="bold", **text_kw).set_gid(
                f"subgroup-{obj.name}"
            )
        elif kind == "study":
            b, i = obj
            fit = b.fit
            w = weights_cache.setdefault(id(fit), _weights_in(fit, sg))
            yi = float(fit.yi[i])
            sei = math.sqrt(float(fit.vi[i])) if math.isfinite(fit.vi[i]) else math.nan
            crit = float(stats.norm.isf((1 - _level(fit) / 100) / 2))
            lb, ub = yi - crit * sei, yi + crit * sei
            label = ax.text(x_lab + (0.03 if b.name is not None else 0), y, fit.slab[i], **text_kw)
            label.set_gid(f"study-label-{len(xs)}")
            ax.text(x_est, y, _fmt_ci(yi, lb, ub, ratio, digits), **text_kw)
            if show_weights:
                wt = f"{w[i]:.1f}%" if math.isfinite(w[i]) else "–"
                ax.text(x_w, y, wt, ha="right", **text_kw)
            if math.isfinite(yi) and math.isfinite(sei):
                (line,) = ax.plot([lb, ub], [y, y], color="black", linewidth=0.9, zorder=3)
                line.set_gid(f"study-ci-{len(xs)}")
                size = 4 + 10 * math.sqrt(max(float(w[i]), 0.0) / 100)
                (pt,) = ax.plot([yi], [y], marker="s", markersize=size, color="#3a5f8a", zorder=4)
                pt.set_gid(f"study-{len(xs)}")
                xs += [lb, ub]
            else:
                xs.append(math.nan)
        elif kind == "diamond":
            b = obj
            fit = b.fit
            is_overall = b.name == "overall"
            dlabel = "Overall" if is_overall else f"Subtotal: {b.name}"
            dlabel += f" ({_model_name(fit)})"
            ax.text(x_lab, y, dlabel, fontweight="bold" if is_overall else None, **text_kw)
            ax.text(
                x_est,
                y,
                _fmt_ci(fit.estimate, fit.ci_lb, fit.ci_ub, ratio, digits),
                fontweight="bold" if is_overall else None,
                **text_kw,
            )
            if show_weights and sg is not None and not is_overall and overall is not None:
                share = _subgroup_share(sg, str(b.name))
                ax.text(x_w, y, f"{share:.1f}%", ha="right", **text_kw)
            elif show_weights:
                ax.text(x_w, y, "100.0%", ha="right", **text_kw)
            _diamond(
                ax, y, fit, f"diamond-{b.name or 'overall'}", "#1f1f1f" if is_overall else "#7f7f7f"
            )
            xs += [fit.ci_lb, fit.ci_ub]
        elif kind == "pi":
            fit = obj.fit
            ax.text(x_lab + 0.03, y, "Prediction interval", fontstyle="italic", **text_kw)
            ax.text(
                x_est,
                y,
                _fmt_ci(fit.estimate, fit.pi_lb, fit.pi_ub, ratio, digits).split(" ", 1)[-1],
                fontstyle="italic",
                **text_kw,
            )
            (pl_,) = ax.plot(
                [fit.pi_lb, fit.pi_ub],
                [y, y],
                color="black",
                linewidth=2.2,
                solid_capstyle="butt",
                zorder=3,
            )
            pl_.set_gid(
                "prediction-interval"
                if obj.name == "overall"
                else f"prediction-interval-{obj.name}"
            )
            xs += [fit.pi_lb, fit.pi_ub]
        elif kind == "het":
            ax.text(
                x_lab + 0.03,
                y,
                _het_text(obj.fit),
                fontsize=8,
                color="#333333",
                **{k: v for k, v in text_kw.items() if k != "fontsize"},
            )
        elif kind == "subgroup-test":
            s: SubgroupResult = obj
            ax.text(
                x_lab + 0.03,
                y,
                f"Test for subgroup differences: Q = {s.q_between:.2f}, df = {s.df}, "
                f"p {_fmt_p(s.pval)}",
                fontsize=8,
                **{k: v for k, v in text_kw.items() if k != "fontsize"},
            ).set_gid("subgroup-test")

    finite = [x for x in xs if math.isfinite(x)]
    if refline is not None:
        finite.append(refline)
        ax.axvline(refline, color="#555555", linewidth=0.8, linestyle="-", zorder=1).set_gid(
            "refline"
        )
    if overall is not None and math.isfinite(overall.estimate):
        ax.axvline(overall.estimate, color="#888888", linewidth=0.7, linestyle=":", zorder=1)
    lo, hi = (min(finite), max(finite)) if finite else (-1.0, 1.0)
    pad = 0.05 * (hi - lo if hi > lo else 1.0)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(0.3, n + 1.6)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    if ratio:
        _ratio_ticks(ax, lo - pad, hi + pad)
    ax.set_xlabel(xlab or (name + (" (log scale)" if ratio else "")), fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    if title:
        fig.suptitle(title, fontsize=11, fontweight="bold")
    _save(fig, path)
    return fig


def _level(fit: Fit) -> float:
    return float(fit.level)


def _has_pi(fit: Fit) -> bool:
    return (
        isinstance(fit, RMAResult)
        and fit.is_random
        and fit.k > 1
        and math.isfinite(fit.pi_lb)
        and math.isfinite(fit.pi_ub)
    )


def _model_name(fit: Fit) -> str:
    if isinstance(fit, MHResult):
        return "Mantel-Haenszel, equal effects" if fit.method == "MH" else "Peto, equal effects"
    if not fit.is_random:
        return "equal effects"
    test = {"knha": ", Hartung-Knapp", "adhoc": ", Hartung-Knapp (ad hoc)", "t": ", t"}
    return f"random effects, {fit.method}{test.get(fit.test, '')}"


def _subgroup_share(sg: SubgroupResult, name: str) -> float:
    """Share of the overall weight carried by a subgroup's studies (percent)."""
    if sg.overall is None:
        return math.nan
    return float(np.sum(_weights_in(sg.fits[name], sg)))


def _ratio_ticks(ax: Axes, lo: float, hi: float) -> None:
    candidates = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 4, 5, 10, 20, 50, 100]
    ticks = [c for c in candidates if lo <= math.log(c) <= hi]
    if len(ticks) > 7:
        # thin out symmetrically around the null (1), which is always labelled
        step = math.ceil(len(ticks) / 7)
        one = ticks.index(1) if 1 in ticks else 0
        ticks = [t for i, t in enumerate(ticks) if (i - one) % step == 0]
    if len(ticks) < 2:
        ticks = [math.exp(lo), 1.0, math.exp(hi)]
    ax.set_xticks([math.log(t) for t in ticks])
    ax.set_xticklabels([f"{t:g}" for t in ticks])


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
    dashed triangle is the pseudo confidence region around the pooled estimate.
    """
    from pedbone.evidence._bias import TrimFillResult

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
    if isinstance(fit, RMAResult) and not (fit.p == 1 and fit.intercept):
        raise EvidenceInputError("funnel() draws models without moderators")
    ok = np.isfinite(yi) & np.isfinite(vi)
    yi, sei = yi[ok], np.sqrt(vi[ok])
    if fill is not None:
        fill = fill[ok]
    if yi.size == 0:
        raise EvidenceInputError("funnel(): no study with an estimate and a variance")
    ratio = _is_ratio(fit, transf)
    fig = _new_figure(6.4, 5.2)
    ax = fig.add_subplot(1, 1, 1)
    se_max = float(sei.max()) * 1.1
    est = float(fit.estimate)
    crit = float(stats.norm.isf((1 - _level(fit) / 100) / 2))
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
    name = _MEASURE_NAMES.get(fit.measure, "Estimate")
    ax.set_xlabel(xlab or (name + (" (log scale)" if ratio else "")), fontsize=9)
    if ratio:
        _ratio_ticks(ax, lo_x - pad, hi_x + pad)
    ax.tick_params(labelsize=8)
    if title:
        ax.set_title(title, fontsize=11, fontweight="bold")
    _save(fig, path)
    return fig


NDArrayBool = np.ndarray[Any, np.dtype[np.bool_]]


_OUTSIDE = "0.93"


def _shades(n: int) -> list[str]:
    """Fill of each contour band, innermost (not significant) first: white, then greys."""
    if n == 1:
        return ["white"]
    greys = np.linspace(0.55, 0.78, n - 1)
    return ["white", *(f"{g:.2f}" for g in greys)]
