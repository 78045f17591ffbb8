"""Engine, session and unit-of-work setup for the clinic database.

The database is chosen, in this order, by an explicit URL (``--database-url``), the
``PEDBONE_DATABASE_URL`` environment variable, or an embedded SQLite file in the per-user data
folder (``platformdirs``; ``PEDBONE_DATA_DIR`` overrides the folder, e.g. for tests).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from pedbone.store._errors import BusyError, ConflictError, StoreError, ValidationError

__all__ = [
    "ENV_DATABASE_URL",
    "ENV_DATA_DIR",
    "Database",
    "StoreSession",
    "data_dir",
    "default_database_url",
    "make_engine",
    "resolve_database_url",
]

ENV_DATABASE_URL = "PEDBONE_DATABASE_URL"
ENV_DATA_DIR = "PEDBONE_DATA_DIR"
SQLITE_FILE = "pedbone.sqlite3"


_CONFLICT = (
    "the record was changed by someone else since you opened it; "
    "nothing was saved — reload it and apply your change again"
)
_BUSY = "another change was being saved at the same moment; nothing was saved — try again"


class StoreSession(Session):
    """Session class of the store; the audit log and role guard listen on this class only.

    ``session.info["actor"]`` holds the acting user as an :class:`Actor` (see ``_audit``).
    A flush that finds a row changed by someone else (``version_id_col``) raises
    :class:`ConflictError` instead of SQLAlchemy's ``StaleDataError``.
    """

    def flush(self, objects: Any = None) -> None:
        """Flush pending changes; a concurrent edit becomes :class:`ConflictError`."""
        try:
            super().flush(objects)
        except StaleDataError as exc:
            raise ConflictError(_CONFLICT) from exc
        except IntegrityError as exc:
            translated = duplicate_error(exc)
            if translated is not None:
                raise translated from exc
            raise
        except OperationalError as exc:
            if _is_busy(exc):
                raise BusyError(_BUSY) from exc
            raise


#: Unique constraints whose violation is a mistake in one field of a form: (table, column) ->
#: message (the field name first, so that the form shows it beside the field).
_DUPLICATE_FIELDS = {
    ("patients", "mrn"): "mrn: another patient already has this record number",
    ("users", "username"): "username: this user name is taken",
}
#: Unique constraints that guard against the same thing being done twice (hazards H34, H35).
_DUPLICATE_ACTIONS = {
    "treatments": (
        "this course was already started (same protocol and start date); "
        "nothing was saved a second time"
    ),
    "import_commits": "this file was already imported; nothing was imported a second time",
}


def duplicate_error(exc: IntegrityError) -> StoreError | None:
    """The user's words for a unique-constraint violation (``None``: not one).

    A duplicate record number becomes a :class:`ValidationError` of the ``mrn`` field (shown
    beside it, the typed form kept); a course started twice or a preview committed twice a
    :class:`ConflictError`.
    """
    from pedbone.store._models import Base

    orig = exc.orig
    table = column = None
    diag = getattr(orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:  # PostgreSQL names the constraint
        if getattr(orig, "sqlstate", None) != "23505":
            return None
        for t in Base.metadata.tables.values():
            for constraint in t.constraints:
                if constraint.name == name:
                    table = t.name
                    cols = [c.name for c in getattr(constraint, "columns", [])]
                    column = cols[0] if len(cols) == 1 else None
        if table is None:
            for t in Base.metadata.tables.values():
                for index in t.indexes:
                    if index.name == name:
                        table = t.name
    else:
        text = str(orig)
        if not text.startswith("UNIQUE constraint failed:"):
            return None
        first = text.split(":", 1)[1].split(",")[0].strip()
        table, _, col = first.partition(".")
        column = col if "," not in text else None
    if table is None:
        return ConflictError("a record with the same key exists already; nothing was saved")
    if column is not None and (table, column) in _DUPLICATE_FIELDS:
        return ValidationError(_DUPLICATE_FIELDS[(table, column)])
    if table in _DUPLICATE_ACTIONS:
        return ConflictError(_DUPLICATE_ACTIONS[table])
    return ConflictError(f"{table}: a record with the same key exists already; nothing was saved")


def _is_busy(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


def data_dir() -> Path:
    """Return the per-user data folder (``PEDBONE_DATA_DIR`` or the platformdirs default)."""
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("pedbone", appauthor=False))


def default_database_url() -> str:
    """URL of the embedded SQLite database in :func:`data_dir`."""
    return URL.create("sqlite", database=str(data_dir() / SQLITE_FILE)).render_as_string()


def resolve_database_url(url: str | None = None) -> str:
    """Pick the database URL: explicit argument, then ``PEDBONE_DATABASE_URL``, then SQLite.

    ``postgres://`` and ``postgresql://`` URLs are given the psycopg 3 driver.
    """
    chosen = url or os.environ.get(ENV_DATABASE_URL) or default_database_url()
    return _normalise(chosen)


def _normalise(url: str) -> str:
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError; keep the message short
        raise StoreError(f"not a database URL: {url!r} ({exc})") from exc
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://"
        )
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that DDL
    # (migrations) is transactional too: a failed migration leaves the file as it was.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # a writer waits this long for another writer before "database is locked" (then the unit
    # of work retries its BEGIN, see Database.unit_of_work)
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # write-ahead log: readers never block the writer (several clinicians at once)
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Units of work begin IMMEDIATE: they take SQLite's write lock up front, so a read in them
    # (an "already recorded?" check) and the write that depends on it see the same data, and
    # two writers queue at BEGIN (busy_timeout) instead of failing halfway with "database is
    # locked" when the second one tries to upgrade its read snapshot (hazard H34).
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


#: How long a SQLite writer waits for another one, per attempt, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 5000
#: How often a unit of work tries to begin its write transaction on a busy SQLite database.
SQLITE_BEGIN_ATTEMPTS = 3
_BEGIN_OPTION = "pedbone_sqlite_begin"


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (resolved by :func:`resolve_database_url`).

    SQLite gets foreign keys switched on and a busy timeout; its folder is created.
    """
    resolved = resolve_database_url(url)
    parsed = make_url(resolved)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot open the database: folder {folder}: {exc}") from exc
        engine = create_engine(resolved, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(resolved, pool_pre_ping=True, **kwargs)


class Database:
    """One clinic database: an engine, a session factory and units of work.

    >>> db = Database("sqlite:///:memory:")  # doctest: +SKIP
    >>> with db.unit_of_work(actor=user) as session:  # doctest: +SKIP
    ...     session.add(Patient(...))

    ``upgrade=True`` (the default) brings the schema to the newest migration on open.
    """

    def __init__(self, url: str | None = None, *, upgrade: bool = True) -> None:
        self.url = resolve_database_url(url)
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(bind=self.engine, class_=StoreSession, expire_on_commit=False)
        if upgrade:
            try:
                self.upgrade()
            except OperationalError as exc:
                self.engine.dispose()
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
                raise StoreError(f"cannot open the database {self!r}: {reason}") from exc

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def upgrade(self, revision: str = "head") -> None:
        """Apply the packaged Alembic migrations up to ``revision``."""
        from pedbone.store._migrate import upgrade

        upgrade(self.engine, revision)

    def session(self, actor: Any = None) -> StoreSession:
        """A plain session (caller commits). Prefer :meth:`unit_of_work`."""
        from pedbone.store._audit import actor_of

        session = self._sessions()
        session.info["actor"] = actor_of(actor)
        return session

    @contextmanager
    def unit_of_work(self, actor: Any = None) -> Iterator[StoreSession]:
        """One transaction: commit when the block ends, roll everything back on any error.

        ``actor`` is the acting :class:`~pedbone.store.User`, whose role is enforced on flush,
        or ``None`` for the system (CLI, migrations, demo), or a string naming a system process
        (e.g. ``"nightly-import"``) — both with full rights. The actor is written to the audit
        log. Code acting for a signed-in person must pass that person's ``User``.
        A concurrent edit of the same row raises :class:`ConflictError`.
        """
        session = self.session(actor)
        try:
            if self.backend == "sqlite":
                self._begin_immediate(session)
            yield session
            session.commit()
        except StaleDataError as exc:
            session.rollback()
            raise ConflictError(_CONFLICT) from exc
        except IntegrityError as exc:
            session.rollback()
            translated = duplicate_error(exc)
            if translated is not None:
                raise translated from exc
            raise
        except OperationalError as exc:
            session.rollback()
            if _is_busy(exc):
                raise BusyError(_BUSY) from exc
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @staticmethod
    def _begin_immediate(session: Session) -> None:
        """Take SQLite's write lock now, retrying while another writer holds it (nothing has
        been read or written yet, so a retry is always safe)."""
        for attempt in range(1, SQLITE_BEGIN_ATTEMPTS + 1):
            try:
                session.connection(execution_options={_BEGIN_OPTION: "IMMEDIATE"})
                return
            except OperationalError as exc:
                session.rollback()
                if not _is_busy(exc) or attempt == SQLITE_BEGIN_ATTEMPTS:
                    raise
                time.sleep(0.05 * attempt)

    def dispose(self) -> None:
        """Close all pooled connections."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"
