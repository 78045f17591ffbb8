"""`pedbone assess` / `pedbone schema` and the shipped example patients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pedbone.cli import app
from pedbone.clinical import Patient

from ._helpers import run

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))

#: Expected ISCD classification of each example, from the rules of [S1][S3]:
EXPECTED = {
    # 2 low-energy vertebral fractures (T6 wedge 20 %, T8 biconcave 30.4 %) → vertebral route
    "duchenne_boy_vertebral_fracture.json": "osteoporosis",
    # 2 femur fractures by age 10 (ages 6.8 and 9.5 y) and LDF Z −3.4 ≤ −2.0 → long-bone route
    "cerebral_palsy_girl.json": "osteoporosis",
    # spine Z −2.1 ≤ −2.0, one long-bone fracture only → low bone density for age
    "galactosaemia_girl.json": "low_bone_density",
    # spine Z −0.8 / TBLH −0.5, no fracture → not low
    "pku_boy.json": "not_low",
    # no DXA yet, no fracture → cannot be classified
    "jia_glucocorticoids_girl.json": "insufficient_data",
}


def test_every_example_is_listed_fictional_and_assessable() -> None:
    assert sorted(p.name for p in EXAMPLE_FILES) == sorted(EXPECTED)
    for path in EXAMPLE_FILES:
        p = Patient.model_validate_json(path.read_text(encoding="utf-8"))
        assert p.fictional is True
        assert p.notes is not None
        assert "FICTIONAL" in p.notes
        assert run(p.model_dump(mode="json")).classification == EXPECTED[path.name]


@pytest.mark.parametrize("fmt", ["text", "md", "json"])
@pytest.mark.parametrize("lang", ["en", "nl"])
def test_assess_formats_and_languages(fmt: str, lang: str) -> None:
    path = EXAMPLES / "duchenne_boy_vertebral_fracture.json"
    res = runner.invoke(app, ["assess", str(path), "--format", fmt, "--lang", lang])
    assert res.exit_code == 0, res.output
    if fmt == "json":
        data = json.loads(res.stdout)
        assert data["classification"] == "osteoporosis"
        assert data["vertebral_fracture_count"] == 2
        first = data["findings"][0]
        assert first["message"] == first[f"message_{lang}"]
    else:
        word = "Osteoporose" if lang == "nl" else "Osteoporosis"
        assert word in res.stdout
        assert ("# " in res.stdout) == (fmt == "md")


def test_assess_as_of_option_and_bad_date() -> None:
    path = EXAMPLES / "galactosaemia_girl.json"
    res = runner.invoke(app, ["assess", str(path), "-f", "json", "--as-of", "2024-06-01"])
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["as_of"] == "2024-06-01"
    assert data["z_score_used"]["z"] == -1.6  # the 2024 scan; the 2025 scan is left out
    bad = runner.invoke(app, ["assess", str(path), "--as-of", "1 June"])
    assert bad.exit_code == 2
    assert "--as-of" in bad.stderr


def test_malformed_json_exits_2_with_line(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text('{"demographics": {"sex": "F",\n  "birth_date": }\n}', encoding="utf-8")
    res = runner.invoke(app, ["assess", str(f)])
    assert res.exit_code == 2
    assert "line 2, column 17" in res.stderr


def test_schema_violation_names_the_field_path(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    rec = {
        "demographics": {"sex": "F", "birth_date": "2012-01-01"},
        "dxa_scans": [
            {"date": "2020-01-01", "scanner": {"manufacturer": "GE"}, "sites": [{"site": "skull"}]}
        ],
    }
    f.write_text(json.dumps(rec), encoding="utf-8")
    res = runner.invoke(app, ["assess", str(f)])
    assert res.exit_code == 2
    assert "dxa_scans[0].sites[0].site" in res.stderr
    assert '(got "skull")' in res.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    res = runner.invoke(app, ["assess", str(tmp_path / "nope.json")])
    assert res.exit_code == 2
    assert "no such file" in res.stderr


def test_schema_patient_is_json_schema() -> None:
    res = runner.invoke(app, ["schema", "patient"])
    assert res.exit_code == 0
    schema = json.loads(res.stdout)
    assert schema["title"] == "Patient"
    assert schema["required"] == ["demographics"]
    assert "phenylketonuria" in schema["$defs"]["DiagnosisCode"]["enum"]
    out = runner.invoke(app, ["schema", "assessment"])
    assert json.loads(out.stdout)["title"] == "Assessment"


def test_public_api_via_pedbone_assess() -> None:
    import pedbone

    p = Patient.model_validate_json((EXAMPLES / "pku_boy.json").read_text(encoding="utf-8"))
    a = pedbone.assess(p)
    assert a.classification == "not_low"
    assert all(f.message_nl and f.message_en for f in a.findings)


def test_assess_with_an_installed_dxa_pack(tmp_path: Path) -> None:
    # Schafmeyer 2022 lower-limb pack [SCHAFMEYER2022] scores the raw leg aBMD when asked; the
    # pack has population groups, so the group is required.
    _json = json
    rec = {
        "id": "X",
        "fictional": True,
        "demographics": {"sex": "F", "birth_date": "2010-01-01"},
        "dxa_scans": [
            {
                "date": "2021-01-10",
                "reference": "Hologic",
                "scanner": {"manufacturer": "Hologic", "model": "A", "serial": "1"},
                "sites": [
                    {"site": "leg", "abmd_g_cm2": 0.6, "vendor_z_abmd": -0.5},
                    {"site": "spine", "vendor_z_abmd": -1.1},
                ],
            }
        ],
    }
    f = tmp_path / "p.json"
    f.write_text(_json.dumps(rec), encoding="utf-8")
    runner = CliRunner()
    plain = _json.loads(runner.invoke(app, ["assess", str(f), "-f", "json"]).stdout)
    assert plain["z_score_used"]["kind"] == "vendor"
    r = runner.invoke(
        app,
        ["assess", str(f), "-f", "json", "--dxa-pack", "schafmeyer2022", "--dxa-group", "white"],
    )
    assert r.exit_code == 0, r.output
    used = _json.loads(r.stdout)["z_score_used"]
    assert used["kind"] == "pack"
    assert used["reference"] == "schafmeyer2022"
    assert used["site"] == "leg"
    bad = runner.invoke(app, ["assess", str(f), "--dxa-pack", "nope"])
    assert bad.exit_code == 2
    assert "unknown reference pack 'nope'" in bad.stderr
