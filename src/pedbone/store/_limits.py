"""What every backend stores alike: text lengths, characters and numbers, from the models.

SQLite stores any text of any length in a ``VARCHAR(64)`` and keeps NUL bytes; PostgreSQL
refuses both (and so a database SQLite accepted would not restore into PostgreSQL, and an import
that passed its preview failed at commit with a 500 — hazard H32). The limits here come from the
column types of the models, in one place, and are enforced on every flush of a store session
(forms, imports, the API and the CLI alike), with a message that names the field and the limit:

* text no longer than the column's ``String(n)``;
* no NUL byte, no other control character (tab, line feed and carriage return are allowed in
  free text, ``Text`` columns), no lone surrogate (not encodable as UTF-8);
* numbers finite (SQLite would store NaN as NULL, PostgreSQL keeps it), integers within the
  32-bit ``INTEGER`` of PostgreSQL.

:func:`check_object` validates one object (and, for imports and previews, the tree of new rows
under it) without a database.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from typing import Any, Final

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, String, Text, event, inspect
from sqlalchemy.orm import Session, UOWTransaction

from pedbone.store._engine import StoreSession
from pedbone.store._errors import ValidationError

__all__ = [
    "INT_MAX",
    "INT_MIN",
    "check_kind",
    "check_object",
    "check_value",
    "short_repr",
    "text_limit",
]

#: PostgreSQL ``INTEGER`` (SQLite's is 64-bit; the smaller range is what both accept).
INT_MIN: Final = -(2**31)
INT_MAX: Final = 2**31 - 1

#: Control characters refused everywhere (C0 except tab/LF/CR, DEL, C1) and lone surrogates.
_FORBIDDEN: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
#: In one-line text (``String(n)``) line breaks and tabs are refused too.
_FORBIDDEN_LINE: Final = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def text_limit(model: Any, field: str) -> int | None:
    """The longest text column ``field`` of ``model`` takes (``None``: no limit or not text)."""
    column = inspect(model).columns.get(field)
    if column is None or not isinstance(column.type, String):
        return None
    return column.type.length


def _describe(char: str) -> str:
    if char == "\x00":
        return "a NUL byte"
    if "\ud800" <= char <= "\udfff":
        return "a broken character (lone surrogate)"
    return f"a control character (U+{ord(char):04X})"


def short_repr(value: Any) -> str:
    """``repr(value)``, cut to 40 characters (messages never echo a whole pasted document)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind_error(field: str, value: Any, kind: str) -> ValidationError:
    return ValidationError(f"{field}: {short_repr(value)} is not {kind}")


def check_kind(field: str, column_type: Any, value: Any) -> None:
    """The Python type a column stores; anything else is refused by name, never passed to a
    driver (which would fail with a message that names no field, or differently per backend)."""
    impl = getattr(column_type, "impl", column_type)
    if isinstance(impl, Boolean):
        if not isinstance(value, bool):
            raise _kind_error(field, value, "yes/no")
    elif isinstance(impl, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _kind_error(field, value, "a whole number")
    elif isinstance(impl, Float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _kind_error(field, value, "a number")
    elif isinstance(impl, DateTime):
        if not isinstance(value, dt.datetime):
            raise _kind_error(field, value, "a date and time")
    elif isinstance(impl, Date):
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise _kind_error(field, value, "a date (YYYY-MM-DD)")
    elif isinstance(impl, String):
        if not isinstance(value, str):
            raise _kind_error(field, value, "text")
    elif isinstance(impl, JSON) and not isinstance(value, dict | list):
        raise _kind_error(field, value, "a set of values")


def check_value(field: str, column_type: Any, value: Any) -> None:
    """Raise :class:`ValidationError` if ``value`` cannot be stored alike on every backend."""
    if value is None:
        return
    check_kind(field, column_type, value)
    if isinstance(column_type, String):
        if not isinstance(value, str):
            return
        one_line = not isinstance(column_type, Text) and column_type.length is not None
        bad = (_FORBIDDEN_LINE if one_line else _FORBIDDEN).search(value)
        if bad:
            where = "" if bad.group() in "\t\n\r" else f" at position {bad.start() + 1}"
            what = "a line break or tab" if bad.group() in "\t\n\r" else _describe(bad.group())
            raise ValidationError(f"{field}: contains {what}{where}; remove it")
        limit = column_type.length
        if limit is not None and len(value) > limit:
            raise ValidationError(f"{field}: {len(value)} characters; at most {limit} are allowed")
        return
    if isinstance(column_type, Float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(f"{field}: {value!r} is not a finite number")
        return
    if isinstance(column_type, Integer):
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not INT_MIN <= value <= INT_MAX
        ):
            raise ValidationError(f"{field}: {value} is out of range ({INT_MIN} to {INT_MAX})")
        return
    if isinstance(column_type, JSON):
        for path, item in _json_leaves(field, value):
            if isinstance(item, float) and not math.isfinite(item):
                raise ValidationError(f"{path}: {item!r} is not a finite number")
            if isinstance(item, str) and _FORBIDDEN.search(item):
                raise ValidationError(f"{path}: contains a control character; remove it")


def _json_leaves(path: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _FORBIDDEN.search(key):
                raise ValidationError(f"{path}: a key contains a control character")
            yield from _json_leaves(f"{path}.{key}", item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value, start=1):
            yield from _json_leaves(f"{path}[{index}]", item)
    else:
        yield path, value


def _check(obj: Any, only_changed: bool) -> None:
    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        if only_changed and not state.attrs[attr.key].history.has_changes():
            continue
        value = state.dict.get(attr.key)
        check_value(attr.key, attr.columns[0].type, value)


def check_object(obj: Any, *, nested: bool = True) -> None:
    """Validate ``obj``'s column values (and, with ``nested``, those of the new rows in its
    relationships, e.g. a scan's measurements): the checks a flush applies, without a database.
    A nested error is named like the import does: ``measurements[2].region: ...``."""
    _check(obj, only_changed=False)
    if not nested:
        return
    for rel in inspect(obj).mapper.relationships:
        if not rel.uselist or rel.direction.name != "ONETOMANY":
            continue
        children = inspect(obj).dict.get(rel.key) or []
        for index, child in enumerate(children, start=1):
            try:
                check_object(child)
            except ValidationError as exc:
                raise ValidationError(f"{rel.key}[{index}].{exc}") from exc


@event.listens_for(StoreSession, "before_flush")
def _limits_before_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    for obj in session.new:
        _check(obj, only_changed=False)
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            _check(obj, only_changed=True)
