"""The LMS transform (Cole 1990 [COLE1990]; Cole & Green 1992 [COLE1992]) and WHO's
restricted-tail variant for weight-based indicators.

All functions are vectorised over NumPy arrays and never loop in Python.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["lms_value", "lms_value_restricted", "lms_z", "lms_z_restricted"]

F64 = NDArray[np.float64]


def lms_z(y: F64, L: F64, M: F64, S: F64) -> F64:
    """Z = ((y/M)^L - 1) / (L S); for L = 0, Z = ln(y/M) / S [COLE1990].

    Written as ``expm1(L ln(y/M)) / (L S)`` so that L close to 0 loses no precision.
    """
    r = np.log(y / M)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.expm1(L * r)
        ls = L * S
        np.divide(z, ls, out=z)
    zero = L == 0
    if zero.any():
        z[zero] = (r / S)[zero]
    return z


def lms_value(z: F64, L: F64, M: F64, S: F64) -> F64:
    """Inverse LMS: y = M (1 + L S Z)^(1/L); for L = 0, y = M exp(S Z).

    NaN where 1 + L S Z <= 0 (the Box-Cox curve is not defined there).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        base = 1.0 + L * S * z
        y = M * np.exp(np.log1p(L * S * z) / L)
    zero = L == 0
    if zero.any():
        y[zero] = (M * np.exp(S * z))[zero]
    bad = (base <= 0) & ~zero
    if bad.any():
        y[bad] = np.nan
    return y


def _sd(sd: float, L: F64, M: F64, S: F64) -> F64:
    return lms_value(np.full_like(L, sd), L, M, S)


def lms_z_restricted(y: F64, L: F64, M: F64, S: F64) -> F64:
    """WHO restricted LMS: beyond |Z| > 3 the distance is measured in units of the
    SD2-SD3 gap at that age (WHO anthro ``compute_zscore_adjusted``; WHO 2006 Methods
    chapter 7 [WHO2006])::

        Z > 3:  3 + (y - SD3pos) / (SD3pos - SD2pos)
        Z < -3: -3 + (y - SD3neg) / (SD2neg - SD3neg)
    """
    z = lms_z(y, L, M, S)
    with np.errstate(invalid="ignore"):
        if not (np.abs(z) > 3).any():
            return z
        hi = z > 3
        lo = z < -3
    if hi.any():
        Lh, Mh, Sh = L[hi], M[hi], S[hi]
        sd3 = _sd(3.0, Lh, Mh, Sh)
        sd2 = _sd(2.0, Lh, Mh, Sh)
        z[hi] = 3.0 + (y[hi] - sd3) / (sd3 - sd2)
    if lo.any():
        Ll, Ml, Sl = L[lo], M[lo], S[lo]
        sd3 = _sd(-3.0, Ll, Ml, Sl)
        sd2 = _sd(-2.0, Ll, Ml, Sl)
        z[lo] = -3.0 + (y[lo] - sd3) / (sd2 - sd3)
    return z


def lms_value_restricted(z: F64, L: F64, M: F64, S: F64) -> F64:
    """Inverse of :func:`lms_z_restricted` (linear in the SD2-SD3 gap beyond |Z| > 3)."""
    y = lms_value(z, L, M, S)
    hi = z > 3
    lo = z < -3
    if hi.any():
        Lh, Mh, Sh = L[hi], M[hi], S[hi]
        sd3 = _sd(3.0, Lh, Mh, Sh)
        sd2 = _sd(2.0, Lh, Mh, Sh)
        y[hi] = sd3 + (z[hi] - 3.0) * (sd3 - sd2)
    if lo.any():
        Ll, Ml, Sl = L[lo], M[lo], S[lo]
        sd3 = _sd(-3.0, Ll, Ml, Sl)
        sd2 = _sd(-2.0, Ll, Ml, Sl)
        y[lo] = sd3 + (z[lo] + 3.0) * (sd2 - sd3)
    return y
