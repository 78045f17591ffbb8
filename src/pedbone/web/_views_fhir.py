"""``GET /patients/{id}/fhir``: one patient as a FHIR R4 Bundle (JSON), for admins and
clinicians only; researchers are refused (403) because a FHIR Bundle carries identifiers (name,
record number, INSZ/NISS) that the researcher role never sees."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from pedbone.web._render import render
from pedbone.web._security import WebUser, require_role

router = APIRouter()

Identified = Annotated[WebUser, Depends(require_role("admin", "clinician"))]

FHIR_JSON = "application/fhir+json"


@router.get("/patients/{patient_id}/fhir")
def patient_fhir(request: Request, patient_id: int, user: Identified) -> Response:
    """The Bundle as a download (``?inline=1`` shows it in the browser)."""
    from pedbone.io import fhir_bundle
    from pedbone.store import Patient
    from pedbone.web._data import _actor

    db = request.app.state.db
    with db.session(_actor(db, user)) as session:
        patient = session.get(Patient, patient_id)
        if patient is None:
            return render(request, "error.html", status_code=404, error="not_found")
        bundle = fhir_bundle(patient)
    body = json.dumps(bundle, ensure_ascii=False, indent=1)
    headers = {"X-Content-Type-Options": "nosniff"}
    if request.query_params.get("inline") != "1":
        headers["Content-Disposition"] = f'attachment; filename="patient-{patient_id}.fhir.json"'
    return Response(body, media_type=FHIR_JSON, headers=headers)
