"""The visit report as PDF (WeasyPrint), rendered from the web application's templates."""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["html_to_pdf", "visit_report_html", "visit_report_pdf"]


def html_to_pdf(html: str) -> bytes:
    """Render HTML (with inline SVG and the report's own stylesheet) to PDF bytes.

    No network access: every resource is inline; external URLs are refused.
    """
    from weasyprint import HTML  # type: ignore[import-untyped]

    def no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise ValueError(f"the report does not load external resources ({url})")

    pdf = HTML(string=html, url_fetcher=no_fetch).write_pdf()
    if pdf is None:  # pragma: no cover - write_pdf returns bytes without a target
        raise RuntimeError("WeasyPrint produced no PDF")
    return bytes(pdf)


def visit_report_html(
    db: Any, user: Any, patient_id: int, *, on: dt.date | None = None, language: str = "en"
) -> str | None:
    """The report of one visit as HTML (``None`` if there is no such patient).

    ``on`` is the visit date: only data recorded on or before it are shown. Default: the
    latest date with a measurement.
    """
    from pedbone.web._overview import build_overview
    from pedbone.web._render import render_string

    if on is None:
        latest = build_overview(db, user, patient_id, language=language)
        if latest is None:
            return None
        on = latest.visit_dates[0] if latest.visit_dates else dt.date.today()
    ov = build_overview(db, user, patient_id, as_of=on, language=language)
    if ov is None:
        return None
    visit = on
    return render_string(
        "report.html",
        language,
        ov=ov,
        visit=visit,
        user=user,
        generated=dt.datetime.now().replace(microsecond=0),
    )


def visit_report_pdf(
    db: Any, user: Any, patient_id: int, *, on: dt.date | None = None, language: str = "en"
) -> bytes | None:
    """The PDF bone-health report of one visit (``None`` if there is no such patient)."""
    html = visit_report_html(db, user, patient_id, on=on, language=language)
    return None if html is None else html_to_pdf(html)
