"""Patient list, new patient, the overview and the record forms."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pedbone.web._forms import FORMS, PATIENT_FIELDS, FormSpec, parse, store_error_field
from pedbone.web._i18n import N_
from pedbone.web._render import render
from pedbone.web._security import WebUser, current_user, request_language, require_role

router = APIRouter()

Editor = Annotated[WebUser, Depends(require_role("admin", "clinician"))]
Reader = Annotated[WebUser, Depends(current_user)]

#: Default repeat interval behind the "DXA overdue" filter: the monitoring time interval for
#: spine and TBLH is under one year in most children [S14]. Set per clinic in WebSettings.
DXA_DUE_MONTHS = 12


def _form_dict(form: Any) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.get("/patients")
def patient_list(
    request: Request,
    user: Reader,
    q: str = "",
    diagnosis: str = "",
    low_bmd: bool = False,
    on_treatment: bool = False,
    overdue_dxa: bool = False,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
) -> Response:
    """The patient list with search and filters; HTMX requests get only the table."""
    from pedbone.web._data import PatientFilter, diagnosis_codes, list_patients

    settings = request.app.state.settings
    flt = PatientFilter(q, diagnosis, low_bmd, on_treatment, overdue_dxa, page)
    rows, total = list_patients(
        request.app.state.db,
        user,
        flt,
        page_size=settings.page_size,
        dxa_due_months=DXA_DUE_MONTHS,
    )
    pages = max(1, -(-total // settings.page_size))
    context = {"rows": rows, "total": total, "flt": flt, "pages": pages}
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "results":
        return render(request, "_patient_rows.html", **context)
    return render(
        request,
        "patients.html",
        diagnoses=diagnosis_codes(request.app.state.db),
        dxa_due_months=DXA_DUE_MONTHS,
        **context,
    )


@router.get("/patients/new")
def patient_new(request: Request, user: Editor) -> Response:
    """The new-patient form."""
    return render(request, "patient_new.html", fields=PATIENT_FIELDS, values={}, errors={})


@router.post("/patients/new")
async def patient_create(request: Request, user: Editor) -> Response:
    """Validate and add a patient; on errors show the form again with the messages."""
    from pedbone.store import StoreError
    from pedbone.web._data import create_patient

    raw = _form_dict(await request.form())
    values, errors = parse(PATIENT_FIELDS, raw, request_language(request))
    if not errors:
        try:
            pid = create_patient(request.app.state.db, user, values)
        except StoreError as exc:
            name = store_error_field(str(exc), tuple(f.name for f in PATIENT_FIELDS))
            if name is None and str(exc).startswith("text:"):
                name = "diagnosis_text"  # the diagnosis row's wording
            errors[name or "_form"] = str(exc)
        else:
            return RedirectResponse(f"/patients/{pid}", status_code=303)
    return render(
        request,
        "patient_new.html",
        status_code=422,
        fields=PATIENT_FIELDS,
        values=raw,
        errors=errors,
    )


@router.get("/patients/{patient_id}")
def patient_overview(request: Request, patient_id: int, user: Reader) -> Response:
    """Timeline, latest assessment, Z-scores and charts of one patient."""
    from pedbone.web._cache import overview_page

    return overview_page(  # type: ignore[no-any-return]
        request, user, patient_id, forms=FORMS, saved=request.query_params.get("saved")
    )


@router.get("/patients/{patient_id}/records/{kind}")
def record_form(request: Request, patient_id: int, kind: str, user: Editor) -> Response:
    """The form for one record type."""
    spec = _spec_for(request, kind, patient_id)
    if spec is None:
        return render(request, "error.html", status_code=404, error="not_found")
    label = _patient_label(request, user, patient_id)
    if label is None:
        return render(request, "error.html", status_code=404, error="not_found")
    defaults = {
        f.name: dt.date.today().isoformat() for f in spec.fields if f.kind == "date" and f.required
    }
    return render(
        request,
        "record_form.html",
        spec=spec,
        patient_id=patient_id,
        patient_label=label,
        values=defaults,
        errors={},
    )


@router.post("/patients/{patient_id}/records/{kind}")
async def record_create(request: Request, patient_id: int, kind: str, user: Editor) -> Response:
    """Validate and save one record; errors are shown next to their fields."""
    from pedbone.store import StoreError
    from pedbone.web._data import add_record, dxa_has_values

    spec = _spec_for(request, kind, patient_id)
    label = _patient_label(request, user, patient_id)
    if spec is None or label is None:
        return render(request, "error.html", status_code=404, error="not_found")
    raw = _form_dict(await request.form())
    values, errors = parse(spec.fields, raw, request_language(request))
    if kind == "dxa" and not errors and not dxa_has_values(values):
        errors["_form"] = N_("Enter at least one measured value.")
    if (
        kind == "anthropometry"
        and not errors
        and all(values.get(n) is None for n in ("height_cm", "weight_kg", "head_circumference_cm"))
    ):
        errors["_form"] = N_("Enter at least one measured value.")
    if not errors:
        try:
            add_record(request.app.state.db, user, patient_id, kind, values)
        except StoreError as exc:
            name = store_error_field(str(exc), tuple(f.name for f in spec.fields))
            errors[name or "_form"] = str(exc)
        else:
            return RedirectResponse(f"/patients/{patient_id}?saved={kind}", status_code=303)
    return render(
        request,
        "record_form.html",
        status_code=422,
        spec=spec,
        patient_id=patient_id,
        patient_label=label,
        values=raw,
        errors=errors,
    )


def _spec_for(request: Request, kind: str, patient_id: int) -> FormSpec | None:
    """The form of ``kind``; the infusion form offers this patient's bone treatments."""
    spec = FORMS.get(kind)
    if spec is None or kind != "infusion":
        return spec
    from sqlalchemy import select

    from pedbone.store import Treatment

    with request.app.state.db.session() as session:
        choices = tuple(
            (str(t.id), f"{t.drug} ({t.start_date.isoformat()})")
            for t in session.scalars(
                select(Treatment)
                .where(Treatment.patient_id == patient_id)
                .order_by(Treatment.start_date)
            )
        )
    fields = tuple(
        dataclasses.replace(f, choices=choices) if f.name == "treatment_id" else f
        for f in spec.fields
    )
    return dataclasses.replace(spec, fields=fields)


def _patient_label(request: Request, user: WebUser, patient_id: int) -> str | None:
    from pedbone.store import Patient
    from pedbone.web._data import pseudonym

    with request.app.state.db.session() as session:
        patient = session.get(Patient, patient_id)
        if patient is None:
            return None
        return pseudonym(patient.uid) if user.pseudonymised else str(patient.display_name)
