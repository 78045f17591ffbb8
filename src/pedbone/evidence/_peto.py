"""Peto's one-step odds ratio for 2×2 tables, as metafor 3.8 ``rma.peto()`` [METAFOR]."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from pedbone.evidence._mh import MHResult, _level_z, _prepare, _spread

__all__ = ["rma_peto"]


def rma_peto(
    ai: ArrayLike | str | None = None,
    bi: ArrayLike | str | None = None,
    ci: ArrayLike | str | None = None,
    di: ArrayLike | str | None = None,
    n1i: ArrayLike | str | None = None,
    n2i: ArrayLike | str | None = None,
    *,
    data: Any = None,
    slab: Sequence[Any] | str | None = None,
    add: float | tuple[float, float] = 0.5,
    to: str | tuple[str, str] = "only0",
    drop00: bool | tuple[bool, bool] = True,
    level: float = 95,
) -> MHResult:
    """Peto's method (observed − expected events) for the log odds ratio, as ``rma.peto``.

    Arguments as :func:`rma_mh`. ``estimate`` is the pooled log odds ratio
    ``sum(O − E) / sum(V)`` with standard error ``1/sqrt(sum(V))``; Q is Peto's
    heterogeneity statistic ``sum((O − E)²/V) − sum(O − E)²/sum(V)``. Raises ``ValueError``
    when one of the two outcomes never occurred in any table.
    """
    z_crit = _level_z(level)
    p = _prepare(ai, bi, ci, di, n1i, n2i, data, slab, "PETO", add, to, drop00)
    a, b, c, d = p["a"], p["b"], p["c"], p["d"]
    notes: list[str] = p["notes"]
    n1 = a + b
    n2 = c + d
    N = n1 + n2
    xt = a + c
    yt = b + d
    Ei = xt * n1 / N
    with np.errstate(divide="ignore", invalid="ignore"):
        Vi = xt * yt * (n1 / N) * (n2 / N) / (N - 1)
    Vi = np.where(np.isfinite(Vi), Vi, 0.0)
    sum_v = float(np.sum(Vi))
    if sum_v == 0:
        raise ValueError(
            "one of the two outcomes never occurred in any of the tables; "
            "Peto's method cannot be used"
        )
    oe = a - Ei
    beta = float(np.sum(oe)) / sum_v
    se = float(np.sqrt(1 / sum_v))
    zval = beta / se
    pval = float(2 * stats.norm.sf(abs(zval)))
    pos = Vi > 0
    k_pos = int(np.sum(pos))
    q = max(
        0.0,
        float(np.sum(oe[pos] ** 2 / Vi[pos]))
        - float(np.sum(oe[pos])) ** 2 / float(np.sum(Vi[pos])),
    )
    # metafor counts degrees of freedom from the studies with an estimate (k.yi)
    k_yi = int(p["yi"].size)
    if k_pos > 1:
        q_pval = float(stats.chi2.sf(q, k_yi - 1))
        i2 = max(0.0, 100 * (q - (k_yi - 1)) / q) if q > 0 else 0.0
        h2 = q / (k_yi - 1)
    else:
        q_pval, i2, h2 = 1.0, 0.0, 1.0
        notes.append(f"heterogeneity not testable: {k_pos} informative table(s)")
    return MHResult(
        method="Peto",
        measure="PETO",
        estimate=beta,
        se=se,
        zval=zval,
        pval=pval,
        ci_lb=beta - z_crit * se,
        ci_ub=beta + z_crit * se,
        q=q,
        q_pval=q_pval,
        i2=i2,
        h2=h2,
        k=int(a.size),
        k_yi=k_yi,
        k_pos=k_pos,
        level=float(level),
        yi=p["yi_all"],
        vi=p["vi_all"],
        slab=p["slab"],
        notes=tuple(notes),
        tables=p["tables"],
        table_used=p["table_used"],
        options=p["options"],
        weights_pct=_spread(100 * Vi / sum_v, p["table_used"]),  # sum_v > 0 checked above
    )
