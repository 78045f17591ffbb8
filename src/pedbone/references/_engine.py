"""The Z-score engine: a loaded pack compiled into per-interval polynomials.

For every (measure, sex, group) the table is turned once into piecewise polynomials of L, M
and S in ``t = age - left edge`` (degree 0 for WHO's daily lookup, 1 for linear, 3 for cubic
Lagrange). A query finds its interval through a uniform bucket grid (bucket width = the
narrowest interval, so one correction step suffices), evaluates the polynomials by Horner's
rule and applies the LMS transform. Work is done in cache-sized chunks; no Python loop runs
per element.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from pedbone.references._lms import lms_value, lms_value_restricted, lms_z, lms_z_restricted
from pedbone.references._pack import MeasureInfo, PackMeta, PackTables
from pedbone.references._status import Status

__all__ = ["ReferencePack", "UnknownMeasureError", "ZScoreResult", "sex_codes"]

F64 = NDArray[np.float64]
CHUNK = 1 << 14

_MALE = {"M", "MALE", "1", "1.0", "BOY"}
_FEMALE = {"F", "FEMALE", "2", "2.0", "GIRL"}


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
    if arr.dtype.kind in "iuf":
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
        cp = arr.view(np.uint32)
        return np.where(cp < 128, table[np.minimum(cp, 127)], np.int8(-1)).astype(np.int8)
    if arr.dtype.kind in "US":
        uniq, inv = np.unique(arr, return_inverse=True)
        codes = np.array([_code_of(u) for u in uniq], dtype=np.int8)
        return codes[inv].reshape(arr.shape)
    flat = [_code_of(x) for x in arr.ravel().tolist()]
    return np.asarray(flat, dtype=np.int8).reshape(arr.shape)


@dataclass(frozen=True, slots=True)
class ZScoreResult:
    """Z-scores with their centiles (0-100) and a per-element :class:`Status` code."""

    z: F64
    centile: F64
    status: NDArray[np.int8]
    pack: str
    measure: str

    def ok(self) -> NDArray[np.bool_]:
        """True where a Z-score was computed."""
        return np.asarray(self.status == Status.OK)


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
    return _Compiled(
        degree=d1 - 1,
        left=np.concatenate(lefts),
        guard_lo=np.concatenate(lo_g),
        guard_hi=np.concatenate(hi_g),
        coef=np.ascontiguousarray(coef_all.reshape(n_int, 3 * d1).T),
        start=start,
        inv_h=1.0 / h,
        nb=nb,
        buckets=np.concatenate(bucket_parts),
        aligned=aligned,
        seg_present=np.asarray([p is not None for p in pieces]),
    )


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
    ) -> tuple[NDArray[np.intp], F64, F64, NDArray[np.int8], tuple[int, ...]]:
        s = sex_codes(sex)
        a = np.asarray(age_years, dtype=np.float64)
        v = np.asarray(x, dtype=np.float64)
        shape = np.broadcast_shapes(
            s.shape, a.shape, v.shape, np.shape(group) if group is not None else ()
        )
        g = self._group_index(group, shape)
        seg = np.where(
            (np.broadcast_to(s, shape) >= 0) & (g >= 0),
            g * 2 + np.broadcast_to(s, shape),
            -1,
        )
        sx = np.broadcast_to(s, shape)
        return (
            np.ascontiguousarray(seg).ravel(),
            np.ascontiguousarray(np.broadcast_to(a, shape), dtype=np.float64).ravel(),
            np.ascontiguousarray(np.broadcast_to(v, shape), dtype=np.float64).ravel(),
            np.ascontiguousarray(sx).ravel(),
            shape,
        )

    def _lms_chunk(self, comp: _Compiled, seg: NDArray[np.intp], a: F64) -> tuple[F64, F64, F64]:
        """L, M, S at table-unit ages ``a`` (all inside coverage) in segments ``seg``."""
        kf = a - comp.start
        kf *= comp.inv_h
        np.clip(kf, 0, comp.nb - 1, out=kf)
        k = kf.astype(np.intp)
        k += seg * comp.nb
        j = comp.buckets[k]
        if not comp.aligned:
            np.add(j, a >= comp.guard_hi[j], out=j, casting="unsafe")
            np.subtract(j, a < comp.guard_lo[j], out=j, casting="unsafe")
        d1 = comp.degree + 1
        coef = comp.coef
        if comp.degree == 0:
            return coef[0].take(j), coef[1].take(j), coef[2].take(j)
        t = a - comp.left.take(j)
        out = []
        for p in range(3):
            base = p * d1
            acc = coef[base + d1 - 1].take(j)
            for q in range(d1 - 2, -1, -1):
                acc *= t
                acc += coef[base + q].take(j)
            out.append(acc)
        return out[0], out[1], out[2]

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
        comp = self._compiled_for(measure)
        seg, a_years, v, sx, shape = self._prepare(sex, age_years, x, group)
        n = seg.size
        out = np.empty(n, dtype=np.float64)
        status = np.empty(n, dtype=np.int8)
        f = self.meta.years_to_table
        lo, hi, incl = info.age_min, info.age_max, info.age_max_inclusive
        present = comp.seg_present
        restricted = info.restricted_tails
        for start in range(0, n, CHUNK):
            sl = slice(start, start + CHUNK)
            sg, av, vv = seg[sl], a_years[sl], v[sl]
            a = av * f
            st = np.zeros(sg.shape, dtype=np.int8)
            if inverse:
                st[np.isinf(vv)] = Status.Z_OUTSIDE_DISTRIBUTION
                st[np.isnan(vv)] = Status.Z_MISSING
            else:
                st[vv <= 0] = Status.VALUE_NOT_POSITIVE
                st[np.isnan(vv)] = Status.VALUE_MISSING
            out_of = (a < lo) | ((a > hi) if incl else (a >= hi))
            st[out_of] = Status.AGE_OUT_OF_RANGE
            st[np.isnan(a)] = Status.AGE_MISSING
            bad_seg = sg < 0
            if bad_seg.any():
                st[bad_seg] = Status.GROUP_UNKNOWN
                st[sx[sl] < 0] = Status.SEX_UNKNOWN
            missing = ~present[np.maximum(sg, 0)] & ~bad_seg
            if missing.any():
                st[missing] = Status.GROUP_UNKNOWN
            ok = st == 0
            res = np.full(sg.shape, np.nan)
            if ok.all():
                L, M, S = self._lms_chunk(comp, sg, a)
                yv = vv
            elif ok.any():
                L, M, S = self._lms_chunk(comp, sg[ok], a[ok])
                yv = vv[ok]
            else:
                out[sl] = res
                status[sl] = st
                continue
            if inverse:
                r = (lms_value_restricted if restricted else lms_value)(yv, L, M, S)
                bad = np.isnan(r)
                if bad.any():
                    sub = st[ok] if not ok.all() else st
                    sub[bad] = Status.Z_OUTSIDE_DISTRIBUTION
                    if not ok.all():
                        st[ok] = sub
            else:
                r = (lms_z_restricted if restricted else lms_z)(yv, L, M, S)
            if ok.all():
                res = r
            else:
                res[ok] = r
            out[sl] = res
            status[sl] = st
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
        return ZScoreResult(
            z=z,
            centile=np.asarray(ndtr(z) * 100.0, dtype=np.float64),
            status=st.reshape(shape),
            pack=self.id,
            measure=measure,
        )

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
        return np.asarray(ndtr(z) * 100.0, dtype=np.float64)

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
        seg, a_years, _v, _sx, shape = self._prepare(sex, age_years, 0.0, group)
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
            "groups": list(self.meta.groups),
            "age_unit": self.meta.age_unit,
            "checksum": self.meta.checksum,
            "measures": {
                m: {
                    "title": i.title,
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
