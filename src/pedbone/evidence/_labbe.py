"""L'Abbé plot (metafor's ``labbe``, R/labbe.rma.r) [METAFOR]; L'Abbé et al. 1987.

The outcome in the treatment group (y) against the control group (x) per study, on the scale
of the measure (log risks for RR, log odds for OR, risks for RD), each study a circle whose
area is proportional to its weight; the solid line y = x is no effect, the dashed line the
pooled effect. Needs the 2×2 tables: an ``rma_mh``/``rma_peto`` result carries them; for an
``rma`` result pass them (``ai``, ``bi``, ``ci``, ``di`` or ``ai``, ``n1i``, ``ci``, ``n2i``).
The zero-cell correction is metafor's default (0.5 added to the cells of a study with a zero).
SVG ids: ``study-<i>``, ``no-effect-line``, ``estimate-line``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pedbone.evidence._mh import MHResult
from pedbone.evidence._plotting import new_figure, save, study_weights
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray, as_float_array

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["labbe"]

_SCALE = {"RR": "log risk", "OR": "log odds", "RD": "risk", "PETO": "log odds"}


def _arm(events: FloatArray, n: FloatArray, measure: str) -> FloatArray:
    p = events / n
    if measure == "RR":
        return np.asarray(np.log(p), dtype=np.float64)
    if measure in ("OR", "PETO"):
        return np.asarray(np.log(p / (1 - p)), dtype=np.float64)
    return np.asarray(p, dtype=np.float64)


def labbe(
    res: RMAResult | MHResult,
    *,
    ai: Sequence[float] | None = None,
    bi: Sequence[float] | None = None,
    ci: Sequence[float] | None = None,
    di: Sequence[float] | None = None,
    n1i: Sequence[float] | None = None,
    n2i: Sequence[float] | None = None,
    path: str | Path | None = None,
    title: str | None = None,
) -> Figure:
    """L'Abbé plot of a model of 2×2 tables (measure RR, OR or RD)."""
    measure = res.measure
    if measure not in _SCALE:
        raise EvidenceInputError(f"labbe() needs measure RR, OR or RD, not {measure!r}")
    if isinstance(res, MHResult) and ai is None:
        if res.tables is None:
            raise EvidenceInputError("labbe(): this result carries no 2x2 tables")
        a, b, c, d = (np.asarray(res.tables[j], dtype=float) for j in range(4))
    else:
        if ai is None or ci is None:
            raise EvidenceInputError("labbe(): give the 2x2 tables (ai, bi, ci, di or n1i, n2i)")
        a, c = as_float_array(ai, "ai"), as_float_array(ci, "ci")
        if bi is not None and di is not None:
            b, d = as_float_array(bi, "bi"), as_float_array(di, "di")
        elif n1i is not None and n2i is not None:
            b, d = as_float_array(n1i, "n1i") - a, as_float_array(n2i, "n2i") - c
        else:
            raise EvidenceInputError("labbe(): give bi and di, or n1i and n2i")
    k = a.size
    if len(res.yi) != k:
        raise EvidenceInputError(f"labbe(): {k} tables for {len(res.yi)} studies in the model")
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    add: Any = np.where(zero, 0.5, 0.0)
    a, b, c, d = a + add, b + add, c + add, d + add
    y = _arm(a, a + b, measure)
    x = _arm(c, c + d, measure)
    ok = np.isfinite(x) & np.isfinite(y)
    w = study_weights(res)
    w_max = float(np.nanmax(w))
    fig = new_figure(5.6, 5.4)
    ax = fig.add_subplot(1, 1, 1)
    for i in np.flatnonzero(ok):
        size = 22.0 * math.sqrt(max(float(w[i]), 0.0) / w_max) if math.isfinite(w[i]) else 4.0
        (pt,) = ax.plot(
            [x[i]],
            [y[i]],
            marker="o",
            markersize=size,
            markerfacecolor="0.6",
            markeredgecolor="black",
            markeredgewidth=0.6,
            alpha=0.85,
            linestyle="none",
        )
        pt.set_gid(f"study-{i}")
    lo = float(min(x[ok].min(), y[ok].min()))
    hi = float(max(x[ok].max(), y[ok].max()))
    pad = 0.08 * (hi - lo if hi > lo else 1.0)
    xs = np.linspace(lo - pad, hi + pad, 200)
    ax.plot(xs, xs, color="black", linewidth=0.9)[0].set_gid("no-effect-line")
    # the pooled effect on the arms' scale: log risk + log RR, log odds + log OR, risk + RD
    ys = xs + res.estimate
    ax.plot(xs, ys, color="black", linestyle="--", linewidth=0.9)[0].set_gid("estimate-line")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    scale = _SCALE[measure]
    ax.set_xlabel(f"{scale} (control group)", fontsize=9)
    ax.set_ylabel(f"{scale} (treatment group)", fontsize=9)
    ax.tick_params(labelsize=8)
    if title:
        ax.set_title(title, fontsize=11, fontweight="bold")
    save(fig, path)
    return fig
