"""Forest plots (metafor's ``forest.rma`` and ``forest.cumul.rma``, R/forest.rma.r) [METAFOR].

One row per study: a square whose **area is proportional to the study's weight** (the
square of the most heavily weighted study has side :data:`MAX_SQUARE` points), its confidence
interval, its label (repeated labels numbered ``Smith.1``, ``Smith.2`` as metafor), optional
``ilab`` text columns (events/totals or means/SDs per arm), the estimate [CI] and the weight.
Below: a summary diamond per subgroup and overall, the prediction interval of random-effects
models, heterogeneity, the test for the overall effect and the test for subgroup differences.
``favours`` labels the two sides of the line of no effect. Ratio measures are drawn on a log
axis in ratio units.

- meta-regression models: observed effects with their CIs and the fitted values as grey
  diamonds (metafor's ``addfit``), the tests for residual heterogeneity and moderators below;
- a ``cumul()`` or ``leave1out()`` table: one row per step with its pooled estimate and CI
  (metafor's ``forest.cumul.rma``).

SVG ids: study squares ``study-<i>``, CIs ``study-ci-<i>``, labels ``study-label-<i>``,
diamonds ``diamond-<name>``, fitted values ``fitted-<i>``, the prediction interval
``prediction-interval``, ``overall-test``, ``favours-left``/``favours-right``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from scipy import stats

from pedbone.evidence._format import fmtp, fmtx
from pedbone.evidence._mh import MHResult
from pedbone.evidence._plotting import (
    MEASURE_NAMES,
    RATIO_MEASURES,
    Fit,
    is_ratio,
    level_of,
    new_figure,
    ratio_ticks,
    save,
    study_weights,
)
from pedbone.evidence._results import RMAResult, SubgroupResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray, make_unique

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["MAX_SQUARE", "forest"]

#: side (points) of the square of the most heavily weighted study; others scale by sqrt(w)
MAX_SQUARE = 12.0
_ORDERS = ("obs", "prec", "weight", "fit")


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
    if isinstance(fit, RMAResult) and not (fit.p == 1 and fit.intercept):
        return (
            f"Test for residual heterogeneity: QE = {fit.q:.2f}, df = {fit.q_df}, "
            f"p {_fp(fit.q_pval)}"
        )
    k_df = fit.k - 1
    if k_df < 1:
        return "Heterogeneity: not applicable (one study)"
    parts = [f"Heterogeneity: Q = {fit.q:.2f}, df = {k_df}, p {_fp(fit.q_pval)}"]
    parts.append(f"I² = {fit.i2:.0f}%")
    if isinstance(fit, RMAResult) and fit.is_random:
        parts.append(f"τ² = {fit.tau2:.4f}")
    return "; ".join(parts)


def _overall_test(fit: Fit) -> str:
    """RevMan's 'Test for overall effect' line (z, or t with its df, and the p-value)."""
    if isinstance(fit, RMAResult) and not (fit.p == 1 and fit.intercept):
        if fit.ddf is None:
            stat = f"QM = {fit.qm:.2f}, df = {fit.qm_df[0]}"
        else:
            stat = f"F = {fit.qm:.2f}, df = {fit.qm_df[0]}, {fit.qm_df[1]}"
        return f"Test of moderators: {stat}, p {_fp(fit.qm_pval)}"
    if isinstance(fit, RMAResult) and fit.ddf is not None:
        return f"Test for overall effect: t({fit.ddf}) = {fmtx(fit.zval, 2)}, p {_fp(fit.pval)}"
    return f"Test for overall effect: z = {fmtx(fit.zval, 2)}, p {_fp(fit.pval)}"


def _diamond(
    ax: Axes,
    y: float,
    est: float,
    lb: float,
    ub: float,
    gid: str,
    color: str,
    *,
    h: float = 0.32,
    edge: str = "black",
    zorder: float = 4,
) -> None:
    from matplotlib.patches import Polygon

    if not (math.isfinite(est) and math.isfinite(lb) and math.isfinite(ub)):
        return
    poly = Polygon(
        [(lb, y), (est, y + h), (ub, y), (est, y - h)],
        closed=True,
        facecolor=color,
        edgecolor=edge,
        linewidth=0.8,
        zorder=zorder,
    )
    poly.set_gid(gid)
    ax.add_patch(poly)


def _order(fit: Fit, order: str | Sequence[Any] | None, weights: FloatArray) -> list[int]:
    """Study order within a block (metafor's ``order=``); ties keep the input order."""
    k = len(fit.slab)
    if order is None:
        return list(range(k))
    if isinstance(order, str):
        if order not in _ORDERS:
            raise EvidenceInputError(
                f"order must be one of {', '.join(_ORDERS)} or one key per study, not {order!r}"
            )
        if order == "obs":
            key = np.asarray(fit.yi, dtype=float)
        elif order == "prec":
            key = np.asarray(fit.vi, dtype=float)
        elif order == "weight":
            key = -np.asarray(weights, dtype=float)
        else:
            if not isinstance(fit, RMAResult):
                raise EvidenceInputError("order='fit' needs a model fitted with rma()")
            key = fit.fitted()
        key = np.where(np.isfinite(key), key, np.inf)  # missing values last
        return [int(i) for i in np.argsort(key, kind="stable")]
    keys = list(order)
    if len(keys) != k:
        raise EvidenceInputError(f"order has {len(keys)} keys for {k} studies")
    return sorted(range(k), key=lambda i: keys[i])


def _layout(n_ilab: int) -> dict[str, float]:
    """Column positions in inches: labels, ilab columns, the plot, estimate [CI], weight."""
    lab_w, ilab_w, plot_w, est_w, w_w = 2.9, 1.0, 3.8, 1.9, 0.8
    left = 0.15
    x_lab = left
    x_ilab = left + lab_w
    ax_left = x_ilab + n_ilab * ilab_w + 0.15
    ax_right = ax_left + plot_w
    x_est = ax_right + 0.25
    x_w = x_est + est_w + w_w
    width = x_w + 0.25
    return {
        "width": width,
        "x_lab": x_lab,
        "x_ilab": x_ilab,
        "ilab_w": ilab_w,
        "ax_left": ax_left,
        "ax_right": ax_right,
        "x_est": x_est,
        "x_w": x_w,
    }


def forest(
    res: RMAResult | MHResult | SubgroupResult | pl.DataFrame,
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
    ilab: Mapping[str, Sequence[Any]] | None = None,
    favours: tuple[str, str] | None = None,
    order: str | Sequence[Any] | None = None,
    show_test: bool = True,
    pi_type: str = "default",
    measure: str | None = None,
    cumulative: bool = False,
) -> Figure:
    """Forest plot of a fitted model, a :class:`SubgroupResult`, or a cumul/leave1out table.

    ``transf`` (default: automatic for ratio measures) draws the log-scale estimates on a log
    axis in ratio units and prints ratios. ``refline`` is the line of no effect on the
    analysis scale (0 = ratio 1). ``show_pi`` adds the prediction interval of random-effects
    models (``pi_type`` as :meth:`RMAResult.predict`). ``ilab`` maps column headers to one
    value per study, in the model's study order (e.g. ``{"Treated": ["4/123", ...],
    "Control": ["11/139", ...]}``, or means (SD) per arm). ``favours`` =
    ``("Favours treatment", "Favours control")`` labels the left and right of ``refline``.
    ``order``: ``"obs"`` (by estimate), ``"prec"`` (most precise first), ``"weight"`` (heaviest
    first), ``"fit"`` (fitted values) or one sort key per study. ``show_test`` adds the test
    for the overall effect. A ``cumul()``/``leave1out()`` table is drawn one row per step;
    give its ``measure`` for ratio axes; ``cumulative=True`` marks the added study of each row
    with ``+`` as metafor's ``forest.cumul.rma``. ``path`` writes the figure (.svg, .png,
    .pdf).
    """
    if isinstance(res, pl.DataFrame):
        return _forest_table(
            res,
            path=path,
            title=title,
            xlab=xlab,
            transf=transf,
            refline=refline,
            digits=digits,
            measure=measure,
            favours=favours,
            cumulative=cumulative,
        )
    blocks: list[_Block]
    overall: Fit | None
    sg: SubgroupResult | None = None
    mreg = False
    if isinstance(res, SubgroupResult):
        sg = res
        blocks = [_Block(name, fit) for name, fit in res.fits.items()]
        overall = res.overall
    elif isinstance(res, (RMAResult, MHResult)):
        mreg = isinstance(res, RMAResult) and not (res.p == 1 and res.intercept)
        blocks = [_Block(None, res)]
        overall = res
    else:
        raise EvidenceInputError(
            "forest() needs a result of rma, rma_mh, rma_peto, subgroups, cumul or leave1out"
        )
    ref_fit = overall if overall is not None else blocks[0].fit
    ratio = is_ratio(ref_fit, transf)
    n_total = sum(len(b.fit.slab) for b in blocks)
    ilab_cols = dict(ilab or {})
    for head, values in ilab_cols.items():
        if len(values) != n_total:
            raise EvidenceInputError(
                f"ilab column {head!r} has {len(values)} values for {n_total} studies"
            )
    all_labels = make_unique([s for b in blocks for s in b.fit.slab])

    # ---- rows from top (y = n) to bottom ---------------------------------------------
    rows: list[tuple[str, Any]] = []
    offset = 0
    weights_of: dict[int, FloatArray] = {}
    for b in blocks:
        w = _weights_in(b.fit, sg)
        weights_of[id(b.fit)] = w
        if b.name is not None:
            rows.append(("heading", b))
        for i in _order(b.fit, order, w):
            rows.append(("study", (b, i, offset + i)))
        offset += len(b.fit.slab)
        if b.name is not None:
            rows.append(("diamond", b))
            if show_pi and _has_pi(b.fit):
                rows.append(("pi", b))
            rows.append(("het", b))
            if show_test:
                rows.append(("test", b))
            rows.append(("gap", None))
    if overall is not None and not mreg:
        ob = _Block("overall", overall)
        rows.append(("diamond", ob))
        if show_pi and _has_pi(overall):
            rows.append(("pi", ob))
        rows.append(("het", ob))
        if show_test:
            rows.append(("test", ob))
        if sg is not None:
            rows.append(("subgroup-test", sg))
    elif mreg:
        rows.append(("gap", None))
        rows.append(("het", _Block("overall", res)))  # type: ignore[arg-type]
        rows.append(("test", _Block("overall", res)))  # type: ignore[arg-type]

    n = len(rows)
    lay = _layout(len(ilab_cols))
    height = 1.5 + 0.28 * (n + 2) + (0.25 if favours else 0.0)
    fig = new_figure(lay["width"], height)
    bottom_in = 0.75 + (0.25 if favours else 0.0)
    top_in = 0.45 + (0.35 if title else 0.0)
    ax = fig.add_axes(
        (
            lay["ax_left"] / lay["width"],
            bottom_in / height,
            (lay["ax_right"] - lay["ax_left"]) / lay["width"],
            (height - bottom_in - top_in) / height,
        )
    )
    ax_w_in = lay["ax_right"] - lay["ax_left"]

    def ax_x(inches: float) -> float:
        return (inches - lay["ax_left"]) / ax_w_in

    from matplotlib.transforms import blended_transform_factory

    tr = blended_transform_factory(ax.transAxes, ax.transData)
    text_kw: dict[str, Any] = {"transform": tr, "va": "center", "fontsize": 9, "clip_on": False}
    right_kw = text_kw | {"ha": "right"}
    x_lab, x_est, x_w = ax_x(lay["x_lab"]), ax_x(lay["x_est"]), ax_x(lay["x_w"])
    ilab_x = [ax_x(lay["x_ilab"] + (j + 0.5) * lay["ilab_w"]) for j in range(len(ilab_cols))]
    ax.text(x_lab, n + 1, label_header, fontweight="bold", **text_kw)
    for xj, head in zip(ilab_x, ilab_cols, strict=True):
        ax.text(xj, n + 1, head, fontweight="bold", **(text_kw | {"ha": "center"})).set_gid(
            f"ilab-head-{head}"
        )
    name = MEASURE_NAMES.get(ref_fit.measure, "Estimate")
    ax.text(x_est, n + 1, f"{name} [{level_of(ref_fit):g}% CI]", fontweight="bold", **text_kw)
    if show_weights:
        ax.text(x_w, n + 1, "Weight", fontweight="bold", **right_kw)

    w_max = max(
        (float(np.nanmax(w)) for w in weights_of.values() if np.isfinite(w).any()), default=1.0
    )
    xs: list[float] = []
    crit_z = float(stats.norm.isf((1 - level_of(ref_fit) / 100) / 2))
    fitted_crit = _fit_crit(res) if mreg else math.nan
    for r, (kind, obj) in enumerate(rows):
        y = n - r
        if kind == "heading":
            ax.text(x_lab, y, str(obj.name), fontweight="bold", **text_kw).set_gid(
                f"subgroup-{obj.name}"
            )
        elif kind == "study":
            b, i, pos = obj
            fit = b.fit
            w = weights_of[id(fit)]
            yi = float(fit.yi[i])
            sei = math.sqrt(float(fit.vi[i])) if math.isfinite(fit.vi[i]) else math.nan
            lb, ub = yi - crit_z * sei, yi + crit_z * sei
            indent = 0.03 if b.name is not None else 0.0
            label = ax.text(x_lab + indent, y, all_labels[pos], **text_kw)
            label.set_gid(f"study-label-{pos}")
            for xj, values in zip(ilab_x, ilab_cols.values(), strict=True):
                v = values[pos]
                cell = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                ax.text(xj, y, cell, **(text_kw | {"ha": "center"}))
            ax.text(x_est, y, _fmt_ci(yi, lb, ub, ratio, digits), **text_kw)
            if show_weights:
                wt = f"{w[i]:.1f}%" if math.isfinite(w[i]) else "–"
                ax.text(x_w, y, wt, **right_kw)
            if math.isfinite(yi) and math.isfinite(sei):
                (line,) = ax.plot([lb, ub], [y, y], color="black", linewidth=0.9, zorder=3)
                line.set_gid(f"study-ci-{pos}")
                share = max(float(w[i]), 0.0) / w_max if math.isfinite(w[i]) else 0.0
                size = MAX_SQUARE * math.sqrt(share)  # area ∝ weight
                (pt,) = ax.plot(
                    [yi],
                    [y],
                    marker="s",
                    markersize=size,
                    markeredgewidth=0,
                    color="#3a5f8a",
                    zorder=4,
                    linestyle="none",
                )
                pt.set_gid(f"study-{pos}")
                xs += [lb, ub]
            if mreg:
                assert isinstance(fit, RMAResult)
                xi = fit.X[i]
                f_est = float(xi @ fit.beta)
                f_se = math.sqrt(float(xi @ fit.vb @ xi))
                f_lb, f_ub = f_est - fitted_crit * f_se, f_est + fitted_crit * f_se
                _diamond(
                    ax,
                    y,
                    f_est,
                    f_lb,
                    f_ub,
                    f"fitted-{pos}",
                    "#c8c8c8",
                    h=0.2,
                    edge="none",
                    zorder=2,
                )
                xs += [f_lb, f_ub]
        elif kind == "diamond":
            fit = obj.fit
            is_overall = obj.name == "overall"
            dlabel = "Overall" if is_overall else f"Subtotal: {obj.name}"
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
                ax.text(x_w, y, f"{_subgroup_share(sg, str(obj.name)):.1f}%", **right_kw)
            elif show_weights:
                ax.text(x_w, y, "100.0%", **right_kw)
            _diamond(
                ax,
                y,
                fit.estimate,
                fit.ci_lb,
                fit.ci_ub,
                f"diamond-{obj.name or 'overall'}",
                "#1f1f1f" if is_overall else "#7f7f7f",
            )
            xs += [fit.ci_lb, fit.ci_ub]
        elif kind == "pi":
            fit = obj.fit
            pi_lb, pi_ub = _pi(fit, pi_type)
            ax.text(x_lab + 0.03, y, "Prediction interval", fontstyle="italic", **text_kw)
            ax.text(
                x_est,
                y,
                _fmt_ci(fit.estimate, pi_lb, pi_ub, ratio, digits).split(" ", 1)[-1],
                fontstyle="italic",
                **text_kw,
            )
            (pl_,) = ax.plot(
                [pi_lb, pi_ub], [y, y], color="black", linewidth=2.2, solid_capstyle="butt"
            )
            pl_.set_zorder(3)
            pl_.set_gid(
                "prediction-interval"
                if obj.name == "overall"
                else f"prediction-interval-{obj.name}"
            )
            xs += [pi_lb, pi_ub]
        elif kind in ("het", "test"):
            txt = _het_text(obj.fit) if kind == "het" else _overall_test(obj.fit)
            t = ax.text(
                x_lab + 0.03,
                y,
                txt,
                fontsize=8,
                color="#333333",
                **{k: v for k, v in text_kw.items() if k != "fontsize"},
            )
            if kind == "test":
                t.set_gid("overall-test" if obj.name == "overall" else f"test-{obj.name}")
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

    _finish_axes(
        ax,
        fig,
        xs,
        n,
        refline=refline,
        ratio=ratio,
        xlab=xlab or (name + (" (log scale)" if ratio else "")),
        center=None if (overall is None or mreg) else overall.estimate,
        favours=favours,
        title=title,
    )
    save(fig, path)
    return fig


def _finish_axes(
    ax: Axes,
    fig: Figure,
    xs: list[float],
    n: int,
    *,
    refline: float | None,
    ratio: bool,
    xlab: str,
    center: float | None,
    favours: tuple[str, str] | None,
    title: str | None,
) -> None:
    finite = [x for x in xs if math.isfinite(x)]
    if refline is not None:
        finite.append(refline)
        ax.axvline(refline, color="#555555", linewidth=0.8, linestyle="-", zorder=1).set_gid(
            "refline"
        )
    if center is not None and math.isfinite(center):
        ax.axvline(center, color="#888888", linewidth=0.7, linestyle=":", zorder=1)
    lo, hi = (min(finite), max(finite)) if finite else (-1.0, 1.0)
    pad = 0.05 * (hi - lo if hi > lo else 1.0)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(0.3, n + 1.6)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    if ratio:
        ratio_ticks(ax, lo - pad, hi + pad)
    ax.tick_params(axis="x", labelsize=8)
    if favours is not None:
        if len(favours) != 2:
            raise EvidenceInputError("favours= takes two labels: (left of the line, right of it)")
        from matplotlib.transforms import blended_transform_factory

        ref = 0.0 if refline is None else refline
        trf = blended_transform_factory(ax.transData, ax.transAxes)
        kw: dict[str, Any] = {
            "xycoords": trf,
            "textcoords": "offset points",
            "fontsize": 8,
            "va": "top",
            "annotation_clip": False,
        }
        ax.annotate(favours[0], (ref, 0.0), xytext=(-6, -20), ha="right", **kw).set_gid(
            "favours-left"
        )
        ax.annotate(favours[1], (ref, 0.0), xytext=(6, -20), ha="left", **kw).set_gid(
            "favours-right"
        )
        ax.set_xlabel(xlab, fontsize=9, labelpad=22)
    else:
        ax.set_xlabel(xlab, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11, fontweight="bold")


def _forest_table(
    table: pl.DataFrame,
    *,
    path: str | Path | None,
    title: str | None,
    xlab: str | None,
    transf: bool | None,
    refline: float | None,
    digits: int,
    measure: str | None,
    favours: tuple[str, str] | None,
    cumulative: bool = False,
) -> Figure:
    """A cumul()/leave1out() table: one row per step with its pooled estimate and CI."""
    need = {"slab", "estimate", "ci_lb", "ci_ub"}
    if not need <= set(table.columns):
        raise EvidenceInputError(
            "forest(): a table needs the columns slab, estimate, ci_lb, ci_ub "
            "(as returned by cumul() or leave1out())"
        )
    back_transformed = table["se"].is_nan().all() if "se" in table.columns else False
    if back_transformed:
        raise EvidenceInputError(
            "forest(): draw the cumul()/leave1out() table on the analysis scale (without "
            "transf=); give measure= for a ratio axis"
        )
    ratio = transf if transf is not None else (measure or "").upper() in RATIO_MEASURES
    labels = make_unique([str(s) for s in table["slab"].to_list()])
    est = table["estimate"].to_numpy().astype(float)
    lb = table["ci_lb"].to_numpy().astype(float)
    ub = table["ci_ub"].to_numpy().astype(float)
    n = table.height
    lay = _layout(0)
    height = 1.5 + 0.28 * (n + 2) + (0.25 if favours else 0.0)
    fig = new_figure(lay["width"], height)
    bottom_in = 0.75 + (0.25 if favours else 0.0)
    top_in = 0.45 + (0.35 if title else 0.0)
    ax = fig.add_axes(
        (
            lay["ax_left"] / lay["width"],
            bottom_in / height,
            (lay["ax_right"] - lay["ax_left"]) / lay["width"],
            (height - bottom_in - top_in) / height,
        )
    )
    ax_w_in = lay["ax_right"] - lay["ax_left"]
    from matplotlib.transforms import blended_transform_factory

    tr = blended_transform_factory(ax.transAxes, ax.transData)
    text_kw: dict[str, Any] = {"transform": tr, "va": "center", "fontsize": 9, "clip_on": False}
    x_lab = (lay["x_lab"] - lay["ax_left"]) / ax_w_in
    x_est = (lay["x_est"] - lay["ax_left"]) / ax_w_in
    ax.text(x_lab, n + 1, "Study (each row: pooled estimate)", fontweight="bold", **text_kw)
    name = MEASURE_NAMES.get((measure or "").upper(), "Estimate")
    ax.text(x_est, n + 1, f"{name} [CI]", fontweight="bold", **text_kw)
    xs: list[float] = []
    for i in range(n):
        y = n - i
        lab = f"+ {labels[i]}" if cumulative and i > 0 else labels[i]
        ax.text(x_lab, y, lab, **text_kw).set_gid(f"study-label-{i}")
        ax.text(x_est, y, _fmt_ci(est[i], lb[i], ub[i], ratio, digits), **text_kw)
        if math.isfinite(est[i]) and math.isfinite(lb[i]) and math.isfinite(ub[i]):
            (line,) = ax.plot([lb[i], ub[i]], [y, y], color="black", linewidth=0.9, zorder=3)
            line.set_gid(f"study-ci-{i}")
            (pt,) = ax.plot(
                [est[i]], [y], marker="o", markersize=5, color="#1f1f1f", linestyle="none"
            )
            pt.set_gid(f"study-{i}")
            xs += [lb[i], ub[i]]
    _finish_axes(
        ax,
        fig,
        xs,
        n,
        refline=refline,
        ratio=ratio,
        xlab=xlab or (name + (" (log scale)" if ratio else "")),
        center=None,
        favours=favours,
        title=title,
    )
    save(fig, path)
    return fig


def _fit_crit(res: Any) -> float:
    alpha = 1 - res.level / 100
    if res.ddf is not None and res.ddf > 0:
        return float(stats.t.isf(alpha / 2, res.ddf))
    return float(stats.norm.isf(alpha / 2))


def _pi(fit: Fit, pi_type: str) -> tuple[float, float]:
    if isinstance(fit, RMAResult):
        pr = fit.predict(pi_type=pi_type)
        return float(pr.pi_lb[0]), float(pr.pi_ub[0])
    return fit.pi_lb, fit.pi_ub


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
