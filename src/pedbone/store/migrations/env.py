"""Alembic environment for pedbone's packaged migrations.

pedbone runs migrations itself (``pedbone db upgrade`` or on application start) and hands the
connection in through ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from pedbone.store._models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # e.g. `alembic -x url=... revision --autogenerate` during development
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give a database URL: alembic -x url=sqlite:///dev.sqlite3 ...")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
