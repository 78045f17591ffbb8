"""pedbone.report — the PDF bone-health report of a patient visit, the systematic-review report
(:func:`review_report_html`, :func:`review_report_pdf`), and the SVG charts shared with the web
pages (:mod:`pedbone.report.charts`).

>>> from pedbone.report import visit_report_pdf
>>> pdf = visit_report_pdf(db, user, patient_id, language="nl")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedbone.report._pdf import html_to_pdf, visit_report_html, visit_report_pdf

if TYPE_CHECKING:
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

#: The review report loads on first use: it brings pedbone.evidence and SciPy's stats, which
#: the clinic pages (that import this package for the charts) must not pay for.
_LAZY = {
    "review_report_html": "_review_report",
    "review_report_pdf": "_review_report",
    "rob_summary_svg": "_review_report",
    "rob_traffic_light_svg": "_review_report",
    "SYNTHESIS_FORMAT": "_review_synthesis",
    "Synthesis": "_review_synthesis",
    "SynthesisFileError": "_review_synthesis",
    "example_synthesis": "_review_synthesis",
    "example_synthesis_data": "_review_synthesis",
    "load_synthesis": "_review_synthesis",
    "synthesis_from_mapping": "_review_synthesis",
    "with_practice_data": "_review_synthesis",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"pedbone.report.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'pedbone.report' has no attribute {name!r}")


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
