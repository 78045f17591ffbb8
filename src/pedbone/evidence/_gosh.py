"""GOSH plot: the model fitted to subsets of the studies (metafor's ``gosh``, R/gosh.rma.r)
[METAFOR]; Olkin, Dahabreh and Trikalinos 2012.

Every subset of the k studies (2^k − 1 subsets; a random sample of ``subsets`` of them when
that is more) is fitted with the model's estimator; the plot shows the pooled estimate
against I² of each fit. Clusters or tails point to studies that drive heterogeneity.
Intercept-only models. ``gosh()`` returns the fits; ``.plot()`` draws them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from pedbone.evidence._plotting import analysis_scale_label, new_figure, save
from pedbone.evidence._refit import refit, require_intercept_only
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["GoshResult", "gosh"]


@dataclass(frozen=True, eq=False)
class GoshResult:
    """Fits of subsets: ``incl`` (subsets × k, True where a study is included), ``estimate``,
    ``i2``, ``q``, ``tau2`` per subset; ``exhaustive`` says whether every subset was fitted."""

    incl: np.ndarray
    estimate: FloatArray
    i2: FloatArray
    q: FloatArray
    tau2: FloatArray
    slab: tuple[str, ...]
    measure: str
    exhaustive: bool

    def to_frame(self) -> pl.DataFrame:
        """One row per subset: estimate, i2, q, tau2, k and the included studies."""
        return pl.DataFrame(
            {
                "k": self.incl.sum(axis=1),
                "estimate": self.estimate,
                "i2": self.i2,
                "q": self.q,
                "tau2": self.tau2,
            }
        )

    def plot(
        self,
        *,
        path: str | Path | None = None,
        highlight: int | None = None,
        title: str | None = None,
    ) -> Figure:
        """Estimate (x) against I² (y) of every subset; ``highlight`` (a study index) colours
        the subsets that contain that study."""
        fig = new_figure(6.4, 5.0)
        ax = fig.add_subplot(1, 1, 1)
        ok = np.isfinite(self.estimate) & np.isfinite(self.i2)
        colors = np.full(self.estimate.size, "0.35", dtype=object)
        if highlight is not None:
            if not 0 <= highlight < len(self.slab):
                raise EvidenceInputError(f"highlight must index studies 0..{len(self.slab) - 1}")
            colors = np.where(self.incl[:, highlight], "#c0392b", "0.55")
        pts = ax.scatter(
            self.estimate[ok], self.i2[ok], s=6, c=list(colors[ok]), alpha=0.5, linewidths=0
        )
        pts.set_gid("subsets")
        ax.set_xlabel(analysis_scale_label(self.measure), fontsize=9)
        ax.set_ylabel("I² (%)", fontsize=9)
        ax.tick_params(labelsize=8)
        if title:
            ax.set_title(title, fontsize=11, fontweight="bold")
        save(fig, path)
        return fig


def gosh(res: RMAResult, *, subsets: int = 10_000, seed: int = 0) -> GoshResult:
    """Fit the model to every subset of its studies (or to ``subsets`` random subsets).

    Subsets of one study are fitted too (I² = 0 there), as metafor does. ``seed`` makes the
    random sample reproducible.
    """
    require_intercept_only(res, "gosh")
    k = res.k
    if k < 2:
        raise EvidenceInputError("gosh() needs k >= 2 studies")
    if subsets < 1:
        raise EvidenceInputError("subsets must be >= 1")
    total = 2**k - 1
    exhaustive = total <= subsets
    if exhaustive:
        masks = [
            np.asarray([(m >> i) & 1 for i in range(k)], dtype=bool) for m in range(1, total + 1)
        ]
    else:
        rng = np.random.default_rng(seed)
        seen: set[bytes] = set()
        masks = []
        while len(masks) < subsets:
            m = rng.random(k) < 0.5
            if not m.any() or m.tobytes() in seen:
                continue
            seen.add(m.tobytes())
            masks.append(m)
    incl = np.vstack(masks)
    n = incl.shape[0]
    est, i2, q, tau2 = (np.full(n, math.nan) for _ in range(4))
    for r, m in enumerate(masks):
        fit = refit(res, res.yi[m], res.vi[m], test="z" if m.sum() == 1 else None)
        if fit is None:
            continue
        est[r], i2[r], q[r], tau2[r] = fit.estimate, fit.i2, fit.q, fit.tau2
    return GoshResult(
        incl=incl,
        estimate=est,
        i2=i2,
        q=q,
        tau2=tau2,
        slab=tuple(res.slab),
        measure=res.measure,
        exhaustive=exhaustive,
    )
