"""Units of work the application calls: edit with a version check, delete, import.

Web forms carry the ``version`` the clinician saw; :func:`update_record` refuses the change with
:class:`ConflictError` if the row has moved on since, so two clinicians editing one record never
overwrite each other silently. :func:`import_patients` stores many patients in one transaction:
any bad row rolls the whole import back and names the row and field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import String, inspect, select
from sqlalchemy.orm import Session

from pedbone.store._consistency import check_patient_dates, parse_decimal
from pedbone.store._engine import Database
from pedbone.store._errors import ConflictError, StoreError, ValidationError
from pedbone.store._limits import check_kind, check_object
from pedbone.store._limits import short_repr as short
from pedbone.store._models import AuditEntry, Base, Patient

__all__ = [
    "ImportRowError",
    "build",
    "delete_record",
    "history",
    "import_patients",
    "stamp_version",
    "update_record",
    "was_deleted",
]

T = TypeVar("T", bound=Base)

_PROTECTED = frozenset({"id", "version", "created_at", "updated_at"})


class ImportRowError(StoreError):
    """One row of an import is bad; nothing of the import was stored."""

    def __init__(self, row: int, message: str) -> None:
        super().__init__(f"row {row}: {message} — nothing was imported")
        self.row = row
        self.detail = message


def _get(session: Session, model: type[T], row_id: int) -> T:
    obj = session.get(model, row_id)
    if obj is None:
        raise StoreError(f"{model.__tablename__} row {row_id} does not exist (deleted meanwhile?)")
    return obj


def _check_version(obj: Base, expected_version: int | str) -> None:
    """Refuse the change unless ``obj`` is the row, at the version, the caller loaded.

    ``expected_version`` is a :attr:`~pedbone.store.Versioned.row_stamp` (what the web forms
    post: id, version and creation time, so a different row that got the same id and version
    is told apart) or, from code that holds the row itself, a bare version number.
    """
    table = obj.__tablename__
    row_id = getattr(obj, "id", "?")
    text = str(expected_version).strip()
    if text.count(":") == 2:
        shown_id, shown_version, shown_created = text.split(":")
        _stamp_id, _stamp_version, created = str(getattr(obj, "row_stamp", "::")).split(":")
        if shown_id != str(row_id) or shown_created != created:
            raise ConflictError(
                f"{table} row {row_id} is not the record you opened (that one was deleted "
                "meanwhile and its number now belongs to another record); nothing was saved — "
                "reload the page"
            )
        expected_version = shown_version
    expected = _version(expected_version)
    current = getattr(obj, "version", None)
    if current != expected:
        raise ConflictError(
            f"{table} row {row_id} was changed by someone else "
            f"(you edited version {expected}, it is now at version {current}); "
            "nothing was saved — reload it and apply your change again"
        )


def stamp_version(expected_version: int | str) -> int:
    """The version number in a row stamp (or a bare version number)."""
    text = str(expected_version).strip()
    return _version(text.split(":")[1] if text.count(":") == 2 else text)


def was_deleted(session: Session, model: type[Base] | str, row_id: int | str) -> bool:
    """True if the audit log records that row ``row_id`` of ``model`` was deleted."""
    table = model if isinstance(model, str) else str(model.__tablename__)
    query = select(AuditEntry.id).where(
        AuditEntry.table_name == table,
        AuditEntry.row_id == str(row_id),
        AuditEntry.action == "delete",
    )
    return session.scalar(query.limit(1)) is not None


_TRUE = frozenset({"true", "yes", "1", "y", "on"})
_FALSE = frozenset({"false", "no", "0", "n", "off"})


def _coerce(model: type[Base], key: str, value: Any) -> Any:
    """Turn text from forms, CSV or JSON into the column's type; say which field is wrong.

    ISO dates (``YYYY-MM-DD``) and timestamps, numbers (decimal point), booleans
    (true/false, yes/no, 1/0); an empty string means "no value".
    """
    column = inspect(model).columns.get(key)
    if column is None or not isinstance(value, str):
        return value
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return value
    text = value.strip()
    if python_type is not str and text == "":
        return None
    try:
        if python_type is dt.datetime:
            return dt.datetime.fromisoformat(text)
        if python_type is dt.date:
            return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"{key}: {short(value)} is not an ISO date (YYYY-MM-DD)") from exc
    if python_type is float or python_type is int:
        try:
            number = parse_decimal(text, comma=False)  # strict: not "1_00", "inf"
        except ValueError as exc:
            raise ValidationError(f"{key}: {short(value)} is not a number") from exc
        if python_type is int:
            if not number.is_integer():
                raise ValidationError(f"{key}: {short(value)} is not a whole number")
            return int(number)
        return number
    if python_type is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValidationError(f"{key}: {short(value)} is not yes/no (true/false, 1/0)")
    return value


def _version(expected_version: int | str) -> int:
    try:
        return int(expected_version)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"version: {expected_version!r} is not a version number") from exc


def _assign(obj: Base, changes: Mapping[str, Any]) -> None:
    model = type(obj)
    columns = {attr.key for attr in inspect(model).column_attrs}
    for key, value in changes.items():
        if key in _PROTECTED:
            raise ValidationError(f"{key}: is managed by the store and cannot be set")
        if key not in columns:
            raise ValidationError(f"{key}: {model.__tablename__} has no such field")
        coerced = _coerce(model, key, value)
        column_type = inspect(model).columns[key].type
        if coerced is not None and not isinstance(column_type, String):
            # numbers, dates, yes/no: the column's type before any validator sees the value
            # (text is checked at flush, after validators such as sex 1/2 -> M/F normalise it)
            check_kind(key, column_type, coerced)
        try:
            setattr(obj, key, coerced)
        except (AttributeError, TypeError) as exc:
            raise ValidationError(f"{key}: {str(value)[:40]!r} is not valid here") from exc


def update_record(
    session: Session, model: type[T], row_id: int, expected_version: int | str, **changes: Any
) -> T:
    """Apply ``changes`` to row ``row_id`` if it is still at ``expected_version``.

    Raises :class:`ConflictError` when someone saved the row in between (also when that
    happens between this check and the commit: SQLAlchemy's ``version_id_col``).
    """
    obj = _get(session, model, row_id)
    _check_version(obj, expected_version)
    _assign(obj, changes)
    session.flush()
    return obj


def delete_record(
    session: Session, model: type[T], row_id: int, expected_version: int | str
) -> None:
    """Delete row ``row_id`` (and what belongs to it) if it is still at ``expected_version``."""
    obj = _get(session, model, row_id)
    _check_version(obj, expected_version)
    session.delete(obj)
    session.flush()


def build(model: type[T], data: Mapping[str, Any]) -> T:
    """Create a model instance from a mapping; nested lists build related rows.

    >>> build(Patient, {"family_name": "Demo", "given_name": "Patient 01", "sex": "F",
    ...                 "birth_date": "2015-03-01", "anthropometry": [
    ...                     {"measured_on": "2024-01-10", "height_cm": 120.5}]})  # doctest: +SKIP
    """
    mapper = inspect(model)
    obj = model()
    scalars: dict[str, Any] = {}
    for key, value in data.items():
        if key in mapper.relationships:
            target = mapper.relationships[key].mapper.class_
            if not isinstance(value, list):
                raise ValidationError(f"{key}: expected a list of records")
            children = getattr(obj, key)
            for index, item in enumerate(value, start=1):
                try:
                    children.append(build(target, item))
                except ValidationError as exc:
                    raise ValidationError(f"{key}[{index}].{exc}") from exc
        else:
            scalars[key] = value
    _assign(obj, scalars)
    return obj


def import_patients(db: Database, rows: Iterable[Mapping[str, Any]], actor: Any = None) -> int:
    """Store patients (with their nested records) in ONE transaction; return how many.

    If any row is invalid or the database refuses it (e.g. a duplicate MRN), the whole import
    is rolled back and :class:`ImportRowError` names the first bad row (1-based) and field.
    """
    count = 0
    with db.unit_of_work(actor) as session:
        for number, row in enumerate(rows, start=1):
            try:
                patient = build(Patient, row)
                check_object(patient)  # names the nested row: "dxa_scans[1].model: ..."
                check_patient_dates(patient)
                session.add(patient)
                session.flush()
            except ValidationError as exc:
                raise ImportRowError(number, str(exc)) from exc
            except StoreError:
                raise
            except Exception as exc:  # database constraint, missing field, ...
                reason = str(getattr(exc, "orig", exc)).splitlines()[0]
                raise ImportRowError(number, reason) from exc
            count += 1
    return count


def history(session: Session, model: type[Base] | str, row_id: int | str) -> list[AuditEntry]:
    """The audit trail of one row, oldest first (who changed what, when, before/after)."""
    table = model if isinstance(model, str) else str(model.__tablename__)
    query = (
        select(AuditEntry)
        .where(AuditEntry.table_name == table, AuditEntry.row_id == str(row_id))
        .order_by(AuditEntry.id)
    )
    return list(session.scalars(query))
