"""Ids are never handed out twice (hazard H30): AUTOINCREMENT on SQLite, sequences on
PostgreSQL, kept by migration 0003 on a database that already holds data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from pedbone.store import Base, Database, LabResult, Patient, Treatment, build, schema_diff
from pedbone.store._models import integer_key

from .conftest import Backend, full_patient_data


def _lab(day: str = "2024-05-01", value: float = 50.0) -> LabResult:
    return LabResult(
        sampled_on=dt.date.fromisoformat(day), analyte="25ohd", value=value, unit="nmol/L"
    )


def test_every_integer_key_is_autoincrement_on_sqlite(db: Database) -> None:
    if db.backend != "sqlite":
        pytest.skip("AUTOINCREMENT is SQLite's; PostgreSQL: see the sequence test")
    with db.engine.connect() as connection:
        result = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type='table'"))
        sql = {str(name): str(body) for name, body in result}
    expected = {t.name for t in Base.metadata.tables.values() if integer_key(t)}
    assert expected >= {"patients", "lab_results", "dxa_scans", "audit_log", "import_commits"}
    missing = sorted(name for name in expected if "AUTOINCREMENT" not in sql[name].upper())
    assert missing == []
    assert "AUTOINCREMENT" not in sql["settings"].upper()  # a text key: nothing to hand out


def test_deleted_highest_id_is_not_reused(db: Database) -> None:
    with db.unit_of_work() as s:
        patient = build(Patient, full_patient_data())
        s.add(patient)
        s.flush()
        patient.labs.append(_lab())
        s.flush()
        deleted_lab = patient.labs[-1].id
        patient_id = patient.id
    with db.unit_of_work() as s:
        # the lab with the highest id, and the patient with the highest id, both go
        s.delete(s.get(LabResult, deleted_lab))
    with db.unit_of_work() as s:
        owner = s.get(Patient, patient_id)
        owner.labs.append(_lab("2024-06-01", 60.0))
        s.flush()
        new_lab = max(lab.id for lab in owner.labs)
    assert new_lab > deleted_lab
    with db.unit_of_work() as s:
        s.delete(s.get(Patient, patient_id))
    with db.unit_of_work() as s:
        again = build(Patient, full_patient_data("TEST-0002"))
        s.add(again)
        s.flush()
        assert again.id > patient_id


def test_migration_0003_keeps_data_and_never_reuses_logged_ids(backend: Backend) -> None:
    """A database at 0002 with a deleted highest lab id: after 0003 the rows, references and
    constraints are intact, and the deleted id is not handed out again."""
    from alembic import command
    from sqlalchemy import inspect as sa_inspect

    from pedbone.store._migrate import alembic_config

    db = Database(backend.new_url(), upgrade=False)
    try:
        # Seed with today's models, then go back to 0002: the downgrades keep the rows (the
        # models of later migrations cannot write into a 0002 schema).
        db.upgrade()
        with db.unit_of_work() as s:
            s.add(build(Patient, full_patient_data()))
        with db.engine.connect() as connection:
            driver = connection.connection.driver_connection
            if db.backend == "sqlite":  # as pedbone's own upgrade: no cascade from table rebuilds
                driver.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            with connection.begin():
                command.downgrade(alembic_config(connection), "0002")
            if db.backend == "sqlite":
                driver.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
        with db.engine.begin() as connection:
            top = connection.execute(text("SELECT MAX(id) FROM lab_results")).scalar_one()
            # on SQLite before 0003, `top` would come again
            connection.execute(text("DELETE FROM lab_results WHERE id = :i"), {"i": top})
        tables = set(sa_inspect(db.engine).get_table_names()) - {"alembic_version"}
        with db.engine.connect() as connection:
            before = {
                name: connection.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()
                for name in sorted(tables)
            }
        db.upgrade()
        assert schema_diff(db.engine) == []
        with db.engine.connect() as connection:
            after = {
                name: connection.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()
                for name in before
            }
            if db.backend == "sqlite":
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert after == before
        assert before["lab_results"] == 1
        assert before["dxa_measurements"] == 2
        with db.unit_of_work() as s:
            patient = s.scalars(select(Patient)).one()
            patient.labs.append(_lab("2024-07-01"))
            s.flush()
            assert max(lab.id for lab in patient.labs) > top
            # the CHECK constraints survived the rebuild
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.execute(text("UPDATE patients SET sex = 'X'"))
    finally:
        db.dispose()


def test_same_course_twice_is_refused_by_the_database(db: Database) -> None:
    from pedbone.store import ConflictError

    course = {"drug": "pamidronate", "route": "iv", "start_date": dt.date(2025, 1, 6)}
    with db.unit_of_work() as s:
        patient = build(Patient, full_patient_data())
        s.add(patient)
        patient.treatments.append(Treatment(protocol_id="henderson", **course))
        patient.treatments.append(Treatment(protocol_id=None, **course))
        patient.treatments.append(Treatment(protocol_id=None, **course))  # no protocol: free
        s.flush()
        patient_id = patient.id
    with db.unit_of_work() as s:
        owner = s.get(Patient, patient_id)
        owner.treatments.append(Treatment(protocol_id="henderson", **course))
        with pytest.raises(ConflictError, match="this course was already started"):
            s.flush()
        s.rollback()


def test_row_stamp_tells_a_successor_with_the_same_id_and_version_apart(db: Database) -> None:
    """Even where an id comes again (a database restored from an old backup, a hand-edited
    file), the stamp a form carries identifies the row it was loaded from."""
    from pedbone.store import ConflictError, delete_record, update_record

    with db.unit_of_work() as s:
        patient = build(Patient, full_patient_data())
        s.add(patient)
        s.flush()
        lab = patient.labs[0]
        lab_id, stamp, patient_id = lab.id, lab.row_stamp, patient.id
    assert stamp.split(":")[:2] == [str(lab_id), "1"]
    with db.unit_of_work() as s:
        s.delete(s.get(LabResult, lab_id))
    with db.unit_of_work() as s:  # a successor forced onto the same id, at version 1 again
        successor = _lab("2024-09-09", 77.0)
        successor.id, successor.patient_id = lab_id, patient_id
        s.add(successor)
    with db.unit_of_work() as s:
        with pytest.raises(ConflictError, match="is not the record you opened"):
            update_record(s, LabResult, lab_id, stamp, value=41.0)
        with pytest.raises(ConflictError, match="is not the record you opened"):
            delete_record(s, LabResult, lab_id, stamp)
    with db.session() as s:
        kept = s.get(LabResult, lab_id)
        assert kept is not None
        assert (kept.value, kept.version) == (77.0, 1)
    with db.unit_of_work() as s:  # the successor's own stamp works; a bare version still does
        current = s.get(LabResult, lab_id)
        update_record(s, LabResult, lab_id, current.row_stamp, value=78.0)
    with db.unit_of_work() as s:
        update_record(s, LabResult, lab_id, 2, value=79.0)


@pytest.mark.parametrize("suffix", [".json", ".sqlite3"])
def test_ids_deleted_before_a_backup_are_not_reused_after_the_restore(
    db: Database, backend: Backend, tmp_path: Path, suffix: str
) -> None:
    from pedbone.store import backup, restore

    if suffix == ".sqlite3" and db.backend != "sqlite":
        pytest.skip("the SQLite file backup is SQLite's")
    with db.unit_of_work() as s:
        s.add(build(Patient, full_patient_data()))
    with db.unit_of_work() as s:
        top = s.scalar(select(func.max(LabResult.id)))
        s.delete(s.get(LabResult, top))  # the highest id goes before the backup
    path = backup(db, tmp_path / f"b{suffix}")
    target = Database(backend.new_url(migrated=True))
    try:
        restore(target, path)
        with target.unit_of_work() as s:
            patient = s.scalars(select(Patient)).one()
            patient.labs.append(_lab("2024-08-01"))
            s.flush()
            assert max(lab.id for lab in patient.labs) > top
    finally:
        target.dispose()
