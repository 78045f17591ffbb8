"""The clinic's own treated cohort as a single-arm study row, beside the trials of a review.

From the clinic database, as a researcher sees it (the read-pseudonymised right; children are
named only by pseudonym): every child with at least one bisphosphonate dose given is in the
cohort, from their first dose. The row holds n, the change in lumbar-spine aBMD Z-score from
baseline to the chosen follow-up (pedbone's recomputed Z, never the scanner's), with its SD,
fractures after the first dose, and per harm category the proportion of children affected at
the first dose apart from later doses. It is labelled **practice data**: an uncontrolled
single-arm series, to be appraised as a case series, never pooled with the trials' contrasts.

The follow-up and the scan windows are the reviewer's choice; the defaults (12 months,
a follow-up scan within ± 3 months, a baseline scan up to 6 months before the first dose and no
later than that dose) are a software rule [PEDBONE_REVIEW_RULES], not a clinical number.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pedbone.store._clinical import dxa_zscores
from pedbone.store._harms import given_doses
from pedbone.store._models import DxaScan, Patient, Treatment
from pedbone.store._pseudo import pseudonym
from pedbone.store._security import Permission, ensure_permission

__all__ = ["ChildCourse", "ClinicCohortRow", "clinic_cohort_row", "cohort_summary"]

_DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True, slots=True)
class ChildCourse:
    """One treated child, pseudonymised: what the cohort row needs and nothing else."""

    pseudonym: str
    first_dose: dt.date
    doses: int
    ls_z: tuple[tuple[dt.date, float], ...] = ()  # lumbar-spine aBMD Z by scan date
    fractures: tuple[dt.date, ...] = ()
    harms: tuple[tuple[int, str], ...] = ()  # (dose number, harm category)


@dataclass(frozen=True, slots=True)
class ClinicCohortRow:
    """The cohort as a single-arm study row (practice data)."""

    label: str
    n: int
    follow_up_months: float
    n_z: int  # children with a baseline and a follow-up scan
    z_change_mean: float | None
    z_change_sd: float | None  # sample SD (n - 1)
    children_with_fracture: int
    fractures: int
    n_first_dose: int
    n_later_doses: int  # children with at least 2 doses
    harms_first: dict[str, int] = field(default_factory=dict)  # children affected
    harms_later: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    simulated: bool = False

    def as_synthesis(self) -> dict[str, Any]:
        """The row in the synthesis file's format (a study, and its harm counts)."""
        study = {
            "id": self.label,
            "design": "practice data: the clinic's treated cohort (single arm, uncontrolled)",
            "randomised": False,
            "participants": f"{self.n} treated children of this clinic (pseudonymised)",
            "intervention": "bisphosphonates as given in the clinic",
            "comparator": "none",
            "n": str(self.n),
            "follow_up": f"{self.follow_up_months:g} months",
            "harms_only": True,
            "note": "; ".join(self.notes),
        }
        harms: dict[str, list[dict[str, Any]]] = {}
        for cat, k in self.harms_first.items():
            harms.setdefault(cat, []).append(
                {"study": self.label, "infusion": "first", "events": k, "total": self.n_first_dose}
            )
        if self.n_later_doses:
            for cat in sorted(set(self.harms_first) | set(self.harms_later)):
                k = self.harms_later.get(cat, 0)
                harms.setdefault(cat, []).append(
                    {
                        "study": self.label,
                        "infusion": "later",
                        "events": k,
                        "total": self.n_later_doses,
                    }
                )
        return {
            "study": study,
            "harms": [{"harm": h.replace("_", " "), "rows": rows} for h, rows in harms.items()],
        }


def _months(a: dt.date, b: dt.date) -> float:
    return (b - a).days / _DAYS_PER_MONTH


def cohort_summary(
    children: Sequence[ChildCourse],
    *,
    follow_up_months: float = 12.0,
    window_months: float = 3.0,
    baseline_window_months: float = 6.0,
    label: str = "Clinic cohort (practice data)",
    simulated: bool = False,
) -> ClinicCohortRow:
    """Summarise treated children (each from their first dose) as one single-arm row."""
    if not 0 < follow_up_months <= 240 or not 0 < window_months <= follow_up_months:
        raise ValueError("follow-up: 0 to 240 months, with a window no longer than it")
    if not 0 < baseline_window_months <= 24:
        raise ValueError("baseline window: 0 to 24 months")
    changes: list[float] = []
    notes: list[str] = []
    no_scan = 0
    for c in children:
        base = [
            (d, z)
            for d, z in c.ls_z
            if d <= c.first_dose and _months(d, c.first_dose) <= baseline_window_months
        ]
        later = [
            (d, z)
            for d, z in c.ls_z
            if d > c.first_dose
            and abs(_months(c.first_dose, d) - follow_up_months) <= window_months
        ]
        if not base or not later:
            no_scan += 1
            continue
        b = max(base)  # the scan closest before the first dose
        f = min(later, key=lambda dz: (abs(_months(c.first_dose, dz[0]) - follow_up_months), dz))
        changes.append(f[1] - b[1])
    if no_scan:
        notes.append(
            f"{no_scan} of {len(children)} children without a baseline and a follow-up "
            "lumbar-spine Z-score in the windows"
        )
    horizon = follow_up_months + window_months
    frac = [
        sum(1 for d in c.fractures if 0 < _months(c.first_dose, d) <= horizon) for c in children
    ]
    first: dict[str, int] = {}
    later_h: dict[str, int] = {}
    for c in children:
        for cat in sorted({h for n, h in c.harms if n == 1}):
            first[cat] = first.get(cat, 0) + 1
        for cat in sorted({h for n, h in c.harms if n >= 2}):
            later_h[cat] = later_h.get(cat, 0) + 1
    mean = statistics.fmean(changes) if changes else None
    sd = statistics.stdev(changes) if len(changes) >= 2 else None
    if sd is not None and not math.isfinite(sd):  # pragma: no cover - finite inputs
        sd = None
    return ClinicCohortRow(
        label=label,
        n=len(children),
        follow_up_months=follow_up_months,
        n_z=len(changes),
        z_change_mean=mean,
        z_change_sd=sd,
        children_with_fracture=sum(1 for k in frac if k),
        fractures=sum(frac),
        n_first_dose=len(children),
        n_later_doses=sum(1 for c in children if c.doses >= 2),
        harms_first=first,
        harms_later=later_h,
        notes=tuple(notes),
        simulated=simulated,
    )


def clinic_cohort_row(
    session: Session,
    user: Any,
    *,
    follow_up_months: float = 12.0,
    window_months: float = 3.0,
    baseline_window_months: float = 6.0,
    include_demo: bool = False,
) -> ClinicCohortRow:
    """The clinic's treated cohort as a single-arm study row; ``user`` needs the
    read-pseudonymised right (``None`` = system, e.g. the CLI)."""
    ensure_permission(user, Permission.READ_PSEUDONYMISED)
    query = select(Patient).options(
        selectinload(Patient.dxa_scans).selectinload(DxaScan.measurements),
        selectinload(Patient.treatments).selectinload(Treatment.infusions),
        selectinload(Patient.fractures),
        selectinload(Patient.adverse_events),
    )
    if not include_demo:
        query = query.where(Patient.demo.is_(False))
    children: list[ChildCourse] = []
    any_demo = False
    for p in session.scalars(query):
        doses = given_doses(p)
        if not doses:
            continue
        any_demo = any_demo or bool(p.demo)
        number = {inf.id: n for n, inf in doses}
        ls = tuple(
            sorted(
                (z.scanned_on, z.z)
                for z in dxa_zscores(p)
                if z.site == "spine" and z.measure == "spine_abmd" and z.z is not None
            )
        )
        harms = tuple(
            (number[ae.infusion_id], ae.category)
            for ae in p.adverse_events
            if ae.infusion_id is not None and ae.infusion_id in number
        )
        children.append(
            ChildCourse(
                pseudonym=pseudonym(p.uid),
                first_dose=doses[0][1].given_on,
                doses=len(doses),
                ls_z=ls,
                fractures=tuple(f.occurred_on for f in p.fractures),
                harms=harms,
            )
        )
    children.sort(key=lambda c: c.pseudonym)
    return cohort_summary(
        children,
        follow_up_months=follow_up_months,
        window_months=window_months,
        baseline_window_months=baseline_window_months,
        simulated=any_demo,
    )
