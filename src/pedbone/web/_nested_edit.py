"""Editing in place the records that carry nested rows: DXA scans (with their site values) and
vertebral assessments (with their vertebrae).

The form is the same as for a new record. Saving goes through the store's
:func:`~pedbone.store.update_record` on the parent with the version the form was shown with, so
a concurrent change is refused (:class:`~pedbone.store.ConflictError`) and nothing is saved. The
parent's version is raised on every save, also when only a nested value changed, so a colleague
who edits the same scan's values in between is detected the same way. Nested rows are updated
in place (same ids), added when a site or level gets its first value and deleted when all of its
form values are cleared; columns the form does not show (e.g. a region other than L1-L4, the
morphometric heights of a vertebra) are kept. Everything is audited by the store.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from pedbone.web._zscores import dxa_pack_for

__all__ = ["NESTED_KINDS", "nested_form_values", "update_nested"]

#: Record kinds with nested rows that this module edits.
NESTED_KINDS: Final = frozenset({"dxa", "vertebral"})

_SCAN_FIELDS: Final = (
    "scanned_on",
    "manufacturer",
    "model",
    "software_version",
    "analysis_mode",
    "height_cm",
    "weight_kg",
    "comment",
)
_VERTEBRAL_FIELDS: Final = ("assessed_on", "method", "trauma", "local_disease", "reader", "comment")
_HEIGHTS: Final = ("anterior_mm", "middle_mm", "posterior_mm", "reference_height_mm")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _raise_version(row: Any, shown: int | str) -> None:
    """Make the save raise the parent's version once, also when only nested rows change."""
    from pedbone.store import stamp_version

    if row.version == stamp_version(shown):
        row.updated_at = _now()


def _site_fields() -> dict[str, dict[str, str]]:
    from pedbone.web._data import _DXA_SITE_FIELDS

    return _DXA_SITE_FIELDS


def nested_form_values(kind: str, row: Any) -> dict[str, Any]:
    """Typed form values of a stored DXA scan or vertebral assessment (``row`` with its nested
    rows loaded); the form shows the first row of each site or level."""
    if kind == "dxa":
        values: dict[str, Any] = {name: getattr(row, name) for name in _SCAN_FIELDS}
        values["precision_spine"] = (row.precision_rms_sd or {}).get("spine_abmd")
        seen: set[str] = set()
        for m in row.measurements:
            mapping = _site_fields().get(m.site)
            if mapping is None or m.site in seen:
                continue
            seen.add(m.site)
            for name, column in mapping.items():
                values[name] = getattr(m, column)
            if m.site == "leg":
                values["reference_group"] = m.reference_group
        return values
    if kind == "vertebral":
        values = {name: getattr(row, name) for name in _VERTEBRAL_FIELDS}
        for v in row.vertebrae:
            values.setdefault(f"grade_{v.level}", v.genant_grade)
        return values
    raise ValueError(f"{kind!r} has no nested rows")


def update_nested(
    session: Any, kind: str, record_id: int, version: int | str, values: dict[str, Any]
) -> None:
    """Save the parsed form ``values`` onto record ``record_id`` if it is still at
    ``version`` (else :class:`~pedbone.store.ConflictError`); within the caller's unit of work."""
    from pedbone.store import update_record

    if kind == "dxa":
        from pedbone.store import DxaScan

        precision = values.get("precision_spine")
        changes = {name: values.get(name) for name in _SCAN_FIELDS if name != "model"}
        changes["precision_rms_sd"] = _merge_precision(session, record_id, precision)
        scan = update_record(session, DxaScan, record_id, version, **changes)
        if scan.model != values.get("model"):  # not through update_record: its parameter name
            scan.model = values.get("model")
        _raise_version(scan, version)
        _update_measurements(scan, values)
        session.flush()
        return
    if kind == "vertebral":
        from pedbone.store import VertebralAssessment

        assessment = update_record(
            session,
            VertebralAssessment,
            record_id,
            version,
            **{name: values.get(name) for name in _VERTEBRAL_FIELDS},
        )
        _raise_version(assessment, version)
        _update_vertebrae(assessment, values)
        session.flush()
        return
    raise ValueError(f"{kind!r} has no nested rows")


def _merge_precision(session: Any, scan_id: int, spine: float | None) -> dict[str, float] | None:
    """The scan's precision errors with the spine value from the form (others kept)."""
    from pedbone.store import DxaScan

    scan = session.get(DxaScan, scan_id)
    current = dict(scan.precision_rms_sd or {}) if scan is not None else {}
    if spine is None:
        current.pop("spine_abmd", None)
    else:
        current["spine_abmd"] = spine
    return current or None


def _delete(collection: list[Any], row: Any) -> None:
    """Delete a nested row explicitly (the audit log records explicit deletes; an orphan
    removed only from its collection would be deleted at flush without an audit entry)."""
    from sqlalchemy.orm import object_session

    collection.remove(row)
    session = object_session(row)
    if session is not None:
        session.delete(row)


def _update_measurements(scan: Any, values: dict[str, Any]) -> None:
    from pedbone.store import DxaMeasurement

    for site, mapping in _site_fields().items():
        data = {column: values.get(name) for name, column in mapping.items()}
        existing = next((m for m in scan.measurements if m.site == site), None)
        empty = all(v is None for v in data.values())
        if existing is None:
            if empty:
                continue
            existing = DxaMeasurement(site=site, region="L1-L4" if site == "spine" else None)
            if site == "leg":
                existing.reference_pack = dxa_pack_for("leg_abmd")
            scan.measurements.append(existing)
        elif empty:
            _delete(scan.measurements, existing)
            continue
        for column, value in data.items():
            if getattr(existing, column) != value:
                setattr(existing, column, value)
        if site == "leg" and existing.reference_group != values.get("reference_group"):
            existing.reference_group = values.get("reference_group")


def _update_vertebrae(assessment: Any, values: dict[str, Any]) -> None:
    from pedbone.store import Vertebra

    for name, grade in values.items():
        if not name.startswith("grade_"):
            continue
        level = name.removeprefix("grade_")
        existing = next((v for v in assessment.vertebrae if v.level == level), None)
        new = None if grade is None else float(grade)
        if existing is None:
            if new is not None:
                assessment.vertebrae.append(Vertebra(level=level, genant_grade=new))
            continue
        if new is None and all(getattr(existing, h) is None for h in _HEIGHTS):
            _delete(assessment.vertebrae, existing)  # nothing left on this vertebra
        elif existing.genant_grade != new:
            existing.genant_grade = new
