"""pedbone.report — the PDF bone-health report of a patient visit, and the SVG charts shared
with the web pages (:mod:`pedbone.report.charts`).

>>> from pedbone.report import visit_report_pdf
>>> pdf = visit_report_pdf(db, user, patient_id, language="nl")  # doctest: +SKIP
"""

from __future__ import annotations

from pedbone.report._pdf import html_to_pdf, visit_report_html, visit_report_pdf

__all__ = ["html_to_pdf", "visit_report_html", "visit_report_pdf"]
