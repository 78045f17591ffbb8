"""Backup and restore.

* SQLite databases are backed up with SQLite's online backup API (a consistent copy even while
  the application is running) into a single ``.sqlite3`` file.
* Any database (PostgreSQL in particular) can be dumped to a portable JSON file (optionally
  ``.json.gz``): every table, every row, plus the schema revision. (``pg_dump`` also works for
  PostgreSQL; the JSON form restores into SQLite or PostgreSQL alike.)

:func:`restore` reads either kind into a migrated database, in one transaction: it refuses a
database that already holds data unless ``replace=True``, and a failure leaves the target as
it was.

Every backup carries a SHA-256 checksum over its content, written when the backup is made and
verified before anything is restored (hazard H36): a backup whose content was changed afterwards
(an edited audit entry, a deleted row) is refused, as is a truncated or damaged file, with a
message and without touching the database. A JSON backup holds it in its ``checksum`` field (over
the canonical JSON of the rest of the document); a SQLite backup in a small table
``pedbone_backup`` of the backup file (over the rows of every other table). Backups made before
checksums existed (JSON format version 1, SQLite files without the table) restore only with
``verify=False`` (``pedbone restore --no-verify``). Errors never carry row values (patient
data) into messages or tracebacks.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import shutil
import sqlite3
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Table, delete, func, insert, select, text
from sqlalchemy.engine import make_url

from pedbone.store._engine import Database
from pedbone.store._errors import StoreError
from pedbone.store._migrate import current_revision, head_revision
from pedbone.store._models import Base

__all__ = ["BACKUP_FORMAT", "RestoreSummary", "backup", "restore"]

BACKUP_FORMAT = "pedbone-backup"
#: 2: with a checksum (1: without; read only with ``verify=False``).
FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)
#: The table a SQLite backup file keeps its checksum in (not part of the clinic schema).
CHECKSUM_TABLE = "pedbone_backup"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class RestoreSummary:
    """What :func:`restore` put into the database."""

    source: str  # "sqlite" or "json"
    schema_revision: str
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows restored over all tables."""
        return sum(self.rows.values())


def _tables() -> list[Table]:
    # parents before children; sessions and login counters are not data worth restoring
    return [t for t in Base.metadata.sorted_tables if not t.info.get("ephemeral")]


# --------------------------------------------------------------------------- backup


def backup(
    db: Database, dest: str | Path, *, kind: Literal["auto", "sqlite", "json"] = "auto"
) -> Path:
    """Write a backup of ``db`` to ``dest`` and return its path.

    ``kind="auto"`` uses the SQLite online backup for SQLite (unless ``dest`` ends in ``.json``
    or ``.json.gz``) and JSON for PostgreSQL. An existing ``dest`` is not overwritten.
    """
    path = Path(dest)
    if path.exists():
        raise StoreError(f"{path}: already exists; choose a new file name")
    if not path.parent.is_dir():
        raise StoreError(f"{path.parent}: folder does not exist")
    json_name = path.name.endswith((".json", ".json.gz"))
    if kind == "auto":
        kind = "json" if (db.backend != "sqlite" or json_name) else "sqlite"
    if kind == "sqlite":
        if db.backend != "sqlite":
            raise StoreError("the SQLite file backup needs a SQLite database; use a .json file")
        _sqlite_backup(db, path)
    else:
        _json_backup(db, path)
    return path


def _sqlite_backup(db: Database, path: Path) -> None:
    partial = path.with_name(path.name + ".partial")
    raw = db.engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)  # online backup API: consistent snapshot, pages copied
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            digest = sqlite_content_checksum(target)
            target.execute(
                f"CREATE TABLE {CHECKSUM_TABLE} (algorithm TEXT NOT NULL, checksum TEXT NOT NULL,"
                " created_at TEXT NOT NULL)"
            )
            target.execute(
                f"INSERT INTO {CHECKSUM_TABLE} VALUES ('sha256', ?, ?)",
                (digest, dt.datetime.now(dt.UTC).isoformat()),
            )
            target.commit()
        finally:
            target.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        raw.close()
    partial.replace(path)


def sqlite_content_checksum(connection: sqlite3.Connection) -> str:
    """SHA-256 over every row of every table of a SQLite file (but the checksum table), in
    table-name and rowid order, as canonical JSON: what a SQLite backup's checksum covers."""
    digest = hashlib.sha256()
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )
        if row[0] != CHECKSUM_TABLE
    ]
    for name in names:
        digest.update(json.dumps(["table", name]).encode())
        columns = [r[1] for r in connection.execute(f'PRAGMA table_info("{name}")')]
        digest.update(json.dumps(columns).encode())
        order = "rowid" if name != "sqlite_sequence" else "name"
        cursor = connection.execute(f'SELECT * FROM "{name}" ORDER BY {order}')
        for row in cursor:
            values = [v.hex() if isinstance(v, bytes) else v for v in row]
            digest.update(json.dumps(values, ensure_ascii=False).encode())
    return digest.hexdigest()


def _document_checksum(document: dict[str, Any]) -> str:
    body = {k: v for k, v in document.items() if k != "checksum"}
    canonical = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _json_backup(db: Database, path: Path) -> None:
    tables: dict[str, Any] = {}
    with db.engine.connect() as connection, connection.begin():  # one consistent snapshot
        if db.backend == "postgresql":
            connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        for table in _tables():
            columns = [c.name for c in table.columns]
            result = connection.execute(select(table).order_by(*table.primary_key.columns))
            tables[table.name] = {
                "columns": columns,
                "rows": [[_encode(v) for v in row] for row in result],
            }
    document = {
        "format": BACKUP_FORMAT,
        "format_version": FORMAT_VERSION,
        "schema_revision": revision,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "source_backend": db.backend,
        "tables": tables,
    }
    document["checksum"] = {"algorithm": "sha256", "value": _document_checksum(document)}
    partial = path.with_name(path.name + ".partial")
    try:
        opener: Any = gzip.open if path.name.endswith(".gz") else open
        with opener(partial, "wt", encoding="utf-8") as handle:
            json.dump(document, handle, ensure_ascii=False, separators=(",", ":"))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)


# --------------------------------------------------------------------------- restore


def restore(
    db: Database, src: str | Path, *, replace: bool = False, verify: bool = True
) -> RestoreSummary:
    """Load a backup made by :func:`backup` into ``db`` (which must be at the newest schema).

    Refuses a database that holds any row unless ``replace=True`` (then everything in it is
    deleted first). All in one transaction: on any error the database is left as it was.
    The backup's checksum is verified first; a backup without one (made by an older pedbone)
    is refused unless ``verify=False``.
    """
    path = Path(src)
    if not path.is_file():
        raise StoreError(f"{path}: no such backup file")
    head = head_revision()
    if current_revision(db.engine) != head:
        raise StoreError("the target database is not at the newest schema; run `db upgrade`")
    with path.open("rb") as handle:
        magic = handle.read(16)
    if magic.startswith(_SQLITE_MAGIC):
        summary = _restore_sqlite(db, path, replace, verify)
    else:
        summary = _restore_json(db, path, magic.startswith(_GZIP_MAGIC), replace, verify)
    return summary


def _prepare_target(connection: Connection, replace: bool) -> None:
    counts = {
        t.name: connection.execute(select(func.count()).select_from(t)).scalar_one()
        for t in _tables()
    }
    filled = {name: n for name, n in counts.items() if n}
    if filled and not replace:
        listing = ", ".join(f"{name} ({n})" for name, n in sorted(filled.items()))
        raise StoreError(
            f"the target database is not empty: {listing}; restore into a new database or "
            "pass replace=True (--replace) to delete its contents first"
        )
    for table in reversed(_tables()):
        connection.execute(delete(table))


def _reset_sequences(connection: Connection) -> None:
    """Start every id counter above the highest id the table holds *or ever held* (as far as
    the restored audit log knows), so that ids deleted before the backup are not handed out
    again after the restore either (hazard H30)."""
    from pedbone.store._models import integer_key

    postgres = connection.dialect.name == "postgresql"
    numeric = "row_id ~ '^[0-9]+$'" if postgres else "row_id GLOB '[0-9]*'"
    for table in _tables():
        if not integer_key(table):
            continue
        pk = next(iter(table.primary_key.columns)).name
        top = connection.execute(text(f'SELECT MAX("{pk}") FROM "{table.name}"')).scalar()
        logged = connection.execute(
            text(
                "SELECT MAX(CAST(row_id AS BIGINT)) FROM audit_log "
                f"WHERE table_name = :t AND {numeric}"
            ),
            {"t": table.name},
        ).scalar()
        highest = max(int(top or 0), int(logged or 0))
        if postgres:
            connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk}'), :v, :called)"),
                {"v": max(highest, 1), "called": highest > 0},
            )
        else:
            connection.execute(
                text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table.name}
            )
            if highest:
                connection.execute(
                    text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :s)"),
                    {"t": table.name, "s": highest},
                )


def _load(
    db: Database, rows_by_table: dict[str, list[dict[str, Any]]], replace: bool
) -> dict[str, int]:
    from sqlalchemy.exc import SQLAlchemyError

    counts: dict[str, int] = {}
    current = "?"
    try:
        with db.engine.begin() as connection:
            _prepare_target(connection, replace)
            for table in _tables():
                current = table.name
                rows = rows_by_table.get(table.name, [])
                if rows:
                    connection.execute(insert(table), rows)
                counts[table.name] = len(rows)
            current = "?"
            _reset_sequences(connection)
    except SQLAlchemyError as exc:
        # never the SQL parameters or the driver's detail (they carry patient data)
        raise StoreError(
            f"the database refused the rows of table {current} ({_reason(exc)}); "
            "nothing was restored and the database is as it was"
        ) from None
    return counts


def _reason(exc: Exception) -> str:
    """A reason without values: the kind of refusal and, on PostgreSQL, the constraint."""
    orig = getattr(exc, "orig", None)
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    kind = type(orig or exc).__name__
    text = str(orig or exc)
    if "UNIQUE" in text or "duplicate key" in text:
        kind = "duplicate key"
    elif "FOREIGN KEY" in text or "foreign key" in text:
        kind = "broken reference"
    elif "NOT NULL" in text or "null value" in text:
        kind = "missing value"
    return f"{kind}, constraint {constraint}" if constraint else kind


def _verify_sqlite(path: Path, copy: Path, verify: bool) -> None:
    try:
        connection = sqlite3.connect(copy)
        try:
            stored = connection.execute(
                f"SELECT algorithm, checksum FROM {CHECKSUM_TABLE}"
            ).fetchall()
        except sqlite3.DatabaseError:
            stored = []
        try:
            actual = sqlite_content_checksum(connection) if verify and stored else ""
            if stored:
                connection.execute(f"DROP TABLE {CHECKSUM_TABLE}")
                connection.commit()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a readable SQLite database ({exc})") from None
    if not verify:
        return
    if not stored:
        raise StoreError(
            f"{path}: has no checksum (not made by `pedbone backup`, or by an older pedbone); "
            "if you trust this file, restore it with --no-verify"
        )
    if len(stored) != 1 or stored[0][0] != "sha256" or stored[0][1] != actual:
        raise StoreError(
            f"{path}: the checksum does not match the content — the backup was changed or "
            "damaged after it was made; nothing was restored"
        )


def _restore_sqlite(db: Database, path: Path, replace: bool, verify: bool) -> RestoreSummary:
    head = head_revision()
    with tempfile.TemporaryDirectory(prefix="pedbone-restore-") as tmp:
        copy = Path(tmp) / "source.sqlite3"
        shutil.copyfile(path, copy)  # never touch the backup file itself
        _verify_sqlite(path, copy, verify)
        url = make_url("sqlite:///").set(database=str(copy)).render_as_string()
        source_db = Database(url, upgrade=False)
        try:
            try:
                revision = current_revision(source_db.engine)
            except Exception as exc:
                raise StoreError(f"{path}: not a readable SQLite database ({exc})") from exc
            if revision is None:
                raise StoreError(f"{path}: not a pedbone database (no schema revision)")
            if revision != head:
                source_db.upgrade()  # an older backup is migrated (in the copy) first
            rows: dict[str, list[dict[str, Any]]] = {}
            with source_db.engine.connect() as connection:
                for table in _tables():
                    result = connection.execute(select(table).order_by(*table.primary_key))
                    rows[table.name] = [dict(r._mapping) for r in result]
        finally:
            source_db.dispose()
    return RestoreSummary("sqlite", head, _load(db, rows, replace))


def _decode_rows(table: Table, columns: list[str], raw: list[list[Any]]) -> list[dict[str, Any]]:
    known = {c.name: c for c in table.columns}
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise StoreError(f"table {table.name}: unknown columns {unknown} in the backup")
    kinds: dict[str, type | None] = {}
    for name in columns:
        try:
            kinds[name] = known[name].type.python_type
        except NotImplementedError:
            kinds[name] = None
    out = []
    for number, values in enumerate(raw, start=1):
        if len(values) != len(columns):
            raise StoreError(f"table {table.name}, row {number}: wrong number of values")
        row: dict[str, Any] = {}
        for name, value in zip(columns, values, strict=True):
            kind = kinds[name]
            try:
                if isinstance(value, str) and kind is dt.datetime:
                    value = dt.datetime.fromisoformat(value)
                elif isinstance(value, str) and kind is dt.date:
                    value = dt.date.fromisoformat(value)
            except ValueError:
                raise StoreError(
                    f"table {table.name}, row {number}, column {name}: not a date"
                ) from None
            row[name] = value
        out.append(row)
    return out


def _restore_json(
    db: Database, path: Path, gzipped: bool, replace: bool, verify: bool
) -> RestoreSummary:
    try:
        opener: Any = gzip.open if gzipped else open
        with opener(path, "rt", encoding="utf-8") as handle:
            document = json.load(handle)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise StoreError(
            f"{path}: the compressed backup is truncated or damaged ({exc}); "
            "nothing was restored — use another copy of the backup"
        ) from None
    except json.JSONDecodeError as exc:
        raise StoreError(
            f"{path}: not a pedbone backup, or cut off (JSON ends or breaks at line "
            f"{exc.lineno}, column {exc.colno}); nothing was restored"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: not a pedbone backup (neither SQLite nor JSON: {exc})") from None
    if not isinstance(document, dict) or document.get("format") != BACKUP_FORMAT:
        raise StoreError(f"{path}: not a pedbone backup (format field missing)")
    version = document.get("format_version")
    if version not in _READABLE_VERSIONS:
        raise StoreError(
            f"{path}: backup format version {version!r} "
            f"is not supported (this pedbone reads {', '.join(map(str, _READABLE_VERSIONS))})"
        )
    if verify:
        checksum = document.get("checksum")
        if not isinstance(checksum, dict) or "value" not in checksum:
            raise StoreError(
                f"{path}: has no checksum (made by an older pedbone); "
                "if you trust this file, restore it with --no-verify"
            )
        if checksum.get("algorithm") != "sha256" or checksum["value"] != _document_checksum(
            document
        ):
            raise StoreError(
                f"{path}: the checksum does not match the content — the backup was changed or "
                "damaged after it was made; nothing was restored"
            )
    head = head_revision()
    revision = document.get("schema_revision")
    if revision != head:
        raise StoreError(
            f"{path}: made at schema revision {revision!r}, this pedbone is at {head!r}; "
            "restore it with the pedbone version that wrote it, then upgrade and back up again"
        )
    tables = {t.name: t for t in _tables()}
    rows: dict[str, list[dict[str, Any]]] = {}
    body_tables = document.get("tables", {})
    if not isinstance(body_tables, dict):
        raise StoreError(f"{path}: not a pedbone backup (no tables)")
    for name, body in body_tables.items():
        if name not in tables:
            raise StoreError(f"{path}: unknown table {name!r}")
        if not isinstance(body, dict) or "columns" not in body or "rows" not in body:
            raise StoreError(f"{path}: table {name!r} is damaged (no columns or rows)")
        rows[name] = _decode_rows(tables[name], body["columns"], body["rows"])
    return RestoreSummary("json", head, _load(db, rows, replace))
