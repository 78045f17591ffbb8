"""FHIR on the web: ``GET /patients/{id}/fhir`` gives one patient as a FHIR R4 Bundle (JSON);
``/import/fhir`` checks an uploaded Bundle, shows every resource with an error and what is not
imported, and writes the patient in one transaction. Both are for admins and clinicians only:
researchers are refused (403) because a Bundle carries identifiers (name, record number,
INSZ/NISS) that the researcher role never sees."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from pedbone.web._i18n import N_
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


def _sign(request: Request, payload: str) -> str:
    key = str(request.session.get("csrf", "")).encode()
    return hmac.new(key, b"fhir:" + payload.encode(), hashlib.sha256).hexdigest()


@router.get("/import/fhir")
def fhir_import_form(request: Request, user: Identified) -> Response:
    """The upload form."""
    return render(request, "import_fhir.html", preview=None, error=None)


@router.post("/import/fhir")
async def fhir_import_preview(request: Request, user: Identified) -> Response:
    """Check the uploaded Bundle and show the preview; nothing is written here."""
    from pedbone.io import read_fhir_bundle

    settings = request.app.state.settings
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return render(request, "import_fhir.html", status_code=422, preview=None,
                      error=N_("Choose a FHIR Bundle file (JSON)."))  # fmt: skip
    data = await upload.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        return render(request, "import_fhir.html", status_code=422, preview=None,
                      error=N_("The file is too large."))  # fmt: skip
    preview = read_fhir_bundle(data)
    payload = base64.b64encode(data).decode()
    return render(
        request,
        "import_fhir.html",
        status_code=200 if preview.ok else 422,
        preview=preview,
        error=None,
        payload=payload,
        signature=_sign(request, payload),
    )


@router.post("/import/fhir/commit")
async def fhir_import_commit(request: Request, user: Identified) -> Response:
    """Write a previewed Bundle: re-checked in full; the whole patient or nothing."""
    from starlette.responses import RedirectResponse

    from pedbone.io import FhirIssue, import_fhir_preview, read_fhir_bundle
    from pedbone.store import StoreError
    from pedbone.web._data import _actor

    form = await request.form()
    payload = str(form.get("payload", ""))
    if not hmac.compare_digest(str(form.get("signature", "")), _sign(request, payload)):
        return render(request, "import_fhir.html", status_code=422, preview=None,
                      error=N_("The preview has expired; upload the file again."))  # fmt: skip
    preview = read_fhir_bundle(base64.b64decode(payload))
    if not preview.ok:
        return render(request, "import_fhir.html", status_code=422, preview=preview, error=None,
                      payload=payload, signature=_sign(request, payload))  # fmt: skip
    db = request.app.state.db
    try:
        patient_id = import_fhir_preview(db, preview, actor=_actor(db, user))
    except StoreError as exc:
        preview.errors.append(FhirIssue(0, "", str(exc)))
        return render(request, "import_fhir.html", status_code=422, preview=preview, error=None,
                      payload=payload, signature=_sign(request, payload))  # fmt: skip
    return RedirectResponse(f"/patients/{patient_id}?saved=patient", status_code=303)
