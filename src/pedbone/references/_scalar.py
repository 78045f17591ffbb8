"""The scalar fast path of the Z-score engine: a handful of values, no array machinery.

A web page scoring one child, or an API user scoring one measurement, passes a few Python
scalars. The array engine (:mod:`pedbone.references._engine`) then spends ~0.2 ms in NumPy
set-up (broadcasting, masks, chunking) for one number. This module evaluates the *same*
piecewise polynomials (the compiled tables of the array engine, copied once into Python lists)
with the *same* operations in the same order, in plain ``float`` arithmetic and :mod:`math`,
so a result equals the array engine's to the last bit for + - * / and to an ulp or so where
``math.log``/``expm1``/``exp`` and NumPy's vectorised versions round differently (a property
test holds every built-in pack and measure to 1e-12).

Anything unusual (arrays of other dtypes, booleans, strings as numbers, more than
:data:`SMALL` elements, a group list, an arithmetic exception) makes :func:`small_inputs` or
the evaluation give up, and the caller falls back to the array engine, which stays the one
definition of every edge case.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pedbone.references._status import Status

__all__ = ["SMALL", "ScalarTable", "centile_small", "small_inputs"]

#: At most this many elements take the scalar path (above it NumPy's fixed cost is repaid).
SMALL = 32

_NUMBER = (int, float)
_OK = int(Status.OK)
_NOT_TAKEN = object()


def _items(x: Any) -> Any:
    """``x`` as a Python scalar, or a list of Python scalars (at most SMALL), or
    ``_NOT_TAKEN`` (not something the fast path takes)."""
    if x is None or isinstance(x, (str, float, int)):
        return x
    if isinstance(x, np.ndarray):
        if x.ndim > 1 or x.size > SMALL or x.dtype.kind not in "iufUO":
            return _NOT_TAKEN
        if x.ndim == 1 and x.size == 0:
            return _NOT_TAKEN
        return x.tolist()  # 0-d gives a scalar, 1-d a list
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (list, tuple)):
        if not 0 < len(x) <= SMALL:
            return _NOT_TAKEN
        return [v.item() if isinstance(v, np.generic) else v for v in x]
    return x


def _sex_code(x: Any, male: frozenset[str], female: frozenset[str]) -> int | None:
    """The array engine's sex code of one element, or None when the fast path must not
    decide (booleans: the array path refuses them; other types: its rules are the law)."""
    if x is None:
        return -1
    if isinstance(x, bool):
        return None
    if isinstance(x, float):
        if x == 1.0:
            return 0
        if x == 2.0:
            return 1
        return -1
    if isinstance(x, int):
        return 0 if x == 1 else 1 if x == 2 else -1
    if isinstance(x, str):
        s = x.strip().upper()
        return 0 if s in male else 1 if s in female else -1
    return None


def _number(x: Any) -> float | None:
    if x is None:
        return math.nan
    if isinstance(x, bool) or not isinstance(x, _NUMBER):
        return None
    try:
        return float(x)
    except OverflowError:
        return None


def _group_code(x: Any, codes: Mapping[str, int]) -> int | None:
    if x is None:
        return -1
    if isinstance(x, str):
        return codes.get(x.strip().lower(), -1)
    return None


def small_inputs(
    sex: Any,
    age_years: Any,
    value: Any,
    group: Any,
    *,
    male: frozenset[str],
    female: frozenset[str],
    group_codes: Mapping[str, int] | None,
) -> tuple[list[int], list[int] | None, list[float], list[float], tuple[int, ...]] | None:
    """(sex codes, group codes, ages, values, result shape) for a handful of scalars, or None.

    ``group_codes`` maps a lower-case group name to its index (None: the pack has no groups;
    then a ``group`` is left to the array engine, which refuses it). Lists (and 1-d arrays) of
    one length broadcast against scalars and one-element lists the way NumPy does; anything
    else is left to the array engine.
    """
    if group_codes is None and group is not None:
        return None
    cols = [_items(sex), _items(age_years), _items(value), _items(group)]
    n = 1
    any_list = False
    for items in cols:
        if items is _NOT_TAKEN:
            return None
        if isinstance(items, list):
            any_list = True
            if len(items) != 1:
                if n != 1 and len(items) != n:
                    return None
                n = len(items)
    if not any_list:  # the common case: scalars
        c, a, v = _sex_code(cols[0], male, female), _number(cols[1]), _number(cols[2])
        g = None if group_codes is None else _group_code(cols[3], group_codes)
        if c is None or a is None or v is None or (group_codes is not None and g is None):
            return None
        return [c], None if g is None else [g], [a], [v], ()

    return _columns(cols, n, male, female, group_codes)


def _columns(
    cols: list[Any],
    n: int,
    male: frozenset[str],
    female: frozenset[str],
    group_codes: Mapping[str, int] | None,
) -> tuple[list[int], list[int] | None, list[float], list[float], tuple[int, ...]] | None:
    """The list case of :func:`small_inputs`: every column spread to ``n`` elements."""

    def spread(items: Any) -> list[Any]:
        if isinstance(items, list):
            return items if len(items) == n else items * n
        return [items] * n

    sexes, ages, values, groups = (spread(c) for c in cols)
    codes = []
    for s in sexes:
        c = _sex_code(s, male, female)
        if c is None:
            return None
        codes.append(c)
    gcodes: list[int] | None = None
    if group_codes is not None:
        gcodes = []
        for g in groups:
            gc = _group_code(g, group_codes)
            if gc is None:
                return None
            gcodes.append(gc)
    fa, fv = [], []
    for a, v in zip(ages, values, strict=True):
        a2, v2 = _number(a), _number(v)
        if a2 is None or v2 is None:
            return None
        fa.append(a2)
        fv.append(v2)
    return codes, gcodes, fa, fv, (n,)


@dataclass(slots=True)
class ScalarTable:
    """The compiled polynomials of one measure as Python lists (built once per measure)."""

    degree: int
    start: float
    inv_h: float
    nb: int
    aligned: bool
    bcoef: list[list[float]] | None
    coef: list[list[float]]
    buckets: list[int]
    left: list[float]
    guard_lo: list[float]
    guard_hi: list[float]
    seg_present: list[bool]

    @classmethod
    def of(cls, comp: Any) -> ScalarTable:
        """Copy an engine ``_Compiled`` into lists."""
        return cls(
            degree=int(comp.degree),
            start=float(comp.start),
            inv_h=float(comp.inv_h),
            nb=int(comp.nb),
            aligned=bool(comp.aligned),
            bcoef=None if comp.bcoef is None else comp.bcoef.tolist(),
            coef=comp.coef.tolist(),
            buckets=comp.buckets.tolist(),
            left=comp.left.tolist(),
            guard_lo=comp.guard_lo.tolist(),
            guard_hi=comp.guard_hi.tolist(),
            seg_present=comp.seg_present.tolist(),
        )

    def lms(self, seg: int, a: float) -> tuple[float, float, float]:
        """L, M, S at table-unit age ``a`` (inside coverage) in segment ``seg``; the same
        operations as ``ReferencePack._lms_chunk``."""
        kf = (a - self.start) * self.inv_h
        kf = min(max(kf, 0.0), float(self.nb - 1))
        k = int(kf)
        d1 = self.degree + 1
        k += seg * self.nb
        if self.bcoef is not None:
            bc = self.bcoef
            if d1 == 1:
                return bc[0][k], bc[1][k], bc[2][k]
            u = kf - math.floor(kf)
            res = []
            for p in range(3):
                base = p * d1
                acc = bc[base + d1 - 1][k]
                for q in range(d1 - 2, -1, -1):
                    acc = acc * u + bc[base + q][k]
                res.append(acc)
            return res[0], res[1], res[2]
        j = self.buckets[k]
        if not self.aligned:
            j += a >= self.guard_hi[j]
            j -= a < self.guard_lo[j]
        coef = self.coef
        if d1 == 1:
            return coef[0][j], coef[1][j], coef[2][j]
        t = a - self.left[j]
        out = []
        for p in range(3):
            base = p * d1
            acc = coef[base + d1 - 1][j]
            for q in range(d1 - 2, -1, -1):
                acc = acc * t + coef[base + q][j]
            out.append(acc)
        return out[0], out[1], out[2]


# --- the LMS transform on floats (the same formulas as pedbone.references._lms) -------------
def _z(y: float, L: float, M: float, S: float) -> float:
    r = math.log(y / M)
    if L == 0:
        return r / S
    return math.expm1(L * r) / (L * S)


def _value(z: float, L: float, M: float, S: float) -> float:
    if L == 0:
        return M * math.exp(S * z)
    x = L * S * z
    if 1.0 + x <= 0:
        return math.nan
    return M * math.exp(math.log1p(x) / L)


def _z_restricted(y: float, L: float, M: float, S: float) -> float:
    z = _z(y, L, M, S)
    if z > 3:
        sd3, sd2 = _value(3.0, L, M, S), _value(2.0, L, M, S)
        return 3.0 + (y - sd3) / (sd3 - sd2)
    if z < -3:
        sd3, sd2 = _value(-3.0, L, M, S), _value(-2.0, L, M, S)
        return -3.0 + (y - sd3) / (sd2 - sd3)
    return z


def _value_restricted(z: float, L: float, M: float, S: float) -> float:
    y = _value(z, L, M, S)
    if z > 3:
        sd3, sd2 = _value(3.0, L, M, S), _value(2.0, L, M, S)
        return sd3 + (z - 3.0) * (sd3 - sd2)
    if z < -3:
        sd3, sd2 = _value(-3.0, L, M, S), _value(-2.0, L, M, S)
        return sd3 + (z + 3.0) * (sd2 - sd3)
    return y


def _status(
    tab: ScalarTable,
    s: int,
    g: int | None,
    a: float,
    v: float,
    *,
    lo: float,
    hi: float,
    incl: bool,
    inverse: bool,
) -> int:
    """The array engine's status code of one element (precedence: sex, group, age, value)."""
    if s < 0:
        return int(Status.SEX_UNKNOWN)
    if g is not None:
        if g < 0:
            return int(Status.GROUP_UNKNOWN)
        seg = min(max(s + 2 * g, 0), len(tab.seg_present) - 1)
        if not tab.seg_present[seg]:
            return int(Status.GROUP_UNKNOWN)
    elif not tab.seg_present[min(s, 1)]:
        return int(Status.GROUP_UNKNOWN)
    if math.isnan(a):
        return int(Status.AGE_MISSING)
    if a < lo or (a > hi if incl else a >= hi):
        return int(Status.AGE_OUT_OF_RANGE)
    if inverse:
        if math.isnan(v):
            return int(Status.Z_MISSING)
        if math.isinf(v):
            return int(Status.Z_OUTSIDE_DISTRIBUTION)
    else:
        if not math.isfinite(v):
            return int(Status.VALUE_MISSING)
        if v <= 0:
            return int(Status.VALUE_NOT_POSITIVE)
    return _OK


def evaluate_small(
    tab: ScalarTable,
    codes: list[int],
    groups: list[int] | None,
    ages: list[float],
    values: list[float],
    *,
    years_to_table: float,
    lo: float,
    hi: float,
    incl: bool,
    restricted: bool,
    inverse: bool,
) -> tuple[list[float], list[int]] | None:
    """Results and status codes, or None where the array engine must decide."""
    fn: Callable[[float, float, float, float], float]
    if inverse:
        fn = _value_restricted if restricted else _value
    else:
        fn = _z_restricted if restricted else _z
    out: list[float] = []
    status: list[int] = []
    try:
        for i, (s, a_years, v) in enumerate(zip(codes, ages, values, strict=True)):
            group = None if groups is None else groups[i]
            a = a_years * years_to_table
            st = _status(tab, s, group, a, v, lo=lo, hi=hi, incl=incl, inverse=inverse)
            if st != _OK:
                out.append(math.nan)
                status.append(st)
                continue
            seg = s if group is None else s + 2 * group
            L, M, S = tab.lms(seg, a)
            res = fn(v, L, M, S)
            if inverse and math.isnan(res):
                st = int(Status.Z_OUTSIDE_DISTRIBUTION)
            out.append(res)
            status.append(st)
    except (ArithmeticError, ValueError):
        return None
    return out, status


def _ndtr(x: float) -> float:
    """The standard normal CDF as Cephes ``ndtr`` (SciPy) computes it, on :mod:`math`."""
    if math.isnan(x):
        return math.nan
    t = x * math.sqrt(0.5)
    z = abs(t)
    if z < math.sqrt(0.5):
        return 0.5 + 0.5 * math.erf(t)
    y = 0.5 * math.erfc(z)
    return 1.0 - y if t > 0 else y


def centile_small(z: list[float]) -> list[float]:
    """100 x standard normal CDF of each element (no SciPy import)."""
    return [_ndtr(v) * 100.0 for v in z]
