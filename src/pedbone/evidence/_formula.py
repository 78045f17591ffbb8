"""Moderators written as reviewers write them: model formulas read by formulaic.

``"~ ablat + year"``, ``"~ factor(era)"``, ``"~ alloc * ablat"``, ``"~ ablat:year"``,
``"~ I(ablat**2)"``, ``"~ log(ablat)"``, ``"~ 0 + alloc"`` / ``"~ alloc - 1"``: the model
matrix is built by the formulaic library (Wilkinson formulas; the terms, their order and the
treatment coding of text columns against their first sorted level are R's). ``factor(x)``
turns a numeric column into a factor, as in R. Coefficient names are R's (``intrcpt``,
``allocrandom``, ``factor(era)2``, ``allocrandom:ablat``, ``I(ablat^2)``), so a pedbone
table reads like metafor's.

A study with a missing value in any moderator the formula uses (a null in a text column, a
null or NaN in a numeric one) is left out before the model matrix is built, as R's
``model.frame`` does, and the caller says so in the model's notes.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import polars as pl

from pedbone.evidence._utils import EvidenceInputError, FloatArray

__all__ = ["columns_design", "formula_design", "formula_from_names"]

_LEVEL_INT = re.compile(r"^(-?\d+)\.0$")
_CODED = re.compile(r"^(?P<base>.*)\[(?:T\.)?(?P<level>.*)\]$")


def formula_from_names(names: list[str]) -> str:
    """A formula with one term per column name (back-quoted when not an identifier)."""
    return "~ " + " + ".join(n if n.isidentifier() else f"`{n}`" for n in names)


def _r_part(term: str) -> str:
    m = _CODED.match(term)
    if m:
        level = _LEVEL_INT.sub(r"\1", m.group("level"))
        term = m.group("base") + level
    return term.replace("`", "").replace(" ** ", "^").replace("**", "^")


def r_name(column: str) -> str:
    """formulaic's column name as R's ``model.matrix`` names it."""
    if column == "Intercept":
        return "intrcpt"
    return ":".join(_r_part(p) for p in column.split(":"))


def _missing(series: pl.Series) -> FloatArray:
    miss = series.is_null().to_numpy()
    if series.dtype.is_float():
        miss = miss | series.is_nan().fill_null(True).to_numpy()
    return np.asarray(miss, dtype=bool)


def _to_pandas(frame: pl.DataFrame, columns: list[str]) -> Any:
    """The moderator columns as a pandas frame, built column by column (no pyarrow needed)."""
    import pandas as pd

    cols: dict[str, Any] = {}
    for c in columns:
        s = frame[c]
        if s.dtype.is_numeric():
            cols[c] = s.cast(pl.Float64).to_numpy()
        elif s.dtype == pl.Boolean:
            cols[c] = np.asarray(s.to_list(), dtype=bool)
        else:
            cols[c] = pd.Series([None if v is None else str(v) for v in s.to_list()], dtype=object)
    return pd.DataFrame(cols)


def formula_design(
    formula: str, data: pl.DataFrame | None, k: int, intercept: bool
) -> tuple[FloatArray, tuple[str, ...], dict[int, tuple[str, ...]]]:
    """Model matrix of ``formula`` over ``data`` (k rows; rows with a missing moderator NaN).

    Returns the matrix, R's coefficient names and, per omitted row, the moderators it lacks.
    ``intercept=False`` removes the intercept (as ``- 1`` in the formula).
    """
    from formulaic import Formula, model_matrix
    from formulaic.errors import FormulaicError
    from formulaic.transforms import C

    text = formula.strip()
    if not text.startswith("~"):
        text = "~ " + text
    if not intercept:
        text += " - 1"
    if data is None:
        raise EvidenceInputError(f"mods={formula!r} names columns but no data= DataFrame given")
    if data.height != k:
        raise EvidenceInputError(f"data has {data.height} rows for {k} studies")
    try:
        parsed = Formula(text)
        required = sorted(parsed.required_variables)
    except (FormulaicError, SyntaxError, ValueError) as exc:
        raise EvidenceInputError(f"mods={formula!r}: not a model formula ({exc})") from exc
    used = [v for v in required if v in data.columns]
    unknown = [v for v in required if v not in data.columns and v not in _KNOWN_NAMES]
    if unknown:
        raise EvidenceInputError(
            f"mods={formula!r}: moderator column {unknown[0]!r} not in data "
            f"(columns: {', '.join(data.columns)})"
        )
    missing: dict[int, tuple[str, ...]] = {}
    miss = {v: _missing(data[v]) for v in used}
    for i in range(k):
        lacking = tuple(v for v in used if miss[v][i])
        if lacking:
            missing[i] = lacking
    rows = [i for i in range(k) if i not in missing]
    if not rows:
        raise EvidenceInputError(f"mods={formula!r}: every study has a missing moderator value")
    frame = _to_pandas(data[rows], used) if used else _empty_frame(len(rows))
    try:
        mm = model_matrix(
            text, frame, context={"factor": C, "log": np.log, "exp": np.exp, "sqrt": np.sqrt}
        )
    except FormulaicError as exc:
        raise EvidenceInputError(f"mods={formula!r}: {exc}") from exc
    except (TypeError, ValueError, NameError) as exc:
        raise EvidenceInputError(
            f"mods={formula!r}: cannot build the model matrix ({exc})"
        ) from exc
    values = np.asarray(mm.to_numpy(dtype=np.float64), dtype=np.float64)
    if values.shape[0] != len(rows):  # pragma: no cover - formulaic drops no rows here
        raise EvidenceInputError(f"mods={formula!r}: rows lost while building the model matrix")
    X = np.full((k, values.shape[1]), math.nan)
    X[rows] = values
    names = tuple(r_name(str(c)) for c in mm.columns)
    if not names:
        raise EvidenceInputError(f"mods={formula!r}: the model has no coefficients")
    return X, names, missing


def _empty_frame(n: int) -> Any:
    import pandas as pd

    return pd.DataFrame(index=range(n))


#: names a formula may call that are not columns of the data
_KNOWN_NAMES = frozenset({"factor", "C", "I", "log", "exp", "sqrt", "np", "center", "scale"})


def columns_design(
    data: pl.DataFrame, names: list[str], k: int, intercept: bool
) -> tuple[FloatArray, tuple[str, ...], dict[int, tuple[str, ...]]]:
    """The model matrix of plain columns (``~ a + b``) without building a formula.

    Numeric columns enter as they are; text (and boolean) columns are treatment coded against
    their first sorted level, and without an intercept the first of them gets one column per
    level — exactly what :func:`formula_design` gives for ``"~ a + b"`` (a test checks it), at
    a fraction of the cost, for callers such as ``subgroups`` that fit many small models.
    """
    if data.height != k:
        raise EvidenceInputError(f"data has {data.height} rows for {k} studies")
    miss = {v: _missing(data[v]) for v in names}
    missing: dict[int, tuple[str, ...]] = {}
    for i in range(k):
        lacking = tuple(v for v in names if miss[v][i])
        if lacking:
            missing[i] = lacking
    keep = np.ones(k, dtype=bool)
    keep[list(missing)] = False
    if not keep.any():
        raise EvidenceInputError("every study has a missing moderator value")
    cols: list[FloatArray] = []
    out_names: list[str] = []
    if intercept:
        cols.append(np.ones(k))
        out_names.append("intrcpt")
    full_rank_done = intercept
    for name in names:
        s = data[name]
        if s.dtype.is_numeric():
            cols.append(s.cast(pl.Float64).fill_null(math.nan).to_numpy().astype(np.float64))
            out_names.append(name)
            continue
        values = [
            None if v is None else (str(v).upper() if isinstance(v, bool) else str(v))
            for v in s.to_list()
        ]
        levels = sorted({v for v, kp in zip(values, keep, strict=True) if kp and v is not None})
        use = levels if not full_rank_done else levels[1:]
        full_rank_done = True
        for lev in use:
            col = np.asarray([1.0 if v == lev else 0.0 for v in values], dtype=np.float64)
            cols.append(col)
            out_names.append(f"{name}{lev}")
    if not cols:
        raise EvidenceInputError("the model has no coefficients")
    X = np.column_stack(cols).astype(np.float64)
    X[~keep] = math.nan
    return X, tuple(out_names), missing
