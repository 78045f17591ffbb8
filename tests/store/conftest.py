"""Store tests run on SQLite and on PostgreSQL.

PostgreSQL comes from ``PEDBONE_TEST_POSTGRES_URL`` (``tools/test-postgres.sh`` starts a
throwaway server; ``make unit`` uses it). Each test gets its own fresh database. Without a
server the PostgreSQL variants skip loudly — except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text

from pedbone.store import Database

PG_ENV = "PEDBONE_TEST_POSTGRES_URL"
NO_PG = (
    f"POSTGRESQL NOT AVAILABLE: {PG_ENV} is not set — run the tests through "
    "tools/test-postgres.sh (as `make unit` does) to cover PostgreSQL"
)


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """URL of an empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.sqlite3"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        if _ci():
            pytest.fail(f"{NO_PG} (CI=true: PostgreSQL tests must run)")
        pytest.skip(NO_PG)
    name = f"pedbone_t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated, empty clinic database on each backend."""
    database = Database(db_url)
    try:
        yield database
    finally:
        database.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if any(NO_PG in str(getattr(report, "longrepr", "")) for report in skipped):
        terminalreporter.write_sep("!", "PostgreSQL store tests were SKIPPED", red=True, bold=True)
        terminalreporter.write_line(NO_PG, red=True)
