"""The PDF visit report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
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
    visit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> Response:
    """Download the bone-health report of one visit: ``on`` the visit date, or ``visit`` its
    number (1 = newest). Researchers choose by number only: no real date goes in or out."""
    from pedbone.report import visit_report_pdf
    from pedbone.web._overview import build_overview

    db = request.app.state.db
    language = request_language(request)
    number = None
    ov = None
    if visit is not None or user.pseudonymised:
        if on is not None and user.pseudonymised:
            return render(request, "error.html", status_code=404, error="not_found")
        ov = build_overview(db, user, patient_id, language=language)
        if ov is None or not ov.visit_dates or (visit or 1) > len(ov.visit_dates):
            return render(request, "error.html", status_code=404, error="not_found")
        number = visit or 1
        on = ov.visit_dates[number - 1]
    pdf = visit_report_pdf(db, user, patient_id, on=on, language=language)
    if pdf is None:
        return render(request, "error.html", status_code=404, error="not_found")
    if user.pseudonymised and ov is not None:  # ov.label is the pseudonym for researchers
        name = f"pedbone-report-{ov.label}-visit-{number}.pdf"
    else:
        name = f"pedbone-report-{patient_id}-{(on or dt.date.today()).isoformat()}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
