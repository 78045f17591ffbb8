"""From stored rows to the clinical patient record, and DXA Z-scores from the named reference.

:func:`to_clinical` turns a stored :class:`~pedbone.store.Patient` (with its related rows
loaded) into the pydantic :class:`pedbone.clinical.Patient` that :func:`pedbone.assess`
judges. The store uses the clinical record's vocabulary, so fields are copied one to one; a row
the clinical schema refuses (e.g. a censored lab value "< 10", which has no exact value) is left
out and listed, so the caller can say what the assessment did not see.

:func:`dxa_zscores` recomputes DXA Z-scores from the raw values and the reference pack named on
each measurement (never from the vendor's Z-score, which is kept only for information), so a
better reference can be applied later by changing the pack.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pedbone.store._models import DxaScan, Patient

__all__ = ["DxaZ", "dxa_zscores", "to_clinical"]

# quantity columns of DxaMeasurement -> measure suffix of the reference packs
_QUANTITIES = {
    "abmd_g_cm2": "abmd",
    "bmc_g": "bmc",
    "lean_mass_g": "lean_mass",
    "fat_mass_g": "fat_mass",
}


def to_clinical(patient: Patient, *, as_of: dt.date | None = None) -> tuple[Any, list[str]]:
    """The :class:`pedbone.clinical.Patient` for a stored patient, and the rows left out.

    Works on saved rows and on not-yet-saved objects alike (defaults are filled in here).

    With ``as_of``, only data dated on or before that day are included (e.g. a past visit).
    Bisphosphonate courses (``treatments``) appear as medications of class
    ``bisphosphonate``; free-text notes are not part of the clinical record.
    """
    import pydantic

    import pedbone.clinical as c

    skipped: list[str] = []

    def keep(day: dt.date | None) -> bool:
        return as_of is None or day is None or day <= as_of

    def rows(
        label: str,
        items: list[Any],
        day: Callable[[Any], dt.date | None],
        make: Callable[[Any], Any],
    ) -> tuple[Any, ...]:
        out = []
        for item in items:
            when = day(item)
            if not keep(when):
                continue
            try:
                out.append(make(item))
            except (pydantic.ValidationError, ValueError) as exc:
                first = exc.errors()[0] if isinstance(exc, pydantic.ValidationError) else None
                reason = (
                    f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
                    if first
                    else str(exc)
                )
                skipped.append(f"{label} {when or ''} (row {item.id}): {reason}".replace("  ", " "))
        return tuple(out)

    def lab(row: Any) -> Any:
        if row.comparator:
            raise ValueError(f"censored value {row.comparator}{row.value:g} has no exact value")
        return c.LabValue(
            date=row.sampled_on,
            analyte=row.analyte,
            value=row.value,
            unit=row.unit,
            name=row.name,
            assay=row.assay,
            reference_low=row.reference_low,
            reference_high=row.reference_high,
            flag=row.flag,
        )

    def scan(row: DxaScan) -> Any:
        sites = rows(
            f"DXA {row.scanned_on} site",
            list(row.measurements),
            lambda _m: row.scanned_on,
            lambda m: c.DxaSiteResult(
                site=m.site,
                bmc_g=m.bmc_g,
                area_cm2=m.area_cm2,
                abmd_g_cm2=m.abmd_g_cm2,
                vendor_z_abmd=m.vendor_z_abmd,
                vendor_z_bmc=m.vendor_z_bmc,
                haz_adjusted_z_abmd=m.reported_haz_adjusted_z_abmd,
                bmad_z=m.reported_bmad_z,
            ),
        )
        return c.DxaScan(
            date=row.scanned_on,
            scanner=c.Scanner(
                manufacturer=row.manufacturer,
                model=row.model,
                software=row.software_version,
                serial=row.serial,
                precision=dict(row.precision_rms_sd or {}),
            ),
            reference=row.vendor_reference,
            sites=sites,
        )

    medications = rows(
        "medication",
        list(patient.medications),
        lambda m: m.start_date,
        lambda m: c.Medication(
            name=m.name,
            drug_class=m.drug_class,
            start=m.start_date,
            end=m.stop_date,
            dose=m.dose,
            prednisone_equivalent_mg_per_kg_day=m.prednisone_eq_mg_per_kg_day,
            cumulative_dose_mg=m.cumulative_dose_mg,
            high_dose=m.high_dose,
        ),
    ) + rows(
        "treatment",
        [t for t in patient.treatments if t.status != "planned"],
        lambda t: t.start_date,
        lambda t: c.Medication(
            name=t.drug,
            drug_class=c.MedicationClass.BISPHOSPHONATE,
            start=t.start_date,
            end=t.stop_date,
        ),
    )
    record = c.Patient(
        id=patient.uid,
        fictional=bool(patient.demo),
        demographics=c.Demographics(
            sex=patient.sex,
            birth_date=patient.birth_date,
            gestational_age_weeks=patient.gestational_age_weeks,
        ),
        diagnoses=rows(
            "diagnosis",
            list(patient.diagnoses),
            lambda d: d.onset_date,
            lambda d: c.Diagnosis(code=d.code, text=d.text, onset=d.onset_date),
        ),
        anthropometry=rows(
            "anthropometry",
            list(patient.anthropometry),
            lambda a: a.measured_on,
            lambda a: c.Anthropometry(
                date=a.measured_on, height_cm=a.height_cm, weight_kg=a.weight_kg
            ),
        ),
        puberty=rows(
            "puberty",
            list(patient.puberty),
            lambda p: p.assessed_on,
            lambda p: c.PubertyObservation(
                date=p.assessed_on,
                tanner_stage=p.tanner_stage or p.tanner_breast_genital,
                menarche_date=p.menarche_date,
            ),
        ),
        medications=medications,
        diets=rows(
            "diet",
            list(patient.diets),
            lambda d: d.start_date,
            lambda d: c.Diet(kind=d.kind, start=d.start_date, end=d.stop_date, text=d.text),
        ),
        mobility=rows(
            "mobility",
            list(patient.mobility),
            lambda m: m.assessed_on,
            lambda m: c.Mobility(
                date=m.assessed_on,
                status=m.status,
                gmfcs=m.gmfcs,
                dxa_positioning_possible=m.dxa_positioning_possible,
            ),
        ),
        sun_exposure=rows(
            "sun exposure",
            list(patient.sun_exposures),
            lambda s: s.assessed_on,
            lambda s: c.SunExposure(date=s.assessed_on, level=s.level),
        ),
        calcium_intake=rows(
            "calcium intake",
            list(patient.calcium_intakes),
            lambda i: i.assessed_on,
            lambda i: c.CalciumIntake(
                date=i.assessed_on,
                mg_per_day=i.mg_per_day,
                includes_supplements=bool(i.includes_supplements),
            ),
        ),
        labs=rows("lab", list(patient.labs), lambda r: r.sampled_on, lab),
        fractures=rows(
            "fracture",
            list(patient.fractures),
            lambda f: f.occurred_on,
            lambda f: c.Fracture(
                date=f.occurred_on,
                site=f.site,
                bone=f.bone or f.vertebral_level,
                trauma=f.trauma or "unknown",
                local_disease=bool(f.local_disease),
            ),
        ),
        vertebral_assessments=rows(
            "vertebral assessment",
            list(patient.vertebral_assessments),
            lambda v: v.assessed_on,
            lambda v: c.VertebralAssessment(
                date=v.assessed_on,
                method=v.method or "radiograph",
                trauma=v.trauma or "unknown",
                local_disease=bool(v.local_disease),
                vertebrae=tuple(
                    c.VertebraMeasurement(
                        level=x.level,
                        anterior_mm=x.anterior_mm,
                        middle_mm=x.middle_mm,
                        posterior_mm=x.posterior_mm,
                        reference_height_mm=x.reference_height_mm,
                        reader_grade=x.genant_grade,
                        reader_type=x.deformity_type,
                    )
                    for x in v.vertebrae
                ),
            ),
        ),
        dxa_scans=rows("DXA scan", list(patient.dxa_scans), lambda s: s.scanned_on, scan),
        symptoms=rows(
            "symptom",
            list(patient.symptoms),
            lambda s: s.noted_on,
            lambda s: c.Symptom(date=s.noted_on, kind=s.kind, text=s.text),
        ),
    )
    return record, skipped


@dataclass(frozen=True)
class DxaZ:
    """One recomputed DXA Z-score: ``z`` is ``None`` when the reference cannot give one, and
    ``status`` says why (the reference engine's :class:`~pedbone.references.Status` text)."""

    scanned_on: dt.date
    site: str
    measure: str  # e.g. "leg_abmd"
    value: float
    pack: str
    group: str | None
    z: float | None
    status: str


def dxa_zscores(patient: Patient) -> list[DxaZ]:
    """Z-scores of every raw DXA value whose measurement names a reference pack.

    The age is the decimal age on the scan day; the vendor's Z-score is not used.
    """
    import math

    import pedbone
    from pedbone.references import Status, UnknownMeasureError

    statuses = {int(s): s for s in Status}
    out: list[DxaZ] = []
    for scan in patient.dxa_scans:
        age = patient.age_years(scan.scanned_on)
        for m in scan.measurements:
            if not m.reference_pack:
                continue
            pack = pedbone.reference(m.reference_pack)
            for column, quantity in _QUANTITIES.items():
                value = getattr(m, column)
                measure = f"{m.site}_{quantity}"
                if value is None:
                    continue
                try:
                    result = pack.evaluate(
                        measure,
                        sex=[patient.sex],
                        age_years=[age],
                        value=[value],
                        group=m.reference_group,
                    )
                except UnknownMeasureError:
                    continue  # e.g. area or a mass the pack has no curve for
                z = float(result.z[0])
                code = statuses[int(result.status[0])]
                out.append(
                    DxaZ(
                        scanned_on=scan.scanned_on,
                        site=m.site,
                        measure=measure,
                        value=float(value),
                        pack=m.reference_pack,
                        group=m.reference_group,
                        z=z if math.isfinite(z) and code == 0 else None,
                        status=str(getattr(code, "description", code.name)),
                    )
                )
    return out
