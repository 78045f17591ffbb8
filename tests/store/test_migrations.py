"""Migrations produce exactly the models' schema; the URL/engine setup behaves."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from pedbone.store import (
    Base,
    Database,
    StoreError,
    current_revision,
    default_database_url,
    head_revision,
    resolve_database_url,
    schema_diff,
)


def test_migrations_match_models(db: Database) -> None:
    # autogenerate's comparison of the migrated database against the models: no difference
    assert schema_diff(db.engine) == []
    assert current_revision(db.engine) == head_revision()
    tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)


def test_upgrade_is_idempotent(db_url: str) -> None:
    first = Database(db_url)
    first.dispose()
    second = Database(db_url)  # upgrading an up-to-date database changes nothing
    assert current_revision(second.engine) == head_revision()
    assert schema_diff(second.engine) == []
    second.dispose()


def test_empty_database_has_no_revision(db_url: str) -> None:
    db = Database(db_url, upgrade=False)
    assert current_revision(db.engine) is None
    assert len(schema_diff(db.engine)) > 0  # every table is missing
    db.dispose()


def test_default_url_is_sqlite_in_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PEDBONE_DATABASE_URL", raising=False)
    monkeypatch.setenv("PEDBONE_DATA_DIR", str(tmp_path / "data"))
    assert default_database_url() == f"sqlite:///{tmp_path}/data/pedbone.sqlite3"
    assert resolve_database_url() == default_database_url()
    db = Database()
    assert (tmp_path / "data" / "pedbone.sqlite3").is_file()
    db.dispose()


def test_env_and_explicit_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEDBONE_DATABASE_URL", "postgresql://u:pw@db.example:5433/clinic")
    assert resolve_database_url() == "postgresql+psycopg://u:pw@db.example:5433/clinic"
    assert resolve_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_bad_urls_are_explained() -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        resolve_database_url("no url at all")
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        resolve_database_url("mysql://localhost/x")


def test_database_from_a_newer_pedbone_is_refused(db: Database) -> None:
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match="revision '9999', which this pedbone does not know"):
        Database(db.url)


def test_unreachable_database_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    with pytest.raises(StoreError, match="cannot open the database: folder"):
        Database(f"sqlite:///{tmp_path}/a-file/x.sqlite3")  # a file where a folder should be
    with pytest.raises(StoreError, match="cannot open the database"):
        Database("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_downgrade_to_base_and_up_again(db: Database) -> None:
    from alembic import command

    from pedbone.store._migrate import alembic_config

    with db.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.upgrade()
    assert schema_diff(db.engine) == []
