"""Cache of rendered patient overview pages, keyed on everything the page depends on.

A stale clinical page is a hazard, so the key is exact rather than time-based:

- the **data fingerprint** of the patient (:func:`patient_fingerprint`): for the patient row and
  for every table that hangs off it (any table with a ``patient_id`` foreign key, found in the
  store's metadata, so tables added by later migrations are covered without a code change) and
  every table one level below those (DXA values, vertebrae, infusions...): the number of rows,
  the largest id, the sum of the optimistic-lock versions and the newest ``updated_at``. An
  insert adds a row (count and newest ``updated_at`` change), an update raises a version and
  ``updated_at``, a delete lowers the count; a delete plus an insert that reuses the id still
  moves the newest ``updated_at``. It is read in one query.
- the **viewer**: user id, user name, full name and role (the header and the edit buttons
  differ), the page language, and the path;
- the **day** (ages and the assessment are "as of today").

The session's CSRF token is not part of the cached text: the page is rendered with a
placeholder that is replaced by the requesting session's token on every hit. The cache lives in
each worker process (no sharing between processes, nothing on disk), holds at most
:data:`MAX_ENTRIES` pages and is cleared when the process restarts (new reference packs are
only read at start-up anyway). ``PEDBONE_OVERVIEW_CACHE=0`` in the environment switches it off
(every overview is built afresh, as before the cache; used by the benchmark for comparison).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any, Final

__all__ = ["CSRF_PLACEHOLDER", "OverviewCache", "overview_page", "patient_fingerprint"]

#: Stands in for the CSRF token in a cached page (random per process: it cannot be typed in).
CSRF_PLACEHOLDER: Final = "csrf-placeholder-" + secrets.token_hex(16)
MAX_ENTRIES: Final = 256


@lru_cache(maxsize=1)
def _fingerprint_statement() -> Any:
    """One SELECT of scalar subqueries: four aggregates per patient-related table."""
    from sqlalchemy import bindparam, func, select

    from pedbone.store import Patient

    metadata = Patient.metadata
    pid: Any = bindparam("pid")
    patients = metadata.tables["patients"]
    columns: list[Any] = [
        select(patients.c.version).where(patients.c.id == pid).scalar_subquery(),
        select(patients.c.updated_at).where(patients.c.id == pid).scalar_subquery(),
    ]

    def aggregates(table: Any, where: Any, *joins: Any) -> None:
        source = table
        for join_table, on in joins:
            source = source.join(join_table, on)
        for expr in (
            func.count(table.c.id),
            func.max(table.c.id),
            func.sum(table.c.version),
            func.max(table.c.updated_at),
        ):
            columns.append(select(expr).select_from(source).where(where).scalar_subquery())

    for table in _covered_tables()[1:]:
        if table.name in _child_names():
            aggregates(table, table.c.patient_id == pid)
        else:
            parent, fk = _parent_of(table)
            aggregates(table, parent.c.patient_id == pid, (parent, fk.parent == fk.column))
    return select(*columns)


def _child_names() -> set[str]:
    from pedbone.store import Patient

    patients = Patient.metadata.tables["patients"]
    return {
        t.name
        for t in Patient.metadata.tables.values()
        if "patient_id" in t.c
        and any(fk.column.table is patients for fk in t.c.patient_id.foreign_keys)
    }


def _parent_of(table: Any) -> tuple[Any, Any]:
    """The patient-level table a nested ``table`` hangs off, and the foreign key."""
    from pedbone.store import Patient

    children = _child_names()
    for fk in sorted(table.foreign_keys, key=lambda f: f.column.table.name):
        if fk.column.table.name in children:
            return Patient.metadata.tables[fk.column.table.name], fk
    raise LookupError(table.name)


def _covered_tables() -> list[Any]:
    """The patients table, the tables with a ``patient_id``, and the versioned tables with a
    foreign key to one of those (sorted by name within each level)."""
    from pedbone.store import Patient

    metadata = Patient.metadata
    children = _child_names()
    nested = [
        t
        for name, t in sorted(metadata.tables.items())
        if name not in children
        and "version" in t.c
        and any(fk.column.table.name in children for fk in t.foreign_keys)
    ]
    return [
        metadata.tables["patients"],
        *(metadata.tables[n] for n in sorted(children)),
        *nested,
    ]


def covered_table_names() -> list[str]:
    """Names of the tables whose changes invalidate a patient's cached overview."""
    return [t.name for t in _covered_tables()]


def patient_fingerprint(session: Any, patient_id: int) -> tuple[Any, ...]:
    """What changes whenever any record of the patient is added, changed or deleted."""
    row = session.execute(_fingerprint_statement(), {"pid": patient_id}).one()
    return tuple(row)


class OverviewCache:
    """Least-recently-used store of rendered pages (thread-safe)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._pages: OrderedDict[tuple[Any, ...], tuple[str, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> tuple[str, int] | None:
        """The cached page text and status for ``key``, or ``None``."""
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return page

    def put(self, key: tuple[Any, ...], text: str, status: int) -> None:
        """Remember a page; older entries of the same patient and viewer are dropped."""
        with self._lock:
            stale = [k for k in self._pages if k[:-1] == key[:-1]]
            for k in stale:
                del self._pages[k]
            self._pages[key] = (text, status)
            while len(self._pages) > self.max_entries:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        """Forget every page."""
        with self._lock:
            self._pages.clear()

    def __len__(self) -> int:
        return len(self._pages)


def viewer_key(user: Any, language: str, path: str, today: dt.date) -> tuple[Any, ...]:
    """The parts of the key that describe who looks, in which language, on which day."""
    return (user.id, user.username, user.full_name, user.role, language, path, today)


_CREATE_LOCK = threading.Lock()


def cache_of(app: Any) -> OverviewCache:
    """The app's overview cache (created on first use)."""
    cache: OverviewCache | None = getattr(app.state, "overview_cache", None)
    if cache is None:
        with _CREATE_LOCK:
            cache = getattr(app.state, "overview_cache", None)
            if cache is None:
                off = os.environ.get("PEDBONE_OVERVIEW_CACHE", "").strip() in ("0", "off")
                cache = OverviewCache(0 if off else MAX_ENTRIES)
                app.state.overview_cache = cache
    return cache


def overview_page(request: Any, user: Any, patient_id: int, **context: Any) -> Any:
    """The overview page of ``patient_id`` for this request, from the cache when it is exact.

    Requests with query parameters (e.g. the "Saved." notice) are rendered fresh and not
    cached; so are pages for a missing patient.
    """
    from starlette.responses import HTMLResponse

    from pedbone.web._overview import build_overview
    from pedbone.web._render import render, render_string
    from pedbone.web._security import csrf_token, request_language

    db = request.app.state.db
    language = request_language(request)
    cache = cache_of(request.app)
    if request.query_params or cache.max_entries == 0:
        ov = build_overview(db, user, patient_id, language=language)
        if ov is None:
            return render(request, "error.html", status_code=404, error="not_found")
        return render(request, "patient.html", ov=ov, **context)
    path = request.url.path
    with db.session() as session:
        fingerprint = patient_fingerprint(session, patient_id)
    key = (
        str(db.url),
        patient_id,
        *viewer_key(user, language, path, dt.date.today()),
        fingerprint,
    )
    token = csrf_token(request)
    hit = cache.get(key)
    if hit is not None:
        text, status = hit
        return HTMLResponse(text.replace(CSRF_PLACEHOLDER, token), status_code=status)
    ov = build_overview(db, user, patient_id, language=language)
    if ov is None:
        return render(request, "error.html", status_code=404, error="not_found")
    text = render_string(
        "patient.html",
        language,
        request=request,
        user=user,
        csrf_token=CSRF_PLACEHOLDER,
        path=path,
        ov=ov,
        **context,
    )
    cache.put(key, text, 200)
    return HTMLResponse(text.replace(CSRF_PLACEHOLDER, token), status_code=200)
