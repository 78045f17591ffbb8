"""Plans and checklists straight from a ``pedbone.clinical.Patient`` record.

The web pages and the store hold patient records; these helpers pick what planning needs from
one (latest weight and height on or before the date, birth date and sex, current glucocorticoids,
previous bisphosphonates, the latest labs) so nobody re-implements that selection.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pedbone.clinical import LabAnalyte, LabValue, MedicationClass, Patient
from pedbone.clinical.nutrition import to_nmol_per_l
from pedbone.treatment._checklist import LabResult, PreInfusionInput
from pedbone.treatment._plan import TreatmentPlan, plan_course
from pedbone.treatment._protocol import Protocol
from pedbone.treatment._settings import ClinicSettings
from pedbone.units import creatinine_mgdl_to_umol

__all__ = ["checklist_input_for_patient", "latest_weight", "plan_for_patient"]


def latest_weight(patient: Patient, on: date) -> tuple[float, date] | None:
    """The most recent weight (kg, date) measured on or before ``on``."""
    rows = [a for a in patient.anthropometry if a.weight_kg is not None and a.date <= on]
    if not rows:
        return None
    last = max(rows, key=lambda a: a.date)
    assert last.weight_kg is not None
    return last.weight_kg, last.date


def _latest_height(patient: Patient, on: date) -> float | None:
    rows = [a for a in patient.anthropometry if a.height_cm is not None and a.date <= on]
    if not rows:
        return None
    return max(rows, key=lambda a: a.date).height_cm


def _on_class(patient: Patient, cls: MedicationClass, on: date) -> bool:
    return any(
        m.drug_class == cls and m.start <= on and (m.end is None or m.end >= on)
        for m in patient.medications
    )


def _had_class_before(patient: Patient, cls: MedicationClass, on: date) -> bool:
    return any(m.drug_class == cls and m.start < on for m in patient.medications)


def plan_for_patient(
    protocol: Protocol,
    patient: Patient,
    *,
    start: date,
    settings: ClinicSettings | None = None,
    today: date | None = None,
    **options: Any,
) -> TreatmentPlan:
    """:func:`plan_course` with the weight, birth date, height, glucocorticoid use and
    bisphosphonate history taken from the record (explicit ``options`` win). With no weight in
    the record, planning fails as it would without a weight."""
    w = latest_weight(patient, start)
    kw: dict[str, Any] = {
        "weight_kg": w[0] if w else None,
        "weight_date": w[1] if w else None,
        "birth_date": patient.demographics.birth_date,
        "height_cm": _latest_height(patient, start),
        "on_glucocorticoids": _on_class(patient, MedicationClass.GLUCOCORTICOID, start),
        "bisphosphonate_naive": not _had_class_before(
            patient, MedicationClass.BISPHOSPHONATE, start
        ),
    }
    kw.update(options)
    return plan_course(protocol, start=start, settings=settings, today=today, **kw)


def _latest_lab(patient: Patient, analyte: LabAnalyte, on: date) -> LabValue | None:
    rows = [v for v in patient.labs if v.analyte == analyte and v.date <= on]
    if analyte == LabAnalyte.CALCIUM:
        # only total/corrected calcium: an ionised value has a different reference range
        rows = [v for v in rows if not (v.name and "ion" in v.name.lower())]
    return max(rows, key=lambda v: v.date) if rows else None


def _mmol(v: LabValue | None, what: str) -> LabResult | None:
    if v is None:
        return None
    if v.unit.strip().lower() != "mmol/l":
        raise ValueError(
            f"{what} on {v.date} is in {v.unit!r}; the checklist needs mmol/L (enter the value "
            "in mmol/L)"
        )
    return LabResult(v.value, v.date, v.reference_low, v.reference_high)


def checklist_input_for_patient(
    patient: Patient, *, dose_date: date, first_cycle: bool = True, **answers: Any
) -> PreInfusionInput:
    """A :class:`PreInfusionInput` from the record: sex, birth date, latest weight date and
    height, and the latest calcium, phosphate (mmol/L), 25-OH-D (nmol/L or ng/mL) and
    creatinine (µmol/L or mg/dL [S72b]) on or before the dose date. Bedside answers (dental
    review, pregnancy, allergy, previous acute-phase reaction, dehydration) are keyword
    arguments with the names of :class:`PreInfusionInput`. The calcium must be the
    albumin-corrected value the lab reports; ionised calcium is ignored."""
    w = latest_weight(patient, dose_date)
    ohd = _latest_lab(patient, LabAnalyte.VITAMIN_D_25OH, dose_date)
    cr = _latest_lab(patient, LabAnalyte.CREATININE, dose_date)
    cr_result: LabResult | None = None
    if cr is not None:
        unit = cr.unit.strip().lower().replace("µ", "u")
        if unit == "umol/l":
            value = cr.value
        elif unit == "mg/dl":
            value = float(creatinine_mgdl_to_umol(cr.value))
        else:
            raise ValueError(f"creatinine on {cr.date} is in {cr.unit!r}; use µmol/L or mg/dL")
        cr_result = LabResult(value, cr.date)
    return PreInfusionInput(
        dose_date=dose_date,
        sex=patient.demographics.sex,
        first_cycle=first_cycle,
        birth_date=patient.demographics.birth_date,
        weight_date=w[1] if w else None,
        height_cm=_latest_height(patient, dose_date),
        corrected_calcium_mmol_l=_mmol(
            _latest_lab(patient, LabAnalyte.CALCIUM, dose_date), "calcium"
        ),
        phosphate_mmol_l=_mmol(_latest_lab(patient, LabAnalyte.PHOSPHATE, dose_date), "phosphate"),
        ohd_nmol_l=None if ohd is None else LabResult(to_nmol_per_l(ohd.value, ohd.unit), ohd.date),
        creatinine_umol_l=cr_result,
        **answers,
    )
