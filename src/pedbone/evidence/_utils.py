"""Shared helpers of the evidence engine: array coercion, column look-up, errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

__all__ = [
    "ConvergenceError",
    "EvidenceInputError",
    "FirstCoefficient",
    "FloatArray",
    "MetaforNames",
    "Transform",
    "as_float_array",
    "column_or_array",
    "control_of",
    "make_unique",
]

FloatArray = NDArray[np.float64]
#: a back-transformation of estimates (``np.exp``, ``transf_ilogit``, ...)
Transform = Callable[[NDArray[np.float64]], NDArray[np.float64]]


class EvidenceInputError(ValueError):
    """Bad input to the evidence engine (names the argument/study and the reason)."""


class ConvergenceError(RuntimeError):
    """An iterative estimator did not converge; no number is returned."""


def as_float_array(x: Any, name: str) -> FloatArray:
    """Coerce ``x`` (sequence, numpy array, polars Series) to a 1-D float64 array."""
    if isinstance(x, pl.Series):
        x = x.cast(pl.Float64, strict=False).to_numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise EvidenceInputError(f"argument {name!r}: not numeric ({exc})") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise EvidenceInputError(f"argument {name!r}: expected a 1-D array, got shape {arr.shape}")
    return arr


def _from_pandas(data: Any) -> pl.DataFrame:
    """A pandas DataFrame as polars, column by column (no pyarrow needed for text columns)."""
    import pandas as pd

    cols: list[pl.Series] = []
    for name in data.columns:
        col = data[name]
        if pd.api.types.is_bool_dtype(col.dtype) and not col.isna().any():
            cols.append(pl.Series(str(name), col.to_numpy(dtype=bool)))
        elif pd.api.types.is_integer_dtype(col.dtype) and not col.isna().any():
            cols.append(pl.Series(str(name), col.to_numpy(dtype=np.int64)))
        elif pd.api.types.is_numeric_dtype(col.dtype):
            cols.append(pl.Series(str(name), col.to_numpy(dtype=np.float64, na_value=np.nan)))
        else:  # text, categorical, object: None for a missing value, else the text
            values = [None if pd.isna(v) else str(v) for v in col.tolist()]
            cols.append(pl.Series(str(name), values, dtype=pl.String))
    return pl.DataFrame(cols)


def as_frame(data: Any) -> pl.DataFrame | None:
    """Accept a polars DataFrame, an escalc result, a mapping of columns or a pandas DataFrame
    as ``data=``. pandas frames are converted column by column, so text columns need no
    pyarrow; a missing pandas value (NaN, None, pd.NA) becomes a missing value."""
    if data is None or isinstance(data, pl.DataFrame):
        return data
    frame = getattr(data, "frame", None)
    if isinstance(frame, pl.DataFrame):  # an EscalcResult (metafor: escalc() returns data)
        return frame
    if type(data).__module__.split(".")[0] == "pandas" and hasattr(data, "columns"):
        try:
            return _from_pandas(data)
        except (TypeError, ValueError) as exc:
            raise EvidenceInputError(f"data=: cannot read this pandas DataFrame ({exc})") from exc
    try:
        return pl.DataFrame(data)
    except Exception as exc:  # polars raises several types for unusable input
        raise EvidenceInputError(
            f"data= must be a polars DataFrame (or convertible to one): {exc}"
        ) from exc


def column_or_array(x: Any, name: str, data: pl.DataFrame | None) -> FloatArray | None:
    """Resolve an argument that may be a column name of ``data`` or an array; None passes."""
    if x is None:
        return None
    if isinstance(x, str):
        if data is None:
            raise EvidenceInputError(
                f"argument {name!r}={x!r} is a column name but no data= DataFrame was given"
            )
        if x not in data.columns:
            raise EvidenceInputError(
                f"argument {name!r}: column {x!r} not in data (columns: {', '.join(data.columns)})"
            )
        return as_float_array(data[x], name)
    return as_float_array(x, name)


def check_lengths(arrays: dict[str, FloatArray | None]) -> int:
    """All given arrays must have the same length; return it."""
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if not lengths:
        raise EvidenceInputError("no study data given")
    values = set(lengths.values())
    if len(values) != 1:
        detail = ", ".join(f"{k}={n}" for k, n in lengths.items())
        raise EvidenceInputError(f"arguments have different lengths: {detail}")
    return values.pop()


def labels(slab: Sequence[Any] | None, k: int) -> tuple[str, ...]:
    """Study labels; default ``Study 1`` ... ``Study k`` (metafor's default)."""
    if slab is None:
        return tuple(f"Study {i + 1}" for i in range(k))
    out = tuple(str(s) for s in slab)
    if len(out) != k:
        raise EvidenceInputError(f"slab has {len(out)} labels for {k} studies")
    return out


def control_of(res: Any) -> dict[str, float]:
    """The convergence control of a fitted model (empty when it has none)."""
    control = getattr(res, "control", None)
    return dict(control) if control else {}


class FirstCoefficient:
    """``estimate``, ``se``, ``pval``, ``ci_lb``, ``ci_ub`` of the first coefficient (the pooled
    effect of an intercept-only model), for results that keep per-coefficient arrays."""

    beta: FloatArray
    se_beta: FloatArray
    pval_beta: FloatArray
    ci_lb_beta: FloatArray
    ci_ub_beta: FloatArray

    @property
    def estimate(self) -> float:
        return float(self.beta[0])

    @property
    def se(self) -> float:
        return float(self.se_beta[0])

    @property
    def pval(self) -> float:
        return float(self.pval_beta[0])

    @property
    def ci_lb(self) -> float:
        return float(self.ci_lb_beta[0])

    @property
    def ci_ub(self) -> float:
        return float(self.ci_ub_beta[0])


class MetaforNames:
    """metafor's spellings of the heterogeneity read-outs, as aliases reviewers type.

    pedbone spells each concept once (``q``, ``q_pval``, ``qm``, ``qm_pval``, ``i2``, ``h2``,
    ``tau2``); ``QE``, ``QEp``, ``QM``, ``QMp``, ``I2`` and ``H2`` read the same numbers under
    metafor's names (``res$QE``, ``res$I2``, ...).
    """

    q: float
    q_pval: float
    i2: float
    h2: float

    @property
    def QE(self) -> float:  # noqa: N802 - metafor's name
        """metafor's ``QE``: alias of ``q`` (test statistic for (residual) heterogeneity)."""
        return self.q

    @property
    def QEp(self) -> float:  # noqa: N802 - metafor's name
        """metafor's ``QEp``: alias of ``q_pval``."""
        return self.q_pval

    @property
    def I2(self) -> float:  # noqa: N802 - metafor's name
        """metafor's ``I2``: alias of ``i2`` (percent)."""
        return self.i2

    @property
    def H2(self) -> float:  # noqa: N802 - metafor's name
        """metafor's ``H2``: alias of ``h2``."""
        return self.h2


def make_unique(labels: Sequence[str]) -> list[str]:
    """Number repeated study labels as metafor does (``.make.unique``: a.1, b, a.2)."""
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        if counts[lab] > 1:
            seen[lab] = seen.get(lab, 0) + 1
            out.append(f"{lab}.{seen[lab]}")
        else:
            out.append(lab)
    return out
