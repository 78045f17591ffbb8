"""Chunked CSV reading with physical line numbers, and chunked CSV writing.

Every column is read as text (``pl.String``): the file layer never guesses types, so an
identifier such as ``007`` passes through unchanged and a bad number in one row cannot stop the
file. Casting, and flagging the rows whose values do not cast, is the batch core's job.

The reader hands out ``chunk_rows`` physical lines at a time (more when a quoted field spans
lines), reading the file in large blocks, so memory stays bounded however large the file. The
fast path hands a chunk to polars' CSV parser; a chunk with quote characters, or one whose
field count or parse does not check out (ragged or blank lines), goes through Python's
:mod:`csv` module, which skips blank lines and finds the exact line and reason of a structural
problem (ragged row, bad quoting, text that is not UTF-8).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np
import polars as pl
import polars.selectors as cs

from pedbone.io._errors import MalformedInputError
from pedbone.io._formula import escape_formula_cells

__all__ = ["CsvChunkReader", "CsvChunkWriter"]

#: Lines a quoted field may span before the reader gives up looking for its closing quote.
_MAX_QUOTED_LINES = 10_000


class CsvChunkReader:
    """Read a delimited text file as a header plus an iterator of all-text DataFrame chunks.

    ``columns`` is the header (names stripped of surrounding blanks); iterating yields one
    :class:`polars.DataFrame` per chunk of at most about ``chunk_rows`` records, every column
    ``pl.String``, empty cells null. A file with a header and no records yields one empty
    frame. Blank lines are skipped. Structural problems raise :class:`MalformedInputError`
    with the physical line number (line 1 is the header).
    """

    def __init__(self, path: Path | str, *, sep: str = ",", chunk_rows: int = 100_000) -> None:
        if len(sep) != 1 or sep in ('"', "\n", "\r"):
            raise ValueError(f"the separator must be one character other than a quote: {sep!r}")
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.path = Path(path)
        self.sep = sep
        self.chunk_rows = chunk_rows
        self._sep_b = sep.encode()
        self._file: BinaryIO = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        self.total_bytes = os.fstat(self._file.fileno()).st_size
        self._line = 0  # physical lines consumed so far
        self._buf = b""  # bytes read from the file but not yet handed out
        self._eof = False
        self._read_size = 1 << 16
        try:
            self.columns = self._read_header()
        except BaseException:
            self.close()
            raise

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> CsvChunkReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying file."""
        self._file.close()

    @property
    def bytes_read(self) -> int:
        """Bytes consumed so far (for a progress bar)."""
        if self._file.closed:
            return self.total_bytes
        return self._file.tell() - len(self._buf)

    # -- header ----------------------------------------------------------------------------
    def _error(self, line: int | None, reason: str) -> MalformedInputError:
        return MalformedInputError(self.path, line, reason)

    def _read_header(self) -> list[str]:
        first = self._file.readline()
        if not first:
            raise self._error(1, "the file is empty; expected a header row naming the columns")
        lines = [first]
        quotes = first.count(b'"')
        while quotes % 2 and len(lines) < _MAX_QUOTED_LINES:
            more = self._file.readline()
            if not more:
                break
            lines.append(more)
            quotes += more.count(b'"')
        self._line = len(lines)
        raw = b"".join(lines)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise self._error(1, "the header is not UTF-8 text; save the file as UTF-8") from None
        if not text.strip():
            raise self._error(1, "the header row is empty; expected the column names")
        try:
            rows = list(csv.reader(io.StringIO(text), delimiter=self.sep, strict=True))
        except csv.Error as exc:
            raise self._error(1, f"the header cannot be read as CSV ({exc})") from None
        names = [name.strip() for name in rows[0]]
        if len(names) == 1 and self.sep not in names[0]:
            for other, label in ((";", "';'"), ("\t", "a tab"), (",", "','")):
                if other != self.sep and other in names[0]:
                    raise self._error(
                        1,
                        f"the header has one column but contains {label}; is {label} the "
                        f"separator? (pass --sep)",
                    )
        seen: dict[str, int] = {}
        for i, name in enumerate(names, start=1):
            if not name:
                raise self._error(1, f"column {i} of the header has no name")
            if name in seen:
                raise self._error(
                    1, f"column name {name!r} appears twice (columns {seen[name]} and {i})"
                )
            seen[name] = i
        return names

    # -- records ---------------------------------------------------------------------------
    def _cut(self, n: int) -> int | None:
        """Offset just past the ``n``-th newline in the buffer, or None if it has fewer."""
        buf = self._buf
        if n <= 64:
            pos = -1
            for _ in range(n):
                pos = buf.find(b"\n", pos + 1)
                if pos < 0:
                    return None
            return pos + 1
        if buf.count(b"\n") < n:
            return None
        newlines = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)
        return int(newlines[n - 1]) + 1

    def _take_lines(self, n: int) -> tuple[bytes, int]:
        """Up to ``n`` physical lines as one block, and how many lines it holds.

        The file is read in large blocks (sized from the lines seen so far), not line by line.
        """
        cut = self._cut(n)
        while cut is None and not self._eof:
            more = self._file.read(self._read_size)
            if more:
                self._buf += more
                cut = self._cut(n)
            else:
                self._eof = True
        if cut is None:
            cut = len(self._buf)  # end of file: whatever is left
        block, self._buf = self._buf[:cut], self._buf[cut:]
        n_lines = block.count(b"\n") + (1 if block and not block.endswith(b"\n") else 0)
        if n_lines >= 16:
            mean = len(block) / n_lines
            self._read_size = min(max(int(mean * self.chunk_rows * 1.05), 1 << 16), 1 << 28)
        return block, n_lines

    def __iter__(self) -> Iterator[pl.DataFrame]:
        yielded = False
        while True:
            block, n_lines = self._take_lines(self.chunk_rows)
            if not block:
                break
            quotes = block.count(b'"')
            extra = 0
            while quotes % 2 and extra < _MAX_QUOTED_LINES:
                # a quoted field goes on past the chunk: take lines until the quotes balance
                more, got = self._take_lines(1)
                if not got:
                    break
                block += more
                extra += got
                quotes += more.count(b'"')
            n_lines += extra
            first_line = self._line + 1
            self._line += n_lines
            frame = self._parse(block, first_line, n_lines, has_quotes=quotes > 0)
            if frame.height or not yielded:
                # an all-blank chunk yields nothing unless nothing has been yielded yet
                yielded = True
                yield frame
        if not yielded:
            yield self._empty()

    def _empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=dict.fromkeys(self.columns, pl.String))

    def _parse(
        self, block: bytes, first_line: int, n_lines: int, *, has_quotes: bool
    ) -> pl.DataFrame:
        ncols = len(self.columns)
        # a blank line has no separator, so the count check below sends it to the slow path;
        # only a one-column file needs to look for blank lines itself
        blank = ncols == 1 and (
            block[:1] in (b"\n", b"\r") or b"\n\n" in block or b"\n\r\n" in block
        )
        if has_quotes or blank:
            return self._parse_python(block, first_line)
        try:
            frame = pl.read_csv(
                io.BytesIO(block),
                has_header=False,
                new_columns=self.columns,
                schema=dict.fromkeys(self.columns, pl.String),
                separator=self.sep,
                quote_char=None,
            )
        except Exception:  # polars raises several exception types for bad input
            # the strict parser raises the precise error (line and reason), or reads the block
            return self._parse_python(block, first_line)
        if frame.height != n_lines or block.count(self._sep_b) != n_lines * (ncols - 1):
            # polars pads short rows with nulls and keeps blank lines as empty rows: let the
            # strict parser find the ragged line, or skip the blank ones
            return self._parse_python(block, first_line)
        return frame

    def _parse_python(self, block: bytes, first_line: int) -> pl.DataFrame:
        """Parse with :mod:`csv` (strict), raising on the first structural problem."""
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad_line = first_line + block.count(b"\n", 0, exc.start)
            raise self._error(bad_line, "not UTF-8 text; save the file as UTF-8") from None
        ncols = len(self.columns)
        reader = csv.reader(io.StringIO(text), delimiter=self.sep, strict=True)
        columns: list[list[str | None]] = [[] for _ in range(ncols)]
        while True:
            start = first_line + reader.line_num
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                reason = str(exc)
                if "unexpected end of data" in reason or "newline inside string" in reason:
                    reason = "a quoted field is never closed (unbalanced quote character)"
                else:
                    reason = f"bad quoting ({reason})"
                raise self._error(start, reason) from None
            if not record:
                continue  # blank line
            if len(record) != ncols:
                raise self._error(
                    start,
                    f"expected {ncols} fields like the header, found {len(record)}"
                    + (
                        " (too many; a separator inside an unquoted value?)"
                        if len(record) > ncols
                        else ""
                    ),
                )
            for col, value in zip(columns, record, strict=True):
                col.append(value if value != "" else None)
        return pl.DataFrame(
            dict(zip(self.columns, columns, strict=True)),
            schema=dict.fromkeys(self.columns, pl.String),
        )


class CsvChunkWriter:
    """Write DataFrame chunks to ``path`` as CSV (header once); same interface as Parquet's.

    Text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR
    at the start) are written with a leading ``'`` (:mod:`pedbone.io._formula`); numbers,
    including negative ones and numbers kept as text, are written unchanged.

    ``decimals`` rounds every float column (the computed ones: input columns read from a
    text file are text and pass through as they were).
    """

    def __init__(self, path: Path | str, *, sep: str = ",", decimals: int | None = None) -> None:
        self.path = Path(path)
        self.sep = sep
        self.decimals = decimals
        self._file: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        self._header_done = False

    def write(self, frame: pl.DataFrame) -> None:
        """Append one chunk."""
        if self.decimals is not None:
            # rounding first is ~6x faster than write_csv(float_precision=...); "+ 0.0" turns
            # a rounded -0.0 into 0.0
            frame = frame.with_columns(cs.float().round(self.decimals) + 0.0)
        frame = escape_formula_cells(frame)  # a spreadsheet never runs a cell as a formula
        frame.write_csv(self._file, include_header=not self._header_done, separator=self.sep)
        self._header_done = True

    def close(self) -> None:
        """Flush and close the file."""
        self._file.close()

    def discard(self) -> None:
        """Close the file after a failure (the caller removes it)."""
        self._file.close()
