"""pedbone.io — reading and writing tables: chunked CSV / Parquet with exact error locations.

The batch Z-score core (:func:`pedbone.references._batch.score_frame`) is pure; this package
streams files through it:

>>> from pedbone.io import score_file
>>> summary = score_file("registry.csv", "registry_scored.parquet")  # doctest: +SKIP
>>> print(summary.line())  # doctest: +SKIP
"""

from __future__ import annotations

from pedbone.io._atomic import OutputExistsError, atomic_path
from pedbone.io._csv import CsvChunkReader, CsvChunkWriter
from pedbone.io._errors import MalformedInputError
from pedbone.io._parquet import ParquetChunkReader, ParquetChunkWriter
from pedbone.io._zscore_file import FileFormat, ScoreSummary, infer_format, score_file

__all__ = [
    "CsvChunkReader",
    "CsvChunkWriter",
    "FileFormat",
    "MalformedInputError",
    "OutputExistsError",
    "ParquetChunkReader",
    "ParquetChunkWriter",
    "ScoreSummary",
    "atomic_path",
    "infer_format",
    "score_file",
]
