"""Benchmark: random-effects meta-analysis (REML, Knapp-Hartung) in pedbone vs R metafor.

Run from the repository root:  .venv/bin/python benchmarks/bench_meta.py [--ks 10,1000,100000]

For each k the same simulated data (fixed seed) are fitted by ``pedbone.evidence.rma`` in this
process and by ``metafor::rma(method="REML", test="knha")`` in a separate ``Rscript`` that
reads the data from a temporary CSV and times the fits inside R with ``system.time`` over
repetitions (so R start-up and file reading are not counted). Both columns are wall-clock time
per fit. The R side uses metafor's default convergence control (threshold 1e-5); pedbone uses
its stricter default (1e-12), so pedbone does at least as many iterations. The R process runs
under a 6 GB address-space limit: metafor builds k x k matrices for REML, which cannot be
allocated at k = 100,000 (about 75 GB), and the table then says so instead of thrashing.
Never part of the test suite.

``--mv 20,100`` (default) adds rows for ``rma_mv`` (three-level model ``~ 1 | study/esid``,
REML, V from ``vcalc`` with rho 0.6, 1-4 effects per study) followed by ``robust`` with the CR2
correction, against ``metafor::rma.mv`` + ``robust(clubSandwich=TRUE)`` on the same data, timed
the same way (``--mv none`` skips them). metafor's nlminb uses its default tolerances, pedbone
its own (gradient 1e-9).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pedbone.evidence import rma, rma_mv, robust, vcalc

R_SCRIPT = r"""
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
reps <- as.integer(args[2])
fit <- rma(yi, vi, data = dat, method = "REML", test = "knha")
tm <- system.time(for (i in seq_len(reps)) rma(yi, vi, data = dat, method = "REML", test = "knha"))
cat(sprintf("%.17g %.17g %.17g\n", tm[["elapsed"]] / reps, coef(fit)[[1]], fit$tau2))
"""


R_MV_SCRIPT = r"""
suppressMessages({library(metafor); library(clubSandwich)})
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
reps <- as.integer(args[2])
V <- vcalc(vi, cluster = study, obs = esid, rho = 0.6, data = dat)
fit <- rma.mv(yi, V, random = ~ 1 | study/esid, data = dat)
tm <- system.time(for (i in seq_len(reps)) {
  f <- rma.mv(yi, V, random = ~ 1 | study/esid, data = dat)
  r <- robust(f, cluster = dat$study, clubSandwich = TRUE)
})
r <- robust(fit, cluster = dat$study, clubSandwich = TRUE)
cat(sprintf("%.17g %.17g %.17g %.17g\n", tm[["elapsed"]] / reps, coef(fit)[[1]], fit$sigma2[1],
            r$se[1]))
"""


def simulate_mv(n_studies: int, seed: int = 20261201) -> dict[str, np.ndarray]:
    """Three-level data: 1-4 effects per study, sigma² 0.05 (study) and 0.02 (effect)."""
    rng = np.random.default_rng(seed + n_studies)
    n_es = rng.integers(1, 5, size=n_studies)
    study = np.repeat(np.arange(n_studies), n_es)
    esid = np.concatenate([np.arange(n) for n in n_es])
    k = study.size
    vi = rng.uniform(0.01, 0.15, size=k)
    yi = (
        0.25
        + rng.normal(0, np.sqrt(0.05), n_studies)[study]
        + rng.normal(0, np.sqrt(0.02), k)
        + rng.normal(0, np.sqrt(vi))
    )
    return {"study": study, "esid": esid, "yi": yi, "vi": vi}


def time_python_mv(d: dict[str, np.ndarray], reps: int) -> tuple[float, float, float, float]:
    import polars as pl

    frame = pl.DataFrame(
        {"study": d["study"].astype(str), "esid": d["esid"].astype(str), "yi": d["yi"]}
    )
    V = vcalc(d["vi"], d["study"], obs=d["esid"], rho=0.6)

    def once() -> tuple[float, float, float]:
        f = rma_mv("yi", V, data=frame, random="~ 1 | study/esid")
        r = robust(f, "study", clubSandwich=True)
        return f.estimate, f.sigma2[0], r.se

    ref = once()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            once()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best, *ref


def time_r_mv(d: dict[str, np.ndarray], reps: int, tmp: Path) -> tuple[float, ...] | str:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return "Rscript not found"
    data = tmp / f"mv_{d['yi'].size}.csv"
    np.savetxt(
        data,
        np.column_stack([d["study"] + 1, d["esid"] + 1, d["yi"], d["vi"]]),  # 1-based ids
        delimiter=",",
        header="study,esid,yi,vi",
        comments="",
        fmt=["%d", "%d", "%.17g", "%.17g"],
    )
    script = tmp / "bench_mv.R"
    script.write_text(R_MV_SCRIPT, encoding="utf-8")
    proc = subprocess.run(
        [rscript, str(script), str(data), str(reps)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        return f"failed: {(proc.stderr.strip().splitlines() or ['no message'])[-1][:80]}"
    return tuple(float(x) for x in proc.stdout.split())


def simulate(k: int, seed: int = 20261121) -> tuple[np.ndarray, np.ndarray]:
    """Effects with true mean 0.3 and tau² 0.05; sampling variances U(0.01, 0.25)."""
    rng = np.random.default_rng(seed + k)
    vi = rng.uniform(0.01, 0.25, size=k)
    yi = 0.3 + rng.normal(0.0, np.sqrt(0.05 + vi))
    return yi, vi


def time_python(yi: np.ndarray, vi: np.ndarray, reps: int) -> tuple[float, float, float]:
    fit = rma(yi, vi, method="REML", test="knha")  # warm-up and reference values
    best = float("inf")
    for _ in range(3):  # best of three batches, each averaged over `reps` fits
        t0 = time.perf_counter()
        for _ in range(reps):
            rma(yi, vi, method="REML", test="knha")
        best = min(best, (time.perf_counter() - t0) / reps)
    return best, fit.estimate, fit.tau2


def time_r(
    yi: np.ndarray, vi: np.ndarray, reps: int, tmp: Path
) -> tuple[float, float, float] | str:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return "Rscript not found"
    data = tmp / f"meta_{yi.size}.csv"
    np.savetxt(data, np.column_stack([yi, vi]), delimiter=",", header="yi,vi", comments="")
    script = tmp / "bench.R"
    script.write_text(R_SCRIPT, encoding="utf-8")
    cmd = f'ulimit -v 6000000; exec "{rscript}" "{script}" "{data}" {reps}'
    proc = subprocess.run(
        ["bash", "-c", cmd], capture_output=True, text=True, timeout=1800, check=False
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["no message"]
        why = next((ln for ln in lines if "cannot allocate" in ln), lines[0])
        return f"failed: {why.strip()[:80]}"
    sec, est, tau2 = (float(x) for x in proc.stdout.split())
    return sec, est, tau2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", default="10,1000,100000", help="comma-separated k values")
    parser.add_argument(
        "--mv", default="20,100", help="studies for the rma_mv + robust rows, or 'none'"
    )
    args = parser.parse_args()
    ks = [int(x) for x in args.ks.split(",")]
    reps = {10: 200, 100: 100, 1000: 20, 10000: 5}
    r_reps = {10: 200, 100: 20}
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for k in ks:
            yi, vi = simulate(k)
            n = reps.get(k, 2 if k > 10000 else 10)
            py_sec, py_est, py_tau2 = time_python(yi, vi, n)
            # metafor's REML builds k x k matrices: a fit takes ~10 s at k = 1000
            r = time_r(yi, vi, r_reps.get(k, 1), Path(tmpdir))
            rows.append((k, n, py_sec, py_est, py_tau2, r))
            print(f"k = {k:>7}: done", file=sys.stderr)
    print()
    print("REML + Knapp-Hartung, wall-clock time per fit (same data, same run)")
    print(f"{'k':>8} {'pedbone':>12} {'metafor':>12} {'speed-up':>9}  agreement (estimate, tau2)")
    for k, _, py_sec, py_est, py_tau2, r in rows:
        if isinstance(r, str):
            print(f"{k:>8} {py_sec * 1e3:>10.3f}ms {'—':>12} {'—':>9}  metafor {r}")
            continue
        r_sec, r_est, r_tau2 = r
        d_est = abs(py_est - r_est) / max(abs(r_est), 1e-12)
        d_tau = abs(py_tau2 - r_tau2) / max(abs(r_tau2), 1e-12)
        print(
            f"{k:>8} {py_sec * 1e3:>10.3f}ms {r_sec * 1e3:>10.3f}ms {r_sec / py_sec:>8.1f}x"
            f"  rel. diff {d_est:.1e}, {d_tau:.1e} (metafor threshold 1e-5)"
        )
    if args.mv != "none":
        bench_mv([int(x) for x in args.mv.split(",")])


def bench_mv(studies: list[int]) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for n in studies:
            d = simulate_mv(n)
            reps = 5 if n <= 50 else 2
            py = time_python_mv(d, reps)
            r = time_r_mv(d, reps, Path(tmpdir))
            rows.append((n, d["yi"].size, py, r))
            print(f"studies = {n:>5}: done", file=sys.stderr)
    print()
    print("rma_mv (~ 1 | study/esid, REML) + robust(CR2, Satterthwaite), time per fit + robust")
    print(f"{'studies':>8} {'k':>6} {'pedbone':>12} {'metafor':>12} {'speed-up':>9}  agreement")
    for n, k, py, r in rows:
        if isinstance(r, str):
            print(f"{n:>8} {k:>6} {py[0] * 1e3:>10.1f}ms {'—':>12} {'—':>9}  metafor {r}")
            continue
        diffs = [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(py[1:], r[1:], strict=True)]
        diffs[1] = abs(py[2] - r[2])  # sigma² may sit on the boundary 0: absolute difference
        print(
            f"{n:>8} {k:>6} {py[0] * 1e3:>10.1f}ms {r[0] * 1e3:>10.1f}ms {r[0] / py[0]:>8.1f}x"
            f"  rel. diff estimate {diffs[0]:.1e}, sigma2 (abs.) {diffs[1]:.1e},"
            f" robust SE {diffs[2]:.1e}"
        )


if __name__ == "__main__":
    main()
