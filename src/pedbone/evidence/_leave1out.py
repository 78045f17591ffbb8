"""Leave-one-out analysis: the model refitted without each study in turn (metafor's
``leave1out.rma.uni``, ``leave1out.rma.mh``, ``leave1out.rma.peto``) [METAFOR].
"""

from __future__ import annotations

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
from pedbone.evidence._utils import EvidenceInputError, Transform

__all__ = ["leave1out"]


def leave1out(res: RMAResult | MHResult, *, transf: Transform | None = None) -> pl.DataFrame:
    """Leave-one-out analysis: one row per study, the model refitted without it.

    Columns: ``slab, estimate, se, zval`` (``tval`` for t-based tests), ``pval, ci_lb, ci_ub,
    q, q_pval, tau2, i2, h2`` (``tau2`` omitted for equal-effects models). With ``transf``
    (e.g. ``np.exp``) the estimate and CI are back-transformed and ``se`` is NaN.
    """
    if isinstance(res, MHResult):
        return _leave1out_tables(res, transf)
    require_intercept_only(res, "leave1out")
    if res.k == 1:
        raise EvidenceInputError("leave1out needs k >= 2 studies (k = 1)")
    rows = []
    for i in range(res.k):
        mask = np.ones(res.k, dtype=bool)
        mask[i] = False
        rows.append(result_row(refit(res, res.yi[mask], res.vi[mask])))
    return result_frame(res.slab, rows, res, transf)


def _leave1out_tables(res: MHResult, transf: Transform | None) -> pl.DataFrame:
    """metafor's ``leave1out.rma.mh`` / ``leave1out.rma.peto``."""
    used = used_tables(res)
    if used.size < 2:
        raise EvidenceInputError(f"leave1out needs k >= 2 studies (k = {used.size})")
    k_all = len(res.slab)
    rows = []
    for i in used:
        keep = np.asarray([j for j in range(k_all) if j != i], dtype=np.intp)
        rows.append(result_row(refit_tables(res, keep)))
    return result_frame([res.slab[i] for i in used], rows, res, transf)
