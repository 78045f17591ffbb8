"""Both backends accept exactly the same data (hazard H32): lengths from the models, no NUL or
control characters, finite numbers, 32-bit integers; a duplicate record number names its field;
a SQLite database the application accepted always restores into PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String, func, inspect, select

from pedbone.store import (
    Base,
    Database,
    ImportRowError,
    Infusion,
    Patient,
    ValidationError,
    backup,
    build,
    import_patients,
    restore,
)
from pedbone.store._limits import check_object, text_limit

from .conftest import PG_ENV, Backend, full_patient_data


def _patient(**changes: Any) -> dict[str, Any]:
    data = full_patient_data()
    data.update(changes)
    return data


def _count(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Patient)) or 0)


def test_lengths_come_from_the_models() -> None:
    assert text_limit(Patient, "family_name") == 200
    assert text_limit(Patient, "mrn") == 64
    assert text_limit(Patient, "birth_date") is None
    from pedbone.store import DxaScan, LabResult, Treatment

    assert text_limit(DxaScan, "model") == 64
    assert text_limit(Treatment, "route") == 16
    assert text_limit(LabResult, "unit") == 32


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"family_name": "x" * 201}, "family_name: 201 characters; at most 200 are allowed"),
        ({"mrn": "M" * 100}, "mrn: 100 characters; at most 64 are allowed"),
        ({"given_name": "An\x00na"}, "given_name: contains a NUL byte at position 3"),
        ({"given_name": "An\x07na"}, r"given_name: contains a control character \(U\+0007\)"),
        ({"family_name": "Peeters\nJansen"}, "family_name: contains a line break or tab"),
        ({"given_name": "An\ud800na"}, "given_name: contains a broken character"),
    ],
)
def test_text_that_one_backend_would_refuse_is_refused_on_both(
    db: Database, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ImportRowError, match=f"row 1: {message}"):
        import_patients(db, [_patient(**changes)])
    assert _count(db) == 0


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("dxa_scans", "model"), "H" * 65, r"dxa_scans\[1\]\.model: 65 characters; at most 64"),
        (("treatments", "route"), "intravenous-drip", None),  # exactly 16: fine
        (("treatments", "route"), "intravenous-drip!", r"treatments\[1\]\.route: 17 characters"),
        (("labs", "unit"), "u" * 33, r"labs\[1\]\.unit: 33 characters; at most 32"),
        (("anthropometry", "height_cm"), float("nan"), r"height_cm: nan is not a finite number"),
    ],
)
def test_nested_rows_are_checked_and_named(
    db: Database, path: tuple[str, str], value: Any, message: str | None
) -> None:
    data = _patient()
    rows: Any = data[path[0]]
    rows[0][path[1]] = value
    if message is None:
        assert import_patients(db, [data]) == 1
        return
    with pytest.raises(ImportRowError, match=message):
        import_patients(db, [data])
    assert _count(db) == 0


def test_integers_beyond_32_bits_are_refused(db: Database) -> None:
    data = _patient()
    data["treatments"][0]["infusions"][0]["cycle_number"] = 2**31  # type: ignore[index]
    with pytest.raises(ImportRowError, match="cycle_number: 2147483648 is out of range"):
        import_patients(db, [data])
    data["treatments"][0]["infusions"][0]["cycle_number"] = 2**31 - 1  # type: ignore[index]
    assert import_patients(db, [data]) == 1
    with db.session() as s:
        assert s.scalars(select(Infusion.cycle_number)).one() == 2**31 - 1


def test_free_text_keeps_line_breaks_and_unicode(db: Database) -> None:
    note = "Eerste lijn\nzweite Zeile\ttab — 名前 🦴"
    import_patients(db, [_patient(family_name="Ødegård-Nguyễn 🦴", notes=[{"text": note}])])
    with db.session() as s:
        patient = s.scalars(select(Patient)).one()
        assert patient.family_name == "Ødegård-Nguyễn 🦴"
        assert patient.notes[0].text == note


def test_an_edit_is_checked_too(db: Database) -> None:
    from pedbone.store import update_record

    import_patients(db, [_patient()])
    with db.session() as s:
        patient = s.scalars(select(Patient)).one()
        pid, stamp = patient.id, patient.row_stamp
    with (
        pytest.raises(ValidationError, match="family_name: 300 characters"),
        db.unit_of_work() as s,
    ):
        update_record(s, Patient, pid, stamp, family_name="x" * 300)
    with db.session() as s:
        assert s.get(Patient, pid).family_name == "Testpatient"


def test_a_duplicate_record_number_names_the_field(db: Database) -> None:
    import_patients(db, [_patient(mrn="DUP-1")])
    with pytest.raises(
        ImportRowError, match="row 2: mrn: another patient already has this record number"
    ):
        import_patients(db, [_patient(mrn="NEW-1"), _patient(mrn="DUP-1")])
    assert _count(db) == 1
    with pytest.raises(ValidationError, match=r"^mrn: another patient"), db.unit_of_work() as s:
        s.add(build(Patient, _patient(mrn="DUP-1")))


def test_check_object_without_a_database() -> None:
    scan = build(Patient, _patient()).dxa_scans[0]
    scan.measurements[1].region = "r" * 33
    with pytest.raises(ValidationError, match=r"measurements\[2\]\.region: 33 characters"):
        check_object(scan)


# --------------------------------------------------------------------------- SQLite -> PostgreSQL

_SAMPLE = "Ωü名🦴é"  # 2-byte, 3-byte and 4-byte UTF-8 characters: lengths count characters


def _fill(obj: Any) -> None:
    """Every free text column of ``obj`` and its nested rows at its exact maximum length."""
    mapper = inspect(obj).mapper
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if not isinstance(column.type, String) or attr.key in ("uid", "version"):
            continue
        limit = column.type.length or 500
        text = (_SAMPLE * (limit // len(_SAMPLE) + 1))[:limit]
        try:
            setattr(obj, attr.key, text)
        except ValidationError:
            continue  # a coded vocabulary (sex, site, analyte, ...): keep the valid code
    for rel in mapper.relationships:
        if rel.uselist and rel.direction.name == "ONETOMANY":
            for child in getattr(obj, rel.key):
                _fill(child)


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["json", "sqlite"])
def test_a_database_sqlite_accepted_restores_into_postgresql(
    tmp_path: Path, backend: Backend, kind: str
) -> None:
    if backend.name != "postgresql" or not os.environ.get(PG_ENV):
        pytest.skip("needs PostgreSQL as the restore target")
    source = Database(f"sqlite:///{tmp_path / 'clinic.sqlite3'}")
    try:
        with source.unit_of_work() as s:
            patient = build(Patient, full_patient_data("M" * 64))
            _fill(patient)
            patient.mrn = "M" * 64
            s.add(patient)
            s.add(build(Patient, _patient(mrn="B-2", family_name="x" * 200, given_name="y")))
        with source.session() as s:
            stored = s.scalars(select(Patient).order_by(Patient.id)).first()
            assert stored is not None
            assert stored.family_name == (_SAMPLE * 41)[:200]
            assert stored.dxa_scans[0].model == (_SAMPLE * 13)[:64]
        name = "backup.json.gz" if kind == "json" else "backup.sqlite3"
        path = backup(source, tmp_path / name)
        with source.engine.connect() as connection:
            expected = {
                t.name: [tuple(r) for r in connection.execute(select(t).order_by(*t.primary_key))]
                for t in Base.metadata.sorted_tables
            }
    finally:
        source.dispose()
    target = Database(backend.new_url(migrated=True))
    try:
        summary = restore(target, path)
        assert summary.total == sum(len(rows) for rows in expected.values())
        with target.engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                rows = [
                    tuple(r) for r in connection.execute(select(table).order_by(*table.primary_key))
                ]
                assert rows == expected[table.name], table.name
        with target.unit_of_work() as s:  # and the restored database keeps handing out new ids
            s.add(build(Patient, _patient(mrn="AFTER-RESTORE")))
    finally:
        target.dispose()


def test_dates_of_any_year_are_alike(db: Database) -> None:
    import_patients(db, [_patient(birth_date=dt.date(2012, 5, 17).isoformat())])
    assert _count(db) == 1
