"""Z-score throughput: in-process engine and batch core, and `pedbone zscore` on a CSV file.

Run (never part of the tests)::

    .venv/bin/python benchmarks/bench_zscore.py              # 10 M rows in-process, 2 M CSV rows
    .venv/bin/python benchmarks/bench_zscore.py --rows 1e6 --csv-rows 2e5   # quick look

Targets: >= 20 million Z-scores/s in-process (single process), >= 1 million CSV rows/s end to end.
The synthetic data are random (fixed seed) and written to a temporary folder that is removed.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

import pedbone
from pedbone.io import score_file
from pedbone.references._batch import plan_batch, score_frame

_CPU: list[float] = [0.0]


def _best(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs; the CPU seconds of that run go to ``_CPU[0]``."""
    best = float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < best:
            best, _CPU[0] = wall, cpu
    return best


def _cpu_note(n: int) -> str:
    """Rate per CPU-second (all threads): comparable on a machine shared with other jobs."""
    return f"  [CPU {_CPU[0]:6.3f} s, {n / _CPU[0] / 1e6:6.2f} M/CPU-s]"


def _synthetic(n: int, seed: int = 2026) -> dict[str, np.ndarray]:
    """Plausible children 2-20 y: height/weight drawn from the CDC 2000 LMS at random Z."""
    rng = np.random.default_rng(seed)
    ref = pedbone.reference("cdc2000")
    sex = rng.integers(1, 3, n).astype(np.int8)
    age = rng.uniform(2.0, 20.0, n)
    height = ref.value("height", sex=sex, age_years=age, z=rng.normal(0, 1, n))
    weight = ref.value("weight", sex=sex, age_years=age, z=rng.normal(0, 1, n))
    return {"sex": sex, "age_years": age, "height_cm": height, "weight_kg": weight}


def bench_in_process(n: int, repeat: int) -> None:
    data = _synthetic(n)
    ref = pedbone.reference("cdc2000")
    sex, age, height = data["sex"], data["age_years"], data["height_cm"]
    ref.zscore("height", sex=sex[:1000], age_years=age[:1000], value=height[:1000])  # warm up
    t = _best(lambda: ref.zscore("height", sex=sex, age_years=age, value=height), repeat)
    print(
        f"engine  zscore()   {n:>11,} rows  {t:7.3f} s  {n / t / 1e6:7.2f} M Z-scores/s"
        + _cpu_note(n)
    )
    t = _best(lambda: ref.evaluate("height", sex=sex, age_years=age, value=height), repeat)
    print(
        f"engine  evaluate() {n:>11,} rows  {t:7.3f} s  {n / t / 1e6:7.2f} M Z-scores/s"
        + _cpu_note(n)
    )
    sex_text = np.where(sex == 1, "M", "F")
    t = _best(lambda: ref.zscore("height", sex=sex_text, age_years=age, value=height), repeat)
    print(
        f"engine  zscore(sex 'M'/'F') {n:>8,} rows  {t:5.3f} s  {n / t / 1e6:7.2f} M Z-scores/s"
        + _cpu_note(n)
    )
    frame = pl.DataFrame(data)
    plan = plan_batch(frame.columns)
    t = _best(lambda: score_frame(frame, plan), repeat)
    print(
        f"core    score_frame (typed, 2 measures) {n:>9,} rows  {t:6.3f} s  "
        f"{n / t / 1e6:5.2f} M rows/s  {2 * n / t / 1e6:5.2f} M Z-scores/s" + _cpu_note(n)
    )
    text = frame.with_columns(pl.all().cast(pl.String))
    t = _best(lambda: score_frame(text, plan), repeat)
    print(
        f"core    score_frame (text, as from CSV) {n:>9,} rows  {t:6.3f} s  "
        f"{n / t / 1e6:5.2f} M rows/s  {2 * n / t / 1e6:5.2f} M Z-scores/s" + _cpu_note(n)
    )


def bench_csv(n: int, chunk_rows: int) -> None:
    data = _synthetic(n, seed=7)
    frame = pl.DataFrame(data).with_columns(
        pl.Series("id", [f"c{i:07d}" for i in range(n)]),
        pl.col("age_years").round(3),
        pl.col("height_cm").round(1),
        pl.col("weight_kg").round(1),
    )
    with tempfile.TemporaryDirectory(prefix="pedbone-bench-") as tmp:
        src = Path(tmp) / "synthetic.csv"
        frame.select("id", "sex", "age_years", "height_cm", "weight_kg").write_csv(src)
        size = src.stat().st_size
        for out_name in ("scored.csv", "scored.parquet"):
            out = Path(tmp) / out_name
            t0, c0 = time.perf_counter(), time.process_time()
            summary = score_file(src, out, chunk_rows=chunk_rows, decimals=4, overwrite=True)
            t = time.perf_counter() - t0
            _CPU[0] = time.process_time() - c0
            print(
                f"file    CSV -> {out.suffix[1:]:<7} {summary.rows:>11,} rows  {t:7.3f} s  "
                f"{summary.rows / t / 1e6:5.2f} M rows/s  ({size / t / 1e6:5.1f} MB/s in, "
                f"chunk {chunk_rows:,})" + _cpu_note(summary.rows)
            )


def bench_cli_vs_polars(n: int, chunk_rows: int) -> None:
    """`pedbone zscore` as a user runs it (a fresh process: start-up included) against polars'
    own read + write of the same file, in-process and as a fresh ``python -c`` process."""
    data = _synthetic(n, seed=11)
    frame = pl.DataFrame(data).with_columns(
        pl.Series("id", [f"c{i:07d}" for i in range(n)]),
        pl.col("age_years").round(3),
        pl.col("height_cm").round(1),
        pl.col("weight_kg").round(1),
    )
    exe = Path(sys.executable).with_name("pedbone")
    with tempfile.TemporaryDirectory(prefix="pedbone-bench-") as tmp:
        src = Path(tmp) / "synthetic.csv"
        frame.select("id", "sex", "age_years", "height_cm", "weight_kg").write_csv(src)
        out = Path(tmp) / "out.csv"

        def polars_rw() -> None:
            pl.read_csv(src, infer_schema_length=0).write_csv(out)

        def polars_proc() -> None:
            code = (
                "import polars as pl, sys; "
                "pl.read_csv(sys.argv[1], infer_schema_length=0).write_csv(sys.argv[2])"
            )
            subprocess.run([sys.executable, "-c", code, str(src), str(out)], check=True)

        def cli(*extra: str) -> None:
            args = [str(exe), "zscore", str(src), "-o", str(out), "--overwrite", "-q"]
            subprocess.run([*args, "--chunk-size", str(chunk_rows), *extra], check=True)

        def cli_help() -> None:
            subprocess.run([str(exe), "--help"], check=True, stdout=subprocess.DEVNULL)

        def child(fn: Callable[[], object]) -> tuple[float, float]:
            """Best wall time and the CPU seconds (user + system) of the child processes."""
            best_wall, best_cpu = float("inf"), float("inf")
            for _ in range(3):
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                fn()
                wall = time.perf_counter() - t0
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
                best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
            return best_wall, best_cpu

        t_pl = _best(polars_rw, 3)
        c_pl = _CPU[0]
        t_inproc = _best(lambda: score_file(src, out, chunk_rows=chunk_rows, overwrite=True), 3)
        c_inproc = _CPU[0]
        t_plp, c_plp = child(polars_proc)
        t_cli, c_cli = child(cli)
        t_help, c_help = child(cli_help)
        print(
            f"cli     {n:,} CSV rows, wall (CPU) seconds: polars read+write in-process "
            f"{t_pl:.3f} ({c_pl:.3f}), score_file in-process {t_inproc:.3f} ({c_inproc:.3f}) = "
            f"{c_inproc / c_pl:.2f}x polars CPU"
        )
        print(
            f"cli     fresh processes: polars `python -c` read+write {t_plp:.3f} ({c_plp:.3f}); "
            f"`pedbone zscore` {t_cli:.3f} ({c_cli:.3f}) = {c_cli / c_plp:.2f}x polars CPU, "
            f"{t_cli / t_plp:.2f}x wall; `pedbone --help` {t_help:.3f} ({c_help:.3f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=float, default=10e6, help="in-process rows (10 M)")
    parser.add_argument("--csv-rows", type=float, default=2e6, help="CSV rows (2 M)")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--cli-rows", type=float, default=1e6, help="rows for the CLI vs polars run (1 M)"
    )
    parser.add_argument("--only-cli", action="store_true", help="only the CLI vs polars comparison")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"pedbone {pedbone.__version__}, polars {pl.__version__}, numpy {np.__version__}; "
        f"{os.cpu_count()} CPUs, load average {load:.1f} (wall-clock rates suffer above "
        f"{os.cpu_count()})"
    )
    if not args.only_cli:
        bench_in_process(int(args.rows), args.repeat)
        bench_csv(int(args.csv_rows), args.chunk_rows)
    bench_cli_vs_polars(int(args.cli_rows), args.chunk_rows)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at the end {load:.1f}")


if __name__ == "__main__":
    main()
