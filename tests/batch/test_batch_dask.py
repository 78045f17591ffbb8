"""The Dask engine gives the single-process output row for row (small in-process LocalCluster)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from pedbone.cli import app  # noqa: E402
from pedbone.io import score_file  # noqa: E402
from pedbone.references.batch import plan_batch, score_dask, score_partition  # noqa: E402


def _registry_file(path: Path, n: int, seed: int, row_group_size: int | None = None) -> None:
    """Synthetic registry rows: typed columns, blanks, unknown sexes, bad and out-of-range
    values, dates and a DXA measure with a population group."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(1.0, 21.0, n)
    height = rng.normal(140, 25, n)
    height[::17] = -5.0  # value_not_positive
    abmd = rng.normal(0.9, 0.15, n)
    frame = pl.DataFrame(
        {
            "id": [f"s{seed}-{i:05d}" for i in range(n)],
            "sex": rng.choice(["M", "F", "f", "2", "x", None], n).tolist(),
            "birth_date": [
                dt.date(2000, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 4000, n)
            ],
            "measurement_date": [dt.date(2014, 6, 1)] * n,
            "age_years": [None if i % 11 == 0 else float(a) for i, a in enumerate(age)],
            "height_cm": [None if i % 13 == 0 else float(h) for i, h in enumerate(height)],
            "weight_kg": rng.normal(35, 10, n),
            "leg_abmd": abmd,
            "group": rng.choice(["white", "black", "martian", None], n).tolist(),
            "visits": pl.Series([None if i % 7 == 0 else i for i in range(n)], dtype=pl.Int64),
        }
    )
    frame.write_parquet(path, row_group_size=row_group_size)


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as c:
        yield c


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    folder = tmp_path / "registry"
    folder.mkdir()
    _registry_file(folder / "a.parquet", 300, 1)
    _registry_file(folder / "b.parquet", 5, 2)
    # one larger file in many row groups, split into several partitions by a small blocksize
    _registry_file(folder / "c.parquet", 4000, 3, row_group_size=500)
    (folder / "notes.txt").write_text("not a parquet file; ignored\n")
    return folder


def _single_process(folder: Path, tmp: Path) -> pl.DataFrame:
    frames = []
    for path in sorted(folder.glob("*.parquet")):
        out = tmp / f"single-{path.name}"
        score_file(path, out, chunk_rows=777)
        frames.append(pl.read_parquet(out))
    return pl.concat(frames)


def test_dask_output_equals_the_single_process_output_row_for_row(
    registry: Path, tmp_path: Path, cluster: object
) -> None:
    out = tmp_path / "scored"
    seen: list[tuple[int, int]] = []
    summary = score_dask(
        registry,
        out,
        scheduler=cluster.scheduler_address,  # type: ignore[attr-defined]
        blocksize=20_000,  # bytes: several partitions out of c.parquet
        progress=lambda done, total: seen.append((done, total)),
    )
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) == summary.partitions > 3
    assert seen[0] == (0, summary.partitions)
    assert seen[-1] == (summary.partitions, summary.partitions)
    got = pl.read_parquet(parts)
    expected = _single_process(registry, tmp_path)
    assert got.height == expected.height == 4305
    assert_frame_equal(got, expected)  # same rows, order, columns, types and values
    assert summary.rows == 4305
    flagged = int((expected["zscore_status"] != "ok").sum())
    assert summary.rows_with_problems == flagged > 0
    bad = int(expected["zscore_status"].str.contains("height_cm:value_not_positive").sum())
    assert summary.reasons["height_cm:value_not_positive"] == bad > 0
    # nothing left behind beside the output
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_meta_is_the_core_run_on_the_empty_input(registry: Path) -> None:
    import dask.dataframe as dd

    ddf = dd.read_parquet(sorted(map(str, registry.glob("*.parquet"))), dtype_backend="pyarrow")
    plan = plan_batch(list(ddf.columns))
    meta = score_partition(ddf._meta, plan)
    first = score_partition(ddf.partitions[0].compute(), plan)
    assert list(meta.columns) == list(first.columns)
    assert list(meta.dtypes.astype(str)) == list(first.dtypes.astype(str))
    assert len(meta) == 0
    z = first["height_z"].to_numpy(dtype=float, na_value=math.nan)
    assert np.isfinite(z).sum() > 100


def test_existing_output_is_kept_without_overwrite(
    registry: Path, tmp_path: Path, cluster: object
) -> None:
    out = tmp_path / "scored"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="--overwrite"):
        score_dask(registry, out, scheduler=cluster.scheduler_address)  # type: ignore[attr-defined]
    assert (out / "keep.txt").read_text() == "mine"
    summary = score_dask(
        registry,
        out,
        scheduler=cluster.scheduler_address,
        overwrite=True,  # type: ignore[attr-defined]
    )
    assert not (out / "keep.txt").exists()
    assert len(list(out.glob("part-*.parquet"))) == summary.partitions


def test_cli_engine_dask(registry: Path, tmp_path: Path, cluster: object) -> None:
    runner = CliRunner()
    out = tmp_path / "cli_out"
    address = cluster.scheduler_address  # type: ignore[attr-defined]
    result = runner.invoke(
        app,
        ["zscore", str(registry), "--engine", "dask", "--scheduler", address, "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "references: height_cm -> cdc2000, weight_kg -> cdc2000, leg_abmd -> schafmeyer2022" in (
        result.output
    )
    assert "scored 4,305 rows (" in result.output
    assert "Dask worker(s)" in result.output
    got = pl.read_parquet(sorted(out.glob("part-*.parquet")))
    assert_frame_equal(got, _single_process(registry, tmp_path))
    # a CSV input and a local-only option are refused with a clear message
    csv = tmp_path / "x.csv"
    csv.write_text("sex,age_years,height_cm\nM,10,140\n")
    result = runner.invoke(app, ["zscore", str(csv), "--engine", "dask", "--scheduler", address])
    assert result.exit_code == 2
    assert "--engine dask reads Parquet" in result.output
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really parquet")
    result = runner.invoke(app, ["zscore", str(broken), "--engine", "dask", "--scheduler", address])
    assert result.exit_code == 2
    assert "not readable as Parquet" in result.output
    result = runner.invoke(app, ["zscore", str(csv), "--workers", "2"])
    assert result.exit_code == 2
    assert "--scheduler and --workers need --engine dask" in result.output
