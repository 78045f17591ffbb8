"""Refitting a model to a subset of its studies, shared by :func:`leave1out`, :func:`cumul`
and :func:`influence` (metafor does the same inside each of ``leave1out.rma.uni``,
``cumul.rma.uni`` and ``influence.rma.uni``) [METAFOR].

Every refit uses the input model's tau² estimator, test, level and convergence control. A
refit that fails (for instance too few studies left) gives ``None`` (a row of NaN), as metafor
does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from pedbone.evidence._fit import rma
from pedbone.evidence._mh import MHResult
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import ConvergenceError, EvidenceInputError, FloatArray, Transform

__all__ = [
    "COLUMNS",
    "refit",
    "refit_tables",
    "require_intercept_only",
    "result_frame",
    "result_row",
    "used_tables",
]

COLUMNS = ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "q", "q_pval", "tau2", "i2", "h2")


def require_intercept_only(res: RMAResult, what: str) -> None:
    if not isinstance(res, RMAResult):
        raise EvidenceInputError(f"{what} needs a model fitted with rma()")
    if not (res.p == 1 and res.intercept):
        raise EvidenceInputError(f"{what} applies only to models without moderators")


def refit(
    res: RMAResult,
    y: FloatArray,
    v: FloatArray,
    *,
    mods: FloatArray | None = None,
    test: str | None = None,
) -> RMAResult | None:
    """Refit ``res``'s model (same estimator, test, level, control) to other data."""
    try:
        return rma(
            y,
            v,
            mods=mods,
            intercept=mods is None,
            method=res.method,
            test=test or res.test,
            level=res.level,
            control=dict(res.control) if res.control else None,
            # a fixed tau² stays fixed in every refit (metafor: tau2 = if tau2.fix)
            tau2=res.tau2 if getattr(res, "tau2_fixed", False) else None,
        )
    except (EvidenceInputError, ConvergenceError, np.linalg.LinAlgError):
        return None


def result_row(fit: RMAResult | MHResult | None) -> list[float]:
    if fit is None:
        return [math.nan] * len(COLUMNS)
    return [
        fit.estimate,
        fit.se,
        fit.zval,
        fit.pval,
        fit.ci_lb,
        fit.ci_ub,
        fit.q,
        fit.q_pval,
        fit.tau2,
        fit.i2,
        fit.h2,
    ]


def result_frame(
    slab: Sequence[str],
    rows: list[list[float]],
    res: RMAResult | MHResult,
    transf: Transform | None,
) -> pl.DataFrame:
    arr = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(COLUMNS))
    cols: dict[str, Any] = {"slab": list(slab)}
    stat = "tval" if res.test in ("knha", "adhoc", "t") else "zval"
    for j, name in enumerate(COLUMNS):
        cols[stat if name == "zval" else name] = arr[:, j]
    if transf is not None:
        for name in ("estimate", "ci_lb", "ci_ub"):
            cols[name] = np.asarray(transf(cols[name]), dtype=np.float64)
        cols["se"] = np.full(arr.shape[0], math.nan)
        lo = np.minimum(cols["ci_lb"], cols["ci_ub"])
        hi = np.maximum(cols["ci_lb"], cols["ci_ub"])
        cols["ci_lb"], cols["ci_ub"] = lo, hi
    out = pl.DataFrame(cols)
    if isinstance(res, MHResult) or res.method in ("EE", "FE"):
        out = out.drop("tau2")
    return out


def refit_tables(res: MHResult, idx: NDArray[np.intp]) -> MHResult | None:
    """Refit a Mantel–Haenszel/Peto model to the tables ``idx`` (same options)."""
    from pedbone.evidence._mh import rma_mh
    from pedbone.evidence._peto import rma_peto

    if res.tables is None:
        raise EvidenceInputError("this Mantel-Haenszel/Peto result carries no tables to refit")
    a, b, c, d = (res.tables[j][idx] for j in range(4))
    opts = dict(res.options)
    try:
        if res.method == "MH":
            return rma_mh(
                ai=a,
                bi=b,
                ci=c,
                di=d,
                measure=opts["measure"],
                add=opts["add"],
                to=opts["to"],
                drop00=opts["drop00"],
                correct=opts["correct"],
                level=res.level,
            )
        return rma_peto(
            ai=a,
            bi=b,
            ci=c,
            di=d,
            add=opts["add"],
            to=opts["to"],
            drop00=opts["drop00"],
            level=res.level,
        )
    except ValueError:
        return None


def used_tables(res: MHResult) -> NDArray[np.intp]:
    if res.table_used is None:
        raise EvidenceInputError("this Mantel-Haenszel/Peto result carries no tables to refit")
    return np.flatnonzero(res.table_used)
