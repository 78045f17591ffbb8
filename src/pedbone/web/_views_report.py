"""The PDF visit report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from pedbone.web._render import render
from pedbone.web._security import WebUser, current_user, request_language

router = APIRouter()


@router.get("/patients/{patient_id}/report.pdf")
def report_pdf(
    request: Request,
    patient_id: int,
    user: Annotated[WebUser, Depends(current_user)],
    on: dt.date | None = None,
) -> Response:
    """Download the bone-health report of one visit (``on``: the visit date)."""
    from pedbone.report import visit_report_pdf

    pdf = visit_report_pdf(
        request.app.state.db, user, patient_id, on=on, language=request_language(request)
    )
    if pdf is None:
        return render(request, "error.html", status_code=404, error="not_found")
    name = f"pedbone-report-{patient_id}-{(on or dt.date.today()).isoformat()}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
