"""Size adjustment of DXA Z-scores for short stature or delayed growth [S3].

Three methods, each reported with what was used:

- ``bmad``: bone mineral apparent density, spine BMC / area^1.5 [S13], femoral neck
  BMC / area^2 [KATZMAN1991], scored against a pack's ``<site>_bmad`` measure;
- ``haz_adjusted``: height-for-age-Z-adjusted Z-score (Zemel 2010 method [S11]); the
  adjustment equation is *data* in the DXA pack (``haz_adjustment``), never coded here;
- ``height_age``: the Z-score at the child's height-age (the age at which the child's height is
  the median of the HAZ reference).

The HAZ reference is CDC 2000 by default [CDC2000].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pedbone.references._engine import ReferencePack, UnknownMeasureError, sex_codes
from pedbone.references._registry import reference
from pedbone.references._status import Status

__all__ = [
    "BMAD_EXPONENT",
    "SizeAdjustedZ",
    "bmad",
    "bmad_zscore",
    "haz_adjusted_zscore",
    "height_age",
    "height_age_zscore",
]

F64 = NDArray[np.float64]
DEFAULT_HAZ_REFERENCE = "cdc2000"
Method = Literal["bmad", "haz_adjusted", "height_age"]

#: area exponent of BMAD by site: spine [S13], femoral neck [KATZMAN1991]
BMAD_EXPONENT: dict[str, float] = {"spine": 1.5, "femoral_neck": 2.0}


@dataclass(frozen=True, slots=True)
class SizeAdjustedZ:
    """A size-adjusted Z-score with what was done to get it."""

    z: F64
    status: NDArray[np.int8]
    method: Method
    pack: str
    measure: str
    haz_reference: str | None = None
    haz: F64 | None = None
    height_age_years: F64 | None = None
    adjusted_value: F64 | None = None

    @property
    def description(self) -> str:
        """One line for reports: method, measure, pack and HAZ reference."""
        if self.method == "bmad":
            return f"BMAD Z-score ({self.measure}, reference {self.pack})"
        if self.method == "haz_adjusted":
            return (
                f"HAZ-adjusted Z-score ({self.measure}, reference {self.pack}, "
                f"HAZ from {self.haz_reference})"
            )
        return (
            f"height-age Z-score ({self.measure}, reference {self.pack}, "
            f"height-age from {self.haz_reference})"
        )


def bmad(bmc: ArrayLike, area: ArrayLike, *, site: str) -> F64:
    """Bone mineral apparent density (g/cm3) = BMC (g) / area (cm2)^k with k = 1.5 for the
    spine [S13] and 2 for the femoral neck [KATZMAN1991]. NaN where BMC or area <= 0 or NaN."""
    try:
        k = BMAD_EXPONENT[site]
    except KeyError:
        raise ValueError(
            f"BMAD is defined for sites {', '.join(BMAD_EXPONENT)}, not {site!r}"
        ) from None
    b = np.asarray(bmc, dtype=np.float64)
    a = np.asarray(area, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = b / a**k
        out = np.where((b > 0) & (a > 0), out, np.nan)
    return np.asarray(out, dtype=np.float64)


def bmad_zscore(
    pack: ReferencePack | str,
    site: str,
    *,
    sex: ArrayLike,
    age_years: ArrayLike,
    bmc: ArrayLike,
    area: ArrayLike,
    group: ArrayLike | None = None,
) -> SizeAdjustedZ:
    """BMAD from BMC and area, scored against the pack's ``<site>_bmad`` LMS table."""
    ref = reference(pack) if isinstance(pack, str) else pack
    measure = f"{site}_bmad"
    if measure not in ref.measures:
        raise UnknownMeasureError(
            f"pack {ref.id!r} has no {measure!r} table, so no BMAD Z-score; it has: "
            f"{', '.join(ref.measures)}"
        )
    v = bmad(bmc, area, site=site)
    res = ref.evaluate(measure, sex=sex, age_years=age_years, value=v, group=group)
    return SizeAdjustedZ(
        z=res.z, status=res.status, method="bmad", pack=ref.id, measure=measure, adjusted_value=v
    )


def _haz_ref_id(ref: ReferencePack, haz_reference: str | None) -> str:
    return haz_reference or ref.meta.haz_reference or DEFAULT_HAZ_REFERENCE


def haz_adjusted_zscore(
    pack: ReferencePack | str,
    measure: str,
    *,
    sex: ArrayLike,
    age_years: ArrayLike,
    value: ArrayLike,
    height: ArrayLike | None = None,
    haz: ArrayLike | None = None,
    group: ArrayLike | None = None,
    haz_reference: str | None = None,
) -> SizeAdjustedZ:
    """HAZ-adjusted Z-score (Zemel 2010 method [S11]): Z minus the pack's predicted Z for the
    child's HAZ and age, divided by the equation's residual SD.

    Give ``height`` (cm; HAZ is computed from ``haz_reference``, default the pack's
    ``haz_reference`` or CDC 2000) or a precomputed ``haz``. Elements without an equation for
    their (measure, sex, group) get NaN and ``Status.NO_ADJUSTMENT``.
    """
    ref = reference(pack) if isinstance(pack, str) else pack
    ref.info(measure)
    if (height is None) == (haz is None):
        raise ValueError("give exactly one of height (cm) or haz")
    hid = _haz_ref_id(ref, haz_reference)
    small = _haz_adjusted_one(ref, measure, hid, sex, age_years, value, height, haz, group)
    if small is not None:
        return small
    base = ref.evaluate(measure, sex=sex, age_years=age_years, value=value, group=group)
    shape = base.z.shape
    age = np.broadcast_to(np.asarray(age_years, dtype=np.float64), shape)
    if height is not None:
        hres = reference(hid).evaluate("height", sex=sex, age_years=age_years, value=height)
        h = np.broadcast_to(hres.z, shape)
        hstatus = np.broadcast_to(hres.status, shape)
    else:
        h = np.broadcast_to(np.asarray(haz, dtype=np.float64), shape)
        hstatus = np.where(np.isnan(h), np.int8(Status.VALUE_MISSING), np.int8(0))
    sx = np.broadcast_to(sex_codes(sex), shape)
    grp = (
        np.broadcast_to(np.char.lower(np.asarray(group).astype(str)), shape)
        if group is not None
        else None
    )
    pred = np.full(shape, np.nan)
    rsd = np.full(shape, np.nan)
    for eq in ref.meta.haz_equations:
        if eq.measure != measure:
            continue
        mask = sx == (0 if eq.sex == "M" else 1)
        with np.errstate(invalid="ignore"):
            mask = mask & (age >= eq.age_min) & (age < eq.age_max)
        if eq.group is not None:
            if grp is None:
                continue
            mask = mask & (grp == eq.group.lower())
        if mask.any():
            pred[mask] = eq.predict(h[mask], age[mask])
            rsd[mask] = eq.residual_sd
    z = (base.z - pred) / rsd
    status = base.status.copy()
    no_eq = (status == Status.OK) & np.isnan(rsd)
    status[no_eq] = Status.NO_ADJUSTMENT
    bad_haz = (status == Status.OK) & (hstatus != Status.OK)
    status[bad_haz] = hstatus[bad_haz]
    z = np.where(status == Status.OK, z, np.nan)
    return SizeAdjustedZ(
        z=np.asarray(z, dtype=np.float64),
        status=status,
        method="haz_adjusted",
        pack=ref.id,
        measure=measure,
        haz_reference=hid if height is not None else "given",
        haz=np.asarray(h, dtype=np.float64),
    )


def _one(x: Any) -> tuple[Any, bool] | None:
    """(the element, was it a one-element list) for a scalar or one-element list/tuple."""
    if isinstance(x, (list, tuple)):
        return (x[0], True) if len(x) == 1 else None
    if isinstance(x, np.ndarray):
        return None
    return x, False


def _haz_prediction(
    ref: ReferencePack, measure: str, sx: int, age: float, grp: str | None, h: float
) -> tuple[float, float]:
    """(predicted Z, residual SD) of the last matching equation, as the array code picks it;
    (NaN, NaN) when none matches."""
    pred, rsd = math.nan, math.nan
    for eq in ref.meta.haz_equations:
        if eq.measure != measure or sx != (0 if eq.sex == "M" else 1):
            continue
        if not (age >= eq.age_min and age < eq.age_max):
            continue
        if eq.group is not None and (grp is None or grp != eq.group.lower()):
            continue
        pred = float(eq.predict(np.asarray([h]), np.asarray([age]))[0])
        rsd = eq.residual_sd
    return pred, rsd


def _haz_adjusted_one(
    ref: ReferencePack,
    measure: str,
    hid: str,
    sex: Any,
    age_years: Any,
    value: Any,
    height: Any,
    haz: Any,
    group: Any,
) -> SizeAdjustedZ | None:
    """:func:`haz_adjusted_zscore` for one child (scalars or one-element lists: the clinic
    page), without the array set-up; the same operations, so the same results. None: not one
    element (or something unusual): the array code decides."""
    parts = [_one(x) for x in (sex, age_years, value, height if haz is None else haz)]
    gpart = None if group is None else _one(group)
    if any(p is None for p in parts) or (group is not None and gpart is None):
        return None
    listed = [p[1] for p in parts if p is not None] + ([gpart[1]] if gpart else [])
    if any(listed) and not all(listed):
        return None  # mixed shapes: leave the broadcasting rules to the array code
    shape: tuple[int, ...] = (1,) if all(listed) else ()
    base = ref.evaluate(measure, sex=sex, age_years=age_years, value=value, group=group)
    try:
        age = float(parts[1][0])  # type: ignore[index]
    except (TypeError, ValueError):
        return None
    if base.z.shape != shape:
        return None
    if haz is None:
        hres = reference(hid).evaluate("height", sex=sex, age_years=age_years, value=height)
        if hres.z.shape != shape:
            return None
        h, hstatus = float(hres.z.reshape(-1)[0]), int(hres.status.reshape(-1)[0])
    else:
        try:
            h = float(parts[3][0])  # type: ignore[index]
        except (TypeError, ValueError):
            return None
        hstatus = int(Status.VALUE_MISSING) if math.isnan(h) else 0
    sx = int(sex_codes(parts[0][0]).reshape(-1)[0])  # type: ignore[index]
    grp = None if gpart is None else str(gpart[0]).lower()
    pred, rsd = _haz_prediction(ref, measure, sx, age, grp, h)
    status = int(base.status.reshape(-1)[0])
    if status == Status.OK and math.isnan(rsd):
        status = int(Status.NO_ADJUSTMENT)
    if status == Status.OK and hstatus != Status.OK:
        status = hstatus
    z = math.nan
    if status == Status.OK:
        try:
            z = (float(base.z.reshape(-1)[0]) - pred) / rsd
        except ZeroDivisionError:
            return None
    return SizeAdjustedZ(
        z=np.full(shape, z, dtype=np.float64),
        status=np.full(shape, status, dtype=np.int8),
        method="haz_adjusted",
        pack=ref.id,
        measure=measure,
        haz_reference=hid if haz is None else "given",
        haz=np.full(shape, h, dtype=np.float64),
    )


def height_age(
    height: ArrayLike, *, sex: ArrayLike, haz_reference: str = DEFAULT_HAZ_REFERENCE
) -> tuple[F64, NDArray[np.int8]]:
    """The age (years) at which ``height`` (cm) is the median height of the reference.

    Inverts the reference's median curve M(age) per sex on its table ages plus a dense grid
    (exact for linearly interpolated tables). Heights outside the median curve's range give
    NaN and ``Status.HEIGHT_AGE_OUT_OF_RANGE``.
    """
    ref = reference(haz_reference)
    lo, hi = ref.coverage_years("height")
    f = ref.meta.years_to_table
    knots = np.unique(np.concatenate([ref.table_ages("height") / f, np.linspace(lo, hi, 2001)]))
    grid = knots[(knots >= lo) & (knots <= hi)]
    if not ref.info("height").age_max_inclusive:
        grid = grid[grid < hi]
    hgt = np.asarray(height, dtype=np.float64)
    sx = sex_codes(sex)
    shape = np.broadcast_shapes(hgt.shape, sx.shape)
    hgt = np.broadcast_to(hgt, shape)
    sx = np.broadcast_to(sx, shape)
    out = np.full(shape, np.nan)
    status = np.zeros(shape, dtype=np.int8)
    status[np.isnan(hgt)] = Status.VALUE_MISSING
    status[sx < 0] = Status.SEX_UNKNOWN
    for code, label in ((0, "M"), (1, "F")):
        _L, M, _S = ref.lms("height", sex=label, age_years=grid)
        # first age at which the median reaches the height: keep the strictly rising part
        keep = np.concatenate([[True], np.diff(np.maximum.accumulate(M)) > 0])
        m, g = M[keep], grid[keep]
        sel = (sx == code) & (status == Status.OK)
        if not sel.any():
            continue
        hs = hgt[sel]
        inside = (hs >= m[0]) & (hs <= m[-1])
        vals = np.where(inside, np.interp(hs, m, g), np.nan)
        out[sel] = vals
        st = status[sel]
        st[~inside] = Status.HEIGHT_AGE_OUT_OF_RANGE
        status[sel] = st
    return out, status


def height_age_zscore(
    pack: ReferencePack | str,
    measure: str,
    *,
    sex: ArrayLike,
    value: ArrayLike,
    height: ArrayLike,
    group: ArrayLike | None = None,
    haz_reference: str = DEFAULT_HAZ_REFERENCE,
) -> SizeAdjustedZ:
    """Z-score of ``value`` at the child's height-age instead of the chronological age."""
    ref = reference(pack) if isinstance(pack, str) else pack
    ha, hstatus = height_age(height, sex=sex, haz_reference=haz_reference)
    res = ref.evaluate(measure, sex=sex, age_years=ha, value=value, group=group)
    status = res.status.copy()
    hst = np.broadcast_to(hstatus, status.shape)
    bad = hst != Status.OK
    status[bad] = hst[bad]
    z = np.where(status == Status.OK, res.z, np.nan)
    return SizeAdjustedZ(
        z=np.asarray(z, dtype=np.float64),
        status=status,
        method="height_age",
        pack=ref.id,
        measure=measure,
        haz_reference=haz_reference,
        height_age_years=np.broadcast_to(ha, status.shape).copy(),
    )
