"""The Z-score engine: a loaded pack compiled into per-interval polynomials.

For every (measure, sex, group) the table is turned once into piecewise polynomials of L, M
and S in ``t = age - left edge`` (degree 0 for WHO's daily lookup, 1 for linear, 3 for cubic
Lagrange). A query finds its interval through a uniform bucket grid (bucket width = the
narrowest interval, so one correction step suffices), evaluates the polynomials by Horner's
rule and applies the LMS transform. Where every table age lies on the bucket grid, each bucket
carries its own polynomial (re-expanded about the bucket edge), so no search is needed at all.
Work is done in cache-sized chunks, on several threads for large inputs; no Python loop runs
per element.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pedbone.references._lms import lms_value, lms_value_restricted, lms_z, lms_z_restricted
from pedbone.references._normal import ndtr
from pedbone.references._pack import MeasureInfo, PackMeta, PackTables
from pedbone.references._scalar import (
    SMALL,
    ScalarTable,
    centile_small,
    evaluate_small,
    small_inputs,
)
from pedbone.references._status import Status

__all__ = ["ReferencePack", "UnknownMeasureError", "ZScoreResult", "sex_codes"]

F64 = NDArray[np.float64]
CHUNK = 1 << 14
PARALLEL_MIN = 1 << 20

_MALE = frozenset({"M", "MALE", "1", "1.0", "BOY"})
_FEMALE = frozenset({"F", "FEMALE", "2", "2.0", "GIRL"})


def _centile(z: F64) -> F64:
    """100 x standard normal CDF, NumPy only (``scipy.special`` is slow to import). A handful
    of values use :mod:`math` (the scalar fast path)."""
    if z.size <= SMALL:
        flat = centile_small(np.ravel(z).tolist())
        return np.asarray(flat, dtype=np.float64).reshape(z.shape)
    return np.asarray(ndtr(z) * 100.0, dtype=np.float64)


class UnknownMeasureError(LookupError):
    """The pack has no such measure."""


def _code_of(x: Any) -> int:
    if x is None:
        return -1
    if isinstance(x, bytes):
        x = x.decode("utf-8", "replace")
    if isinstance(x, float) and x != x:
        return -1
    s = str(x).strip().upper()
    if s in _MALE:
        return 0
    if s in _FEMALE:
        return 1
    return -1


def sex_codes(sex: ArrayLike) -> NDArray[np.int8]:
    """Sex as int8 codes: 0 = male, 1 = female, -1 = missing/unknown.

    Accepts "M"/"F", "male"/"female" (any case, surrounding blanks ignored), 1/2 (numbers or
    strings). Fast paths for numeric and one-character string arrays.
    """
    arr = np.asarray(sex)
    if arr.dtype.kind in "iu":
        # 1 -> 0, 2 -> 1; anything else -> -1 (as uint8, anything but 0 and 1 is > 1)
        out = np.atleast_1d((np.clip(arr, 0, 3) - 1).astype(np.int8))
        out[out.view(np.uint8) > 1] = -1
        return out.reshape(arr.shape)
    if arr.dtype.kind == "f":
        out = np.full(arr.shape, -1, dtype=np.int8)
        out[arr == 1] = 0
        out[arr == 2] = 1
        return out
    if arr.dtype.kind == "b":
        raise TypeError("sex given as booleans; use 'M'/'F' or 1/2")
    if arr.dtype.kind == "U" and arr.dtype.itemsize == 4:
        table = np.full(128, -1, dtype=np.int8)
        for ch in "Mm1":
            table[ord(ch)] = 0
        for ch in "Ff2":
            table[ord(ch)] = 1
        # code points >= 127 all land on table[127] = -1 (DEL is no sex either)
        return table[np.minimum(arr.view(np.uint32), 127)]
    if arr.dtype.kind in "US":
        uniq, inv = np.unique(arr, return_inverse=True)
        codes = np.array([_code_of(u) for u in uniq], dtype=np.int8)
        return codes[inv].reshape(arr.shape)
    if arr.dtype.kind == "O":
        try:
            # None -> "None", 1 -> "1", 2.0 -> "2.0", nan -> "nan": the text rules apply
            return sex_codes(arr.astype(str))
        except (TypeError, ValueError):
            pass
    flat = [_code_of(x) for x in arr.ravel().tolist()]
    return np.asarray(flat, dtype=np.int8).reshape(arr.shape)


class ZScoreResult:
    """Z-scores with their centiles (0-100) and a per-element :class:`Status` code.

    ``centile`` (100 x standard normal CDF of ``z``) is computed on first access, so callers
    that only need Z-scores do not pay for it.
    """

    __slots__ = ("_centile", "measure", "pack", "status", "z")

    def __init__(self, z: F64, status: NDArray[np.int8], pack: str, measure: str) -> None:
        self.z = z
        self.status = status
        self.pack = pack
        self.measure = measure
        self._centile: F64 | None = None

    @property
    def centile(self) -> F64:
        """Centiles 0-100 (NaN where ``z`` is NaN)."""
        if self._centile is None:
            self._centile = _centile(self.z)
        return self._centile

    def ok(self) -> NDArray[np.bool_]:
        """True where a Z-score was computed."""
        return np.asarray(self.status == Status.OK)

    def __repr__(self) -> str:
        return (
            f"ZScoreResult(pack={self.pack!r}, measure={self.measure!r}, z={self.z!r}, "
            f"status={self.status!r})"
        )


@dataclass(slots=True)
class _Compiled:
    """Piecewise-polynomial form of one measure across all (sex, group) segments.

    Buckets: segment ``s`` owns ``buckets[s * nb : (s + 1) * nb]``; bucket ``k`` covers ages
    ``[start + k h, start + (k + 1) h)`` with ``h`` = the narrowest interval, so each bucket
    holds at most one interval edge and one correction step finds the interval. When every
    edge lies on the bucket grid (``aligned``), no correction is needed.
    """

    degree: int
    left: F64  # interval left edges (for t)
    guard_lo: F64  # left edge, -inf for a segment's first interval
    guard_hi: F64  # right edge, +inf for a segment's last interval
    coef: F64  # (3 * (degree + 1), n_intervals): L c0..cd, M c0..cd, S c0..cd
    start: float
    inv_h: float
    nb: int
    buckets: NDArray[np.intp]
    aligned: bool
    seg_present: NDArray[np.bool_]
    bcoef: F64 | None = None  # aligned grids: per-bucket coefficients in u = bucket fraction


def _segment_pieces(interp: str, rows: F64) -> tuple[F64, F64, NDArray[np.float64]]:
    """(left edges, right edges, coefficients (n_int, 3, d+1)) for one segment."""
    a = rows[:, 0]
    P = rows[:, 1:4]
    n = len(a)
    if interp == "nearest_round_half_up":
        mid = (a[:-1] + a[1:]) / 2.0
        left = np.concatenate([[a[0] - (a[1] - a[0]) / 2.0], mid])
        right = np.concatenate([mid, [a[-1] + (a[-1] - a[-2]) / 2.0]])
        return left, right, P[:, :, None].copy()
    left, right = a[:-1].copy(), a[1:].copy()
    if interp == "linear":
        slope = (P[1:] - P[:-1]) / (right - left)[:, None]
        return left, right, np.stack([P[:-1], slope], axis=2)
    # lagrange4: cubic through the 4 nearest table points; polynomial in t = age - a[j]
    coef = np.empty((n - 1, 3, 4))
    for j in range(n - 1):
        k0 = min(max(j - 1, 0), n - 4)
        x = a[k0 : k0 + 4] - a[j]
        for p in range(3):
            coef[j, p] = np.polynomial.polynomial.polyfit(x, P[k0 : k0 + 4, p], 3)
    return left, right, coef


def _compile(info: MeasureInfo, segs: list[F64 | None]) -> _Compiled:
    pieces = [None if rows is None else _segment_pieces(info.interpolation, rows) for rows in segs]
    present = [p for p in pieces if p is not None]
    h = min(float(np.min(r - lft)) for lft, r, _c in present)
    start = min(float(lft[0]) for lft, _r, _c in present)
    stop = max(float(r[-1]) for _l, r, _c in present)
    nb = int(np.floor((stop - start) / h)) + 2
    edges = start + np.arange(nb) * h
    lefts, lo_g, hi_g, coefs, bucket_parts = [], [], [], [], []
    n_int = 0
    aligned = True
    for piece in pieces:
        if piece is None:
            bucket_parts.append(np.zeros(nb, dtype=np.intp))
            continue
        left, right, coef = piece
        m = len(left)
        grid = (left - start) / h
        aligned = aligned and bool(np.all(np.abs(grid - np.round(grid)) < 1e-9))
        gl = left.copy()
        gl[0] = -np.inf
        gh = right.copy()
        gh[-1] = np.inf
        lefts.append(left)
        lo_g.append(gl)
        hi_g.append(gh)
        coefs.append(coef)
        idx = np.clip(np.searchsorted(left, edges + h * 1e-9, side="right") - 1, 0, m - 1)
        bucket_parts.append(idx.astype(np.intp) + n_int)
        n_int += m
    coef_all = np.concatenate(coefs, axis=0)  # (n_int, 3, d+1)
    d1 = coef_all.shape[2]
    buckets = np.concatenate(bucket_parts)
    left_all = np.concatenate(lefts)
    bcoef = None
    if aligned:
        # Re-expand each bucket's polynomial about the bucket's own left edge, in units of the
        # bucket width: q(u) = p(d + h u), d = bucket edge - interval edge. Then a query needs
        # only its bucket index and fraction u (no interval search, no edge lookup).
        edge = np.tile(edges, len(pieces))
        d = edge - left_all[buckets]
        c = coef_all[buckets]  # (n_buckets, 3, d1)
        q = np.zeros_like(c)
        for i in range(d1):
            for m in range(i, d1):
                q[:, :, i] += math.comb(m, i) * c[:, :, m] * (d ** (m - i))[:, None]
            q[:, :, i] *= h**i
        bcoef = np.ascontiguousarray(q.reshape(len(buckets), 3 * d1).T)
    return _Compiled(
        degree=d1 - 1,
        left=np.concatenate(lefts),
        guard_lo=np.concatenate(lo_g),
        guard_hi=np.concatenate(hi_g),
        coef=np.ascontiguousarray(coef_all.reshape(n_int, 3 * d1).T),
        start=start,
        inv_h=1.0 / h,
        nb=nb,
        buckets=buckets,
        aligned=aligned,
        seg_present=np.asarray([p is not None for p in pieces]),
        bcoef=bcoef,
    )


def _threads() -> int:
    env = os.environ.get("PEDBONE_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            return 1
    return min(os.cpu_count() or 1, 8)


def _parallel(work: Callable[[int, int], None], n: int) -> None:
    """Run ``work(first, last)`` over [0, n) in contiguous blocks of whole chunks, on several
    threads for large inputs (NumPy releases the GIL inside its loops). Blocks write disjoint
    output slices. ``PEDBONE_THREADS=1`` forces one thread."""
    threads = _threads() if n >= PARALLEL_MIN else 1
    if threads <= 1:
        work(0, n)
        return
    chunks = -(-n // CHUNK)
    per = -(-chunks // threads) * CHUNK
    bounds = [(i, min(i + per, n)) for i in range(0, n, per)]
    with ThreadPoolExecutor(max_workers=len(bounds)) as pool:
        for fut in [pool.submit(work, lo, hi) for lo, hi in bounds]:
            fut.result()


class ReferencePack:
    """A loaded reference pack: LMS tables plus metadata, evaluated lazily per measure.

    Get one with :func:`pedbone.reference`. All array arguments broadcast against each other
    (scalars allowed); results have the broadcast shape.
    """

    def __init__(self, meta: PackMeta, tables: PackTables, *, builtin: bool) -> None:
        self.meta = meta
        self.builtin = builtin
        self._tables = tables
        self._compiled: dict[str, _Compiled] = {}
        self._scalar: dict[str, ScalarTable] = {}
        self._groups = {g.lower(): i for i, g in enumerate(meta.groups)}

    # --- metadata -------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """Pack id, e.g. ``cdc2000``."""
        return self.meta.id

    @property
    def title(self) -> str:
        """Human-readable title."""
        return self.meta.title

    @property
    def measures(self) -> tuple[str, ...]:
        """Measure ids in this pack."""
        return tuple(self.meta.measures)

    @property
    def groups(self) -> tuple[str, ...]:
        """Population groups (empty if the pack has none)."""
        return self.meta.groups

    def info(self, measure: str) -> MeasureInfo:
        """Metadata of one measure (unit, coverage, interpolation and its source)."""
        try:
            return self.meta.measures[measure]
        except KeyError:
            raise UnknownMeasureError(
                f"pack {self.id!r} has no measure {measure!r}; it has: {', '.join(self.measures)}"
            ) from None

    def table_ages(self, measure: str) -> F64:
        """All distinct table ages of ``measure`` (in the table's age unit), sorted."""
        self.info(measure)
        ages = [rows[:, 0] for (m, _s, _g), rows in self._tables.rows.items() if m == measure]
        return np.unique(np.concatenate(ages))

    def coverage_years(self, measure: str) -> tuple[float, float]:
        """(first, last) age in years with a Z-score for ``measure``."""
        info = self.info(measure)
        f = self.meta.years_to_table
        return info.age_min / f, info.age_max / f

    def __repr__(self) -> str:
        return f"<ReferencePack {self.id}: {self.title}>"

    # --- engine ---------------------------------------------------------------------------
    def _compiled_for(self, measure: str) -> _Compiled:
        comp = self._compiled.get(measure)
        if comp is None:
            info = self.info(measure)
            groups = self.meta.groups or ("",)
            segs = [self._tables.rows.get((measure, sex, g)) for g in groups for sex in ("M", "F")]
            comp = _compile(info, segs)
            self._compiled[measure] = comp
        return comp

    def _scalar_for(self, measure: str) -> ScalarTable:
        tab = self._scalar.get(measure)
        if tab is None:
            tab = ScalarTable.of(self._compiled_for(measure))
            self._scalar[measure] = tab
        return tab

    def warm(self) -> None:
        """Compile every measure now (both engines), so the first query pays no set-up."""
        for measure in self.measures:
            self._scalar_for(measure)

    def _run_small(
        self,
        info: MeasureInfo,
        measure: str,
        sex: ArrayLike,
        age_years: ArrayLike,
        x: ArrayLike,
        group: ArrayLike | None,
        *,
        inverse: bool,
    ) -> tuple[F64, NDArray[np.int8], tuple[int, ...]] | None:
        """The scalar fast path (see :mod:`pedbone.references._scalar`); None: not taken."""
        parsed = small_inputs(
            sex,
            age_years,
            x,
            group,
            male=_MALE,
            female=_FEMALE,
            group_codes=self._groups if self.meta.groups else None,
        )
        if parsed is None:
            return None
        codes, groups, ages, values, shape = parsed
        done = evaluate_small(
            self._scalar_for(measure),
            codes,
            groups,
            ages,
            values,
            years_to_table=self.meta.years_to_table,
            lo=info.age_min,
            hi=info.age_max,
            incl=info.age_max_inclusive,
            restricted=info.restricted_tails,
            inverse=inverse,
        )
        if done is None:
            return None
        out, status = done
        return np.array(out, dtype=np.float64), np.array(status, dtype=np.int8), shape

    def _group_index(self, group: ArrayLike | None, shape: tuple[int, ...]) -> NDArray[np.int64]:
        if not self.meta.groups:
            if group is not None:
                raise ValueError(f"pack {self.id!r} has no population groups; pass group=None")
            return np.zeros(shape, dtype=np.int64)
        if group is None:
            return np.full(shape, -1, dtype=np.int64)
        arr = np.asarray(group)
        uniq, inv = np.unique(arr.astype(str), return_inverse=True)
        codes = np.array([self._groups.get(str(u).strip().lower(), -1) for u in uniq])
        return np.broadcast_to(codes[inv].reshape(arr.shape), shape).astype(np.int64)

    def _prepare(
        self, sex: ArrayLike, age_years: ArrayLike, x: ArrayLike, group: ArrayLike | None
    ) -> tuple[NDArray[np.int8], NDArray[np.int8] | None, F64, F64, tuple[int, ...]]:
        """Flat, contiguous sex codes, group codes (None without groups), ages and values."""
        s = sex_codes(sex)
        a = np.asarray(age_years, dtype=np.float64)
        v = np.asarray(x, dtype=np.float64)
        gshape = np.shape(group) if group is not None else ()
        shape = np.broadcast_shapes(s.shape, a.shape, v.shape, gshape)
        g = None
        if self.meta.groups or group is not None:
            g = self._group_index(group, shape).astype(np.int8)
            g = np.ascontiguousarray(g).ravel()

        def flat(arr: NDArray[Any]) -> NDArray[Any]:
            return np.ascontiguousarray(np.broadcast_to(arr, shape)).ravel()

        return flat(s), g, flat(a), flat(v), shape

    def _lms_chunk(self, comp: _Compiled, seg: NDArray[np.intp], a: F64) -> tuple[F64, F64, F64]:
        """L, M, S at table-unit ages ``a`` (all inside coverage) in segments ``seg``."""
        kf = a - comp.start
        kf *= comp.inv_h
        np.clip(kf, 0, comp.nb - 1, out=kf)
        k = kf.astype(np.intp)
        d1 = comp.degree + 1
        if comp.bcoef is not None:
            bc = comp.bcoef
            k += seg * comp.nb
            if comp.degree == 0:
                return bc[0][k], bc[1][k], bc[2][k]
            u = kf
            u -= np.floor(kf)
            res = []
            for p in range(3):
                base = p * d1
                acc = bc[base + d1 - 1][k]
                for q in range(d1 - 2, -1, -1):
                    acc *= u
                    acc += bc[base + q][k]
                res.append(acc)
            return res[0], res[1], res[2]
        k += seg * comp.nb
        j = comp.buckets[k]
        if not comp.aligned:
            np.add(j, a >= comp.guard_hi[j], out=j, casting="unsafe")
            np.subtract(j, a < comp.guard_lo[j], out=j, casting="unsafe")
        coef = comp.coef
        if comp.degree == 0:
            return coef[0][j], coef[1][j], coef[2][j]
        t = a - comp.left[j]
        out = []
        for p in range(3):
            base = p * d1
            acc = coef[base + d1 - 1][j]
            for q in range(d1 - 2, -1, -1):
                acc *= t
                acc += coef[base + q][j]
            out.append(acc)
        return out[0], out[1], out[2]

    def _detail_status(
        self,
        info: MeasureInfo,
        comp: _Compiled,
        s: NDArray[np.int8],
        g: NDArray[np.int8] | None,
        a: F64,
        v: F64,
        *,
        inverse: bool,
    ) -> NDArray[np.int8]:
        """Status codes for elements known to be not OK (precedence: sex, group, age, value)."""
        st = np.zeros(s.shape, dtype=np.int8)
        with np.errstate(invalid="ignore"):
            if inverse:
                st[np.isinf(v)] = Status.Z_OUTSIDE_DISTRIBUTION
                st[np.isnan(v)] = Status.Z_MISSING
            else:
                st[v <= 0] = Status.VALUE_NOT_POSITIVE
                st[~np.isfinite(v)] = Status.VALUE_MISSING
            hi_out = (a > info.age_max) if info.age_max_inclusive else (a >= info.age_max)
            st[(a < info.age_min) | hi_out] = Status.AGE_OUT_OF_RANGE
        st[np.isnan(a)] = Status.AGE_MISSING
        if g is not None:
            seg = s.astype(np.intp) + 2 * g.astype(np.intp)
            absent = (g < 0) | ~comp.seg_present[np.clip(seg, 0, comp.seg_present.size - 1)]
            st[absent] = Status.GROUP_UNKNOWN
        elif not comp.seg_present.all():
            st[~comp.seg_present[np.clip(s, 0, 1)]] = Status.GROUP_UNKNOWN
        st[s < 0] = Status.SEX_UNKNOWN
        return st

    def _run(
        self,
        measure: str,
        sex: ArrayLike,
        age_years: ArrayLike,
        x: ArrayLike,
        group: ArrayLike | None,
        *,
        inverse: bool,
    ) -> tuple[F64, NDArray[np.int8], tuple[int, ...]]:
        info = self.info(measure)
        small = self._run_small(info, measure, sex, age_years, x, group, inverse=inverse)
        if small is not None:
            return small
        return self._run_arrays(info, measure, sex, age_years, x, group, inverse=inverse)

    def _run_arrays(
        self,
        info: MeasureInfo,
        measure: str,
        sex: ArrayLike,
        age_years: ArrayLike,
        x: ArrayLike,
        group: ArrayLike | None,
        *,
        inverse: bool,
    ) -> tuple[F64, NDArray[np.int8], tuple[int, ...]]:
        """The array engine (the one definition of every edge case)."""
        comp = self._compiled_for(measure)
        sx, gx, a_years, v, shape = self._prepare(sex, age_years, x, group)
        n = sx.size
        out = np.empty(n, dtype=np.float64)
        status = np.zeros(n, dtype=np.int8)
        f = self.meta.years_to_table
        lo, hi, incl = info.age_min, info.age_max, info.age_max_inclusive
        all_present = bool(comp.seg_present.all())
        fn: Callable[[F64, F64, F64, F64], F64]
        if inverse:
            fn = lms_value_restricted if info.restricted_tails else lms_value
        else:
            fn = lms_z_restricted if info.restricted_tails else lms_z

        def work(first: int, last: int) -> None:
            for start in range(first, last, CHUNK):
                sl = slice(start, min(start + CHUNK, last))
                s, vv = sx[sl], v[sl]
                g = gx[sl] if gx is not None else None
                a = a_years[sl] * f
                # one pass of cheap tests; NaN fails every comparison, so it lands in ~good
                good = a >= lo
                good &= (a <= hi) if incl else (a < hi)
                good &= np.isfinite(vv)
                if not inverse:
                    good &= vv > 0
                good &= s >= 0
                seg = s.astype(np.intp)
                if g is not None:
                    good &= g >= 0
                    seg += 2 * g
                if not all_present:
                    good &= comp.seg_present[np.clip(seg, 0, comp.seg_present.size - 1)]
                if good.all():
                    L, M, S = self._lms_chunk(comp, seg, a)
                    res = fn(vv, L, M, S)
                else:
                    bad = ~good
                    status[sl][bad] = self._detail_status(
                        info,
                        comp,
                        s[bad],
                        None if g is None else g[bad],
                        a[bad],
                        vv[bad],
                        inverse=inverse,
                    )
                    res = np.full(s.shape, np.nan)
                    if good.any():
                        L, M, S = self._lms_chunk(comp, seg[good], a[good])
                        res[good] = fn(vv[good], L, M, S)
                if inverse:
                    undefined = np.isnan(res)
                    if undefined.any():
                        st = status[sl]
                        st[undefined & (st == 0)] = Status.Z_OUTSIDE_DISTRIBUTION
                out[sl] = res

        _parallel(work, n)
        return out, status, shape

    # --- public API -----------------------------------------------------------------------
    def evaluate(
        self,
        measure: str,
        *,
        sex: ArrayLike,
        age_years: ArrayLike,
        value: ArrayLike,
        group: ArrayLike | None = None,
    ) -> ZScoreResult:
        """Z-score, centile (0-100) and a :class:`Status` code per element.

        Elements that cannot be scored (unknown sex, age outside coverage, missing or
        non-positive value, ...) get NaN and a non-zero status; nothing is extrapolated.
        """
        z, st, shape = self._run(measure, sex, age_years, value, group, inverse=False)
        z = z.reshape(shape)
        return ZScoreResult(z=z, status=st.reshape(shape), pack=self.id, measure=measure)

    def zscore(
        self,
        measure: str,
        *,
        sex: ArrayLike,
        age_years: ArrayLike,
        value: ArrayLike,
        group: ArrayLike | None = None,
    ) -> F64:
        """Z-scores (NaN where :meth:`evaluate` gives a non-zero status)."""
        z, _st, shape = self._run(measure, sex, age_years, value, group, inverse=False)
        return z.reshape(shape)

    def centile(
        self,
        measure: str,
        *,
        sex: ArrayLike,
        age_years: ArrayLike,
        value: ArrayLike,
        group: ArrayLike | None = None,
    ) -> F64:
        """Centiles, 0-100 (100 x the standard normal CDF of the Z-score)."""
        z = self.zscore(measure, sex=sex, age_years=age_years, value=value, group=group)
        return _centile(z)

    def value(
        self,
        measure: str,
        *,
        sex: ArrayLike,
        age_years: ArrayLike,
        z: ArrayLike,
        group: ArrayLike | None = None,
    ) -> F64:
        """Inverse: the measurement at Z-score ``z`` (e.g. z=0 gives the median M)."""
        y, _st, shape = self._run(measure, sex, age_years, z, group, inverse=True)
        return y.reshape(shape)

    def lms(
        self,
        measure: str,
        *,
        sex: ArrayLike,
        age_years: ArrayLike,
        group: ArrayLike | None = None,
    ) -> tuple[F64, F64, F64]:
        """The interpolated L, M, S (NaN where the age/sex/group is not covered)."""
        info = self.info(measure)
        comp = self._compiled_for(measure)
        sx, gx, a_years, _v, shape = self._prepare(sex, age_years, 0.0, group)
        seg = sx.astype(np.intp)
        if gx is not None:
            seg = np.where(gx >= 0, seg + 2 * gx.astype(np.intp), -1)
        seg[sx < 0] = -1
        a = a_years * self.meta.years_to_table
        with np.errstate(invalid="ignore"):
            inside = (a >= info.age_min) & (
                (a <= info.age_max) if info.age_max_inclusive else (a < info.age_max)
            )
        ok = inside & (seg >= 0)
        ok &= comp.seg_present[np.maximum(seg, 0)]
        outs = [np.full(seg.shape, np.nan) for _ in range(3)]
        if ok.any():
            vals = self._lms_chunk(comp, seg[ok], a[ok])
            for o, v in zip(outs, vals, strict=True):
                o[ok] = v
        return outs[0].reshape(shape), outs[1].reshape(shape), outs[2].reshape(shape)

    def describe(self) -> Mapping[str, Any]:
        """Metadata as a plain mapping (for display and JSON)."""
        f = self.meta.years_to_table
        return {
            "id": self.id,
            "title": self.title,
            "builtin": self.builtin,
            "synthetic": self.meta.synthetic,
            "citation": dict(self.meta.citation),
            "licence": self.meta.licence,
            "population": self.meta.population,
            "manufacturer": self.meta.manufacturer,
            "scanner": self.meta.scanner,
            "notes": self.meta.raw.get("notes"),
            "groups": list(self.meta.groups),
            "age_unit": self.meta.age_unit,
            "checksum": self.meta.checksum,
            "measures": {
                m: {
                    "title": i.title,
                    "site": i.site,
                    "quantity": i.quantity,
                    "unit": i.unit,
                    "age_years": [i.age_min / f, i.age_max / f],
                    "age_max_inclusive": i.age_max_inclusive,
                    "interpolation": i.interpolation,
                    "interpolation_source": i.interpolation_source,
                    "restricted_tails": i.restricted_tails,
                }
                for m, i in self.meta.measures.items()
            },
            "haz_adjustment": (
                {
                    "haz_reference": self.meta.haz_reference,
                    "source": self.meta.haz_source,
                    "equations": len(self.meta.haz_equations),
                }
                if self.meta.haz_equations
                else None
            ),
        }
