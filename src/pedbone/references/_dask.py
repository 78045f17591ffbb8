"""Batch Z-scores on Dask: a folder of Parquet files in, a folder of Parquet part files out.

The pure core (:func:`plan_batch` once, :func:`score_frame` per partition) runs unchanged in
Dask's map step. Partitions are pandas DataFrames with Arrow-backed columns
(``dtype_backend="pyarrow"``); :func:`score_partition` hands each to polars without copying
the Arrow buffers, scores it, and gives back an Arrow-backed pandas frame. The ``meta`` Dask
needs is explicit: the core run on the input's empty meta frame, so column names and types of
the output are known before any data is read.

Each scored partition is written by the worker that scored it (``part-00000.parquet``, ...,
in input order) into a hidden folder beside the output, renamed into place only when every
partition is written: a failed run leaves nothing behind and an existing output untouched.
On a running cluster (``scheduler="tcp://host:8786"``) the input and output folders must be
on storage every worker can reach under the same path.

Requires the optional dependencies ``pip install 'pedbone[dask]'``.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pedbone.references._batch import STATUS_COLUMN, BatchPlan, plan_batch, score_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DaskSummary", "score_dask", "score_partition"]

Progress = Callable[[int, int], None]


def _require_dask() -> None:
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "the Dask engine needs the optional dependencies: pip install 'pedbone[dask]'"
        ) from exc


def score_partition(part: pd.DataFrame, plan: BatchPlan) -> pd.DataFrame:
    """Score one pandas partition with the pure core; same rows, same index, scored columns
    added (Arrow-backed dtypes, as ``dd.read_parquet(..., dtype_backend="pyarrow")`` gives)."""
    import pandas as pd

    frame = pl.from_pandas(part, include_index=False)
    scored = score_frame(frame, plan).to_pandas(types_mapper=pd.ArrowDtype)
    scored.index = part.index
    return scored


@dataclass(frozen=True, slots=True)
class DaskSummary:
    """What a Dask run did (the same counts as the single-process summary)."""

    rows: int
    rows_with_problems: int
    seconds: float
    output: Path
    plan: BatchPlan
    partitions: int
    workers: int
    reasons: Mapping[str, int] = field(default_factory=dict)

    def line(self) -> str:
        """One-line human summary."""
        rate = f", {self.rows / self.seconds:,.0f} rows/s" if self.seconds >= 1 else ""
        return (
            f"scored {self.rows:,} rows ({self.rows_with_problems:,} with problems) in "
            f"{self.partitions} partitions on {self.workers} Dask worker(s) in "
            f"{self.seconds:.2f} s{rate} -> {self.output}/"
        )

    def reason_lines(self, limit: int = 10) -> list[str]:
        """The most frequent problems, one line each."""
        items = list(self.reasons.items())
        out = [f"  {count:>8,}  {reason}" for reason, count in items[:limit]]
        if len(items) > limit:
            out.append(f"  ... and {len(items) - limit} more kinds of problem")
        return out


def _write_part(part: pd.DataFrame, path: str) -> tuple[int, int, dict[str, int]]:
    """Write one scored partition (on the worker); return rows, flagged rows, reason counts."""
    frame = pl.from_pandas(part, include_index=False)
    frame.write_parquet(path)
    status = frame[STATUS_COLUMN]
    flagged = status.filter(status != "ok")
    counts: dict[str, int] = {}
    if flagged.len():
        counts = dict(flagged.str.split(";").explode().value_counts().iter_rows())
    return frame.height, flagged.len(), counts


def _inputs(source: Path) -> list[str]:
    if source.is_dir():
        files = sorted(str(p) for p in source.iterdir() if p.suffix.lower() in (".parquet", ".pq"))
        if not files:
            raise FileNotFoundError(f"no .parquet files in the folder {source}")
        return files
    if source.is_file():
        return [str(source)]
    raise FileNotFoundError(f"no such input file or folder: {source}")


def score_dask(
    source: Path | str,
    output: Path | str,
    *,
    references: Mapping[str, str] | None = None,
    aliases: Mapping[str, str] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    threads_per_worker: int = 1,
    processes: bool = True,
    blocksize: str | int | None = "128MiB",
    overwrite: bool = False,
    progress: Progress | None = None,
    on_plan: Callable[[BatchPlan], None] | None = None,
) -> DaskSummary:
    """Score a Parquet file or a folder of Parquet files on Dask into the folder ``output``.

    ``scheduler`` is the address of a running Dask scheduler; without it a ``LocalCluster``
    of ``workers`` processes (default: one per CPU) with ``threads_per_worker`` threads is
    started and stopped (``processes=False`` runs the workers as threads, for tests).
    ``blocksize`` splits large files into partitions of about that size (by row group).
    Output rows are those of :func:`score_frame`, row for row, in input order, one part file
    per partition. ``progress(done, total)`` counts partitions.
    """
    _require_dask()
    # Dask and distributed are untyped: use them through Any
    dask: Any = importlib.import_module("dask")
    dd: Any = importlib.import_module("dask.dataframe")
    dist: Any = importlib.import_module("distributed")
    Client, LocalCluster, as_completed = dist.Client, dist.LocalCluster, dist.as_completed

    started = time.perf_counter()
    source, output = Path(source), Path(output)
    files = _inputs(source)
    if output.exists() and not overwrite:
        raise FileExistsError(f"{output} exists; pass --overwrite to replace it")
    if output.exists() and not output.is_dir():
        raise ValueError(f"the output {output} is a file; the Dask engine writes a folder")
    if output.resolve() == source.resolve() or source.resolve() in output.resolve().parents:
        raise ValueError("the output folder would hold or replace the input; choose another")
    if not output.parent.is_dir():
        raise FileNotFoundError(f"the output's parent folder {output.parent} does not exist")

    read_kwargs: dict[str, Any] = {"dtype_backend": "pyarrow"}
    if blocksize is not None:
        read_kwargs.update(blocksize=blocksize, split_row_groups="adaptive")
    try:
        ddf = dd.read_parquet(files, **read_kwargs)
    except Exception as exc:  # pyarrow raises several types for a damaged or foreign file
        raise ValueError(f"{source}: not readable as Parquet ({exc})") from None
    plan = plan_batch(list(ddf.columns), references, aliases)
    if on_plan is not None:
        on_plan(plan)
    meta = score_partition(ddf._meta, plan)
    scored = ddf.map_partitions(score_partition, plan, meta=meta)
    parts = scored.to_delayed()

    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    cluster = None
    client = None
    try:
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=threads_per_worker,
                processes=processes,
                dashboard_address=None,
            )
            client = Client(cluster)
        n_workers = len(client.scheduler_info(n_workers=-1).get("workers", {})) or 1
        tasks = [
            dask.delayed(_write_part)(part, str(tmp / f"part-{i:05d}.parquet"))
            for i, part in enumerate(parts)
        ]
        futures = client.compute(tasks)
        rows = problems = 0
        reasons: Counter[str] = Counter()
        if progress is not None:
            progress(0, len(futures))
        for done, future in enumerate(as_completed(futures), start=1):
            n, flagged, counts = future.result()
            rows += n
            problems += flagged
            reasons.update(counts)
            if progress is not None:
                progress(done, len(futures))
        # replace atomically: the new folder goes in, the old one (if any) out
        if output.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".old", dir=output.parent)
            )
            os.replace(output, old / "previous")
            os.replace(tmp, output)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, output)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)
    ranked = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    return DaskSummary(
        rows=rows,
        rows_with_problems=problems,
        seconds=time.perf_counter() - started,
        output=output,
        plan=plan,
        partitions=len(parts),
        workers=n_workers,
        reasons=ranked,
    )
