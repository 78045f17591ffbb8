"""Mantel–Haenszel pooling of incidence rates (``rma_mh(measure="IRR"|"IRD")``).

metafor 3.8 ``rma.mh`` [METAFOR] for person-time data: events ``x1i, x2i`` over person-times
``t1i, t2i``. The Mantel–Haenszel rate ratio R/S with R = Σ x1·t2/T, S = Σ x2·t1/T and the
variance of its log from Greenland & Robins 1985 [GREENLAND1985], the Mantel–Haenszel test of
rate ratio 1 (with continuity correction when ``correct``), and the rate difference with its
weights t1·t2/T. Q, I² and H² use the per-study ``escalc`` estimates with the first element of
``add``/``to``/``drop00``; the pooled sums use the second (defaults as metafor: add 1/2 then 0,
to "only0" then "none", drop00 True then False).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from pedbone.evidence._utils import EvidenceInputError

__all__ = ["mh_rates"]


def mh_rates(
    *,
    measure: str,
    x1i: Any,
    x2i: Any,
    t1i: Any,
    t2i: Any,
    data: Any,
    slab: Sequence[Any] | str | None,
    add: float | tuple[float, float],
    to: str | tuple[str, str],
    drop00: bool | tuple[bool, bool],
    correct: bool,
    level: float,
) -> Any:
    from pedbone.evidence._escalc import escalc
    from pedbone.evidence._mh import (
        MHResult,
        _column,
        _heterogeneity,
        _labels,
        _level_z,
        _pair,
        _spread,
    )

    z_crit = _level_z(level)
    cols = {
        n: _column(x, data, n) for n, x in (("x1i", x1i), ("x2i", x2i), ("t1i", t1i), ("t2i", t2i))
    }
    missing = [n for n, c in cols.items() if c is None]
    if missing:
        raise EvidenceInputError(f"rma_mh(measure={measure!r}) needs {', '.join(missing)}")
    x1, x2, t1, t2 = (np.asarray(cols[n], dtype=np.float64) for n in ("x1i", "x2i", "t1i", "t2i"))
    k = x1.size
    if not (x2.size == t1.size == t2.size == k):
        raise EvidenceInputError("x1i, x2i, t1i and t2i must have the same length")
    with np.errstate(invalid="ignore"):
        if np.any((x1 < 0) | (x2 < 0)):
            raise EvidenceInputError("negative event count")
        if np.any((t1 <= 0) | (t2 <= 0)):
            raise EvidenceInputError("person-time <= 0")
    add_y, add_t = _pair(add, 0.0)
    to_y, to_t = _pair(to, "none")
    d00_y, d00_t = _pair(drop00, False)
    labels = _labels(slab, data, k)
    es = escalc(measure, x1i=x1, x2i=x2, t1i=t1, t2i=t2, add=add_y, to=to_y, drop00=d00_y)
    yi_all, vi_all = es.yi, es.vi
    x1, x2 = x1.copy(), x2.copy()
    if d00_t:
        id00 = (x1 == 0) & (x2 == 0)
        x1[id00] = np.nan
        x2[id00] = np.nan
    used = ~(np.isnan(x1) | np.isnan(x2) | np.isnan(t1) | np.isnan(t2))
    notes: list[str] = []
    if not used.all():
        notes.append(f"{int((~used).sum())} tables with missing values omitted from the pooling")
    x1, x2, t1u, t2u = x1[used], x2[used], t1[used], t2[used]
    if x1.size == 0:
        raise EvidenceInputError("no tables left to pool")
    if to_t == "all":
        x1, x2 = x1 + add_t, x2 + add_t
    elif to_t in ("only0", "if0all"):
        id0 = (x1 == 0) | (x2 == 0)
        if to_t == "if0all":
            id0 = np.full_like(id0, bool(id0.any()))
        x1 = x1 + np.where(id0, add_t, 0.0)
        x2 = x2 + np.where(id0, add_t, 0.0)
    T = t1u + t2u
    nan = float("nan")
    extra: dict[str, float] = {}
    if measure == "IRR":
        R = float(np.sum(x1 * (t2u / T)))
        S = float(np.sum(x2 * (t1u / T)))
        if np.sum(x1) == 0 or np.sum(x2) == 0:
            beta = se = nan
            notes.append("pooled rate ratio undefined: no events in one arm across all studies")
        else:
            beta = float(np.log(R / S))
            se = float(np.sqrt(np.sum((t1u / T) * (t2u / T) * (x1 + x2)) / (R * S)))
        xt = x1 + x2
        if np.sum(xt) > 0:
            cc = 0.5 if correct else 0.0
            mh = (abs(float(np.sum(x1 - xt * (t1u / T)))) - cc) ** 2 / float(
                np.sum(xt * (t1u / T) * (t2u / T))
            )
            extra["cmh"] = mh
            extra["cmh_pval"] = float(stats.chi2.sf(mh, 1))
        w_raw = (x2 / T) * t1u
    else:
        wsum = float(np.sum((t1u / T) * t2u))
        beta = float(np.sum((x1 * t2u - x2 * t1u) / T) / wsum)
        se = float(np.sqrt(np.sum(((t1u / T) * t2u) ** 2 * (x1 / t1u**2 + x2 / t2u**2))) / wsum)
        w_raw = (t1u / T) * t2u
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = float(np.float64(beta) / np.float64(se))
        weights_pct = _spread(100 * w_raw / np.sum(w_raw), used)
    pval = float(2 * stats.norm.sf(abs(zval))) if not np.isnan(zval) else nan
    ok = ~(np.isnan(yi_all) | np.isnan(vi_all))
    q, q_p, i2, h2 = _heterogeneity(yi_all[ok], vi_all[ok], beta)
    return MHResult(
        method="MH",
        measure=measure,
        estimate=beta,
        se=se,
        zval=zval,
        pval=pval,
        ci_lb=beta - z_crit * se,
        ci_ub=beta + z_crit * se,
        q=q,
        q_pval=q_p,
        i2=i2,
        h2=h2,
        k=int(used.sum()),
        k_yi=int(ok.sum()),
        k_pos=0,
        level=float(level),
        yi=yi_all,
        vi=vi_all,
        slab=labels,
        notes=tuple(notes),
        tables=None,
        table_used=used,
        options={
            "add": (add_y, add_t),
            "to": (to_y, to_t),
            "drop00": (d00_y, d00_t),
            "correct": correct,
            "measure": measure,
        },
        weights_pct=weights_pct,
        **extra,
    )
