"""Subgroup analyses: separate fits per subgroup and the test for subgroup differences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from pedbone.evidence._fit import _resolve_yi_vi, rma
from pedbone.evidence._results import RMAResult, SubgroupResult
from pedbone.evidence._utils import EvidenceInputError, as_frame, labels

__all__ = ["subgroups"]


def subgroups(
    yi: Any,
    vi: Any = None,
    *,
    subgroup: Sequence[Any] | str,
    sei: Any = None,
    data: pl.DataFrame | Any = None,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    slab: Sequence[Any] | str | None = None,
    measure: str | None = None,
    control: Mapping[str, float] | None = None,
) -> SubgroupResult:
    """Separate fits per subgroup and the test for subgroup differences.

    Each level of ``subgroup`` (an array or a column of ``data``) gets its own model (its own
    tau²). The test for subgroup differences fits an equal-effects model to the subgroup
    estimates with their standard errors: ``Q_between`` on (levels - 1) df, as RevMan does and
    as the metafor documentation shows. ``overall`` is the same model fitted to all studies.
    """
    y, v, meas, frame = _resolve_yi_vi(yi, vi, sei, as_frame(data), measure)
    k = y.shape[0]
    if isinstance(subgroup, str):
        if frame is None or subgroup not in frame.columns:
            raise EvidenceInputError(f"subgroup column {subgroup!r} not in data")
        groups = [str(g) for g in frame[subgroup].to_list()]
    else:
        groups = [str(g) for g in subgroup]
    if len(groups) != k:
        raise EvidenceInputError(f"subgroup has {len(groups)} values for {k} studies")
    if isinstance(slab, str):
        if frame is None or slab not in frame.columns:
            raise EvidenceInputError(f"slab column {slab!r} not in data")
        slab_l = labels(frame[slab].to_list(), k)
    else:
        slab_l = labels(slab, k)
    order = list(dict.fromkeys(sorted(groups)))
    g = np.asarray(groups)
    usable = np.isfinite(y) & np.isfinite(v)
    notes: list[str] = []
    for lev in list(order):
        if not usable[g == lev].any():
            order.remove(lev)
            notes.append(f"subgroup {lev!r}: no study with an effect size and a variance; left out")
    if len(order) < 2:
        detail = f" ({'; '.join(notes)})" if notes else ""
        raise EvidenceInputError(
            f"subgroups: need at least 2 subgroup levels with usable studies{detail}"
        )
    fits: dict[str, RMAResult] = {}
    for lev in order:
        idx = np.flatnonzero(g == lev)
        try:
            fits[lev] = rma(
                y[idx],
                v[idx],
                method=method,
                test=test,
                level=level,
                slab=[slab_l[i] for i in idx],
                measure=meas,
                control=control,
            )
        except EvidenceInputError as exc:
            raise EvidenceInputError(f"subgroup {lev!r}: {exc}") from exc
    est = np.array([f.estimate for f in fits.values()])
    se = np.array([f.se for f in fits.values()])
    between = rma(est, sei=se, method="EE", slab=order)
    overall = rma(
        y, v, method=method, test=test, level=level, slab=slab_l, measure=meas, control=control
    )
    common: RMAResult | None
    try:
        common = rma(
            y,
            v,
            # unusable studies are left out by rma anyway; their level must not become a column
            mods={
                "group": pl.Series(
                    [gr if ok else None for gr, ok in zip(groups, usable, strict=True)],
                    dtype=pl.String,
                )
            },
            method=method,
            test=test,
            level=level,
            slab=slab_l,
            measure=meas,
            control=control,
        )
    except EvidenceInputError:  # too few studies for one tau² plus a coefficient per level
        common = None
    return SubgroupResult(
        fits=fits,
        q_between=between.q,
        df=between.q_df,
        pval=between.q_pval,
        overall=overall,
        common_tau2=common,
        notes=tuple(notes),
    )
