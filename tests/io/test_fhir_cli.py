"""``pedbone fhir export`` and ``pedbone fhir import`` on real SQLite files."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pedbone.cli import app
from pedbone.store import Database, Patient, create_demo_patients

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_export_then_import_into_an_empty_database(tmp_path: Path) -> None:
    source, target = f"sqlite:///{tmp_path / 'a.sqlite3'}", f"sqlite:///{tmp_path / 'b.sqlite3'}"
    db = Database(source)
    with db.unit_of_work() as session:
        create_demo_patients(session)
    db.dispose()
    out = tmp_path / "p.fhir.json"
    code, _, err = _run(
        "fhir", "export", "--mrn", "DEMO-0002", "-o", str(out), "--database-url", source
    )
    assert code == 0, err
    assert "resources to" in err
    bundle = json.loads(out.read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle"
    # refuses to overwrite without --overwrite, and the file is untouched
    code, _, err = _run(
        "fhir", "export", "--mrn", "DEMO-0002", "-o", str(out), "--database-url", source
    )
    assert code == 2
    assert "exists; pass --overwrite" in err
    code, stdout, err = _run("fhir", "import", str(out), "--dry-run", "--database-url", target)
    assert code == 0, err
    assert "would import: 1 patient, 1 diagnoses, 3 anthropometry rows, 3 DXA scans" in stdout
    assert "dry run: nothing was written" in stdout
    code, stdout, err = _run("fhir", "import", str(out), "--database-url", target)
    assert code == 0, err
    assert "imported patient id 1" in stdout
    check = Database(target)
    with check.session() as s:
        [p] = s.query(Patient).all()
        assert (p.mrn, p.family_name, p.given_name, p.demo) == (
            "DEMO-0002",
            "Demo",
            "Patient 02",
            True,
        )
    check.dispose()
    # the same Bundle again: refused, nothing added
    code, _, err = _run("fhir", "import", str(out), "--database-url", target)
    assert code == 2
    assert "already in the database; nothing was imported" in err


def test_import_reports_errors_per_resource_and_writes_nothing(tmp_path: Path) -> None:
    bad = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "p",
                    "birthDate": "2015-01-01",
                    "name": [{"family": "Synthetic", "given": ["X"]}],
                }
            },
        ],
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    code, _, err = _run(
        "fhir", "import", str(path), "--database-url", f"sqlite:///{tmp_path / 'c.sqlite3'}"
    )
    assert code == 1
    assert "error: entry 1 (Patient/p): sex at birth missing" in err
    assert "1 error(s): nothing was imported" in err


def test_export_needs_exactly_one_patient_selector(tmp_path: Path) -> None:
    code, _, err = _run("fhir", "export", "--database-url", f"sqlite:///{tmp_path / 'd.sqlite3'}")
    assert code == 2
    assert "exactly one of --mrn or --id" in err
