"""Score a CSV or Parquet file chunk by chunk: reader -> pure batch core -> atomic writer."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar, cast

from pedbone.io._atomic import atomic_path
from pedbone.io._csv import CsvChunkReader, CsvChunkWriter
from pedbone.io._errors import MalformedInputError
from pedbone.io._parquet import ParquetChunkReader, ParquetChunkWriter
from pedbone.references._batch import (
    STATUS_COLUMN,
    BatchPlan,
    BatchSchemaError,
    plan_batch,
    score_frame,
)

__all__ = ["FileFormat", "ScoreSummary", "infer_format", "score_file"]

FileFormat = Literal["csv", "parquet"]
T = TypeVar("T")
_SUFFIXES: dict[str, tuple[FileFormat, str | None]] = {
    ".csv": ("csv", None),
    ".txt": ("csv", None),
    ".tsv": ("csv", "\t"),
    ".tab": ("csv", "\t"),
    ".parquet": ("parquet", None),
    ".pq": ("parquet", None),
}


def infer_format(path: Path | str) -> tuple[FileFormat, str | None]:
    """File format and implied separator (tab for ``.tsv``/``.tab``) from the extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        known = ", ".join(_SUFFIXES)
        raise ValueError(
            f"cannot tell the format of {path} from its extension ({known}); pass --format"
        )
    return _SUFFIXES[suffix]


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    """What a run did."""

    rows: int
    rows_with_problems: int
    seconds: float
    output: Path
    plan: BatchPlan
    reasons: Mapping[str, int] = field(default_factory=dict)
    """Rows per status reason (``height_cm:not_a_number`` -> 12), most frequent first, ties
    by name."""

    def line(self) -> str:
        """One-line human summary."""
        rate = f", {self.rows / self.seconds:,.0f} rows/s" if self.seconds >= 1 else ""
        return (
            f"scored {self.rows:,} rows ({self.rows_with_problems:,} with problems) "
            f"in {self.seconds:.2f} s{rate} -> {self.output}"
        )

    def reason_lines(self, limit: int = 10) -> list[str]:
        """The most frequent problems, one line each (and how many kinds were left out)."""
        items = list(self.reasons.items())
        out = [f"  {count:>8,}  {reason}" for reason, count in items[:limit]]
        if len(items) > limit:
            out.append(f"  ... and {len(items) - limit} more kinds of problem")
        return out


Progress = Callable[[int, int], None]


def score_file(
    source: Path | str,
    output: Path | str,
    *,
    references: Mapping[str, str] | None = None,
    aliases: Mapping[str, str] | None = None,
    chunk_rows: int = 100_000,
    input_format: FileFormat | None = None,
    output_format: FileFormat | None = None,
    sep: str | None = None,
    output_sep: str | None = None,
    overwrite: bool = False,
    decimals: int | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[BatchPlan], None] | None = None,
) -> ScoreSummary:
    """Add Z-scores, centiles and a status column to every row of ``source``; write ``output``.

    Streams ``chunk_rows`` rows at a time, so files larger than memory work. The output is
    written to a temporary file beside ``output`` and renamed into place only on success;
    an existing ``output`` is replaced only with ``overwrite``. A structural problem in the
    input raises :class:`MalformedInputError` (with the line for text files); bad values only
    flag their rows. ``references`` and ``aliases`` go to :func:`plan_batch`.
    ``progress(done, total)`` is called after each chunk (bytes for CSV,
    rows for Parquet); ``on_plan`` sees the plan before any row is read.
    """
    started = time.perf_counter()
    source, output = Path(source), Path(output)
    if not source.is_file():
        raise FileNotFoundError(f"no such input file: {source}")
    if output.exists() and output.resolve() == source.resolve():
        raise ValueError("the output would overwrite the input; choose another output file")
    in_fmt, in_sep = (input_format, None) if input_format else infer_format(source)
    out_fmt, out_sep = (output_format, None) if output_format else infer_format(output)
    sep = sep or in_sep or ","
    # a text output keeps the input's separator (e.g. ';'), except that .tsv means tab and a
    # tab-separated input written to .csv gets commas
    output_sep = output_sep or out_sep or (sep if sep != "\t" else ",")

    reader: CsvChunkReader | ParquetChunkReader
    if in_fmt == "csv":
        reader = CsvChunkReader(source, sep=sep, chunk_rows=chunk_rows)
        header_line: int | None = 1
    else:
        reader = ParquetChunkReader(source, chunk_rows=chunk_rows)
        header_line = None
    try:
        try:
            plan = plan_batch(reader.columns, references, aliases)
        except BatchSchemaError as exc:
            raise MalformedInputError(source, header_line, str(exc)) from None
        if on_plan is not None:
            on_plan(plan)
        rows = problems = 0
        reasons: Counter[str] = Counter()
        with atomic_path(output, overwrite=overwrite) as tmp:
            writer: CsvChunkWriter | ParquetChunkWriter
            if out_fmt == "csv":
                writer = CsvChunkWriter(tmp, sep=output_sep, decimals=decimals)
            else:
                writer = ParquetChunkWriter(tmp)
            try:
                # three stages overlap on separate threads (polars and NumPy release the
                # GIL): read + parse, score, and (here) write; at most 2 chunks wait per stage
                parsed = _prefetch(iter(reader))
                stages = _prefetch(score_frame(chunk, plan) for chunk in parsed)
                with contextlib.closing(stages):  # on an error, stop both threads first
                    for scored in stages:
                        writer.write(scored)
                        rows += scored.height
                        flagged = scored[STATUS_COLUMN].filter(scored[STATUS_COLUMN] != "ok")
                        problems += flagged.len()
                        if flagged.len():
                            counts = flagged.str.split(";").explode().value_counts()
                            reasons.update(dict(counts.iter_rows()))
                        _report(progress, reader)
                writer.close()
            finally:
                writer.discard()
    finally:
        reader.close()
    seconds = time.perf_counter() - started
    ranked = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    return ScoreSummary(rows, problems, seconds, output, plan, ranked)


_DONE = object()


def _prefetch(items: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """Run ``items`` in a background thread, ``depth`` ahead; exceptions re-raise here, in order.

    Closing the generator early (an error downstream) stops the thread before returning.
    """
    q: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[object, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((None, exc))

    thread = threading.Thread(target=work, name="pedbone-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = q.get()
            if exc is not None:
                raise exc
            if item is _DONE:
                return
            yield cast(T, item)
    finally:
        stop.set()
        thread.join()


def _report(progress: Progress | None, reader: CsvChunkReader | ParquetChunkReader) -> None:
    if progress is None:
        return
    if isinstance(reader, CsvChunkReader):
        progress(reader.bytes_read, reader.total_bytes)
    else:
        progress(reader.rows_read, reader.total_rows)
