"""DXA exports: DXA² merged and per-region tables, NHANES names, a clinic mapping file, and the
Belgian Excel quirks (fixtures are synthetic; see fixtures/dxa/make_fixtures.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import pedbone
from pedbone.cli import app
from pedbone.io import DxaFileError, check_export, load_mapping, read_dxa_export, store_scans
from pedbone.store import Database, DxaScan, Patient, dxa_zscores

F = Path(__file__).parent / "fixtures" / "dxa"
SCANNER = {
    "manufacturer": "Hologic",
    "model": "Discovery A",
    "software_version": "APEX 4.0",
    "analysis_mode": "pediatric",
}


def _read(name: str, **kw: Any) -> Any:
    return read_dxa_export((F / name).read_bytes(), **kw)


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = Database(f"sqlite:///{tmp_path / 'clinic.sqlite3'}")
    with database.unit_of_work() as s:
        s.add(
            Patient(
                family_name="Synthetic",
                given_name="Zoe",
                birth_date=dt.date(2012, 5, 2),
                sex="F",
                mrn="0012345",
            )
        )
        s.add(
            Patient(
                family_name="Synthetic",
                given_name="Jens",
                birth_date=dt.date(2011, 9, 17),
                sex="M",
                mrn="0067890",
            )
        )
    yield database
    database.dispose()


def test_dxa2_merged_belgian_excel_latin1() -> None:
    export = _read(
        "synthetic_dxa2_merged_be_latin1.csv",
        layout="dxa2-merged",
        encoding="latin-1",
        scanner=SCANNER,
    )
    assert export.format.describe() == "latin-1, ';' separated, decimal ',', dates dd/mm/yyyy"
    assert "L1L4TScr" in export.ignored  # T-scores are not stored
    assert "MeanTHBMD" in export.ignored  # a mean of both sides
    assert export.unknown == []
    first, second = export.records
    assert (first.patient, second.patient) == ("0012345", "0067890")  # leading zeros kept
    assert first.birth_date == dt.date(2012, 5, 2)
    assert first.scan["scanned_on"] == dt.date(2025, 3, 15)
    assert first.scan["height_cm"] == 148.2
    assert first.scan["manufacturer"] == "Hologic"
    sites = {(m["site"], m["region"]): m for m in first.scan["measurements"]}
    assert sites[("spine", "L1-L4")] == {
        "site": "spine",
        "region": "L1-L4",
        "abmd_g_cm2": 0.612,
        "bmc_g": 28.1,
        "vendor_z_abmd": -2.4,
    }
    assert sites[("leg", "right")]["abmd_g_cm2"] == 0.701
    assert sites[("femoral_neck", "left")]["vendor_z_abmd"] == -1.9
    assert sites[("total_body", None)]["bmc_g"] == 1205.5
    assert [m["site"] for m in second.scan["measurements"]] == ["spine", "total_body", "leg"]


def test_an_undeclared_latin1_file_is_refused_with_how_to_declare() -> None:
    with pytest.raises(DxaFileError, match=r"line 2: not UTF-8 text.*declare the encoding"):
        _read("synthetic_dxa2_merged_be_latin1.csv", layout="dxa2-merged", scanner=SCANNER)


def test_dates_that_cannot_tell_day_from_month_are_refused_unless_declared() -> None:
    with pytest.raises(DxaFileError, match="declare the date format"):
        _read("synthetic_dxa2_merged_ambiguous_dates.csv", layout="dxa2-merged", scanner=SCANNER)
    export = _read(
        "synthetic_dxa2_merged_ambiguous_dates.csv",
        layout="dxa2-merged",
        scanner=SCANNER,
        date_format="dd/mm/yyyy",
    )
    assert [r.scan["scanned_on"] for r in export.records] == [
        dt.date(2025, 5, 3),
        dt.date(2025, 6, 4),
    ]
    us = _read(
        "synthetic_dxa2_merged_ambiguous_dates.csv",
        layout="dxa2-merged",
        scanner=SCANNER,
        date_format="mm/dd/yyyy",
    )
    assert us.records[0].scan["scanned_on"] == dt.date(2025, 3, 5)


def test_dxa2_region_table_utf16_tabs() -> None:
    with pytest.raises(DxaFileError, match="declare the scan type"):
        _read("synthetic_dxa2_lumbarspine_utf16.txt", layout="dxa2-region", scanner=SCANNER)
    export = _read(
        "synthetic_dxa2_lumbarspine_utf16.txt",
        layout="dxa2-region",
        scanner=SCANNER,
        scan_type="spine",
    )
    assert export.format.describe() == "utf-16, tab separated, decimal ',', dates dd/mm/yyyy"
    [record] = export.records
    assert record.scan["measurements"] == [
        {
            "site": "spine",
            "region": "L1-L4",
            "abmd_g_cm2": 0.612,
            "bmc_g": 28.1,
            "area_cm2": 45.9,
            "vendor_z_abmd": -2.4,
        }
    ]
    assert export.ignored == ["T_score", "Region 'L1'", "Region 'L2'", "Region 'L3'", "Region 'L4'"]


def test_nhanes_names_and_invalidity_codes() -> None:
    export = _read("synthetic_nhanes_dxx.csv", layout="nhanes", scanner=SCANNER)
    assert export.format.describe() == "utf-8, ',' separated, decimal '.', dates yyyy-mm-dd"
    first, second = export.records
    sites = {(m["site"], m["region"]): m for m in first.scan["measurements"]}
    assert sites[("spine", "L1-L4")]["area_cm2"] == 45.9  # DXXOSA
    assert sites[("tblh", None)]["bmc_g"] == 901.0  # DXDSTBMC: subtotal, total excluding head
    assert sites[("leg", "left")]["area_cm2"] == 364.2  # DXXLLA
    assert first.ok
    # DXALLBV = 4 (arm/leg overlap) with a value present: refused, not stored silently
    assert second.errors == [("", "leg values are marked invalid by the file's invalidity code")]
    assert "DXXL1BMD" in export.ignored  # single vertebrae are not stored


def test_clinic_mapping_file_cp1252(db: Any) -> None:
    mapping = (F / "synthetic_clinic_mapping.yaml").read_text(encoding="utf-8")
    export = read_dxa_export(
        (F / "synthetic_clinic_export_cp1252.csv").read_bytes(), mapping=mapping
    )
    assert export.format.describe() == "cp1252, ';' separated, decimal ',', dates dd/mm/yyyy"
    assert export.ignored == ["Naam", "L1-L4 T-score", "Opmerking"]
    [record] = export.records
    assert record.scan["software_version"] == "APEX 5.6.0.5"  # from its column
    assert record.scan["model"] == "Horizon A"  # fixed in the mapping
    assert record.scan["analysis_mode"] == "pediatric"
    assert record.scan["weight_kg"] == 39.5
    with db.session() as s:
        [row] = check_export(s, export)
    assert row.ok
    assert store_scans(db, [row]) == 1
    with db.session() as s:
        patient = s.query(Patient).filter_by(mrn="0012345").one()
        [scan] = patient.dxa_scans
        assert (scan.manufacturer, scan.model, scan.software_version, scan.analysis_mode) == (
            "Hologic",
            "Horizon A",
            "APEX 5.6.0.5",
            "pediatric",
        )
        spine = next(m for m in scan.measurements if m.site == "spine")
        assert spine.vendor_z_abmd == -2.4  # informational only
        legs = sorted(
            (m.region, m.reference_pack, m.reference_group)
            for m in scan.measurements
            if m.site == "leg"
        )
        assert legs == [("left", "schafmeyer2022", "white"), ("right", "schafmeyer2022", "white")]
        zs = {(z.measure, z.value): z for z in dxa_zscores(patient)}
    # pedbone recomputes Z from the raw value with the reference engine (age on the scan day)
    age = (dt.date(2025, 3, 15) - dt.date(2012, 5, 2)).days / 365.25
    expected = pedbone.reference("schafmeyer2022").evaluate(
        "leg_abmd", sex=["F"], age_years=[age], value=[0.69], group="white"
    )
    assert zs[("leg_abmd", 0.69)].z == pytest.approx(float(expected.z[0]), abs=1e-12)
    assert zs[("leg_abmd", 0.69)].z is not None


def test_wrong_patient_guards(db: Any) -> None:
    mapping = load_mapping((F / "synthetic_clinic_mapping.yaml").read_text(encoding="utf-8"))
    text = (F / "synthetic_clinic_export_cp1252.csv").read_bytes().decode("cp1252")
    # birth date differs from the stored one; an ID a spreadsheet stripped of its zeros;
    # an ID Excel rewrote as a number
    rows = text.splitlines()
    body = [
        rows[0],
        rows[1].replace("2/05/2012", "3/05/2012"),
        rows[1].replace("0012345;", "12345;").replace("15/03/2025", "16/03/2025"),
        rows[1].replace("0012345;", "1.23457E+11;").replace("15/03/2025", "17/03/2025"),
    ]
    export = read_dxa_export("\n".join(body).encode("cp1252"), mapping=mapping)
    with db.session() as s:
        checked = check_export(s, export)
    assert checked[0].errors == [
        ("birth_date", "The birth date in the file differs from the patient's: wrong patient?")
    ]
    assert checked[1].errors == [
        (
            "patient",
            "No patient with this record number. (record number "
            "0012345 exists: did a spreadsheet drop or add leading zeros?)",
        )
    ]
    assert export.records[2].errors == [
        (
            "Patiëntnummer",
            "'1.23457E+11' looks like a number Excel rewrote: export identifiers as text",
        )
    ]
    with pytest.raises(pedbone.store.ImportRowError):
        store_scans(db, checked)
    with db.session() as s:
        assert s.query(DxaScan).count() == 0  # nothing written


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Patients_ID;ScanDate,L1L4BMD\n1;2025-01-01,0.6\n", "declare the separator"),
        (
            b"Patients_ID;ScanDate;L1L4BMD;TotBMD\n1;2025-01-01;0,6;0.9\n",
            "declare the decimal mark",
        ),
        (b"Patients_ID;L1L4BMD\n1;0,6\n", "no scan date column"),
        (b"", "the file is empty"),
        (b"\xff\xfeP\x00", "byte-order mark but latin-1 was declared"),
    ],
)
def test_ambiguous_files_are_refused(content: bytes, message: str) -> None:
    encoding = "latin-1" if content.startswith(b"\xff\xfe") else None
    with pytest.raises(DxaFileError, match=message):
        read_dxa_export(content, layout="dxa2-merged", scanner=SCANNER, encoding=encoding)


def test_the_scanner_must_be_declared_when_the_file_has_none() -> None:
    with pytest.raises(DxaFileError, match="manufacturer is not in the file"):
        _read("synthetic_nhanes_dxx.csv", layout="nhanes")


_HEAD = "format: pedbone-dxa-mapping/1\ncolumns: {patient: a, scan_date: b}\n"
_HEAD += "scanner: {manufacturer: H}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\n", "first line must be 'format: pedbone-dxa-mapping/1'"),
        (
            "format: pedbone-dxa-mapping/1\ncolumns: {patient: a}\n",
            "at least 'patient' and 'scan_date'",
        ),
        (
            _HEAD + "sites: [{site: knee, abmd_g_cm2: c}]\n",
            "'site' must be one of",
        ),
        (
            _HEAD + "sites: [{site: spine, t_score: c}]\n",
            "unknown quantity t_score",
        ),
    ],
)
def test_mapping_file_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(DxaFileError, match=message):
        load_mapping(text)


def test_cli_import_dxa(db: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    url = str(db.url)
    args = [
        "import",
        "dxa",
        str(F / "synthetic_dxa2_merged_be_latin1.csv"),
        "--layout",
        "dxa2-merged",
        "--encoding",
        "latin-1",
        "--manufacturer",
        "Hologic",
        "--model",
        "Discovery A",
        "--software",
        "APEX 4.0",
        "--analysis-mode",
        "pediatric",
        "--reference-group",
        "white",
        "--database-url",
        url,
    ]
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.stderr
    assert "read " in dry.stdout
    assert "latin-1, ';' separated, decimal ',', dates dd/mm/yyyy" in dry.stdout
    assert (
        "line 2: 0012345 2025-03-15: spine L1-L4, total_body, femoral_neck left, leg left, "
        "leg right" in dry.stdout
    )
    assert "dry run: 2 scan(s) would be imported; nothing was written" in dry.stdout
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.stderr
    assert "imported 2 scan(s)" in done.stdout
    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert "line 2: scan_date: A scan on this date is already recorded." in again.stderr
    assert "nothing was imported" in again.stderr
    refused = runner.invoke(
        app,
        [
            "import",
            "dxa",
            str(F / "synthetic_dxa2_merged_be_latin1.csv"),
            "--layout",
            "dxa2-merged",
            "--database-url",
            url,
        ],
    )
    assert refused.exit_code == 2
    assert "declare the encoding" in refused.stderr


@pytest.mark.parametrize(
    ("option", "value"),
    [("date_format", "%d/%m/%Y"), ("encoding", "ebcdic"), ("decimal", ";"), ("delimiter", "|")],
)
def test_declared_options_are_checked(option: str, value: str) -> None:
    with pytest.raises(DxaFileError, match="is not one of"):
        _read("synthetic_nhanes_dxx.csv", layout="nhanes", scanner=SCANNER, **{option: value})


def test_an_unreadable_date_does_not_decide_the_date_order() -> None:
    content = b"Patients_ID;ScanDate;L1L4BMD\n0012345;03/05/2025;0,612\n0067890;soon;0,655\n"
    with pytest.raises(DxaFileError, match="declare the date format"):
        read_dxa_export(content, layout="dxa2-merged", scanner=SCANNER)
    export = read_dxa_export(content, layout="dxa2-merged", scanner=SCANNER,
                             date_format="dd/mm/yyyy")  # fmt: skip
    assert export.records[1].errors == [("ScanDate", "'soon' is not a date (expected dd/mm/yyyy)")]
