"""``assess(patient)``: run every rule in order and collect the findings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pedbone.clinical import _rules
from pedbone.clinical._engine import (
    _bmi_and_puberty,
    _classify,
    _Ctx,
    _date_checks,
    _dated,
    _densitometry,
    _densitometry_of,
    _growth,
    _valid,
    _value_checks,
    _vertebral,
    is_low_z,
)
from pedbone.clinical._findings import Assessment, Category, Severity
from pedbone.clinical._model import Patient
from pedbone.clinical._options import AssessOptions

__all__ = ["ChosenZ", "assess", "classification_z", "latest_data_date"]


@dataclass(frozen=True, slots=True)
class ChosenZ:
    """The Z-score the ISCD classification uses for one DXA scan (see :func:`classification_z`)."""

    scan_date: dt.date
    site: str
    quantity: str  # 'abmd', 'bmc' or 'bmad'
    kind: str  # 'haz_adjusted', 'bmad', 'pack' or 'vendor'
    value: float
    reference: str
    field: str

    @property
    def low(self) -> bool:
        """At or below LOW_Z [S1][S3]."""
        return is_low_z(self.value)


def _report_date_checks(ctx: _Ctx, patient: Patient, today: dt.date) -> None:
    """Dates before birth or in the future are data-quality problems; a medication that starts
    after today is planned, which is not an error (an INFO finding; it is simply not yet part
    of the assessment)."""
    for code, fieldpath, en, nl, record in _date_checks(patient, today):
        if code == "planned":
            ctx.add(
                "risk.medication_planned",
                Severity.INFO,
                Category.RISK,
                en[0].upper() + en[1:] + ".",
                nl[0].upper() + nl[1:] + ".",
                inputs={"field": fieldpath},
                sources=("PEDBONE_SOFTWARE",),
                field=fieldpath,
            )
        else:
            ctx.dq(code, fieldpath, en, nl, severity=Severity.WARNING)
        ctx.excluded.add(record)


def latest_data_date(patient: Patient, *, today: dt.date | None = None) -> dt.date:
    """The latest date in the record (including medication end dates) that is neither before
    birth nor after ``today`` (the birth date if there is none): the default ``as_of``."""
    today = today or dt.date.today()
    birth = patient.demographics.birth_date
    days = [d for _, d in _dated(patient) if birth <= d <= today]
    days += [m.end for m in patient.medications if m.end is not None and birth <= m.end <= today]
    return max(days, default=birth)


def assess(
    patient: Patient | dict[str, Any],
    *,
    as_of: dt.date | None = None,
    options: AssessOptions | None = None,
    today: dt.date | None = None,
) -> Assessment:
    """Assess a child's bone health: how are the bones, why, and what now.

    ``patient`` is a :class:`Patient` (or a dict validated into one). ``as_of`` (default: the
    latest data date) makes the assessment reproducible: records dated later are left out.
    ``today`` (default: the system date) is only used to flag dates in the future.
    """
    if not isinstance(patient, Patient):
        patient = Patient.model_validate(patient)
    options = options or AssessOptions()
    today = today or dt.date.today()
    chosen = as_of or latest_data_date(patient, today=today)
    ctx = _Ctx(patient=patient, as_of=chosen, today=today, options=options)
    _report_date_checks(ctx, patient, today)
    later = [path for path, d in _dated(patient) if d > chosen and ctx.ok(path)]
    if later:
        ctx.add(
            "data_quality.after_as_of",
            Severity.INFO,
            Category.DATA_QUALITY,
            f"{len(later)} record(s) dated after {chosen} are not part of this assessment.",
            f"{len(later)} gegeven(s) van na {chosen} maken geen deel uit van deze beoordeling.",
            inputs={"records": later},
        )
    if chosen < patient.demographics.birth_date:
        ctx.add(
            "data_quality.as_of_before_birth",
            Severity.WARNING,
            Category.DATA_QUALITY,
            f"as_of {chosen} is before the birth date.",
            f"as_of {chosen} ligt vóór de geboortedatum.",
            field="as_of",
        )
    _value_checks(ctx)
    _growth(ctx)
    _bmi_and_puberty(ctx)
    z, _scan = _densitometry(ctx)
    vfs, vf_count = _vertebral(ctx)
    classification = _classify(ctx, z, vfs)
    spine_dz = _rules.monitoring_changes(ctx)
    vd_code, ca_code = _rules.nutrition_findings(ctx)
    _rules.risk_profile(ctx, vd_code, ca_code)
    indicated, due = _rules.dxa_plan(ctx, z, spine_dz, sum(1 for v in vfs if v.grade >= 1))
    _rules.laboratory(ctx)
    _rules.renal(ctx)
    _rules.symptoms(ctx)
    z_used = None
    if z is not None:
        z_used = {
            "site": z.site.value,
            "z": z.value,
            "kind": z.kind,
            "quantity": z.quantity,
            "reference": z.reference,
            "field": z.path,
        }
    return Assessment(
        patient_id=patient.id,
        fictional=patient.fictional,
        as_of=chosen,
        sex=patient.demographics.sex,
        age_years=round(ctx.age(), 4),
        classification=classification,
        z_score_used=z_used,
        vertebral_fracture_count=vf_count,
        risk_groups=ctx.risk_groups,
        dxa_indicated_now=indicated,
        next_dxa_due=due,
        findings=tuple(ctx.findings),
    )


def _prepared(
    patient: Patient,
    as_of: dt.date | None,
    options: AssessOptions | None,
    today: dt.date | None,
    *,
    with_growth: bool = True,
) -> _Ctx:
    options = options or AssessOptions()
    today = today or dt.date.today()
    chosen = as_of or latest_data_date(patient, today=today)
    ctx = _Ctx(patient=patient, as_of=chosen, today=today, options=options)
    _report_date_checks(ctx, patient, today)
    _value_checks(ctx)
    if with_growth:
        _growth(ctx)
    return ctx


def classification_z(
    patient: Patient | dict[str, Any],
    *,
    as_of: dt.date | None = None,
    options: AssessOptions | None = None,
    today: dt.date | None = None,
    latest_only: bool = False,
) -> list[ChosenZ]:
    """The Z-score the classification uses for every DXA scan up to ``as_of``, oldest first.

    The same choice as :func:`assess` (the last item is the assessment's ``z_score_used``):
    every measured site and measure (BMC and BMD) [S1][S3], size-adjusted where the child is
    short or late-maturing [S3][S11], implausible values left out. The patient list filter
    ("Low BMD (Z ≤ −2)"), the Z-over-time chart, the overview and the report read it. Scans
    without a usable Z are left out. ``latest_only`` scores only the latest scan (the list
    filter's question).
    """
    if not isinstance(patient, Patient):
        patient = Patient.model_validate(patient)
    # the HAZ changes the choice only through the clinic's short-stature cut-off
    opts = options or AssessOptions()
    ctx = _prepared(patient, as_of, opts, today, with_growth=opts.short_stature_haz is not None)
    out: list[ChosenZ] = []
    scans = sorted(_valid(ctx, "dxa_scans", patient.dxa_scans), key=lambda p: (p[1].date, p[0]))
    for si, scan in scans[-1:] if latest_only else scans:
        z = _densitometry_of(ctx, si, scan, report=False)
        if z is not None:
            out.append(
                ChosenZ(scan.date, z.site.value, z.quantity, z.kind, z.value, z.reference, z.path)
            )
    return out
