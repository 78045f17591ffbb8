"""What the plots share: the figure, the file writer, ratio axes, weights, measure names.

Every plot returns a matplotlib ``Figure`` (no display needed) and, with ``path=``, writes SVG,
PNG (300 dpi) or PDF chosen by the file suffix. Artists carry SVG ids (``gid``) so a written SVG
can be checked by structure.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pedbone.evidence._mh import MHResult
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "MEASURE_NAMES",
    "RATIO_MEASURES",
    "Fit",
    "analysis_scale_label",
    "is_ratio",
    "level_of",
    "new_figure",
    "ratio_ticks",
    "save",
    "study_weights",
]

#: measures analysed on the log scale (plots label the axis in ratio units)
RATIO_MEASURES = frozenset({"OR", "RR", "PETO", "IRR", "ROM", "HR"})
_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
MEASURE_NAMES = {
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


def analysis_scale_label(measure: str) -> str:
    """Axis label for values on the analysis scale: ``Log risk ratio`` for ratio measures."""
    name = MEASURE_NAMES.get(measure, "Observed outcome")
    return f"Log {name[0].lower()}{name[1:]}" if measure in RATIO_MEASURES else name


def is_ratio(fit: Fit | None, transf: bool | None) -> bool:
    if transf is not None:
        return transf
    return fit is not None and fit.measure in RATIO_MEASURES


def study_weights(fit: Fit) -> FloatArray:
    if isinstance(fit, RMAResult):
        return fit.weights()
    if fit.weights_pct is not None:  # Mantel–Haenszel / Peto weights, as metafor
        return fit.weights_pct
    ok = np.isfinite(fit.vi)
    w = np.where(ok, 1 / np.where(ok, fit.vi, 1.0), 0.0)
    return np.asarray(100 * w / w.sum(), dtype=np.float64)


def save(fig: Figure, path: str | Path | None) -> None:
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


def new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def level_of(fit: Fit) -> float:
    return float(fit.level)


def ratio_ticks(ax: Axes, lo: float, hi: float) -> None:
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
