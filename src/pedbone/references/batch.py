"""Public batch Z-score core: a pure function over a polars DataFrame chunk.

Kept as its own public module (not re-exported from :mod:`pedbone.references`) so that
``import pedbone.references`` does not import polars. ``score_dask`` (the same core on a Dask
cluster, over a folder of Parquet files) loads Dask only when first used.

>>> from pedbone.references.batch import plan_batch, score_frame  # doctest: +SKIP
>>> from pedbone.references.batch import score_dask  # needs pedbone[dask]; doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedbone.references._batch import (
    DEFAULT_REFERENCES,
    STATUS_COLUMN,
    BatchPlan,
    BatchSchemaError,
    MeasureColumn,
    pack_family,
    plan_batch,
    score_frame,
)

if TYPE_CHECKING:
    from pedbone.references._dask import DaskSummary, score_dask, score_partition

__all__ = [
    "DEFAULT_REFERENCES",
    "STATUS_COLUMN",
    "BatchPlan",
    "BatchSchemaError",
    "DaskSummary",
    "MeasureColumn",
    "pack_family",
    "plan_batch",
    "score_dask",
    "score_frame",
    "score_partition",
]


def __getattr__(name: str) -> Any:
    if name in ("DaskSummary", "score_dask", "score_partition"):
        from pedbone.references import _dask

        return getattr(_dask, name)
    raise AttributeError(f"module 'pedbone.references.batch' has no attribute {name!r}")
