"""Chunked CSV reading: values as text, exact physical line numbers for structural problems."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pedbone.io import CsvChunkReader, CsvChunkWriter, MalformedInputError


def _write(tmp_path: Path, text: str | bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _read_all(path: Path, chunk_rows: int = 10_000, sep: str = ",") -> pl.DataFrame:
    with CsvChunkReader(path, sep=sep, chunk_rows=chunk_rows) as reader:
        return pl.concat(list(reader))


def _error(path: Path, chunk_rows: int = 10_000, sep: str = ",") -> MalformedInputError:
    with pytest.raises(MalformedInputError) as info:
        _read_all(path, chunk_rows, sep)
    return info.value


GOOD = "id,sex,age_years\n007,M,10\n8,F,\n9,M,12.5\n"


@pytest.mark.parametrize("chunk_rows", [1, 2, 7, 10_000])
def test_values_stay_text_and_chunks_do_not_matter(tmp_path: Path, chunk_rows: int) -> None:
    frame = _read_all(_write(tmp_path, GOOD), chunk_rows)
    assert frame.schema == pl.Schema(dict.fromkeys(["id", "sex", "age_years"], pl.String))
    # "007" keeps its zeros; the empty cell is null
    assert frame.rows() == [("007", "M", "10"), ("8", "F", None), ("9", "M", "12.5")]


def test_chunk_sizes(tmp_path: Path) -> None:
    with CsvChunkReader(_write(tmp_path, GOOD), chunk_rows=2) as reader:
        assert [f.height for f in reader] == [2, 1]


def test_header_is_stripped_bom_crlf_and_no_final_newline(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xef\xbb\xbf id , sex\r\n1,M\r\n2,F")
    frame = _read_all(path)
    assert frame.columns == ["id", "sex"]
    assert frame.rows() == [("1", "M"), ("2", "F")]


def test_quoted_fields_with_separator_and_newline(tmp_path: Path) -> None:
    text = 'id,note,sex\n1,"a, b",M\n2,"two\nlines ""quoted""",F\n3,plain,M\n'
    for chunk_rows in (1, 2, 100):
        frame = _read_all(_write(tmp_path, text), chunk_rows)
        assert frame.rows() == [
            ("1", "a, b", "M"),
            ("2", 'two\nlines "quoted"', "F"),
            ("3", "plain", "M"),
        ]


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    frame = _read_all(_write(tmp_path, "a,b\n1,2\n\n3,4\n\n"))
    assert frame.rows() == [("1", "2"), ("3", "4")]


def test_header_only_gives_one_empty_frame(tmp_path: Path) -> None:
    with CsvChunkReader(_write(tmp_path, "a,b\n")) as reader:
        frames = list(reader)
    assert len(frames) == 1
    assert frames[0].columns == ["a", "b"]
    assert frames[0].height == 0


def test_tab_separator(tmp_path: Path) -> None:
    frame = _read_all(_write(tmp_path, "a\tb\n1\t2,5\n", "in.tsv"), sep="\t")
    assert frame.rows() == [("1", "2,5")]


# -- structural problems: line numbers count physical lines, the header is line 1 ------------
@pytest.mark.parametrize("chunk_rows", [1, 3, 10_000])
def test_short_row_reports_its_line(tmp_path: Path, chunk_rows: int) -> None:
    path = _write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n")
    err = _error(path, chunk_rows)
    assert err.line == 4
    assert "expected 3 fields like the header, found 2" in err.reason
    assert str(err).endswith(f"{path}:4: {err.reason}"[-40:])


@pytest.mark.parametrize("chunk_rows", [1, 10_000])
def test_long_row_reports_its_line(tmp_path: Path, chunk_rows: int) -> None:
    err = _error(_write(tmp_path, "a,b\n1,2\n3,4,5\n"), chunk_rows)
    assert err.line == 3
    assert "found 3" in err.reason


def test_short_and_long_rows_that_cancel_out_are_still_found(tmp_path: Path) -> None:
    # separator totals match (2 + 0 = 1 + 1), so the per-line check must catch line 2
    err = _error(_write(tmp_path, "a,b\n1,2,3\n4\n"))
    assert err.line == 2


def test_line_numbers_count_lines_inside_quoted_fields(tmp_path: Path) -> None:
    # line 2-3 is one record (a quoted newline); the ragged record is on line 4
    err = _error(_write(tmp_path, 'a,b\n"x\ny",1\n2\n'))
    assert err.line == 4


def test_text_after_a_closing_quote_is_bad_quoting(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, 'a,b\n1,2\n3,"x"y\n'))
    assert err.line == 3
    assert err.reason.startswith("bad quoting")


@pytest.mark.parametrize("chunk_rows", [1, 10_000])
def test_unclosed_quote_reports_where_it_opens(tmp_path: Path, chunk_rows: int) -> None:
    err = _error(_write(tmp_path, 'a,b\n1,2\n3,"open\n4,5\n6,7\n'), chunk_rows)
    assert err.line == 3
    assert "never closed" in err.reason


def test_invalid_utf8_reports_its_line(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, b"a,b\n1,2\n3,\xff\n"))
    assert err.line == 3
    assert "UTF-8" in err.reason


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(MalformedInputError) as info:
        CsvChunkReader(_write(tmp_path, ""))
    assert info.value.line == 1
    assert "empty" in info.value.reason


@pytest.mark.parametrize(
    ("header", "needle"),
    [
        ("a,,c\n", "column 2 of the header has no name"),
        ("a,b,a\n", "'a' appears twice (columns 1 and 3)"),
        ("a;b;c\n", "is ';' the separator?"),
        ("\n1,2\n", "header row is empty"),
    ],
)
def test_wrong_header(tmp_path: Path, header: str, needle: str) -> None:
    with pytest.raises(MalformedInputError) as info:
        CsvChunkReader(_write(tmp_path, header))
    assert info.value.line == 1
    assert needle in info.value.reason


def test_writer_writes_the_header_once(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    writer = CsvChunkWriter(out, decimals=2)
    writer.write(pl.DataFrame({"a": ["x"], "z": [1.23456]}))
    writer.write(pl.DataFrame({"a": ["-0"], "z": [-0.0001]}))
    writer.write(pl.DataFrame({"a": ["y"], "z": [None]}, schema={"a": pl.String, "z": pl.Float64}))
    writer.close()
    assert out.read_text() == "a,z\nx,1.23\n-0,0.0\ny,\n"


def test_many_lines_per_chunk_and_line_numbers_across_chunks(tmp_path: Path) -> None:
    body = "".join(f"{i},{i % 7}\n" for i in range(200))
    path = _write(tmp_path, "a,b\n" + body)
    with CsvChunkReader(path, chunk_rows=70) as reader:
        frames = list(reader)
        assert reader.bytes_read == reader.total_bytes
    assert [f.height for f in frames] == [70, 70, 60]
    assert pl.concat(frames)["a"].to_list() == [str(i) for i in range(200)]
    # data row 149 (0-based) sits on physical line 151, in the third chunk of 70
    lines = ("a,b\n" + body).splitlines(keepends=True)
    lines[150] = "149\n"
    err = _error(_write(tmp_path, "".join(lines)), 70)
    assert err.line == 151
