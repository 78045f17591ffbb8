"""pedbone.report — the PDF bone-health report of a patient visit, the systematic-review report
(:func:`review_report_html`, :func:`review_report_pdf`), and the SVG charts shared with the web
pages (:mod:`pedbone.report.charts`).

>>> from pedbone.report import visit_report_pdf
>>> pdf = visit_report_pdf(db, user, patient_id, language="nl")  # doctest: +SKIP
"""

from __future__ import annotations

from pedbone.report._pdf import html_to_pdf, visit_report_html, visit_report_pdf
from pedbone.report._review_report import (
    review_report_html,
    review_report_pdf,
    rob_summary_svg,
    rob_traffic_light_svg,
)
from pedbone.report._review_synthesis import (
    SYNTHESIS_FORMAT,
    Synthesis,
    SynthesisFileError,
    example_synthesis,
    example_synthesis_data,
    load_synthesis,
    synthesis_from_mapping,
    with_practice_data,
)

__all__ = [
    "SYNTHESIS_FORMAT",
    "Synthesis",
    "SynthesisFileError",
    "example_synthesis",
    "example_synthesis_data",
    "html_to_pdf",
    "load_synthesis",
    "review_report_html",
    "review_report_pdf",
    "rob_summary_svg",
    "rob_traffic_light_svg",
    "synthesis_from_mapping",
    "visit_report_html",
    "visit_report_pdf",
    "with_practice_data",
]
