"""Response to treatment after each DXA, judged with ``pedbone.clinical.monitoring``.

Percent change, Z-score change and the least-significant-change verdict are computed by engineer
CLIN's monitoring functions (LSC = 2.77 × precision error [S15]); this module lines the scans up
against the start of treatment and adds the review prompt the protocol's sourced course gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pedbone.clinical.monitoring import ChangeResult, compare_measurements, z_change
from pedbone.treatment._advice import INTENDED_USE
from pedbone.treatment._dates import add_interval
from pedbone.treatment._protocol import Protocol

__all__ = ["DxaMeasurement", "ResponseRow", "ResponseSummary", "treatment_response"]


@dataclass(frozen=True, slots=True)
class DxaMeasurement:
    """One DXA value of one measure (e.g. 'spine_abmd', g/cm²) with its Z-score if known."""

    date: date
    measure: str
    value: float
    z: float | None = None
    reference: str | None = None
    scanner: str | None = None
    precision_error: float | None = None


@dataclass(frozen=True, slots=True)
class ResponseRow:
    """Change from the baseline scan to one follow-up scan."""

    date: date
    days_on_treatment: int
    change: ChangeResult

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        c = self.change
        return {
            "date": self.date.isoformat(),
            "days_on_treatment": self.days_on_treatment,
            "measure": c.measure,
            "baseline": c.baseline,
            "followup": c.followup,
            "absolute_change": c.absolute_change,
            "percent_change": c.percent_change,
            "annualised_percent_change": c.annualised_percent_change,
            "lsc": c.lsc,
            "verdict": c.verdict,
            "z_change": None if c.z is None else c.z.change,
            "z_note": None if c.z is None else c.z.reason,
            "statement": c.statement(),
            "sources": ["S15"],
        }


@dataclass(frozen=True)
class ResponseSummary:
    """All follow-up scans against the baseline, and any review that is due."""

    measure: str
    treatment_start: date
    baseline: DxaMeasurement
    rows: tuple[ResponseRow, ...]
    review_due: date | None
    review_reason: str | None
    review_sources: tuple[str, ...]
    intended_use: str = INTENDED_USE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "intended_use": self.intended_use,
            "measure": self.measure,
            "treatment_start": self.treatment_start.isoformat(),
            "baseline": {"date": self.baseline.date.isoformat(), "value": self.baseline.value},
            "rows": [r.to_dict() for r in self.rows],
            "review_due": None if self.review_due is None else self.review_due.isoformat(),
            "review_reason": self.review_reason,
            "review_sources": list(self.review_sources),
        }


def treatment_response(
    scans: Sequence[DxaMeasurement],
    *,
    treatment_start: date,
    protocol: Protocol | None = None,
) -> ResponseSummary:
    """Summarise the response of one measure from the start of treatment.

    The baseline is the last scan on or before ``treatment_start``; every later scan is
    compared with it (percent change, ΔZ when both Z-scores share a reference, the LSC verdict
    when the scanner is the same and its precision error is known [S15]). If the protocol has a
    sourced course length, the end of the course is returned as the review date.
    """
    if not scans:
        raise ValueError("no DXA scans given")
    measures = {s.measure for s in scans}
    if len(measures) != 1:
        raise ValueError(f"give scans of one measure at a time (got {sorted(measures)})")
    ordered = sorted(scans, key=lambda s: s.date)
    before = [s for s in ordered if s.date <= treatment_start]
    if not before:
        raise ValueError(
            f"no baseline scan on or before the start of treatment ({treatment_start})"
        )
    base = before[-1]
    rows: list[ResponseRow] = []
    for s in ordered:
        if s.date <= treatment_start:
            continue
        days = (s.date - base.date).days
        zc = None
        if base.z is not None and s.z is not None:
            zc = z_change(
                base.z,
                s.z,
                days=days,
                baseline_reference=base.reference,
                followup_reference=s.reference,
            )
        same = base.scanner is not None and base.scanner == s.scanner
        change = compare_measurements(
            s.measure,
            base.value,
            s.value,
            days=days,
            precision_error=s.precision_error if same else None,
            same_scanner=same or base.scanner is None or s.scanner is None,
            z=zc,
        )
        rows.append(ResponseRow(s.date, (s.date - treatment_start).days, change))
    review: date | None = None
    reason: str | None = None
    sources: tuple[str, ...] = ()
    if protocol is not None and protocol.course is not None and protocol.course.duration:
        review = add_interval(treatment_start, protocol.course.duration, treatment_start.day)
        reason = (
            f"end of the {protocol.course.duration.length()} course of {protocol.id}: review "
            "whether to continue"
        )
        sources = protocol.course.sources
    return ResponseSummary(
        measure=base.measure,
        treatment_start=treatment_start,
        baseline=base,
        rows=tuple(rows),
        review_due=review,
        review_reason=reason,
        review_sources=sources,
    )
