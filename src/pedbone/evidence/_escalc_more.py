"""Further ``escalc`` measures (issue 13): incidence rates, single-group means, correlations,
2×2 association measures and variability ratios.

Formulas are metafor 3.8's (Viechtbauer 2010 [METAFOR]): incidence rate ratio/difference and
square-root difference from events and person-time; the raw and log mean of one group; Bonett's
heteroscedastic standardised mean difference SMDH [BONETT2008]; the raw, bias-corrected
(Olkin & Pratt [OLKIN1958]) and Fisher-z correlation; the phi coefficient and the arcsine
risk difference of a 2×2 table; the log variability ratio VR and log coefficient-of-variation
ratio CVR of Nakagawa et al. [NAKAGAWA2015]. :func:`pedbone.evidence.escalc` dispatches here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from pedbone.evidence._utils import EvidenceInputError, FloatArray

__all__ = [
    "COR_MEASURES",
    "MEAN_MEASURES",
    "PERSON_TIME",
    "TABLE_MORE",
    "VAR_MEASURES",
    "correlation",
    "incidence",
    "single_mean",
    "table_more",
    "two_group_more",
]

PERSON_TIME = ("IRR", "IRD", "IRSD")
MEAN_MEASURES = ("MN", "MNLN")
COR_MEASURES = ("COR", "UCOR", "ZCOR")
TABLE_MORE = ("PHI", "AS")
VAR_MEASURES = ("SMDH", "VR", "CVR")

Args = dict[str, FloatArray | None]


def _req(measure: str, a: Args, *names: str) -> list[FloatArray]:
    missing = [n for n in names if a.get(n) is None]
    if missing:
        raise EvidenceInputError(f"measure {measure!r} needs argument(s): {', '.join(missing)}")
    out = [a[n] for n in names]
    return [x for x in out if x is not None]


def _check(cond: Any, what: str) -> None:
    bad = np.flatnonzero(np.asarray(cond, dtype=bool))
    if bad.size:
        rows = ", ".join(str(i + 1) for i in bad[:10])
        raise EvidenceInputError(f"{what} (study row {rows})")


def incidence(
    measure: str, a: Args, add: float, to: str, drop00: bool
) -> tuple[FloatArray, FloatArray]:
    """IRR (log), IRD, IRSD from events ``x1i, x2i`` and person-times ``t1i, t2i``."""
    x1, x2, t1, t2 = _req(measure, a, "x1i", "x2i", "t1i", "t2i")
    with np.errstate(invalid="ignore"):
        _check((x1 < 0) | (x2 < 0), "negative event count")
        _check((t1 <= 0) | (t2 <= 0), "person-time <= 0")
    x1, x2 = x1.copy(), x2.copy()
    if drop00:
        id00 = (x1 == 0) & (x2 == 0)
        x1[id00] = np.nan
        x2[id00] = np.nan
    if to == "all":
        x1, x2 = x1 + add, x2 + add
    elif to in ("only0", "if0all"):
        id0 = (x1 == 0) | (x2 == 0)
        if to == "if0all":
            id0 = np.full_like(id0, bool(id0.any()))
        inc = np.where(id0, add, 0.0)
        x1, x2 = x1 + inc, x2 + inc
    ir1, ir2 = x1 / t1, x2 / t2
    if measure == "IRR":
        return np.log(ir1) - np.log(ir2), 1 / x1 + 1 / x2
    if measure == "IRD":
        return ir1 - ir2, ir1 / t1 + ir2 / t2
    return np.sqrt(ir1) - np.sqrt(ir2), 1 / (4 * t1) + 1 / (4 * t2)


def single_mean(measure: str, a: Args) -> tuple[FloatArray, FloatArray]:
    """MN (raw mean) and MNLN (log mean) from ``mi, sdi, ni``."""
    m, sd, n = _req(measure, a, "mi", "sdi", "ni")
    with np.errstate(invalid="ignore"):
        _check(sd < 0, "negative standard deviation")
        _check(n <= 0, "sample size <= 0")
        if measure == "MNLN":
            _check(m < 0, "MNLN needs a non-negative mean")
    if measure == "MN":
        return m, sd**2 / n
    return np.log(m), sd**2 / (n * m**2)


def _hyp2f1(a: float, b: float, c: FloatArray, z: FloatArray) -> FloatArray:
    """Gauss's ₂F₁(a, b; c; z) for 0 <= z < 1, NaN unless c > a + b (as metafor's .Fcalc).

    SciPy's series fails (NaN) for large c with z near 1 (large samples with small r); there
    Euler's integral Γ(c)/(Γ(b)Γ(c-b)) ∫ t^(b-1) (1-t)^(c-b-1) (1-zt)^(-a) dt is evaluated by
    adaptive quadrature with the algebraic end-point weights.
    """
    from scipy import integrate

    out = np.full(np.broadcast(c, z).shape, np.nan)
    cc = np.broadcast_to(c, out.shape)
    zz = np.broadcast_to(z, out.shape)
    for i in np.ndindex(out.shape):
        ci, zi = float(cc[i]), float(zz[i])
        if not (np.isfinite(ci) and np.isfinite(zi)) or ci <= a + b:
            continue
        val = float(special.hyp2f1(a, b, ci, zi))
        if not np.isfinite(val):
            integral, _ = integrate.quad(
                lambda t, zi=zi: (1 - zi * t) ** (-a),
                0.0,
                1.0,
                weight="alg",
                wvar=(b - 1, ci - b - 1),
                epsabs=0.0,
                epsrel=1e-13,
                limit=200,
            )
            logc = special.gammaln(ci) - special.gammaln(b) - special.gammaln(ci - b)
            val = float(np.exp(logc) * integral)
        out[i] = val
    return out


def correlation(measure: str, a: Args, vtype: str) -> tuple[FloatArray, FloatArray]:
    """COR, UCOR (Olkin-Pratt unbiased, via ₂F₁) and ZCOR (Fisher's z) from ``ri, ni``."""
    r, n = _req(measure, a, "ri", "ni")
    with np.errstate(invalid="ignore"):
        _check(np.abs(r) > 1, "correlation outside [-1, 1]")
        _check(n <= 0, "sample size <= 0")
    if measure != "UCOR" and vtype == "UB":
        raise EvidenceInputError("vtype='UB' is only for measure='UCOR'")
    if measure == "ZCOR":
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.arctanh(r)
            v = 1 / (n - 3)
        return y, np.where(n <= 3, np.nan, v)
    if measure == "COR":
        y = r
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            y = r * _hyp2f1(0.5, 0.5, (n - 2) / 2, 1 - r**2)
    if vtype == "LS":
        v = (1 - y**2) ** 2 / (n - 1)
    elif vtype == "AV":
        ok = ~np.isnan(y) & ~np.isnan(n)
        mn = float(np.sum((y * n)[ok]) / np.sum(n[ok]))
        v = (1 - mn**2) ** 2 / (n - 1)
    elif vtype == "UB":
        with np.errstate(invalid="ignore", divide="ignore"):
            v = y**2 - (1 - (n - 3) / (n - 2) * (1 - r**2) * _hyp2f1(1, 1, n / 2, 1 - r**2))
    else:
        raise EvidenceInputError(f"{measure}: vtype must be 'LS', 'UB' or 'AV', got {vtype!r}")
    return y, np.where(n <= 3, np.nan, v)


def table_more(
    measure: str,
    ai: FloatArray,
    bi: FloatArray,
    ci: FloatArray,
    di: FloatArray,
    vtype: str,
) -> tuple[FloatArray, FloatArray]:
    """PHI and AS from a 2×2 table (cells after the zero-cell rule)."""
    n1, n2 = ai + bi, ci + di
    p1, p2 = ai / n1, ci / n2
    if measure == "AS":
        return np.arcsin(np.sqrt(p1)) - np.arcsin(np.sqrt(p2)), 1 / (4 * n1) + 1 / (4 * n2)
    n = n1 + n2
    y = (ai * di - bi * ci) / np.sqrt((ai + bi) * (ci + di) * (ai + ci) * (bi + di))
    q1, q2 = 1 - p1, 1 - p2
    r1, r2 = (ai + bi) / n, (ci + di) / n
    c1, c2 = (ai + ci) / n, (bi + di) / n
    if vtype == "ST":
        v = (
            n**2
            * (
                4 * n1**3 * p1**2 * p2 * q1**2 * q2
                + 4 * n2**3 * p1 * p2**2 * q1 * q2**2
                + n1 * n2**2 * p2 * q2 * (p2 * q1 + p1 * q2) * (p2 * q1 + p1 * (4 * q1 + q2))
                + n1**2 * n2 * p1 * q1 * (p2 * q1 + p1 * q2) * (p1 * q2 + p2 * (q1 + 4 * q2))
            )
        ) / (4 * (ai + ci) ** 3 * (bi + di) ** 3)
    elif vtype in ("LS", "CS"):
        # Yule 1912 (cross-sectional / multinomial sampling)
        v = (
            1
            / n
            * (
                1
                - y**2
                + y * (1 + 0.5 * y**2) * (r1 - r2) * (c1 - c2) / np.sqrt(r1 * r2 * c1 * c2)
                - 0.75 * y**2 * ((r1 - r2) ** 2 / (r1 * r2) + (c1 - c2) ** 2 / (c1 * c2))
            )
        )
    else:
        raise EvidenceInputError(f"PHI: vtype must be 'ST', 'LS' or 'CS', got {vtype!r}")
    return y, v


def two_group_more(measure: str, a: Args, vtype: str) -> tuple[FloatArray, FloatArray]:
    """SMDH, VR (log SD ratio) and CVR (log CV ratio) from two groups' means and SDs."""
    if measure == "VR":
        s1, s2, n1, n2 = _req(measure, a, "sd1i", "sd2i", "n1i", "n2i")
        m1 = m2 = None
    else:
        m1, m2, s1, s2, n1, n2 = _req(measure, a, "m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i")
    with np.errstate(invalid="ignore"):
        _check((s1 < 0) | (s2 < 0), "negative standard deviation")
        _check((n1 <= 0) | (n2 <= 0), "group size <= 0")
    if measure == "VR":
        y = np.log(s1 / s2) + 1 / (2 * (n1 - 1)) - 1 / (2 * (n2 - 1))
        return y, 1 / (2 * (n1 - 1)) + 1 / (2 * (n2 - 1))
    assert m1 is not None
    assert m2 is not None
    if measure == "CVR":
        y = np.log(s1 / m1) + 1 / (2 * (n1 - 1)) - np.log(s2 / m2) - 1 / (2 * (n2 - 1))
        v = 1 / (2 * (n1 - 1)) + s1**2 / (n1 * m1**2) + 1 / (2 * (n2 - 1)) + s2**2 / (n2 * m2**2)
        return y, v
    mi = n1 + n2 - 2
    with np.errstate(invalid="ignore"):
        cmi = np.exp(
            special.gammaln(mi / 2) - np.log(np.sqrt(mi / 2)) - special.gammaln((mi - 1) / 2)
        )
    cmi = np.where(mi <= 1, np.nan, cmi)
    ssq = s1**2 + s2**2
    y = cmi * (m1 - m2) / np.sqrt(ssq / 2)
    if vtype == "LS":
        v = y**2 * (s1**4 / (n1 - 1) + s2**4 / (n2 - 1)) / (2 * ssq**2) + (
            s1**2 / (n1 - 1) + s2**2 / (n2 - 1)
        ) / (ssq / 2)
        return y, cmi**2 * v
    if vtype == "LS2":
        v = (
            y**2 * s1**2 / (2 * n1 * ssq**2)
            + y**2 * s2**2 / (2 * n2 * ssq**2)
            + 2 * s1**2 / (n1 * ssq)
            + 2 * s2**2 / (n2 * ssq)
        )
        return y, v
    raise EvidenceInputError(f"SMDH: vtype must be 'LS' or 'LS2', got {vtype!r}")
