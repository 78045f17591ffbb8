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
from pedbone.io._dxa_files import (
    LAYOUTS as DXA_LAYOUTS,
)
from pedbone.io._dxa_files import (
    DxaExport,
    DxaFileError,
    DxaRecord,
    load_mapping,
    read_dxa_export,
)
from pedbone.io._dxa_import import CheckedScan, check_export, store_scans
from pedbone.io._errors import MalformedInputError
from pedbone.io._fhir_codes import codes as fhir_codes
from pedbone.io._fhir_export import patient_bundle as fhir_bundle
from pedbone.io._fhir_import import FhirIssue, FhirPreview
from pedbone.io._fhir_import import import_preview as import_fhir_preview
from pedbone.io._fhir_import import read_bundle as read_fhir_bundle
from pedbone.io._parquet import ParquetChunkReader, ParquetChunkWriter
from pedbone.io._zscore_file import FileFormat, ScoreSummary, infer_format, score_file

__all__ = [
    "DXA_LAYOUTS",
    "CheckedScan",
    "CsvChunkReader",
    "CsvChunkWriter",
    "DxaExport",
    "DxaFileError",
    "DxaRecord",
    "FhirIssue",
    "FhirPreview",
    "FileFormat",
    "MalformedInputError",
    "OutputExistsError",
    "ParquetChunkReader",
    "ParquetChunkWriter",
    "ScoreSummary",
    "atomic_path",
    "check_export",
    "fhir_bundle",
    "fhir_codes",
    "import_fhir_preview",
    "infer_format",
    "load_mapping",
    "read_dxa_export",
    "read_fhir_bundle",
    "score_file",
    "store_scans",
]
