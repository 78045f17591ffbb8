"""Public batch Z-score core: a pure function over a polars DataFrame chunk.

Kept as its own public module (not re-exported from :mod:`pedbone.references`) so that
``import pedbone.references`` does not import polars.

>>> from pedbone.references.batch import plan_batch, score_frame  # doctest: +SKIP
"""

from __future__ import annotations

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
