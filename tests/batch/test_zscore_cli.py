"""``pedbone zscore`` end to end: files in, files out, exit 2 with the line for bad files."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pedbone.cli import app

runner = CliRunner()

# CDC 2000 statage.csv girls at 24.0 months: L=1.07244896 M=84.97555512 S=0.040791394
# height 90 cm: ((90/84.97555512)^1.07244896 - 1) / (1.07244896 * 0.040791394) = 1.452574
Z_F2_H90 = ((90 / 84.97555512) ** 1.07244896 - 1) / (1.07244896 * 0.040791394)

GOOD = (
    "id,sex,age_years,height_cm,note\n"
    "p1,F,2.0,90,first\n"
    'p2,F,2,84.97555512,"comma, quoted"\n'
    "p3,X,2,90,bad sex\n"
    "p4,F,2,tall,bad height\n"
)


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["zscore", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def _files(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir())


def test_csv_to_csv(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(GOOD)
    out = tmp_path / "out.csv"
    code, _, err = _run(src, "-o", out, "--decimals", "6")
    assert code == 0, err
    assert "scored 4 rows (2 with problems)" in err
    assert "height_cm -> cdc2000" in err
    # the most frequent problems follow the summary, ties in name order
    assert err.splitlines()[-2:] == [
        "         1  height_cm:not_a_number",
        "         1  sex:sex_unknown",
    ]
    frame = pl.read_csv(out, infer_schema_length=0)
    assert frame.columns == [
        "id", "sex", "age_years", "height_cm", "note",
        "height_z", "height_centile", "zscore_status",
    ]  # fmt: skip
    assert frame["note"].to_list() == ["first", "comma, quoted", "bad sex", "bad height"]
    assert frame["height_z"].to_list() == [str(round(Z_F2_H90, 6)), "0.0", None, None]
    assert frame["zscore_status"].to_list() == [
        "ok",
        "ok",
        "sex:sex_unknown",
        "height_cm:not_a_number",
    ]
    assert _files(tmp_path) == ["in.csv", "out.csv"]


@pytest.mark.parametrize("chunk", ["1", "7", "10000"])
def test_chunk_size_does_not_change_the_result(tmp_path: Path, chunk: str) -> None:
    rows = [
        f"p{i},{'MF'[i % 2] if i % 11 else 'Q'},{2 + i * 0.37:.2f},{85 + i * 2.1:.1f},"
        f"{10 + i * 0.9:.1f}"
        for i in range(40)
    ]
    rows[13] = "p13,F,3.1,oops,13"
    src = tmp_path / "in.csv"
    src.write_text("id,sex,age_years,height_cm,weight_kg\n" + "\n".join(rows) + "\n")
    ref = tmp_path / "ref.csv"
    assert _run(src, "-o", ref, "--chunk-size", "10000")[0] == 0
    out = tmp_path / f"out{chunk}.csv"
    code, _, err = _run(src, "-o", out, "--chunk-size", chunk)
    assert code == 0, err
    assert out.read_bytes() == ref.read_bytes()
    assert "scored 40 rows (5 with problems)" in err  # sex Q at 0, 11, 22, 33; p13
    assert err.splitlines()[-2:] == [
        "         4  sex:sex_unknown",
        "         1  height_cm:not_a_number",
    ]


def test_parquet_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(GOOD)
    mid = tmp_path / "mid.parquet"
    assert _run(src, "-o", mid)[0] == 0
    scored = pl.read_parquet(mid)
    assert scored["height_z"][0] == pytest.approx(Z_F2_H90, abs=1e-12)  # full precision
    # Parquet in (typed columns, as a researcher's own file would be) -> CSV out
    typed = pl.DataFrame({"sex": [2, 1], "age_years": [2.0, None], "height_cm": [90.0, 100.0]})
    typed.write_parquet(tmp_path / "typed.parquet")
    out = tmp_path / "typed_scored.parquet"
    code, _, err = _run(tmp_path / "typed.parquet")  # default output name
    assert code == 0, err
    back = pl.read_parquet(out)
    assert back["height_z"][0] == pytest.approx(Z_F2_H90, abs=1e-12)
    assert back["zscore_status"].to_list() == ["ok", "age_years:age_missing"]
    assert back["sex"].dtype == pl.Int64  # passed through untouched


def test_tsv_and_explicit_separator(tmp_path: Path) -> None:
    src = tmp_path / "in.tsv"
    src.write_text("sex\tage_years\theight_cm\nF\t2\t90\n")
    code, _, err = _run(src, "-o", tmp_path / "out.tsv")
    assert code == 0, err
    assert (tmp_path / "out.tsv").read_text().splitlines()[0].split("\t")[-1] == "zscore_status"
    semi = tmp_path / "semi.csv"
    semi.write_text("sex;age_years;height_cm\nF;2;90\n")
    code, _, err = _run(semi, "-o", tmp_path / "semi_out.csv")
    assert code == 2
    assert "is ';' the separator?" in err
    assert _run(semi, "-o", tmp_path / "semi_out.csv", "--sep", ";")[0] == 0
    # a text output keeps the input's separator; a tab input written to .csv gets commas
    header = (tmp_path / "semi_out.csv").read_text().splitlines()[0]
    assert header == "sex;age_years;height_cm;height_z;height_centile;zscore_status"
    assert _run(src, "-o", tmp_path / "from_tsv.csv")[0] == 0
    assert (tmp_path / "from_tsv.csv").read_text().startswith("sex,age_years,height_cm,")


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("sex,age_years,height_cm\nF,2,90\nF,2\n", 3, "expected 3 fields"),
        ("sex,age_years,height_cm\nF,2,90\nF,2,90,1\n", 3, "found 4"),
        ('sex,age_years,height_cm\nF,2,90\nF,"2"x,90\n', 3, "bad quoting"),
        ('sex,age_years,height_cm\nF,2,90\nF,"2,90\nM,3,95\n', 3, "never closed"),
        ("age_years,height_cm\n2,90\n", 1, "a 'sex' column"),
        ("sex,age_years,note\nF,2,x\n", 1, "at least one measure column"),
        ("F,2.0,90\nM,3,95\n", 1, "a 'sex' column"),  # no header at all
        ("", 1, "the file is empty"),
        ("sex,sex,age_years,height_cm\n", 1, "appears twice"),
    ],
)
def test_malformed_files_stop_with_the_line(
    tmp_path: Path, text: str, line: int, needle: str
) -> None:
    src = tmp_path / "in.csv"
    src.write_text(text)
    out = tmp_path / "out.csv"
    code, _, err = _run(src, "-o", out, "--chunk-size", "1")
    assert code == 2
    assert f"error: {src}:{line}: " in err
    assert needle in err
    assert _files(tmp_path) == ["in.csv"]  # no output, no temporary file left behind


def test_error_after_many_good_chunks_leaves_no_output(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("sex,age_years,height_cm\n" + "F,2,90\n" * 500 + "F,2\n")
    code, _, err = _run(src, "-o", tmp_path / "out.csv", "--chunk-size", "100")
    assert code == 2
    assert f"{src}:502: expected 3 fields like the header, found 2" in err
    assert _files(tmp_path) == ["in.csv"]
    code, _, err = _run(src, "-o", tmp_path / "out.parquet", "--chunk-size", "100")
    assert code == 2
    assert _files(tmp_path) == ["in.csv"]


def test_overwrite_guard(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(GOOD)
    out = tmp_path / "out.csv"
    out.write_text("keep me")
    code, _, err = _run(src, "-o", out)
    assert code == 2
    assert "--overwrite" in err
    assert out.read_text() == "keep me"
    assert _run(src, "-o", out, "--overwrite")[0] == 0
    assert out.read_text().startswith("id,sex")
    code, _, err = _run(src, "-o", src, "--overwrite")
    assert code == 2
    assert "overwrite the input" in err


def test_reference_options(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("sex,age_years,height_cm\nF,10,140\n")
    out = tmp_path / "out.csv"
    code, _, err = _run(src, "-o", out, "--reference", "who2007", "--decimals", "6")
    assert code == 0, err
    # WHO 2007 girls 120 mo, L=1: (140 - 138.6363) / (138.6363 * 0.04614) = 0.213189
    assert pl.read_csv(out)["height_z"][0] == pytest.approx(0.213189, abs=1e-6)
    for bad, needle in [
        ("nosuchpack", "nosuchpack"),
        ("height=", "expected PACK or KEY=PACK"),
        ("height_cm=schafmeyer2022", "has no measure 'height'"),
    ]:
        code, _, err = _run(src, "-o", tmp_path / "x.csv", "--reference", bad)
        assert code == 2, bad
        assert needle in err
    assert _files(tmp_path) == ["in.csv", "out.csv"]


def test_uncovered_dxa_column_is_a_warning(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("sex,age_years,height_cm,spine_abmd\nF,2,90,0.5\n")
    code, _, err = _run(src, "-o", tmp_path / "out.csv")
    assert code == 0
    assert "warning: column 'spine_abmd' left unscored" in err
    assert "spine_abmd_z" not in pl.read_csv(tmp_path / "out.csv").columns


def test_missing_input_and_unknown_format(tmp_path: Path) -> None:
    code, _, err = _run(tmp_path / "nope.csv", "-o", tmp_path / "out.csv")
    assert code == 2
    assert "no such input file" in err
    src = tmp_path / "in.xlsx"
    src.write_text("x")
    code, _, err = _run(src, "-o", tmp_path / "out.csv")
    assert code == 2
    assert "--format" in err


def test_bundled_example_scores(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "zscore_example.csv"
    out = tmp_path / "example.csv"
    code, _, err = _run(example, "-o", out)
    assert code == 0, err
    frame = pl.read_csv(out, infer_schema_length=0)
    assert frame.height == 20
    flagged = frame.filter(pl.col("zscore_status") != "ok")
    assert flagged["note"].str.contains("BAD|not in the").all()
    assert flagged.height == 6
    assert math.isfinite(float(frame["height_z"][0]))


def test_progress_bar_forced_on_and_quiet(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(GOOD)
    code, _, err = _run(src, "-o", tmp_path / "a.csv", "--progress", "--chunk-size", "2")
    assert code == 0, err
    assert "scored 4 rows" in err
    code, out, err = _run(src, "-o", tmp_path / "b.csv", "--no-progress", "--quiet")
    assert code == 0
    assert out == ""
    assert err == ""  # no bar (not a terminal), no summary
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_column_option_maps_the_inputs_names(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("Gender,Age,Height\nF,2,90\n")
    out = tmp_path / "out.csv"
    code, _, err = _run(src, "-o", out, "--column", "sex=Gender", "-c", "age_years=Age",
                        "-c", "height_cm=Height", "--decimals", "6")  # fmt: skip
    assert code == 0, err
    assert "Height -> cdc2000" in err
    assert pl.read_csv(out)["height_z"][0] == pytest.approx(Z_F2_H90, abs=1e-6)
    code, _, err = _run(src, "-o", tmp_path / "x.csv", "--column", "sex")
    assert code == 2
    assert "expected NAME=VALUE" in err


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_header_only_file_gives_an_empty_table_with_all_columns(
    tmp_path: Path, suffix: str
) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,sex,age_years,bmi\n")
    out = tmp_path / f"out{suffix}"
    code, _, err = _run(src, "-o", out)
    assert code == 0, err
    assert "scored 0 rows (0 with problems)" in err
    frame = pl.read_csv(out) if suffix == ".csv" else pl.read_parquet(out)
    assert frame.columns == [
        "id",
        "sex",
        "age_years",
        "bmi",
        "bmi_z",
        "bmi_centile",
        "zscore_status",
    ]
    assert frame.height == 0
