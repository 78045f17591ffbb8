"""Transformations and back-transformations of effect sizes (metafor's ``transf.*``).

Inverse Freeman–Tukey after Miller [MILLER1978]. Use them with
``RMAResult.predict(transf=...)`` or ``EscalcResult.summary(transf=...)``.
Functions needing sample sizes (``ipft``, ``ipft_hm``) are factories: ``transf_ipft_hm(ni)``
returns the function to pass as ``transf``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pedbone.evidence._utils import FloatArray, as_float_array

__all__ = [
    "transf_arcsin",
    "transf_exp",
    "transf_iarcsin",
    "transf_ilogit",
    "transf_ipft",
    "transf_ipft_hm",
    "transf_logit",
    "transf_pft",
]


def _a(x: Any) -> FloatArray:
    return as_float_array(x, "xi")


def transf_exp(xi: Any) -> FloatArray:
    """exp(xi): log risk/odds ratio → ratio (metafor's ``exp``)."""
    return np.asarray(np.exp(_a(xi)), dtype=np.float64)


def transf_logit(xi: Any) -> FloatArray:
    """log(p / (1 - p)) (metafor's ``transf.logit``)."""
    x = _a(xi)
    with np.errstate(divide="ignore"):
        return np.asarray(np.log(x / (1 - x)), dtype=np.float64)


def transf_ilogit(xi: Any) -> FloatArray:
    """Inverse logit, 1 / (1 + exp(-xi)): PLO → proportion (metafor's ``transf.ilogit``)."""
    x = _a(xi)
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def transf_arcsin(xi: Any) -> FloatArray:
    """asin(sqrt(p)) (metafor's ``transf.arcsin``)."""
    return np.asarray(np.arcsin(np.sqrt(_a(xi))), dtype=np.float64)


def transf_iarcsin(xi: Any) -> FloatArray:
    """sin(xi)², clipped to [0, 1]: PAS → proportion (metafor's ``transf.iarcsin``)."""
    x = _a(xi)
    z = np.sin(x) ** 2
    z[x < 0] = 0.0
    z[x > np.arcsin(1.0)] = 1.0
    return np.asarray(z, dtype=np.float64)


def transf_pft(xi: Any, ni: Any) -> FloatArray:
    """Freeman–Tukey double arcsine of proportion ``xi`` with sample size ``ni``."""
    n = _a(ni)
    x = _a(xi) * n
    return np.asarray(
        0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1)))),
        dtype=np.float64,
    )


def _ipft(x: FloatArray, n: FloatArray | float) -> FloatArray:
    s = np.sin(2 * x)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = 0.5 * (1 - np.sign(np.cos(2 * x)) * np.sqrt(1 - (s + (s - 1 / s) / n) ** 2))
    z = np.where(np.isnan(z), np.nan, z)
    nn = np.broadcast_to(np.asarray(n, dtype=np.float64), x.shape)
    z = np.where(x > transf_pft(np.ones_like(x), nn), 1.0, z)
    z = np.where(x < transf_pft(np.zeros_like(x), nn), 0.0, z)
    return np.asarray(z, dtype=np.float64)


def transf_ipft(ni: Any) -> Callable[[Any], FloatArray]:
    """Inverse Freeman–Tukey (Miller 1978) with per-value sample sizes ``ni``.

    Returns the function ``xi -> proportion`` (metafor's ``transf.ipft(xi, ni)``).
    """
    n = _a(ni)

    def f(xi: Any) -> FloatArray:
        return _ipft(_a(xi), n)

    return f


def transf_ipft_hm(ni: Any) -> Callable[[Any], FloatArray]:
    """Inverse Freeman–Tukey using the harmonic mean of the study sizes ``ni``.

    Returns the function ``xi -> proportion`` (metafor's ``transf.ipft.hm(xi, targs=list(ni=ni))``)
    used to back-transform a pooled PFT estimate.
    """
    n = _a(ni)
    nhm = 1.0 / float(np.nanmean(1.0 / n))

    def f(xi: Any) -> FloatArray:
        return _ipft(_a(xi), nhm)

    return f
