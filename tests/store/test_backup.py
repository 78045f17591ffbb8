"""Backup -> restore gives back every row of every table, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pedbone.store import Base, Database, Patient, StoreError, create_user
from pedbone.store._backup import backup, restore
from pedbone.store._services import import_patients, update_record

from .conftest import Backend, full_patient_data


def _contents(db: Database) -> dict[str, list[dict[str, Any]]]:
    out = {}
    with db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = connection.execute(select(table).order_by(*table.primary_key))
            out[table.name] = [dict(r._mapping) for r in rows]
    return out


def _fill(db: Database) -> None:
    with db.unit_of_work() as session:
        doc = create_user(session, "doc", "correct horse battery", "clinician")
    import_patients(db, [full_patient_data("B-1"), full_patient_data("B-2")], doc)
    with db.unit_of_work(doc) as session:
        first = session.scalars(select(Patient).order_by(Patient.id)).first()
        assert first is not None
        update_record(session, Patient, first.id, 1, given_name="Änne")  # non-ASCII survives


@pytest.mark.parametrize("suffix", ["auto", ".json", ".json.gz"])
def test_round_trip(db: Database, backend: Backend, tmp_path: Path, suffix: str) -> None:
    _fill(db)
    before = _contents(db)
    assert len(before["audit_log"]) > 40  # users, patients, all their rows and one update
    name = "backup" + (".sqlite3" if suffix == "auto" and backend.name == "sqlite" else "")
    name += ".json" if suffix == "auto" and backend.name != "sqlite" else ""
    name += "" if suffix == "auto" else suffix
    path = backup(db, tmp_path / name)
    if suffix == "auto":
        magic = path.read_bytes()[:16]
        assert magic.startswith(b"SQLite format 3") == (backend.name == "sqlite")
    target = Database(backend.new_url(migrated=True))
    try:
        summary = restore(target, path)
        after = _contents(target)
        assert after == before
        assert summary.rows["patients"] == 2
        assert summary.total == sum(len(rows) for rows in before.values())
        # ids continue after the restored ones (PostgreSQL sequences are reset)
        with target.unit_of_work() as session:
            new = Patient(
                family_name="New", given_name="One", birth_date=dt.date(2020, 1, 1), sex="M"
            )
            session.add(new)
        assert new.id == max(row["id"] for row in before["patients"]) + 1
    finally:
        target.dispose()


def test_restore_refuses_a_filled_database_unless_replace(
    db: Database, backend: Backend, tmp_path: Path
) -> None:
    _fill(db)
    path = backup(db, tmp_path / "b.json")
    with pytest.raises(StoreError, match=r"not empty: .*patients \(2\)"):
        restore(db, path)
    with db.unit_of_work() as session:  # change something, then replace it with the backup
        session.add(
            Patient(family_name="Extra", given_name="X", birth_date=dt.date(2020, 1, 1), sex="F")
        )
    restore(db, path, replace=True)
    with db.unit_of_work() as session:
        assert session.scalars(select(Patient.family_name)).all() == ["Testpatient"] * 2


def test_failed_restore_leaves_target_unchanged(db: Database, tmp_path: Path) -> None:
    _fill(db)
    before = _contents(db)
    path = backup(db, tmp_path / "b.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    rows = document["tables"]["anthropometry"]["rows"]
    rows.append(list(rows[0]))  # duplicate primary key: the database refuses the insert
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(StoreError, match="checksum does not match"):
        restore(db, broken, replace=True)  # the edited backup is refused before anything
    with pytest.raises(StoreError, match=r"refused the rows of table anthropometry \(duplicate"):
        restore(db, broken, replace=True, verify=False)  # deletes, then fails: rolled back
    assert _contents(db) == before


def test_cross_backend_json(db: Database, tmp_path: Path) -> None:
    # whatever the source backend, a JSON backup restores into a fresh SQLite database
    _fill(db)
    path = backup(db, tmp_path / "b.json.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        assert json.load(handle)["source_backend"] == db.backend
    target = Database(f"sqlite:///{tmp_path}/other.sqlite3")
    try:
        restore(target, path)
        assert _contents(target) == _contents(db)
    finally:
        target.dispose()


def test_bad_backup_files(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/t.sqlite3")
    try:
        with pytest.raises(StoreError, match="no such backup file"):
            restore(db, tmp_path / "missing.json")
        junk = tmp_path / "junk.json"
        junk.write_text("{not json", encoding="utf-8")
        with pytest.raises(StoreError, match="not a pedbone backup"):
            restore(db, junk)
        other = tmp_path / "other.json"
        other.write_text(
            '{"format": "pedbone-backup", "format_version": 1, '
            '"schema_revision": "9999", "tables": {}}',
            encoding="utf-8",
        )
        with pytest.raises(StoreError, match="has no checksum"):
            restore(db, other)
        with pytest.raises(StoreError, match="schema revision '9999'"):
            restore(db, other, verify=False)
        path = backup(db, tmp_path / "ok.sqlite3")
        with pytest.raises(StoreError, match="already exists"):
            backup(db, path)
    finally:
        db.dispose()
