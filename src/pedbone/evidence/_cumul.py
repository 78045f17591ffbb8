"""Cumulative meta-analysis: row i is the model of the first i studies in a given order
(metafor's ``cumul.rma.uni``, ``cumul.rma.mh``, ``cumul.rma.peto``) [METAFOR].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from pedbone.evidence._mh import MHResult
from pedbone.evidence._refit import (
    refit,
    refit_tables,
    require_intercept_only,
    result_frame,
    result_row,
    used_tables,
)
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray, Transform

__all__ = ["cumul"]


def cumul(
    res: RMAResult | MHResult,
    order: Sequence[Any] | FloatArray | None = None,
    *,
    decreasing: bool = False,
    transf: Transform | None = None,
) -> pl.DataFrame:
    """Cumulative meta-analysis: row i is the model of the first i studies in ``order``.

    ``order`` gives one sort key per study (e.g. publication year); ties keep the input
    order, as R's ``order()``. Default: the input order. Columns as :func:`leave1out`; the
    first row (k = 1) uses a z test, as metafor does when a single study is left.
    """
    if isinstance(res, MHResult):
        k = len(res.slab)
    else:
        require_intercept_only(res, "cumul")
        k = res.k
    if order is None:
        idx = np.arange(k)
    else:
        keys = list(order)
        if len(keys) != k:
            raise EvidenceInputError(f"order has {len(keys)} values for {k} studies")
        # Python's sort is stable also with reverse=True, as R's order(): ties keep input order
        idx = np.asarray(sorted(range(k), key=lambda i: keys[i], reverse=decreasing))
    rows = []
    if isinstance(res, MHResult):
        # metafor's cumul.rma.mh: row i pools the first i tables in order; rows of tables
        # dropped from the pooled estimate (drop00) are left out
        used = set(used_tables(res).tolist())
        shown = []
        for i in range(1, k + 1):
            if int(idx[i - 1]) not in used:
                continue
            shown.append(int(idx[i - 1]))
            rows.append(result_row(refit_tables(res, np.asarray(idx[:i], dtype=np.intp))))
        return result_frame([res.slab[j] for j in shown], rows, res, transf)
    for i in range(1, k + 1):
        sel = idx[:i]
        rows.append(result_row(refit(res, res.yi[sel], res.vi[sel], test="z" if i == 1 else None)))
    return result_frame([res.slab[j] for j in idx], rows, res, transf)
