"""Dask engine throughput: one Parquet file scored by 1, 2, ... local worker processes, against
the single-process streaming pipeline on the same file.

Run (never part of the tests)::

    .venv/bin/python benchmarks/bench_dask.py --rows 4e6 --workers 1 2

The file is written to a temporary folder in row groups of 250 000 rows and split by
``--partition-size``, so no worker holds more than a few partitions: the run stands for a file
larger than one machine's memory. Each cluster is started once and warmed
up by a first run (worker imports, pack loading); the second run is timed. Wall-clock speed-up
per worker is only meaningful on an
otherwise idle machine; the load average is printed beside the numbers.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

import pedbone
from pedbone.io import score_file
from pedbone.references.batch import score_dask


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=float, default=4e6)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--partition-size", default="32MiB")
    args = parser.parse_args()
    n = int(args.rows)
    rng = np.random.default_rng(2026)
    ref = pedbone.reference("cdc2000")
    sex = rng.integers(1, 3, n).astype(np.int8)
    age = rng.uniform(2.0, 20.0, n)
    frame = pl.DataFrame(
        {
            "id": np.arange(n),
            "sex": sex,
            "age_years": age,
            "height_cm": ref.value("height", sex=sex, age_years=age, z=rng.normal(0, 1, n)),
            "weight_kg": ref.value("weight", sex=sex, age_years=age, z=rng.normal(0, 1, n)),
        }
    )
    with tempfile.TemporaryDirectory(prefix="pedbone-bench-dask-") as tmp:
        src = Path(tmp) / "registry.parquet"
        frame.write_parquet(src, row_group_size=250_000)
        del frame
        mb = src.stat().st_size / 1e6
        print(
            f"pedbone {pedbone.__version__}; {os.cpu_count()} CPUs; {n:,} rows, {mb:.0f} MB "
            f"Parquet; partitions of {args.partition_size}; load average {_load():.1f}"
        )
        t0 = time.perf_counter()
        score_file(src, Path(tmp) / "single.parquet")
        single = time.perf_counter() - t0
        print(f"single process (streamed)  {single:7.2f} s  {n / single / 1e6:5.2f} M rows/s")
        from distributed import LocalCluster

        for w in args.workers:
            with LocalCluster(n_workers=w, threads_per_worker=1, dashboard_address=None) as cluster:
                # warm-up: worker imports and pack loading are not part of the scoring rate
                score_dask(
                    src,
                    Path(tmp) / f"warm{w}",
                    scheduler=cluster.scheduler_address,
                    blocksize=args.partition_size,
                )
                out = Path(tmp) / f"dask{w}"
                t0 = time.perf_counter()
                s = score_dask(
                    src, out, scheduler=cluster.scheduler_address, blocksize=args.partition_size
                )
                wall = time.perf_counter() - t0
            print(
                f"dask {w} worker(s)           {wall:7.2f} s  {n / wall / 1e6:5.2f} M rows/s  "
                f"({s.partitions} partitions; {single / wall:4.2f}x single process, "
                f"{single / wall / w:4.2f}x per worker; load {_load():.1f})"
            )


if __name__ == "__main__":
    main()
