"""All records of a patient: list, edit (optimistic locking) and delete."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pedbone.web._forms import FORMS, Field, parse, store_error_field
from pedbone.web._forms import PATIENT_FIELDS as FORMS_PATIENT
from pedbone.web._i18n import N_
from pedbone.web._nested_edit import NESTED_KINDS, nested_form_values, update_nested
from pedbone.web._render import render
from pedbone.web._security import WebUser, request_language, require_role

router = APIRouter()

Editor = Annotated[WebUser, Depends(require_role("admin", "clinician"))]

#: Record kinds not edited here (infusions are listed and changed with their treatment).
#: DXA scans and vertebral assessments are edited with their nested rows (``_nested_edit``).
NOT_EDITABLE: Final = frozenset({"infusion"})
#: Record kinds listed here (infusions belong to a treatment and go with it).
LISTED: Final = tuple(kind for kind in FORMS if kind != "infusion")


def _model(kind: str) -> Any:
    import pedbone.store as store

    return getattr(store, FORMS[kind].model)


def _form_value(f: Field, value: Any) -> str:
    if value is None:
        return ""
    if f.kind == "bool":
        return "on" if value else ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _summary(kind: str, row: Any) -> list[tuple[Field, Any]]:
    spec = FORMS[kind]
    shown = []
    for f in spec.fields:
        if f.name == spec.date_field or f.kind in ("textarea", "password"):
            continue
        value = getattr(row, f.name, None)
        if value not in (None, "", False):
            shown.append((f, value))
    return shown[:4]


def _conflict_page(request: Request, exc: Exception) -> Response:
    """409 for a conflict; 503 with Retry-After when the database was only busy (H33)."""
    from pedbone.store import BusyError

    if isinstance(exc, BusyError):
        response = render(request, "error.html", status_code=503, error="busy", message=str(exc))
        response.headers["Retry-After"] = "5"
        return response
    return render(request, "error.html", status_code=409, error="conflict", message=str(exc))


def _gone(request: Request, kind: str, record_id: int) -> Response | None:
    """A 409 page if the record a form was loaded from has been deleted meanwhile (the audit
    log says so): the stale form is refused, never applied to anything else (hazard H30)."""
    from pedbone.store import was_deleted

    if kind not in FORMS:
        return None
    with request.app.state.db.session() as session:
        deleted = was_deleted(session, _model(kind), record_id)
    if not deleted:
        return None
    message = N_("This record was deleted by someone else after you opened it. Nothing was saved.")
    return render(request, "error.html", status_code=409, error="conflict", message=message)


def _row(request: Request, patient_id: int, kind: str, record_id: int) -> Any:
    """The record, if it exists and belongs to this patient (else None)."""
    if kind not in FORMS:
        return None
    with request.app.state.db.session() as session:
        row = session.get(_model(kind), record_id)
        if row is None or getattr(row, "patient_id", None) != patient_id:
            return None
        session.expunge(row)
        return row


@router.get("/patients/{patient_id}/records")
def records_page(request: Request, patient_id: int, user: Editor) -> Response:
    """Every record of the patient, by type, with edit and delete."""
    from sqlalchemy import select

    from pedbone.web._views_patients import _patient_label

    label = _patient_label(request, user, patient_id)
    if label is None:
        return render(request, "error.html", status_code=404, error="not_found")
    groups = []
    with request.app.state.db.session() as session:
        for kind in LISTED:
            model = _model(kind)
            spec = FORMS[kind]
            rows = list(
                session.scalars(
                    select(model)
                    .where(model.patient_id == patient_id)
                    .order_by(getattr(model, spec.date_field).desc(), model.id.desc())
                )
            )
            if rows:
                groups.append(
                    (
                        spec,
                        [(r, getattr(r, spec.date_field), _summary(kind, r)) for r in rows],
                    )
                )
    return render(
        request,
        "records.html",
        patient_id=patient_id,
        patient_label=label,
        groups=groups,
        editable=lambda kind: kind not in NOT_EDITABLE,
    )


@router.get("/patients/{patient_id}/records/{kind}/{record_id}")
def record_edit_form(
    request: Request, patient_id: int, kind: str, record_id: int, user: Editor
) -> Response:
    """The record's form, filled in, with its version for optimistic locking."""
    from pedbone.web._views_patients import _patient_label

    row = _row(request, patient_id, kind, record_id)
    if row is None or kind in NOT_EDITABLE:
        return render(request, "error.html", status_code=404, error="not_found")
    spec = FORMS[kind]
    typed = {f.name: getattr(row, f.name, None) for f in spec.fields}
    if kind in NESTED_KINDS:
        with request.app.state.db.session() as session:
            typed = nested_form_values(kind, session.get(_model(kind), record_id))
    values = {f.name: _form_value(f, typed.get(f.name)) for f in spec.fields}
    return render(
        request,
        "record_form.html",
        spec=spec,
        patient_id=patient_id,
        patient_label=_patient_label(request, user, patient_id),
        values=values,
        errors={},
        record_id=record_id,
        version=row.row_stamp,
    )


@router.post("/patients/{patient_id}/records/{kind}/{record_id}")
async def record_update(
    request: Request, patient_id: int, kind: str, record_id: int, user: Editor
) -> Response:
    """Save the changes if nobody changed the record in between (else say so; nothing saved)."""
    from pedbone.store import ConflictError, StoreError, update_record
    from pedbone.web._data import _actor, dxa_has_values
    from pedbone.web._views_patients import _patient_label

    row = _row(request, patient_id, kind, record_id)
    if row is None or kind in NOT_EDITABLE:
        return _gone(request, kind, record_id) or render(
            request, "error.html", status_code=404, error="not_found"
        )
    spec = FORMS[kind]
    raw = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    version = raw.get("version", "")
    values, errors = parse(spec.fields, raw, request_language(request))
    if kind == "dxa" and not errors and not dxa_has_values(values):
        errors["_form"] = N_("Enter at least one measured value.")
    if not errors:
        db = request.app.state.db
        try:
            with db.unit_of_work(actor=_actor(db, user)) as session:
                if kind in NESTED_KINDS:
                    update_nested(session, kind, record_id, version, values)
                else:
                    if kind == "fracture" and values.get("genant_grade") is not None:
                        values["genant_grade"] = float(values["genant_grade"])
                    update_record(session, _model(kind), record_id, version, **values)
        except ConflictError as exc:
            return _conflict_page(request, exc)
        except StoreError as exc:
            name = store_error_field(str(exc), tuple(f.name for f in spec.fields))
            errors[name or "_form"] = str(exc)
        else:
            return RedirectResponse(f"/patients/{patient_id}/records?saved=1", status_code=303)
    return render(
        request,
        "record_form.html",
        status_code=422,
        spec=spec,
        patient_id=patient_id,
        patient_label=_patient_label(request, user, patient_id),
        values=raw,
        errors=errors,
        record_id=record_id,
        version=version,
    )


@router.post("/patients/{patient_id}/records/{kind}/{record_id}/delete")
async def record_delete(
    request: Request, patient_id: int, kind: str, record_id: int, user: Editor
) -> Response:
    """Delete the record (and what belongs to it) if it is unchanged since it was shown."""
    from pedbone.store import ConflictError, delete_record
    from pedbone.web._data import _actor

    row = _row(request, patient_id, kind, record_id)
    if row is None:
        return _gone(request, kind, record_id) or render(
            request, "error.html", status_code=404, error="not_found"
        )
    version = str((await request.form()).get("version", ""))
    db = request.app.state.db
    try:
        with db.unit_of_work(actor=_actor(db, user)) as session:
            delete_record(session, _model(kind), record_id, version)
    except ConflictError as exc:
        return _conflict_page(request, exc)
    return RedirectResponse(f"/patients/{patient_id}/records?deleted=1", status_code=303)


PATIENT_EDIT_FIELDS: Final = tuple(
    f for f in FORMS_PATIENT if f.name not in ("diagnosis", "diagnosis_text")
)


@router.get("/patients/{patient_id}/edit")
def patient_edit_form(request: Request, patient_id: int, user: Editor) -> Response:
    """The patient's identification, filled in, with its version."""
    from pedbone.store import Patient
    from pedbone.web._views_patients import _patient_label

    with request.app.state.db.session() as session:
        row = session.get(Patient, patient_id)
        if row is None:
            return render(request, "error.html", status_code=404, error="not_found")
        values = {f.name: _form_value(f, getattr(row, f.name)) for f in PATIENT_EDIT_FIELDS}
        version = row.row_stamp
    return render(
        request,
        "patient_new.html",
        fields=PATIENT_EDIT_FIELDS,
        values=values,
        errors={},
        patient_id=patient_id,
        patient_label=_patient_label(request, user, patient_id),
        version=version,
    )


@router.post("/patients/{patient_id}/edit")
async def patient_update(request: Request, patient_id: int, user: Editor) -> Response:
    """Save corrected identification data if nobody changed them in between."""
    from pedbone.store import ConflictError, Patient, StoreError, update_record
    from pedbone.web._data import _actor
    from pedbone.web._views_patients import _patient_label

    label = _patient_label(request, user, patient_id)
    if label is None:
        return render(request, "error.html", status_code=404, error="not_found")
    raw = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    values, errors = parse(PATIENT_EDIT_FIELDS, raw, request_language(request))
    if not errors:
        db = request.app.state.db
        try:
            with db.unit_of_work(actor=_actor(db, user)) as session:
                for column in ("mrn", "ssin", "administrative_gender"):
                    values[column] = values.get(column) or None
                update_record(session, Patient, patient_id, raw.get("version", ""), **values)
        except ConflictError as exc:
            return _conflict_page(request, exc)
        except StoreError as exc:
            name = store_error_field(str(exc), tuple(f.name for f in PATIENT_EDIT_FIELDS))
            errors[name or "_form"] = str(exc)
        else:
            return RedirectResponse(f"/patients/{patient_id}?saved=patient", status_code=303)
    return render(
        request,
        "patient_new.html",
        status_code=422,
        fields=PATIENT_EDIT_FIELDS,
        values=raw,
        errors=errors,
        patient_id=patient_id,
        patient_label=label,
        version=raw.get("version", ""),
    )
