"""Effect sizes and sampling variances (metafor's ``escalc``).

Formulas follow metafor 3.8 (Viechtbauer 2010 [METAFOR]); argument names are metafor's.
Hedges' g bias correction [HEDGES1981] (exact, or RevMan's approximation [REVMAN5]);
standardised mean change [BECKER1988]; Freeman–Tukey double arcsine [FREEMAN1950].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import special, stats

from pedbone.evidence import _escalc_more as _more
from pedbone.evidence._results import EscalcResult
from pedbone.evidence._utils import (
    EvidenceInputError,
    FloatArray,
    as_frame,
    check_lengths,
    column_or_array,
)

__all__ = ["MEASURES", "cmicalc", "escalc"]

BINARY = ("RR", "OR", "RD")
CONTINUOUS = ("MD", "SMD", "ROM")
CHANGE = ("MC", "SMCC", "SMCR")
PROPORTION = ("PR", "PLN", "PLO", "PAS", "PFT")
MEASURES = (
    *CONTINUOUS,
    *CHANGE,
    *BINARY,
    *PROPORTION,
    "GEN",
    # issue 13 additions (formulas in _escalc_more.py)
    *_more.PERSON_TIME,
    *_more.MEAN_MEASURES,
    *_more.COR_MEASURES,
    *_more.TABLE_MORE,
    *_more.VAR_MEASURES,
)


def cmicalc(mi: FloatArray, correct: str = "exact") -> FloatArray:
    """Small-sample bias correction of Hedges' g for ``mi`` degrees of freedom.

    ``"exact"``: Γ(m/2) / (√(m/2) Γ((m-1)/2)) (metafor's ``.cmicalc``, Hedges 1981);
    ``"approx"``: 1 - 3/(4m - 1) (the approximation RevMan 5 uses); ``"none"``: 1 (Cohen's d).
    """
    m = np.asarray(mi, dtype=np.float64)
    if correct == "exact":
        with np.errstate(invalid="ignore"):
            out = np.exp(
                special.gammaln(m / 2) - np.log(np.sqrt(m / 2)) - special.gammaln((m - 1) / 2)
            )
        return np.asarray(np.where(m <= 1, np.nan, out), dtype=np.float64)
    if correct == "approx":
        return np.asarray(np.where(m <= 1, np.nan, 1 - 3 / (4 * m - 1)), dtype=np.float64)
    if correct == "none":
        return np.ones_like(m)
    raise EvidenceInputError(f"correct must be 'exact', 'approx' or 'none', got {correct!r}")


def _need(measure: str, **arrays: FloatArray | None) -> dict[str, FloatArray]:
    missing = [k for k, v in arrays.items() if v is None]
    if missing:
        raise EvidenceInputError(f"measure {measure!r} needs argument(s): {', '.join(missing)}")
    return {k: v for k, v in arrays.items() if v is not None}


def _check(cond: NDArray[Any], what: str) -> None:
    bad = np.flatnonzero(np.asarray(cond, dtype=bool))
    if bad.size:
        rows = ", ".join(str(i + 1) for i in bad[:10])
        raise EvidenceInputError(f"{what} (study row {rows})")


def escalc(
    measure: str,
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    m1i: Any = None,
    m2i: Any = None,
    sd1i: Any = None,
    sd2i: Any = None,
    xi: Any = None,
    mi: Any = None,
    ni: Any = None,
    ri: Any = None,
    ti: Any = None,
    yi: Any = None,
    vi: Any = None,
    sei: Any = None,
    ci_lb: Any = None,
    ci_ub: Any = None,
    x1i: Any = None,
    x2i: Any = None,
    t1i: Any = None,
    t2i: Any = None,
    sdi: Any = None,
    ci_level: float = 95.0,
    log_scale: bool = False,
    data: pl.DataFrame | Any = None,
    slab: Sequence[Any] | str | None = None,
    add: float | None = None,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    correct: str = "exact",
) -> EscalcResult:
    """Compute effect sizes ``yi`` and sampling variances ``vi`` (metafor's ``escalc``).

    Measures
    --------
    Two groups, continuous (``m1i, m2i, sd1i, sd2i, n1i, n2i``): ``MD`` (raw mean difference),
    ``SMD`` (Hedges' g; ``correct="exact"`` gamma-function correction as metafor, ``"approx"``
    1 - 3/(4m - 1) as RevMan, ``"none"`` Cohen's d; ``vtype`` ``LS`` (default), ``UB``,
    ``LS2``, ``AV``, or ``RM5`` — RevMan 5's N/(n1 n2) + g²/(2(N - 3.94)); use it with
    ``correct="approx"`` to reproduce RevMan; for SMD a reported Cohen's d may be given as
    ``di`` or a two-sample t statistic as ``ti``, as in metafor), ``ROM`` (log ratio of means).
    Pre/post, one group (``m1i`` post/follow-up mean, ``m2i`` pre mean, ``sd1i, sd2i, ni, ri``
    the pre-post correlation): ``MC`` (mean change), ``SMCC`` (standardised by the SD of the
    change scores), ``SMCR`` (standardised by the raw-score SD ``sd1i``; ``sd2i`` not needed).
    Two groups, binary (``ai, bi, ci, di`` or ``ai, ci, n1i, n2i``): ``RR``, ``OR`` (log scale),
    ``RD``. Zero cells: ``add`` (default 1/2) is added ``to`` = ``"only0"`` (cells of studies
    with a zero cell; metafor's default), ``"all"``, ``"if0all"`` or ``"none"``; ``drop00=True``
    sets studies with no events (or only events) in both groups to missing.
    Single arm (``xi`` events and ``ni`` or ``mi`` non-events): ``PR`` (raw proportion),
    ``PLN`` (log), ``PLO`` (logit), ``PAS`` (arcsine), ``PFT`` (Freeman–Tukey double arcsine);
    the zero-cell rule applies too, but PAS/PFT add nothing unless ``add`` is given, as metafor.
    Generic: ``GEN`` with ``yi`` and one of ``vi``, ``sei`` or a ``ci_lb``/``ci_ub`` interval
    (level ``ci_level``; ``log_scale=True`` logs ``yi`` and the bounds first, for ratios).

    Two groups, person-time (``x1i, x2i`` events, ``t1i, t2i`` person-time): ``IRR`` (log
    incidence rate ratio), ``IRD`` (rate difference), ``IRSD`` (square-root rate difference;
    no zero-cell addition unless ``add`` is given). One group: ``MN`` (mean; ``mi, sdi, ni``),
    ``MNLN`` (log mean). Correlations (``ri, ni``): ``COR`` (``vtype`` ``LS``/``AV``),
    ``UCOR`` (Olkin–Pratt unbiased; also ``vtype="UB"``), ``ZCOR`` (Fisher's z). 2×2 tables:
    ``PHI`` (phi coefficient; ``vtype`` ``LS``/``CS`` cross-sectional or ``ST`` stratified
    sampling) and ``AS`` (arcsine square-root risk difference); both add nothing to zero cells
    unless ``add`` is given. Two groups, means and SDs: ``SMDH`` (Bonett's SMD without
    assuming equal variances; ``vtype`` ``LS``/``LS2``), ``VR`` (log ratio of SDs; ``sd1i,
    sd2i, n1i, n2i``), ``CVR`` (log ratio of coefficients of variation). ``PR`` also takes
    ``vtype="AV"`` (the sample-size weighted mean proportion in every variance).

    Every argument is an array or a column name of ``data``. Returns an
    :class:`EscalcResult` (``.frame`` has the data columns plus ``yi`` and ``vi``). A study
    whose effect cannot be computed (missing input, infinite value, negative variance) gets
    missing ``yi``/``vi``, as in metafor; ``rma`` then omits it and says so.
    """
    measure = measure.upper()
    if measure not in MEASURES:
        raise EvidenceInputError(
            f"unknown measure {measure!r}; choose one of {', '.join(MEASURES)}"
        )
    if to not in ("only0", "all", "if0all", "none"):
        raise EvidenceInputError(f"to must be 'only0', 'all', 'if0all' or 'none', got {to!r}")
    if add is None:  # metafor: 1/2, but nothing for PAS and PFT unless add= is given
        add = 0.0 if measure in ("PAS", "PFT", "AS", "PHI", "IRSD") else 0.5
    if add < 0 or not math.isfinite(add):
        raise EvidenceInputError(f"add must be a non-negative number, got {add}")

    data = as_frame(data)

    def g(x: Any, name: str) -> FloatArray | None:
        return column_or_array(x, name, data)

    args = {
        "ai": g(ai, "ai"),
        "bi": g(bi, "bi"),
        "ci": g(ci, "ci"),
        "di": g(di, "di"),
        "n1i": g(n1i, "n1i"),
        "n2i": g(n2i, "n2i"),
        "m1i": g(m1i, "m1i"),
        "m2i": g(m2i, "m2i"),
        "sd1i": g(sd1i, "sd1i"),
        "sd2i": g(sd2i, "sd2i"),
        "xi": g(xi, "xi"),
        "mi": g(mi, "mi"),
        "ni": g(ni, "ni"),
        "ri": g(ri, "ri"),
        "ti": g(ti, "ti"),
        "yi": g(yi, "yi"),
        "vi": g(vi, "vi"),
        "sei": g(sei, "sei"),
        "ci_lb": g(ci_lb, "ci_lb"),
        "ci_ub": g(ci_ub, "ci_ub"),
        "x1i": g(x1i, "x1i"),
        "x2i": g(x2i, "x2i"),
        "t1i": g(t1i, "t1i"),
        "t2i": g(t2i, "t2i"),
        "sdi": g(sdi, "sdi"),
    }
    k = check_lengths(args)
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure in BINARY or measure in _more.TABLE_MORE:
            y, v = _binary(measure, args, add, to, drop00, vtype)
        elif measure in _more.PERSON_TIME:
            y, v = _more.incidence(measure, args, add, to, drop00)
        elif measure in _more.MEAN_MEASURES:
            y, v = _more.single_mean(measure, args)
        elif measure in _more.COR_MEASURES:
            y, v = _more.correlation(measure, args, vtype)
        elif measure in _more.VAR_MEASURES:
            y, v = _more.two_group_more(measure, args, vtype)
        elif measure in CONTINUOUS:
            y, v = _continuous(measure, args, vtype, correct)
        elif measure in CHANGE:
            y, v = _change(measure, args, vtype, correct)
        elif measure in PROPORTION:
            y, v = _proportion(measure, args, add, to, vtype)
        else:
            y, v = _generic(args, ci_level, log_scale)
    y = np.asarray(y, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    bad = ~np.isfinite(y) | ~np.isfinite(v) | (v < 0)
    y = np.where(bad, np.nan, y)
    v = np.where(bad, np.nan, v)
    cols: dict[str, Any] = {}
    if isinstance(slab, str):
        if data is None or slab not in data.columns:
            raise EvidenceInputError(f"slab column {slab!r} not in data")
    elif slab is not None:
        if len(slab) != k:
            raise EvidenceInputError(f"slab has {len(slab)} labels for {k} studies")
        cols["slab"] = [str(s) for s in slab]
    base = data if data is not None else pl.DataFrame()
    frame = (
        base.with_columns(
            *[pl.Series(n, c) for n, c in cols.items()],
            pl.Series("yi", y),
            pl.Series("vi", v),
        )
        if data is not None
        else pl.DataFrame({**cols, "yi": y, "vi": v})
    )
    slab_col = slab if isinstance(slab, str) else ("slab" if slab is not None else None)
    return EscalcResult(frame=frame, measure=measure, slab=slab_col)


def _binary(
    measure: str, a: dict[str, FloatArray | None], add: float, to: str, drop00: bool, vtype: str
) -> tuple[FloatArray, FloatArray]:
    ai, ci_ = a["ai"], a["ci"]
    bi, di = a["bi"], a["di"]
    n1, n2 = a["n1i"], a["n2i"]
    if ai is None or ci_ is None:
        raise EvidenceInputError(f"measure {measure!r} needs ai and ci (events per group)")
    if bi is None:
        if n1 is None:
            raise EvidenceInputError(f"measure {measure!r} needs bi or n1i")
        bi = n1 - ai
    elif n1 is not None:
        _check(~np.isnan(n1) & ~np.isnan(ai + bi) & (n1 != ai + bi), "n1i is not equal to ai + bi")
    if di is None:
        if n2 is None:
            raise EvidenceInputError(f"measure {measure!r} needs di or n2i")
        di = n2 - ci_
    elif n2 is not None:
        _check(
            ~np.isnan(n2) & ~np.isnan(ci_ + di) & (n2 != ci_ + di), "n2i is not equal to ci + di"
        )
    _check((ai < 0) | (ci_ < 0), "negative event count")
    _check((bi < 0) | (di < 0), "event count larger than the group size (or negative non-events)")
    ai, bi, ci_, di = ai.copy(), bi.copy(), ci_.copy(), di.copy()
    if drop00:
        id00 = ((ai == 0) & (ci_ == 0)) | ((bi == 0) & (di == 0))
        for arr in (ai, bi, ci_, di):
            arr[id00] = np.nan
    if to == "all":
        ai, bi, ci_, di = ai + add, bi + add, ci_ + add, di + add
    elif to in ("only0", "if0all"):
        id0 = (ai == 0) | (ci_ == 0) | (bi == 0) | (di == 0)
        if to == "if0all":
            id0 = np.full_like(id0, bool(id0.any()))
        inc = np.where(id0, add, 0.0)
        ai, bi, ci_, di = ai + inc, bi + inc, ci_ + inc, di + inc
    if measure in _more.TABLE_MORE:
        return _more.table_more(measure, ai, bi, ci_, di, vtype)
    n1i, n2i = ai + bi, ci_ + di
    p1, p2 = ai / n1i, ci_ / n2i
    if measure == "RR":
        return np.log(p1) - np.log(p2), 1 / ai - 1 / n1i + 1 / ci_ - 1 / n2i
    if measure == "OR":
        return np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2)), 1 / ai + 1 / bi + 1 / ci_ + 1 / di
    y = p1 - p2
    if vtype == "LS":
        v = p1 * (1 - p1) / n1i + p2 * (1 - p2) / n2i
    elif vtype == "UB":
        v = p1 * (1 - p1) / (n1i - 1) + p2 * (1 - p2) / (n2i - 1)
    elif vtype == "AV":
        ok = ~np.isnan(p1) & ~np.isnan(p2)
        m1 = np.sum((p1 * n1i)[ok]) / np.sum(n1i[ok])
        m2 = np.sum((p2 * n2i)[ok]) / np.sum(n2i[ok])
        v = m1 * (1 - m1) / n1i + m2 * (1 - m2) / n2i
    else:
        raise EvidenceInputError(f"RD: vtype must be 'LS', 'UB' or 'AV', got {vtype!r}")
    return y, v


def _continuous(
    measure: str, a: dict[str, FloatArray | None], vtype: str, correct: str
) -> tuple[FloatArray, FloatArray]:
    if measure == "SMD" and (a["di"] is not None or a["ti"] is not None):
        a = _smd_from_d_or_t(a)
    r = _need(
        measure,
        m1i=a["m1i"],
        m2i=a["m2i"],
        sd1i=a["sd1i"],
        sd2i=a["sd2i"],
        n1i=a["n1i"],
        n2i=a["n2i"],
    )
    m1, m2, s1, s2, n1, n2 = r["m1i"], r["m2i"], r["sd1i"], r["sd2i"], r["n1i"], r["n2i"]
    _check((s1 < 0) | (s2 < 0), "negative standard deviation")
    _check((n1 <= 0) | (n2 <= 0), "group size <= 0")
    mi = n1 + n2 - 2
    sdp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / mi)
    if measure == "MD":
        if vtype in ("LS", "UB"):
            return m1 - m2, s1**2 / n1 + s2**2 / n2
        if vtype == "HO":
            return m1 - m2, sdp**2 * (1 / n1 + 1 / n2)
        raise EvidenceInputError(f"MD: vtype must be 'LS', 'UB' or 'HO', got {vtype!r}")
    if measure == "ROM":
        _check((m1 / m2 <= 0), "ROM needs means of the same sign (log of a non-positive ratio)")
        if vtype == "LS":
            return np.log(m1 / m2), s1**2 / (n1 * m1**2) + s2**2 / (n2 * m2**2)
        if vtype == "HO":
            return np.log(m1 / m2), sdp**2 / (n1 * m1**2) + sdp**2 / (n2 * m2**2)
        raise EvidenceInputError(f"ROM: vtype must be 'LS' or 'HO', got {vtype!r}")
    _check(mi <= 1, "SMD needs n1i + n2i > 3")
    cmi = cmicalc(mi, correct)
    d = (m1 - m2) / sdp
    y = cmi * d
    npi = n1 + n2
    if vtype == "LS":
        v = 1 / n1 + 1 / n2 + y**2 / (2 * npi)
    elif vtype == "UB":
        v = 1 / n1 + 1 / n2 + (1 - (mi - 2) / (mi * cmi**2)) * y**2
    elif vtype == "LS2":
        v = cmi**2 * (1 / n1 + 1 / n2 + d**2 / (2 * npi))
    elif vtype == "AV":
        ok = ~np.isnan(y)
        mnw = np.sum((y * npi)[ok]) / np.sum(npi[ok])
        v = 1 / n1 + 1 / n2 + mnw**2 / (2 * npi)
    elif vtype == "RM5":
        # RevMan 5 [REVMAN5]: SE(g)² = N/(n1 n2) + g²/(2 (N - 3.94))
        v = npi / (n1 * n2) + y**2 / (2 * (npi - 3.94))
    else:
        raise EvidenceInputError(
            f"SMD: vtype must be 'LS', 'UB', 'LS2', 'AV' or 'RM5', got {vtype!r}"
        )
    return y, v


def _smd_from_d_or_t(a: dict[str, FloatArray | None]) -> dict[str, FloatArray | None]:
    """metafor: SMD from a reported Cohen's d (``di``) or two-sample t (``ti``).

    d = t·sqrt(1/n1 + 1/n2); studies with a d then use means d and 0 and SDs 1.
    """
    n1, n2 = a["n1i"], a["n2i"]
    if n1 is None or n2 is None:
        raise EvidenceInputError("SMD from di/ti needs n1i and n2i")
    k = n1.shape[0]
    d = a["di"] if a["di"] is not None else np.full(k, np.nan)
    if a["ti"] is not None:
        d = np.where(np.isnan(d), a["ti"] * np.sqrt(1 / n1 + 1 / n2), d)
    has = ~np.isnan(d)

    def fill(name: str, value: FloatArray) -> FloatArray:
        cur = a[name]
        base = np.full(k, np.nan) if cur is None else cur
        return np.where(has, value, base)

    out = dict(a)
    out["m1i"] = fill("m1i", d)
    out["m2i"] = fill("m2i", np.zeros(k))
    out["sd1i"] = fill("sd1i", np.ones(k))
    out["sd2i"] = fill("sd2i", np.ones(k))
    return out


def _change(
    measure: str, a: dict[str, FloatArray | None], vtype: str, correct: str
) -> tuple[FloatArray, FloatArray]:
    if measure == "SMCR":
        r = _need(measure, m1i=a["m1i"], m2i=a["m2i"], sd1i=a["sd1i"], ni=a["ni"], ri=a["ri"])
    else:
        r = _need(
            measure,
            m1i=a["m1i"],
            m2i=a["m2i"],
            sd1i=a["sd1i"],
            sd2i=a["sd2i"],
            ni=a["ni"],
            ri=a["ri"],
        )
    m1, m2, s1, n, ri = r["m1i"], r["m2i"], r["sd1i"], r["ni"], r["ri"]
    s2 = r.get("sd2i", np.zeros_like(m1))
    _check((s1 < 0) | (s2 < 0), "negative standard deviation")
    _check(np.abs(ri) > 1, "correlation ri outside [-1, 1]")
    _check(n <= 0, "sample size ni <= 0")
    if measure == "MC":
        return m1 - m2, (s1**2 + s2**2 - 2 * ri * s1 * s2) / n
    cmi = cmicalc(n - 1, correct)
    if measure == "SMCC":
        d = (m1 - m2) / np.sqrt(s1**2 + s2**2 - 2 * ri * s1 * s2)
        y = cmi * d
        if vtype == "LS":
            return y, 1 / n + y**2 / (2 * n)
        if vtype == "LS2":
            return y, cmi**2 * (1 / n + d**2 / (2 * n))
        raise EvidenceInputError(f"SMCC: vtype must be 'LS' or 'LS2', got {vtype!r}")
    d = (m1 - m2) / s1
    y = cmi * d
    if vtype == "LS":
        return y, 2 * (1 - ri) / n + y**2 / (2 * n)
    if vtype == "LS2":
        return y, cmi**2 * (2 * (1 - ri) / n + d**2 / (2 * n))
    raise EvidenceInputError(f"SMCR: vtype must be 'LS' or 'LS2', got {vtype!r}")


def _proportion(
    measure: str, a: dict[str, FloatArray | None], add: float, to: str, vtype: str
) -> tuple[FloatArray, FloatArray]:
    xi, mi, ni = a["xi"], a["mi"], a["ni"]
    if xi is None:
        raise EvidenceInputError(f"measure {measure!r} needs xi (events)")
    if mi is None:
        if ni is None:
            raise EvidenceInputError(
                f"measure {measure!r} needs ni (sample size) or mi (non-events)"
            )
        mi = ni - xi
    elif ni is not None:
        _check(~np.isnan(ni) & ~np.isnan(xi + mi) & (ni != xi + mi), "ni is not equal to xi + mi")
    _check(xi < 0, "negative event count")
    _check(mi < 0, "event count larger than the sample size")
    _check(xi + mi <= 0, "sample size <= 0")
    if to == "all":
        xi, mi = xi + add, mi + add
    elif to in ("only0", "if0all"):
        id0 = (xi == 0) | (mi == 0)
        if to == "if0all":
            id0 = np.full_like(id0, bool(id0.any()))
        inc = np.where(id0, add, 0.0)
        xi, mi = xi + inc, mi + inc
    n = xi + mi
    pr = xi / n
    if measure == "PR":
        if vtype == "LS":
            return pr, pr * (1 - pr) / n
        if vtype == "UB":
            return pr, pr * (1 - pr) / (n - 1)
        if vtype == "AV":  # metafor: the sample-size weighted mean proportion for every study
            ok = ~np.isnan(pr) & ~np.isnan(n)
            mn = float(np.sum((pr * n)[ok]) / np.sum(n[ok]))
            return pr, mn * (1 - mn) / n
        raise EvidenceInputError(f"PR: vtype must be 'LS', 'UB' or 'AV', got {vtype!r}")
    if measure == "PLN":
        return np.log(pr), 1 / xi - 1 / n
    if measure == "PLO":
        return np.log(pr / (1 - pr)), 1 / xi + 1 / mi
    if measure == "PAS":
        return np.arcsin(np.sqrt(pr)), 1 / (4 * n)
    return (
        0.5 * (np.arcsin(np.sqrt(xi / (n + 1))) + np.arcsin(np.sqrt((xi + 1) / (n + 1)))),
        1 / (4 * n + 2),
    )


def _generic(
    a: dict[str, FloatArray | None], ci_level: float, log_scale: bool
) -> tuple[FloatArray, FloatArray]:
    y, v, se, lb, ub = a["yi"], a["vi"], a["sei"], a["ci_lb"], a["ci_ub"]
    if y is None:
        raise EvidenceInputError("measure 'GEN' needs yi (the estimates)")
    if log_scale:
        _check(y <= 0, "log_scale=True needs positive estimates")
        y = np.log(y)
    if v is not None:
        return y, v
    if se is not None:
        _check(se < 0, "negative standard error")
        return y, se**2
    if lb is None or ub is None:
        raise EvidenceInputError("measure 'GEN' needs vi, sei, or both ci_lb and ci_ub")
    if log_scale:
        _check((lb <= 0) | (ub <= 0), "log_scale=True needs positive CI bounds")
        lb, ub = np.log(lb), np.log(ub)
    _check(ub < lb, "ci_ub is below ci_lb")
    if not 0 < ci_level < 100:
        raise EvidenceInputError(f"ci_level must be in (0, 100), got {ci_level}")
    z = float(stats.norm.isf((1 - ci_level / 100) / 2))
    se_ci = (ub - lb) / (2 * z)
    return y, se_ci**2
