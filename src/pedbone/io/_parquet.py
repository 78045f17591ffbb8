"""Chunked Parquet reading and writing with polars (no pyarrow needed).

Reading takes row slices of a lazy scan, so only one chunk is in memory at a time. Writing
puts each chunk in a part file inside a private temporary folder and, on :meth:`close`,
streams the parts into one Parquet file with ``sink_parquet``, so memory stays bounded
(disk holds the data twice until the parts are removed).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from pedbone.io._errors import MalformedInputError

__all__ = ["ParquetChunkReader", "ParquetChunkWriter"]


class ParquetChunkReader:
    """Read a Parquet file as ``columns`` plus an iterator of DataFrame chunks of ``chunk_rows``."""

    def __init__(self, path: Path | str, *, chunk_rows: int = 100_000) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.path = Path(path)
        self.chunk_rows = chunk_rows
        try:
            self._scan = pl.scan_parquet(self.path)
            self.schema = self._scan.collect_schema()
            self.total_rows = int(self._scan.select(pl.len()).collect().item())
        except Exception as exc:  # polars raises several types for a damaged file
            raise MalformedInputError(
                self.path, None, f"not a readable Parquet file ({exc})"
            ) from None
        self.columns = list(self.schema.names())
        self.rows_read = 0

    def close(self) -> None:
        """Nothing to release (each chunk is read by its own query)."""

    def __iter__(self) -> Iterator[pl.DataFrame]:
        if self.total_rows == 0:
            yield pl.DataFrame(schema=self.schema)
            return
        for offset in range(0, self.total_rows, self.chunk_rows):
            try:
                frame = self._scan.slice(offset, self.chunk_rows).collect()
            except Exception as exc:
                raise MalformedInputError(
                    self.path, None, f"rows from {offset + 1} cannot be read ({exc})"
                ) from None
            self.rows_read = offset + frame.height
            yield frame


class ParquetChunkWriter:
    """Collect DataFrame chunks and write them as one Parquet file at ``path`` on close."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._parts = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        self._count = 0

    def write(self, frame: pl.DataFrame) -> None:
        """Write one chunk to a part file."""
        # parts are temporary: compressing them too would double the compression work
        frame.write_parquet(
            self._parts / f"part-{self._count:08d}.parquet", compression="uncompressed"
        )
        self._count += 1

    def close(self) -> None:
        """Combine the parts into ``path`` (streaming) and remove them."""
        try:
            if self._count:
                pl.scan_parquet(self._parts / "part-*.parquet").sink_parquet(self.path)
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove the part files (after a failure, or after :meth:`close`)."""
        shutil.rmtree(self._parts, ignore_errors=True)
