"""Forest plots (metafor's ``forest.rma``, R/forest.rma.r) [METAFOR].

One row per study (square sized by weight, confidence interval, label, estimate [CI] and weight
in text columns), a summary diamond per subgroup and overall, the prediction interval of
random-effects models, heterogeneity and subgroup-difference read-outs. Ratio measures are drawn
on a log axis labelled in ratio units. SVG ids: study rows ``study-<i>``, diamonds
``diamond-<name>``, the prediction interval ``prediction-interval``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from pedbone.evidence._format import fmtp
from pedbone.evidence._mh import MHResult
from pedbone.evidence._plotting import (
    MEASURE_NAMES,
    Fit,
    is_ratio,
    level_of,
    new_figure,
    ratio_ticks,
    save,
    study_weights,
)
from pedbone.evidence._results import RMAResult, SubgroupResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["forest"]


@dataclass
class _Block:
    name: str | None
    fit: Fit


def _weights_in(fit: Fit, sg: SubgroupResult | None) -> FloatArray:
    """Study weights in percent; in a subgroup plot, as shares of the overall model."""
    if sg is None or sg.overall is None or not isinstance(fit, RMAResult):
        return study_weights(fit)
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


def _fp(p: float) -> str:
    """p-value in plot text: ``= 0.012`` or ``< 0.001``."""
    return fmtp(p, 3, equal=True, sep=True, add0=True)


def _het_text(fit: Fit) -> str:
    k_df = fit.k - 1
    if k_df < 1:
        return "Heterogeneity: not applicable (one study)"
    parts = [f"Heterogeneity: Q = {fit.q:.2f}, df = {k_df}, p {_fp(fit.q_pval)}"]
    parts.append(f"I² = {fit.i2:.0f}%")
    if isinstance(fit, RMAResult) and fit.is_random:
        parts.append(f"τ² = {fit.tau2:.4f}")
    return "; ".join(parts)


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
    ratio = is_ratio(ref_fit, transf)

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
    fig = new_figure(11.0, 1.3 + 0.28 * (n + 2))
    ax = fig.add_axes((0.34, 0.9 / (n + 4), 0.36, 1 - 2.4 / (n + 4)))
    from matplotlib.transforms import blended_transform_factory

    tr = blended_transform_factory(ax.transAxes, ax.transData)
    text_kw: dict[str, Any] = {"transform": tr, "va": "center", "fontsize": 9, "clip_on": False}
    x_lab, x_est, x_w = -0.95, 1.05, 1.62
    ax.text(x_lab, n + 1, label_header, fontweight="bold", **text_kw)
    name = MEASURE_NAMES.get(ref_fit.measure, "Estimate")
    ax.text(x_est, n + 1, f"{name} [{level_of(ref_fit):g}% CI]", fontweight="bold", **text_kw)
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
            crit = float(stats.norm.isf((1 - level_of(fit) / 100) / 2))
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
                f"p {_fp(s.pval)}",
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
        ratio_ticks(ax, lo - pad, hi + pad)
    ax.set_xlabel(xlab or (name + (" (log scale)" if ratio else "")), fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    if title:
        fig.suptitle(title, fontsize=11, fontweight="bold")
    save(fig, path)
    return fig


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
