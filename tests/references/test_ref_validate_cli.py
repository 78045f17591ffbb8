"""Pack validation (all problems at once, with lines), user packs and the refs CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pedbone.cli import app
from pedbone.references import PackError, install, reference, validate

runner = CliRunner()


def _rows() -> list[tuple[str, str, str, float, float, float, float]]:
    return [("height", s, "", a, 1, m, 0.1) for s in "MF" for a, m in enumerate([10, 12, 13, 15])]


def test_valid_pack_validates(make_pack: Callable[..., Path]) -> None:
    assert validate(make_pack(_rows())) == []


def test_all_problems_reported_at_once_with_lines(make_pack: Callable[..., Path]) -> None:
    rows = [
        ("height", "M", "", 0, 1, 10, 0.1),  # line 2
        ("height", "M", "", 1, 1, 12, 0.0),  # line 3: S <= 0
        ("height", "M", "", 1, 1, 13, 0.1),  # line 4: age not increasing
        ("height", "M", "", 3, 1, -2, 0.1),  # line 5: M <= 0
        ("height", "X", "", 4, 1, 15, 0.1),  # line 6: unknown sex code
        ("height", "M", "", "abc", 1, 15, 0.1),  # line 7: not a number
    ]  # and no F rows at all
    folder = make_pack(rows, checksum="sha256:" + "0" * 64)
    problems = validate(folder)
    text = "\n".join(str(p) for p in problems)
    assert "table.csv:3: S must be > 0" in text
    assert "table.csv:4: ages not increasing for height/M: 1 after 1 (line 3)" in text
    assert "table.csv:5: M must be > 0" in text
    assert "table.csv:6: sex 'X' not in sex_coding" in text
    assert "table.csv:7: age 'abc' is not a finite number" in text
    assert "missing sex: no rows for height/F" in text
    assert "checksum mismatch" in text
    (cs,) = [p for p in problems if "checksum mismatch" in p.message]
    assert cs.file == "pack.yaml"
    assert cs.line is not None  # the line of the checksum field
    assert "(measure declared at pack.yaml line" in text
    assert "height/M: lagrange4 needs >= 4 rows, has 3" in text  # ages 0, 1, 3 usable
    assert len(problems) == 8, text


def test_wrong_header_and_unit_mismatch(make_pack: Callable[..., Path]) -> None:
    bad_header = make_pack(_rows(), name="h", header="measure,sex,age,L,M,S,group")
    problems = validate(bad_header)
    assert [(p.file, p.line) for p in problems] == [("table.csv", 1)]
    assert "wrong header" in problems[0].message
    # unit declared for the measure disagrees with the canonical unit (BMC is grams)
    measures = {
        "spine_bmc": {"unit": "g/cm2", "age_min": 0, "age_max": 3, "interpolation": "linear"}
    }
    rows = [
        ("spine_bmc", s, "", a, 1, m, 0.1) for s in "MF" for a, m in enumerate([10, 12, 13, 15])
    ]
    p2 = validate(make_pack(rows, name="u", measures=measures))
    assert any("unit mismatch: 'g/cm2' given, 'g' expected" in str(p) for p in p2)
    assert p2[0].file == "pack.yaml"
    assert p2[0].line is not None
    # a unit column in the table must agree with pack.yaml, line by line
    measures["spine_bmc"]["unit"] = "g"
    rows_u = [(*r, "g") for r in rows]
    rows_u[2] = (*rows[2], "kg")
    p3 = validate(
        make_pack(rows_u, name="v", measures=measures, header="measure,sex,group,age,L,M,S,unit")
    )
    assert [str(p) for p in p3] == [
        "table.csv:4: unit mismatch: 'kg' in the table, 'g' in pack.yaml for spine_bmc"
    ]


def test_metadata_problems_have_yaml_lines(make_pack: Callable[..., Path]) -> None:
    folder = make_pack(_rows(), age_unit="weeks", distribution="normal")
    problems = validate(folder)
    msgs = {p.message.split(" ")[1]: p for p in problems if p.file == "pack.yaml"}
    assert "'age_unit'" in msgs
    assert "'distribution'" in msgs
    assert all(p.line for p in msgs.values())


def test_coverage_beyond_table_is_refused(make_pack: Callable[..., Path]) -> None:
    measures = {"height": {"unit": "cm", "age_min": 0, "age_max": 4, "interpolation": "linear"}}
    problems = validate(make_pack(_rows(), measures=measures))
    assert any("exceeds the table's ages 0-3" in str(p) for p in problems)


def test_install_and_use_user_pack(make_pack: Callable[..., Path], data_dir: Path) -> None:
    folder = make_pack(_rows(), id="synthetic_clinic")
    target = install(folder)
    assert target == data_dir / "packs" / "synthetic_clinic"
    ref = reference("synthetic_clinic")
    assert float(ref.value("height", sex="M", age_years=1.5, z=0.0)) == pytest.approx(12.5)
    with pytest.raises(FileExistsError, match="already installed"):
        install(folder)
    install(folder, force=True)
    with pytest.raises(FileExistsError, match="built in"):
        install(make_pack(_rows(), name="x", id="cdc2000"))
    with pytest.raises(PackError) as err:
        install(make_pack(_rows(), name="bad", id="bad_pack", age_unit="weeks"))
    assert "age_unit" in str(err.value)


def test_cli_list_show_validate_install(make_pack: Callable[..., Path], data_dir: Path) -> None:
    res = runner.invoke(app, ["refs", "list", "--json"])
    assert res.exit_code == 0, res.output
    ids = [p["id"] for p in json.loads(res.stdout)]
    assert ids[:4] == ["cdc2000", "schafmeyer2022", "who2006", "who2007"]

    res = runner.invoke(app, ["refs", "show", "who2006"])
    assert res.exit_code == 0
    assert "nearest_round_half_up" in res.stdout
    assert "restricted tails" in res.stdout
    assert runner.invoke(app, ["refs", "show", "nope"]).exit_code == 2

    good = make_pack(_rows(), id="synthetic_cli")
    assert runner.invoke(app, ["refs", "validate", str(good)]).exit_code == 0
    bad = make_pack([r for r in _rows() if r[1] == "M"], name="bad")
    res = runner.invoke(app, ["refs", "validate", str(bad / "pack.yaml")])
    assert res.exit_code == 2
    assert "missing sex: no rows for height/F" in res.stderr

    res = runner.invoke(app, ["refs", "install", str(good)])
    assert res.exit_code == 0, res.output
    assert (data_dir / "packs" / "synthetic_cli" / "table.csv").is_file()
    res = runner.invoke(app, ["refs", "list"])
    assert "synthetic_cli  (installed, SYNTHETIC)" in res.stdout
    assert runner.invoke(app, ["refs", "install", str(good)]).exit_code == 2
    z = reference("synthetic_cli").zscore("height", sex="F", age_years=0, value=11.0)
    np.testing.assert_allclose(z, (11 / 10 - 1) / 0.1)


def test_cli_remove_and_table_name_guard(make_pack: Callable[..., Path], data_dir: Path) -> None:
    good = make_pack(_rows(), id="synthetic_rm")
    assert runner.invoke(app, ["refs", "install", str(good)]).exit_code == 0
    res = runner.invoke(app, ["refs", "remove", "synthetic_rm"])
    assert res.exit_code == 0, res.output
    assert not (data_dir / "packs" / "synthetic_rm").exists()
    assert runner.invoke(app, ["refs", "remove", "synthetic_rm"]).exit_code == 2
    assert runner.invoke(app, ["refs", "remove", "cdc2000"]).exit_code == 2
    escaping = make_pack(_rows(), name="esc", table="../table.csv")
    assert any("must be a file name inside the pack" in str(p) for p in validate(escaping))


def test_cli_list_warns_about_unreadable_installed_pack(data_dir: Path) -> None:
    broken = data_dir / "packs" / "broken_pack"
    broken.mkdir(parents=True)
    (broken / "pack.yaml").write_text("id: [unclosed\n")
    res = runner.invoke(app, ["refs", "list"])
    assert res.exit_code == 0
    assert "installed pack 'broken_pack' is unreadable" in res.stderr
    assert "cdc2000" in res.stdout
