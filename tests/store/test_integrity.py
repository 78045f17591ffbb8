"""Audit log, optimistic locking and all-or-nothing imports, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from pedbone.store import (
    Anthropometry,
    AuditEntry,
    ConflictError,
    Database,
    Patient,
    PermissionDeniedError,
    User,
    create_user,
)
from pedbone.store._services import ImportRowError, delete_record, import_patients, update_record

from .conftest import full_patient_data


def _patient(**extra: object) -> Patient:
    return Patient(
        family_name="Demo",
        given_name="Patient 01",
        birth_date=dt.date(2015, 3, 1),
        sex="F",
        demo=True,
        **extra,
    )


def _audit(db: Database) -> list[AuditEntry]:
    with db.unit_of_work() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _count(db: Database, model: type) -> int:
    with db.unit_of_work() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def clinician(db: Database) -> User:
    with db.unit_of_work() as session:
        return create_user(session, "dr_a", "correct horse battery", "clinician")


def test_audit_insert_update_delete(db: Database, clinician: User) -> None:
    with db.unit_of_work(clinician) as session:
        patient = _patient(mrn="M1")
        session.add(patient)
    with db.unit_of_work(clinician) as session:
        update_record(session, Patient, patient.id, 1, given_name="Patient 02")
    with db.unit_of_work(clinician) as session:
        delete_record(session, Patient, patient.id, 2)

    entries = [e for e in _audit(db) if e.table_name == "patients"]
    assert [e.action for e in entries] == ["insert", "update", "delete"]
    insert, update, delete = entries
    assert all(e.username == "dr_a" and e.user_id == clinician.id for e in entries)
    assert all(e.row_id == str(patient.id) for e in entries)
    assert insert.before is None
    assert insert.after is not None
    assert insert.after["given_name"] == "Patient 01"
    assert insert.after["birth_date"] == "2015-03-01"
    assert insert.after["version"] == 1
    assert update.before is not None
    assert update.after is not None
    assert (update.before["given_name"], update.after["given_name"]) == ("Patient 01", "Patient 02")
    assert (update.before["version"], update.after["version"]) == (1, 2)
    assert update.before["mrn"] == update.after["mrn"] == "M1"  # unchanged fields in both
    assert delete.before is not None
    assert delete.before["given_name"] == "Patient 02"
    assert delete.after is None
    assert insert.at.tzinfo is not None
    assert insert.at <= update.at <= delete.at


def test_audit_never_stores_password_hashes(db: Database) -> None:
    with db.unit_of_work() as session:
        create_user(session, "admin1", "a long passphrase", "admin")
    (entry,) = [e for e in _audit(db) if e.table_name == "users"]
    assert entry.username == "system"  # CLI / system actor
    assert entry.after is not None
    assert entry.after["password_hash"] == "<redacted>"
    assert entry.after["username"] == "admin1"


def test_audit_is_rolled_back_with_the_change(db: Database, clinician: User) -> None:
    before = len(_audit(db))

    def fail_after_flush() -> None:
        with db.unit_of_work(clinician) as session:
            session.add(_patient())
            session.flush()  # audit rows are written here...
            raise RuntimeError("boom")  # ...and must vanish with the patient

    with pytest.raises(RuntimeError, match="boom"):
        fail_after_flush()
    assert len(_audit(db)) == before
    assert _count(db, Patient) == 0


def test_cascade_delete_audits_every_child(db: Database, clinician: User) -> None:
    import_patients(db, [full_patient_data()], clinician)
    with db.unit_of_work(clinician) as session:
        patient = session.scalars(select(Patient)).one()
        n_anthro = len(patient.anthropometry)
        delete_record(session, Patient, patient.id, 1)
    deletes = [e for e in _audit(db) if e.action == "delete"]
    inserts = [e for e in _audit(db) if e.action == "insert" and e.table_name != "users"]
    assert len(deletes) == len(inserts)  # every inserted row was deleted, and audited
    assert sum(e.table_name == "anthropometry" for e in deletes) == n_anthro == 2


def test_stale_version_from_a_form_is_a_conflict(db: Database, clinician: User) -> None:
    with db.unit_of_work(clinician) as session:
        patient = _patient()
        session.add(patient)
    # clinician A and B both opened version 1; A saves first
    with db.unit_of_work(clinician) as session:
        update_record(session, Patient, patient.id, "1", given_name="By A")  # from a form
    with (
        pytest.raises(ConflictError, match=r"you edited version 1, it is now at version 2"),
        db.unit_of_work(clinician) as session,
    ):
        update_record(session, Patient, patient.id, 1, given_name="By B")
    with db.unit_of_work() as session:
        assert session.get(Patient, patient.id).given_name == "By A"  # type: ignore[union-attr]


def test_concurrent_sessions_conflict_not_overwrite(db: Database, clinician: User) -> None:
    with db.unit_of_work(clinician) as session:
        patient = _patient()
        session.add(patient)
    first = db.session(clinician)
    second = db.session(clinician)
    try:
        a = first.get(Patient, patient.id)  # both clinicians open version 1
        b = second.get(Patient, patient.id)
        assert a is not None
        assert b is not None
        first.commit()  # end the read transactions; the loaded objects stay in hand
        second.commit()
        a.given_name = "First"
        first.commit()  # version 2
        b.given_name = "Second"  # b still holds version 1: UPDATE ... WHERE version = 1
        with pytest.raises(ConflictError, match="changed by someone else"):
            second.commit()
        second.rollback()
    finally:
        first.close()
        second.close()
    with db.unit_of_work() as session:
        final = session.get(Patient, patient.id)
        assert final is not None
        assert (final.given_name, final.version) == ("First", 2)
    updates = [e for e in _audit(db) if e.action == "update"]
    assert len(updates) == 1  # the refused change left no audit entry either


def test_failed_multi_row_import_leaves_database_unchanged(db: Database, clinician: User) -> None:
    import_patients(db, [full_patient_data("KEEP-1")], clinician)
    patients, anthro, audit = _count(db, Patient), _count(db, Anthropometry), len(_audit(db))
    bad_value = full_patient_data("NEW-2")
    bad_value["anthropometry"] = [{"measured_on": "2024-01-01", "height_cm": -120.0}]
    rows = [full_patient_data("NEW-1"), bad_value, full_patient_data("NEW-3")]
    with pytest.raises(
        ImportRowError,
        match=r"row 2: anthropometry\[1\]\.height_cm: -120.0 must not be negative",
    ):
        import_patients(db, rows, clinician)
    # a database-level failure (duplicate MRN) in row 3 also undoes rows 1 and 2
    rows = [full_patient_data("NEW-1"), full_patient_data("NEW-2"), full_patient_data("KEEP-1")]
    with pytest.raises(ImportRowError, match="row 3: mrn: another patient already has"):
        import_patients(db, rows, clinician)
    assert (_count(db, Patient), _count(db, Anthropometry), len(_audit(db))) == (
        patients,
        anthro,
        audit,
    )
    assert import_patients(db, rows[:2], clinician) == 2  # the good rows alone go in
    assert _count(db, Patient) == 3


def test_audit_log_is_append_only(db: Database, clinician: User) -> None:
    with db.unit_of_work(clinician) as session:
        session.add(_patient())

    def tamper(change: str) -> None:
        with db.unit_of_work() as session:  # not even the system actor may
            entry = session.scalars(select(AuditEntry)).first()
            assert entry is not None
            if change == "edit":
                entry.username = "someone else"
            else:
                session.delete(entry)

    for change in ("edit", "delete"):
        with pytest.raises(PermissionDeniedError, match="append-only"):
            tamper(change)
    assert [e.username for e in _audit(db) if e.table_name == "patients"] == ["dr_a"]
