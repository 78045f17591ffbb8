"""Alembic migrations shipped inside the package (``pedbone/store/migrations``)."""

from __future__ import annotations

from importlib import resources
from typing import Any

from sqlalchemy import Connection, Engine

__all__ = ["alembic_config", "current_revision", "head_revision", "schema_diff", "upgrade"]


def alembic_config(connection: Connection | None = None) -> Any:
    """An Alembic ``Config`` pointing at the packaged migration scripts."""
    from alembic.config import Config

    config = Config()
    location = resources.files("pedbone.store") / "migrations"
    config.set_main_option("script_location", str(location))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (default: the newest).

    A database written by a newer pedbone (a revision this version does not know) is refused
    with :class:`~pedbone.store.StoreError` instead of being touched.
    """
    from alembic import command
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from pedbone.store._errors import StoreError

    config = alembic_config()
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            # Rebuilding a table (batch migrations) drops the old one; with foreign keys
            # enforced that DROP would cascade into every child table. The pragma only takes
            # effect outside a transaction, so it is set before BEGIN and checked at the end.
            _pragma(connection, "PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                current = MigrationContext.configure(connection).get_current_revision()
                if current is not None and current not in known:
                    raise StoreError(
                        f"the database is at schema revision {current!r}, which this pedbone "
                        "does not know: it was written by a newer pedbone; upgrade pedbone, or "
                        "restore a backup"
                    )
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(
                            f"the migration would leave {len(broken)} broken reference(s) "
                            f"(first: table {broken[0][0]}); nothing was changed"
                        )
        finally:
            if sqlite:
                _pragma(connection, "PRAGMA foreign_keys=ON")


def _pragma(connection: Connection, statement: str) -> None:
    """Run a SQLite pragma on the driver connection, outside any transaction."""
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(statement)


def head_revision() -> str:
    """Identifier of the newest migration shipped with this version of pedbone."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (``None`` for an empty database)."""
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        rev = MigrationContext.configure(connection).get_current_revision()
    return rev


def schema_diff(engine: Engine) -> list[Any]:
    """Differences between the database schema and the models (empty = in sync)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from pedbone.store._models import Base

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))
