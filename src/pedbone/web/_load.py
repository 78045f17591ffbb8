"""Loading one patient with every collection the overview, the filters and the assessment read.

Its own module so that the list filters (``_data``) and the overview (``_overview``) share it
without importing each other.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

__all__ = ["load_patient", "warm_up_queries"]

_RELATIONS: Final = (
    "diagnoses",
    "anthropometry",
    "dxa_scans",
    "treatments",
    "adverse_events",
    "fractures",
    "medications",
    "labs",
    "notes",
    "puberty",
    "mobility",
    "diets",
    "sun_exposures",
    "calcium_intakes",
    "symptoms",
    "vertebral_assessments",
)
#: Second-level collections: parent relation -> (attribute, foreign key column).
_NESTED: Final = {
    "dxa_scans": ("measurements", "scan_id"),
    "treatments": ("infusions", "treatment_id"),
    "vertebral_assessments": ("vertebrae", "assessment_id"),
}


@lru_cache(maxsize=1)
def _statements() -> dict[str, Any]:
    """One pre-built statement per related table, in each relationship's own order.

    Built once: SQLAlchemy then finds them in its compiled cache without regenerating the
    cache key of a long eager-loading option list on every page view.
    """
    from sqlalchemy import bindparam, select
    from sqlalchemy import inspect as sa_inspect

    import pedbone.store as store

    out: dict[str, Any] = {
        "patient": select(store.Patient).where(store.Patient.id == bindparam("pid"))
    }
    mapper = sa_inspect(store.Patient)
    for name in _RELATIONS:
        rel = mapper.relationships[name]
        model = rel.mapper.class_
        order = [*list(rel.order_by or []), model.id]
        out[name] = select(model).where(model.patient_id == bindparam("pid")).order_by(*order)
        if name in _NESTED:
            attr, fk = _NESTED[name]
            sub = rel.mapper.relationships[attr]
            child = sub.mapper.class_
            child_order = [*list(sub.order_by or []), child.id]
            out[f"{name}.{attr}"] = (
                select(child)
                .where(getattr(child, fk).in_(bindparam("ids", expanding=True)))
                .order_by(*child_order)
            )
    return out


def load_patient(session: Any, patient_id: int) -> Any:
    """The patient with every collection the overview and the assessment read, loaded with
    one query per table and set on the objects (no lazy loads afterwards)."""
    from sqlalchemy.orm.attributes import set_committed_value

    stmts = _statements()
    patient = session.scalars(stmts["patient"], {"pid": patient_id}).one_or_none()
    if patient is None:
        return None
    for name in _RELATIONS:
        rows = list(session.scalars(stmts[name], {"pid": patient_id}))
        set_committed_value(patient, name, rows)
        if name in _NESTED:
            attr, fk = _NESTED[name]
            children: dict[int, list[Any]] = {}
            if rows:
                for child in session.scalars(
                    stmts[f"{name}.{attr}"], {"ids": [r.id for r in rows]}
                ):
                    children.setdefault(getattr(child, fk), []).append(child)
            for row in rows:
                set_committed_value(row, attr, children.get(row.id, []))
    return patient


def warm_up_queries(session: Any) -> None:
    """Run every statement of :func:`load_patient` once for no patient (id -1), so SQLAlchemy
    has compiled and cached them before the first request (start-up warm-up)."""
    for key, stmt in _statements().items():
        params = {"ids": [-1]} if "." in key else {"pid": -1}
        session.scalars(stmt, params).all()
