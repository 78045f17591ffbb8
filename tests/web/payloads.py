"""Stored-XSS payloads and the means to put one into every free-text field and column.

Fields are enumerated from the form specs (``pedbone.web._forms.FORMS``, the patient and user
forms, the treatment forms) and from the store's models (every String/Text column reachable
from a patient, for ``import_patients``), so a field added later is covered without editing
the tests. Each payload fits the column's length.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from sqlalchemy import String, inspect

#: Longest first; a column gets the longest that fits its length.
PAYLOADS = (
    '<div hx-post="/admin/users" hx-trigger="load" hx-vals=\'{"username": "evil", '
    '"full_name": "Evil", "role": "admin", "password": "a very long passphrase"}\'>x</div>'
    "<img src=x onerror=alert(1)> {{7*7}} %s %(x)s 50%",
    "<img src=x onerror=alert(1)> {{7*7}} %s %(x)s 50%",
    "<img src=x onerror=alert(1)>%",
    "<b id=pwn>%s</b>",
    "<i>%(x)s",
    "<i>%",
    "<%",
    "%",
)
#: What a page must contain when it shows the longest or second payload as text.
LITERAL = "&lt;img src=x onerror=alert(1)&gt; {{7*7}} %s %(x)s 50%"
#: Attributes and elements no page of the application has, and every payload introduces.
FORBIDDEN_ATTRS = {"onerror", "onload", "hx-post", "hx-vals", "hx-get-evil"}
FORBIDDEN_TAGS = {"i", "img"}


def payload_for(length: int | None) -> str:
    for p in PAYLOADS:
        if length is None or len(p) <= length:
            return p
    raise AssertionError(f"no payload fits {length} characters")


def column_length(model: type, name: str) -> int | None:
    column = model.__table__.columns.get(name)  # type: ignore[attr-defined]
    if column is None:
        return 100
    return getattr(column.type, "length", None)


def text_columns(model: type) -> list[tuple[str, int | None]]:
    """(name, length) of the model's String/Text columns (Text is a String subclass)."""
    skip = {"uid", "version"}
    out = []
    for col in inspect(model).columns:
        if isinstance(col.type, String) and col.key not in skip and not col.foreign_keys:
            out.append((col.key, getattr(col.type, "length", None)))
    return out


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {k for k, _v in attrs}
        values = dict(attrs)
        if tag in FORBIDDEN_TAGS:
            self.found.append(f"<{tag}>")
        if names & FORBIDDEN_ATTRS:
            self.found.append(f"<{tag} {sorted(names & FORBIDDEN_ATTRS)}>")
        if values.get("id") == "pwn":
            self.found.append(f"<{tag} id=pwn>")

    handle_startendtag = handle_starttag


def injected(html: str) -> list[str]:
    """Elements or attributes that only a payload could have put into the page."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.found


def valid_value(field: Any) -> str:
    """A value the form accepts for a non-text field."""
    if field.kind == "date":
        return "2020-06-01"
    if field.kind in ("number", "integer"):
        lo = field.minimum if field.minimum is not None else 1
        hi = field.maximum if field.maximum is not None else lo + 10
        value = (lo + hi) / 2 if field.minimum is not None and field.maximum is not None else lo
        value = max(value, 1) if (field.maximum is None or field.maximum >= 1) else value
        return str(int(value)) if field.kind == "integer" else str(value)
    if field.kind == "choice":
        return str(field.choices[0][0]) if field.choices else ""
    if field.kind == "bool":
        return ""
    raise AssertionError(field.kind)


#: Text fields with a checked format (the store refuses anything else, so a payload never
#: reaches a page through them): a valid value instead.
FORMATTED_TEXT = {"ssin": "12050212345"}  # INSZ/NISS: 11 digits


def form_data(fields: Any, model: type | None) -> dict[str, str]:
    """Valid values for every field, a sized payload in every free-text field."""
    data = {}
    for f in fields:
        if f.name in FORMATTED_TEXT:
            data[f.name] = FORMATTED_TEXT[f.name]
        elif f.kind in ("text", "textarea"):
            data[f.name] = payload_for(column_length(model, f.name) if model else 200)
        elif f.kind != "password":
            data[f.name] = valid_value(f)
    return data
