"""Property: whatever Python's csv writer produces, the chunked reader reads back exactly,
for any chunk size (quoted separators, doubled quotes and line breaks inside fields)."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pedbone.io import CsvChunkReader

FIELD = st.text(alphabet=st.sampled_from(list('ab1 ,"\n;é')), max_size=6)
ROWS = st.lists(st.lists(FIELD, min_size=3, max_size=3), min_size=0, max_size=25)


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, chunk_rows=st.integers(min_value=1, max_value=9))
def test_reader_reads_back_what_csv_writes(rows: list[list[str]], chunk_rows: int) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["x", "y", "z"])
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.csv"
        path.write_text(buf.getvalue(), encoding="utf-8")
        with CsvChunkReader(path, chunk_rows=chunk_rows) as reader:
            got = [list(r) for frame in reader for r in frame.rows()]
    assert got == [[v if v != "" else None for v in row] for row in rows]
