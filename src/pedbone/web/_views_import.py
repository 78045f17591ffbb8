"""CSV import of DXA results: upload, preview with a per-row error report, then commit."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from pedbone.web._i18n import N_
from pedbone.web._import import COLUMNS, REQUIRED_COLUMNS, CsvFileError, commit_rows, read_dxa_csv
from pedbone.web._import_scanner import (
    LAYOUT_CHOICES,
    decode_options,
    describe_scanner_file,
    encode_options,
    options_from_form,
)
from pedbone.web._preview import PreviewStore, preview_folder
from pedbone.web._render import render
from pedbone.web._security import WebUser, request_language, require_role

router = APIRouter()

Editor = Annotated[WebUser, Depends(require_role("admin", "clinician"))]


def _sign(request: Request, payload: str) -> str:
    key = str(request.session.get("csrf", "")).encode()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def _previews(request: Request) -> PreviewStore:
    store = getattr(request.app.state, "import_previews", None)
    if store is None:
        store = PreviewStore(preview_folder(request.app.state.db.url))
        request.app.state.import_previews = store
    return store


@router.get("/import/dxa")
def import_form(request: Request, user: Editor) -> Response:
    """The upload form, with the expected columns."""
    return render(
        request,
        "import.html",
        columns=list(COLUMNS),
        required=REQUIRED_COLUMNS,
        error=None,
        layouts=LAYOUT_CHOICES,
    )


@router.post("/import/dxa")
async def import_preview(request: Request, user: Editor) -> Response:
    """Check the uploaded file and show the preview; nothing is written here."""
    settings = request.app.state.settings
    form = await request.form()
    upload = form.get("file")
    error: str | None = None
    params: dict[str, object] = {}
    data = b""
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = N_("Choose a CSV file.")
    else:
        data = await upload.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            error = N_("The file is too large.")
    mapping = form.get("mapping")
    mapping_text = None
    if isinstance(mapping, UploadFile) and mapping.filename:
        try:
            mapping_text = (await mapping.read(settings.max_upload_bytes)).decode("utf-8-sig")
        except UnicodeDecodeError:
            error = N_("The mapping file is not UTF-8 text.")
    options = options_from_form(form, mapping_text)
    if error is None:
        try:
            rows = read_dxa_csv(
                request.app.state.db, user, data, request_language(request), options
            )
        except CsvFileError as exc:
            error, params = exc.msgid, exc.params
    if error is not None:
        return render(
            request,
            "import.html",
            status_code=422,
            columns=list(COLUMNS),
            required=REQUIRED_COLUMNS,
            error=error,
            error_params=params,
            layouts=LAYOUT_CHOICES,
        )
    n_errors = sum(1 for r in rows if not r.ok)
    preview = _previews(request).put(data) if rows and not n_errors else ""
    encoded = encode_options(options)
    return render(
        request,
        "import_preview.html",
        rows=rows,
        n_errors=n_errors,
        preview=preview,
        options=encoded,
        import_info=describe_scanner_file(data, options),
        signature=_sign(request, preview + encoded),
        filename=upload.filename if isinstance(upload, UploadFile) else "",
    )


@router.post("/import/dxa/commit")
async def import_commit(request: Request, user: Editor) -> Response:
    """Write a previewed file: re-checked in full; all rows or none."""
    from pedbone.store import BusyError, ConflictError, StoreError

    form = await request.form()
    preview = str(form.get("preview", ""))
    encoded = str(form.get("options", ""))
    signature = str(form.get("signature", ""))
    previews = _previews(request)
    data = (
        previews.get(preview)
        if hmac.compare_digest(signature, _sign(request, preview + encoded))
        else None
    )
    db = request.app.state.db
    if data is None:
        if preview and _committed(db, preview):
            return _conflict(
                request, N_("This file was already imported; nothing was imported twice.")
            )
        return render(
            request,
            "import.html",
            status_code=422,
            columns=list(COLUMNS),
            required=REQUIRED_COLUMNS,
            error=N_("The preview has expired; upload the file again."),
            layouts=LAYOUT_CHOICES,
        )
    error: str | None = None
    params: dict[str, object] = {}
    try:
        rows = read_dxa_csv(db, user, data, request_language(request), decode_options(encoded))
    except CsvFileError as exc:
        rows, error, params = [], exc.msgid, exc.params
    if error or not rows or any(not r.ok for r in rows):
        return render(
            request,
            "import_preview.html",
            status_code=422,
            rows=rows,
            n_errors=sum(1 for r in rows if not r.ok),
            preview="",
            signature="",
            filename="",
            error=error,
            error_params=params,
        )
    try:
        count = commit_rows(db, user, rows, preview)
    except BusyError:
        return _conflict(
            request, N_("The database was busy; nothing was saved. Please try again."), 503
        )
    except ConflictError as exc:  # committed at the same moment by another request (H34, H35)
        return _conflict(request, str(exc))
    except StoreError as exc:  # a refusal the preview did not foresee: say it, write nothing
        return _conflict(request, str(exc), 422)
    previews.discard(preview)
    return render(request, "import_done.html", count=count, rows=rows)


def _committed(db: object, preview: str) -> bool:
    from sqlalchemy import select

    from pedbone.store import ImportCommit

    with db.session() as session:  # type: ignore[attr-defined]
        query = select(ImportCommit.id).where(ImportCommit.preview_key == preview)
        return session.scalar(query) is not None


def _conflict(request: Request, message: str, status: int = 409) -> Response:
    error = "conflict" if status == 409 else "busy" if status == 503 else "invalid"
    response = render(request, "error.html", status_code=status, error=error, message=message)
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response
