"""Batch Z-scores over a table: a pure function from a polars DataFrame chunk to a DataFrame.

No I/O happens here, so the same two calls run in a single process, over file chunks
(``pedbone.io``), or inside a distributed engine's map step::

    plan = plan_batch(frame.columns)                 # once per file: columns -> measures, packs
    scored = score_frame(chunk, plan)                # per chunk: adds <measure>_z, _centile, status

Input columns (names are case-sensitive; other columns pass through untouched):

- ``sex`` — ``M``/``F`` or ``1``/``2`` (case-insensitive; ``male``/``female`` too);
- ``age_years`` — decimal age, or the two ISO dates ``birth_date`` and ``measurement_date``
  (age = days / 365.25); where both are present a given ``age_years`` wins, dates fill blanks;
- ``gestational_age_weeks`` (optional) — completed weeks at birth, for corrected age;
- ``group`` (optional) — population group for packs that have groups (e.g. ``white``);
- measures: growth ``height_cm``, ``weight_kg``, ``bmi``, ``head_circumference_cm``; DXA
  ``<site>_abmd``, ``<site>_bmc``, ``<site>_bmad``, ``<site>_lean_mass``, ``<site>_fat_mass``
  (the measure id, in the unit of the reference pack); ``<site>_area`` with ``<site>_bmc``
  adds ``<site>_bmad`` (spine, femoral neck) when the DXA pack has a BMAD table.

Text columns are cast here, not by the reader: a value that is not a number (or not a date)
flags its row and the row's other measures are still scored. Blank cells and the usual missing
markers (``NA``, ``N/A``, ``NaN``, ``null``, ``.``) are missing, not errors. The status column
is ``ok`` or ``;``-separated ``<column>:<code>`` reasons; the codes are the lower-case names of
:class:`pedbone.references.Status` plus ``not_a_number``, ``not_a_date``, ``before_birth`` and
``implausible`` (the value or its |Z| is outside :mod:`pedbone.plausibility`: the Z and
centile are then left empty rather than shown as a number).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from pedbone.plausibility import Z_ABS_MAX, implausible_mask
from pedbone.references._adjust import BMAD_EXPONENT, bmad
from pedbone.references._age import corrected_age, decimal_age
from pedbone.references._engine import ReferencePack, ZScoreResult, sex_codes
from pedbone.references._status import Status

__all__ = [
    "DEFAULT_REFERENCES",
    "STATUS_COLUMN",
    "BatchPlan",
    "BatchSchemaError",
    "MeasureColumn",
    "pack_family",
    "plan_batch",
    "score_frame",
]

#: Name of the per-row status column added to the output.
STATUS_COLUMN = "zscore_status"
#: Status code of a measure whose value (or Z-score) is outside its plausibility limit.
IMPLAUSIBLE = "implausible"
#: Name of the age column added when the age came from dates or was corrected for prematurity.
AGE_USED_COLUMN = "age_used_years"

#: Growth measure columns -> measure ids of the reference packs.
GROWTH_COLUMNS: dict[str, str] = {
    "height_cm": "height",
    "weight_kg": "weight",
    "bmi": "bmi",
    "head_circumference_cm": "head_circumference",
}
_DXA_COLUMN = re.compile(r"^(?P<site>[a-z][a-z0-9_]*?)_(?P<q>abmd|bmc|bmad|lean_mass|fat_mass)$")

#: Reference pack per measure family (``growth``, ``dxa``) or per measure id; a measure id
#: entry wins over its family. CDC 2000 has no head circumference, so that defaults to WHO 2006.
DEFAULT_REFERENCES: dict[str, str] = {
    "growth": "cdc2000",
    "head_circumference": "who2006",
    "dxa": "schafmeyer2022",
}

_MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", ".")
_CODE_NAMES = {int(s): s.name.lower() for s in Status}
# Engine codes not reported per measure: OK, a blank measurement, a non-positive one (checked
# directly), and sex / age problems, reported once per row on the sex / age column itself.
_NOT_PER_MEASURE = frozenset(
    int(s)
    for s in (
        Status.OK,
        Status.VALUE_MISSING,
        Status.VALUE_NOT_POSITIVE,  # checked by score_frame itself
        Status.SEX_UNKNOWN,
        Status.AGE_MISSING,
    )
)


class BatchSchemaError(ValueError):
    """The columns cannot be scored (a required column is missing, a name clashes, ...)."""


@dataclass(frozen=True, slots=True)
class MeasureColumn:
    """One column to score: its measure id, family and reference pack id.

    With ``bmad_from`` = (BMC column, area column) the column is not in the input: it is the
    BMAD computed from the two (:func:`pedbone.references.bmad`) and added to the output.
    ``pack_id`` may chain packs with ``+`` (see ``packs``).
    """

    column: str
    measure: str
    family: Literal["growth", "dxa"]
    pack_id: str
    bmad_from: tuple[str, str] | None = None
    packs: tuple[str, ...] = ()
    """The packs of ``pack_id`` (``who2006+who2007``) that have the measure, in order: each
    row is scored by the first whose age range covers it. Defaults to ``(pack_id,)``."""

    def __post_init__(self) -> None:
        if not self.packs:
            object.__setattr__(self, "packs", (self.pack_id,))

    @property
    def z_column(self) -> str:
        """Output column holding the Z-score."""
        return f"{self.measure}_z"

    @property
    def centile_column(self) -> str:
        """Output column holding the centile (0-100)."""
        return f"{self.measure}_centile"


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """What to score in a table with these columns. Picklable (holds pack ids, not packs)."""

    columns: tuple[str, ...]
    measures: tuple[MeasureColumn, ...]
    sex_column: str
    age_column: str | None
    date_columns: tuple[str, str] | None
    gestational_column: str | None
    group_column: str | None
    unscored: tuple[tuple[str, str], ...] = field(default=())
    """(column, reason) for measure-like columns left unscored (no reference covers them)."""
    unused_references: tuple[str, ...] = field(default=())
    """Keys of ``references`` that matched no family, measure or column of this input."""

    @property
    def adds_age(self) -> bool:
        """True if the output carries ``age_used_years`` (age from dates or corrected)."""
        return self.date_columns is not None or self.gestational_column is not None

    @property
    def output_columns(self) -> list[str]:
        """Input columns followed by the columns :func:`score_frame` adds."""
        out = list(self.columns)
        if self.adds_age:
            out.append(AGE_USED_COLUMN)
        for m in self.measures:
            out += [m.column] if m.bmad_from else []
            out += [m.z_column, m.centile_column]
        out.append(STATUS_COLUMN)
        return out


def _resolve(pack_id: str) -> ReferencePack:
    # the registry caches loaded packs (and notices a re-installed user pack)
    from pedbone.references._registry import reference

    return reference(pack_id)


def _measure_of(column: str) -> tuple[str, Literal["growth", "dxa"]]:
    """Measure id and family of a measure column (``height_cm`` -> height, growth)."""
    if column in GROWTH_COLUMNS:
        return GROWTH_COLUMNS[column], "growth"
    return column, "dxa"


def pack_family(pack_id: str) -> Literal["growth", "dxa"]:
    """``dxa`` if every measure of the pack(s) is a DXA measure (``<site>_<quantity>``)."""
    measures = [m for one in pack_id.split("+") for m in _resolve(one).measures]
    if measures and all(_DXA_COLUMN.match(m) for m in measures):
        return "dxa"
    return "growth"


_ROLE_COLUMNS = (
    "sex",
    "age_years",
    "birth_date",
    "measurement_date",
    "gestational_age_weeks",
    "group",
)
_AREA_COLUMN = re.compile(r"^[a-z][a-z0-9_]*_area$")


def _known_name(name: str) -> bool:
    return (
        name in _ROLE_COLUMNS
        or name in GROWTH_COLUMNS
        or bool(_DXA_COLUMN.match(name) or _AREA_COLUMN.match(name))
    )


def plan_batch(
    columns: Iterable[str],
    references: Mapping[str, str] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> BatchPlan:
    """Decide which columns are scored against which reference pack.

    ``references`` maps a family (``growth``, ``dxa``), a measure id (``height``,
    ``leg_abmd``) or a column name (``height_cm``) to a pack id; entries override
    :data:`DEFAULT_REFERENCES`. ``aliases`` maps a documented column name to the input's own
    name for it (``{"sex": "gender", "height_cm": "Height"}``); a column that already bears
    an aliased name then passes through unused. Raises :class:`BatchSchemaError` naming
    what is missing. A measure column whose pack does not cover it raises if the pack was
    chosen for that measure or column explicitly, and is otherwise listed in
    ``plan.unscored``.
    """
    cols = tuple(columns)
    given = dict(references or {})
    refs = {**DEFAULT_REFERENCES, **given}
    alias = dict(aliases or {})
    problems: list[str] = []
    for canonical, name in alias.items():
        if not _known_name(canonical):
            problems.append(
                f"{canonical!r} to be a documented column name (sex, age_years, height_cm, "
                "<site>_abmd, ...) to rename a column to"
            )
        if name not in cols:
            problems.append(f"a column {name!r} (to use as {canonical!r})")
    # documented name -> the input column that plays its part
    inverse = {name: canonical for canonical, name in alias.items()}
    actual: dict[str, str] = {}
    for col in cols:
        role = inverse.get(col, None if col in alias else col)
        if role is not None:
            actual[role] = col
    present = set(actual)
    if "sex" not in present:
        problems.append("a 'sex' column (M/F or 1/2)")
    has_age = "age_years" in present
    has_dates = {"birth_date", "measurement_date"} <= present
    if not has_age and not has_dates:
        half = [c for c in ("birth_date", "measurement_date") if c in present]
        problems.append(
            "an 'age_years' column or both 'birth_date' and 'measurement_date'"
            + (f" (only {half[0]!r} found)" if half else "")
        )
    measures: list[MeasureColumn] = []
    unscored: list[tuple[str, str]] = []

    def add(
        canonical: str,
        measure: str,
        family: Literal["growth", "dxa"],
        bmad_from: tuple[str, str] | None = None,
    ) -> None:
        col = actual.get(canonical, canonical)
        explicit = canonical in given or col in given or measure in given
        pack_id = given.get(canonical) or given.get(col) or refs.get(measure) or refs[family]
        having = tuple(p for p in pack_id.split("+") if measure in _resolve(p).measures)
        if having:
            measures.append(MeasureColumn(col, measure, family, pack_id, bmad_from, having))
            return
        reason = f"reference {pack_id!r} has no measure {measure!r}"
        if explicit:
            problems.append(f"a reference for {col!r}: {reason}")
        else:
            key = "dxa" if family == "dxa" else measure
            unscored.append((col, f"{reason}; choose one with --reference {key}=PACK"))

    for canonical in actual:
        if canonical in GROWTH_COLUMNS or _DXA_COLUMN.match(canonical):
            add(canonical, *_measure_of(canonical))
    for site in BMAD_EXPONENT:  # BMAD from BMC and area where no BMAD column is given
        bmc, area, bmad_col = f"{site}_bmc", f"{site}_area", f"{site}_bmad"
        if {bmc, area} <= present and bmad_col not in present:
            add(bmad_col, bmad_col, "dxa", (actual[bmc], actual[area]))
    if not measures and not problems:
        known = ", ".join(GROWTH_COLUMNS)
        extra = f" ({'; '.join(r for _, r in unscored)})" if unscored else ""
        problems.append(f"at least one measure column to score, e.g. {known}, <site>_abmd{extra}")
    added = [c for m in measures for c in (m.z_column, m.centile_column)] + [STATUS_COLUMN]
    added += [m.column for m in measures if m.bmad_from]
    if has_dates or "gestational_age_weeks" in present:
        added.append(AGE_USED_COLUMN)
    for out in added:
        if out in cols:
            problems.append(f"no input column named {out!r} (it would be overwritten)")
    if problems:
        raise BatchSchemaError("the input needs " + "; ".join(problems))
    candidates = [(m.column, m.measure, m.family) for m in measures]
    candidates += [(c, *_measure_of(inverse.get(c, c))) for c, _ in unscored]
    used = {key for triple in candidates for key in triple} | set(inverse.values())
    return BatchPlan(
        columns=cols,
        measures=tuple(measures),
        sex_column=actual["sex"],
        age_column=actual.get("age_years"),
        date_columns=(actual["birth_date"], actual["measurement_date"]) if has_dates else None,
        gestational_column=actual.get("gestational_age_weeks"),
        group_column=actual.get("group"),
        unscored=tuple(unscored),
        unused_references=tuple(k for k in given if k not in used),
    )


# -- casting -------------------------------------------------------------------------------
def _to_float(s: pl.Series) -> tuple[NDArray[np.float64], NDArray[np.bool_] | None]:
    """Values as float64 (NaN where missing or bad) and a mask of bad values (None if none).

    Text is cast non-strictly; only when some cells fail is the column looked at again
    (surrounding blanks, missing markers), so clean columns cost one cast. Infinite values
    are bad; NaN (and the text ``nan``) is missing.
    """
    bad: NDArray[np.bool_] | None = None
    if s.dtype == pl.String:
        values = s.cast(pl.Float64, strict=False)
        if values.null_count() > s.null_count():
            text = s.str.strip_chars()
            values = text.cast(pl.Float64, strict=False)
            failed = values.is_null() & text.is_not_null()
            failed = failed & ~text.str.to_lowercase().is_in(_MISSING_TOKENS)
            bad = failed.to_numpy() if failed.any() else None
    elif s.dtype.is_numeric() or s.dtype == pl.Null:
        values = s.cast(pl.Float64)
    else:
        values = s.cast(pl.Float64, strict=False)
        failed = values.is_null() & s.is_not_null()
        bad = failed.to_numpy() if failed.any() else None
    arr = values.to_numpy()  # nulls become NaN; may be a read-only view
    infinite = np.isinf(arr)
    if infinite.any():
        arr = arr.copy()
        arr[infinite] = np.nan
        bad = infinite if bad is None else bad | infinite
    return arr, bad


def _to_date(s: pl.Series) -> tuple[pl.Series, pl.Series | None]:
    """Dates (ISO ``YYYY-MM-DD``; a datetime's date part) and a mask of unreadable values."""
    if s.dtype == pl.Date:
        return s, None
    if s.dtype == pl.Datetime:
        return s.dt.date(), None
    text = s.cast(pl.String).str.strip_chars()
    dates = text.str.to_date("%Y-%m-%d", strict=False)
    failed = dates.is_null() & text.is_not_null()
    if not failed.any():
        return dates, None
    missing = text.str.to_lowercase().is_in(_MISSING_TOKENS)
    bad = failed & ~missing
    return dates, (bad if bool(bad.any()) else None)


def _sex_codes(s: pl.Series) -> NDArray[np.int8]:
    """1 = male, 2 = female, 0 = missing or not recognised (the engine's own spellings).

    Numbers are 1/2; the few distinct spellings of a text column go through
    :func:`sex_codes`, so this accepts exactly what ``pack.evaluate`` accepts, at polars speed.
    """
    if s.dtype.is_numeric():
        arr = s.cast(pl.Float64).to_numpy()
        return np.where(arr == 1, 1, np.where(arr == 2, 2, 0)).astype(np.int8)
    text = s.cast(pl.String)
    uniq = text.unique().drop_nulls().to_list()
    codes = sex_codes(np.asarray(uniq, dtype=object)).astype(np.int8) + 1
    mapping = dict(zip(uniq, codes.tolist(), strict=True))
    mapped = text.replace_strict(mapping, default=0, return_dtype=pl.Int8).fill_null(0)
    return mapped.to_numpy()


# -- scoring -------------------------------------------------------------------------------
class _Reasons:
    """Per-row reason masks, kept in the order they are found."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.items: list[tuple[str, NDArray[np.bool_]]] = []

    def add(self, column: str, code: str, mask: NDArray[np.bool_] | pl.Series | None) -> None:
        """Flag the rows in ``mask`` with ``column:code`` (once, however often it is added)."""
        if mask is None:
            return
        arr = mask.to_numpy() if isinstance(mask, pl.Series) else mask
        if not arr.any():
            return
        reason = f"{column}:{code}"
        for i, (known, old) in enumerate(self.items):
            if known == reason:
                self.items[i] = (reason, old | arr)
                return
        self.items.append((reason, arr))

    def any_for(self, columns: Iterable[str]) -> NDArray[np.bool_]:
        """Rows already flagged on any of ``columns``."""
        out = np.zeros(self.n, dtype=bool)
        prefixes = tuple(f"{c}:" for c in columns)
        for reason, mask in self.items:
            if reason.startswith(prefixes):
                out |= mask
        return out

    def column(self) -> pl.Series:
        if not self.items:
            return pl.repeat("ok", self.n, dtype=pl.String, eager=True).alias(STATUS_COLUMN)
        masks = pl.DataFrame({f"m{i}": m for i, (_, m) in enumerate(self.items)})
        parts = [
            pl.when(pl.col(f"m{i}")).then(pl.lit(reason))
            for i, (reason, _) in enumerate(self.items)
        ]
        joined = pl.concat_str(parts, separator=";", ignore_nulls=True)
        status = pl.when(joined == "").then(pl.lit("ok")).otherwise(joined)
        return masks.select(status.fill_null("ok").alias(STATUS_COLUMN)).to_series()


def _float_series(name: str, values: Any) -> pl.Series:
    return pl.Series(name, np.asarray(values, dtype=np.float64), nan_to_null=True)


def age_source_columns(plan: BatchPlan) -> list[str]:
    """The input columns an age is computed from."""
    cols = [plan.age_column] if plan.age_column else []
    return cols + list(plan.date_columns or ())


def _ages(frame: pl.DataFrame, plan: BatchPlan, reasons: _Reasons) -> NDArray[np.float64]:
    """Age in years used for each row (NaN where unknown)."""
    age: NDArray[np.float64] | None = None
    if plan.age_column is not None:
        age, bad = _to_float(frame[plan.age_column])
        reasons.add(plan.age_column, "not_a_number", bad)
    if plan.date_columns is not None:
        birth_col, meas_col = plan.date_columns
        birth, bad_b = _to_date(frame[birth_col])
        meas, bad_m = _to_date(frame[meas_col])
        reasons.add(birth_col, "not_a_date", bad_b)
        reasons.add(meas_col, "not_a_date", bad_m)
        reasons.add(meas_col, "before_birth", (meas < birth).fill_null(False))
        from_dates = decimal_age(birth.to_numpy(), meas.to_numpy())  # NaN before birth
        age = from_dates if age is None else np.where(np.isnan(age), from_dates, age)
    assert age is not None  # plan_batch guarantees an age source
    if plan.gestational_column is not None:
        ga, bad = _to_float(frame[plan.gestational_column])
        reasons.add(plan.gestational_column, "not_a_number", bad)
        age = corrected_age(age, ga)
    return age


def _evaluate(
    m: MeasureColumn,
    sex: NDArray[np.int8],
    age: NDArray[np.float64],
    value: NDArray[np.float64],
    group: NDArray[Any] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int8]]:
    """Z, centile and status of one measure; with chained packs the first covering the age."""

    def one(pack_id: str) -> ZScoreResult:
        pack = _resolve(pack_id)
        kwargs: dict[str, Any] = {"group": group} if group is not None and pack.groups else {}
        return pack.evaluate(m.measure, sex=sex, age_years=age, value=value, **kwargs)

    first = one(m.packs[0])
    if len(m.packs) == 1:  # the common case: no copies
        return first.z, first.centile, first.status
    z, centile, status = first.z.copy(), first.centile.copy(), first.status.copy()
    for pack_id in m.packs[1:]:
        res = one(pack_id)
        take = (status == Status.AGE_OUT_OF_RANGE) & (res.status != Status.AGE_OUT_OF_RANGE)
        z[take], centile[take], status[take] = res.z[take], res.centile[take], res.status[take]
    return z, centile, status


def score_frame(
    frame: pl.DataFrame,
    plan: BatchPlan | None = None,
    *,
    references: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Score every measure column of ``frame``; return it with the Z, centile and status columns.

    Pure: no I/O, no global state beyond the (cached, read-only) reference packs. Rows are
    independent, so any split of a table into chunks gives the same rows. ``plan`` comes from
    :func:`plan_batch` (made here from ``frame.columns`` and ``references`` when omitted).
    """
    if plan is None:
        plan = plan_batch(frame.columns, references)
    missing = [c for c in plan.columns if c not in frame.columns]
    if missing:
        raise BatchSchemaError(f"the chunk lacks the planned column(s) {missing}")
    n = frame.height
    reasons = _Reasons(n)
    sex = _sex_codes(frame[plan.sex_column])
    age_np = _ages(frame, plan, reasons)
    group: NDArray[Any] | None = None
    if plan.group_column is not None:
        group = frame[plan.group_column].cast(pl.String).str.strip_chars().to_numpy()
    # row-level problems are reported once, on their own column, before the measures
    reasons.add(plan.sex_column, "sex_unknown", sex == 0)
    age_flagged = reasons.any_for(age_source_columns(plan))
    age_blame = plan.age_column or (plan.date_columns or ("", "measurement_date"))[1]
    reasons.add(age_blame, "age_missing", np.isnan(age_np) & ~age_flagged)
    group_unknown = np.zeros(n, dtype=bool)
    added = [_float_series(AGE_USED_COLUMN, age_np)] if plan.adds_age else []
    measure_reasons: list[tuple[str, str, NDArray[np.bool_] | None]] = []
    for m in plan.measures:
        inputs = m.bmad_from or (m.column,)
        arrays = []
        for col in inputs:
            arr, bad = _to_float(frame[col])
            measure_reasons.append((col, "not_a_number", bad))
            # checked here, so a negative value is reported even when sex or age is bad
            measure_reasons.append((col, _CODE_NAMES[Status.VALUE_NOT_POSITIVE], arr <= 0))
            arrays.append(arr)
        if m.bmad_from:
            value_np = bmad(arrays[0], arrays[1], site=m.measure.removesuffix("_bmad"))
            added.append(_float_series(m.column, value_np))
        else:
            value_np = arrays[0]
        z, centile, status = _evaluate(m, sex, age_np, value_np, group)
        # a value no patient can have, or a |Z| beyond the plausibility bound, gets no number:
        # pedbone.plausibility (software rule PEDBONE_PLAUSIBILITY), the same limits as the
        # CLI, API, web forms and the assessment
        with np.errstate(invalid="ignore"):
            implausible = (implausible_mask(m.measure, value_np) & (value_np > 0)) | (
                np.abs(z) > Z_ABS_MAX
            )
        if implausible.any():
            z = np.where(implausible, np.nan, z)
            centile = np.where(implausible, np.nan, centile)
            measure_reasons.append((m.column, IMPLAUSIBLE, implausible))
        # a blank (or unreadable) measurement has nothing to score: its row is not flagged
        # for this measure's age range or group
        status = np.where(np.isnan(value_np), np.int8(0), status)
        for code in np.flatnonzero(np.bincount(status.view(np.uint8))).tolist():
            if code in _NOT_PER_MEASURE:
                continue
            if code == Status.GROUP_UNKNOWN:
                group_unknown |= status == code
            else:
                measure_reasons.append((m.column, _CODE_NAMES[code], status == code))
        added.append(_float_series(m.z_column, z))
        added.append(_float_series(m.centile_column, centile))
    reasons.add(plan.group_column or "group", "group_unknown", group_unknown)
    for column, reason, mask in measure_reasons:
        reasons.add(column, reason, mask)
    return frame.with_columns([*added, reasons.column()])
