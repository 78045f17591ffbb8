"""Atomic output and chunked Parquet reading / writing."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pedbone.io import (
    MalformedInputError,
    OutputExistsError,
    ParquetChunkReader,
    ParquetChunkWriter,
    atomic_path,
)


def test_atomic_path_renames_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp != target
        tmp.write_text("done\n")
        assert not target.exists()
    assert target.read_text() == "done\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_atomic_path_leaves_nothing_after_a_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"

    def fail() -> None:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_never_clobbers_without_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("precious")
    with pytest.raises(OutputExistsError, match="--overwrite"), atomic_path(target):
        pass  # pragma: no cover - not reached
    assert target.read_text() == "precious"
    with atomic_path(target, overwrite=True) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_parquet_round_trip_in_chunks(tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": [f"p{i}" for i in range(10)], "x": [float(i) for i in range(10)]})
    src = tmp_path / "in.parquet"
    frame.write_parquet(src)
    reader = ParquetChunkReader(src, chunk_rows=3)
    assert reader.columns == ["id", "x"]
    assert reader.total_rows == 10
    chunks = list(reader)
    assert [c.height for c in chunks] == [3, 3, 3, 1]
    out = tmp_path / "out.parquet"
    writer = ParquetChunkWriter(out)
    for chunk in chunks:
        writer.write(chunk)
    writer.close()
    assert pl.read_parquet(out).equals(frame)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet", "out.parquet"]


def test_empty_parquet_gives_one_empty_frame(tmp_path: Path) -> None:
    src = tmp_path / "in.parquet"
    pl.DataFrame(schema={"a": pl.String}).write_parquet(src)
    frames = list(ParquetChunkReader(src))
    assert len(frames) == 1
    assert frames[0].height == 0


def test_damaged_parquet(tmp_path: Path) -> None:
    src = tmp_path / "in.parquet"
    src.write_bytes(b"this is not parquet")
    with pytest.raises(MalformedInputError, match="not a readable Parquet file"):
        ParquetChunkReader(src)
