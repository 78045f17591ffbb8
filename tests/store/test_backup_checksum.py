"""A backup is restored only as it was made (hazard H36): an edited audit entry is refused by
the checksum, a truncated file is explained, a failed restore never shows patient data."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from pedbone.cli import app
from pedbone.store import AuditEntry, Database, Patient, StoreError, backup, restore

from .test_backup import _contents, _fill


def _empty_target(tmp_path: Path, name: str = "target") -> Database:
    return Database(f"sqlite:///{tmp_path / name}.sqlite3")


def _patients(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Patient)) or 0)


@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_an_edited_audit_entry_in_a_json_backup_is_refused(
    db: Database, tmp_path: Path, suffix: str
) -> None:
    _fill(db)
    path = backup(db, tmp_path / f"b{suffix}")
    opener = gzip.open if suffix.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        document = json.load(handle)
    audit = document["tables"]["audit_log"]
    column = audit["columns"].index("username")
    assert audit["rows"][-1][column] == "doc"
    audit["rows"][-1][column] = "someone_else"  # who changed the record: rewritten
    with opener(path, "wt", encoding="utf-8") as handle:  # type: ignore[operator]
        json.dump(document, handle)
    target = _empty_target(tmp_path)
    try:
        with pytest.raises(StoreError, match="checksum does not match the content"):
            restore(target, path)
        assert _patients(target) == 0
        with target.session() as s:
            assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0
    finally:
        target.dispose()


def test_an_edited_sqlite_backup_is_refused(tmp_path: Path) -> None:
    source = Database(f"sqlite:///{tmp_path / 'clinic.sqlite3'}")
    try:
        _fill(source)
        path = backup(source, tmp_path / "b.sqlite3")
        expected = _contents(source)
    finally:
        source.dispose()
    target = _empty_target(tmp_path)
    try:
        summary = restore(target, path)  # untouched: restores, checksum table not copied in
        assert summary.total == sum(len(rows) for rows in expected.values())
        assert _contents(target) == expected
    finally:
        target.dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE audit_log SET username = 'someone_else' WHERE id = 3")
    target = _empty_target(tmp_path, "second")
    try:
        with pytest.raises(StoreError, match="checksum does not match the content"):
            restore(target, path)
        assert _patients(target) == 0
    finally:
        target.dispose()


def test_a_backup_without_checksum_needs_no_verify(db: Database, tmp_path: Path) -> None:
    _fill(db)
    path = backup(db, tmp_path / "old.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["format_version"] = 1  # as an older pedbone wrote it
    del document["checksum"]
    path.write_text(json.dumps(document), encoding="utf-8")
    target = _empty_target(tmp_path)
    try:
        with pytest.raises(StoreError, match="has no checksum"):
            restore(target, path)
        assert _patients(target) == 0
        assert restore(target, path, verify=False).total > 0
        assert _patients(target) == 2
    finally:
        target.dispose()


def test_a_truncated_json_gz_is_explained_with_exit_2(db: Database, tmp_path: Path) -> None:
    _fill(db)
    path = backup(db, tmp_path / "b.json.gz")
    data = path.read_bytes()
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(data[: len(data) // 2])
    target_url = f"sqlite:///{tmp_path / 'cli-target.sqlite3'}"
    target = Database(target_url)
    try:
        with pytest.raises(StoreError, match="truncated or damaged"):
            restore(target, cut)
    finally:
        target.dispose()
    result = CliRunner().invoke(app, ["restore", str(cut), "--database-url", target_url])
    assert result.exit_code == 2
    assert "truncated or damaged" in result.output
    assert "Traceback" not in result.output
    plain = tmp_path / "cut.json"  # an uncompressed backup cut off
    with gzip.open(path, "rb") as handle:
        text = handle.read()
    plain.write_bytes(text[: len(text) // 2])
    result = CliRunner().invoke(app, ["restore", str(plain), "--database-url", target_url])
    assert result.exit_code == 2
    assert "cut off" in result.output


def test_a_failed_restore_shows_no_patient_data(db: Database, tmp_path: Path) -> None:
    _fill(db)
    path = backup(db, tmp_path / "b.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    rows = document["tables"]["patients"]["rows"]
    rows.append(list(rows[0]))  # the same patient twice: the database refuses the insert
    path.write_text(json.dumps(document), encoding="utf-8")
    target_url = f"sqlite:///{tmp_path / 'cli-target.sqlite3'}"
    result = CliRunner().invoke(
        app, ["restore", str(path), "--no-verify", "--database-url", target_url]
    )
    assert result.exit_code == 2
    assert "refused the rows of table patients (duplicate key" in result.output
    assert "nothing was restored" in result.output
    for secret in ("Testpatient", "Anna", "B-1", "2012-05-17", "Traceback", "INSERT"):
        assert secret not in result.output, secret
    target = Database(target_url)
    try:
        assert _patients(target) == 0
    finally:
        target.dispose()
