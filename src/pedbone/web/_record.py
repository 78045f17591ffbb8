"""Convert a stored patient (:mod:`pedbone.store`) to the clinical record of
:mod:`pedbone.clinical`, so that :func:`pedbone.assess` can judge it.

Pure data plumbing: the store's tables use the clinical record's vocabulary, so each field is
copied to its counterpart. Rows the clinical schema cannot hold (e.g. a DXA site it does not
know) are skipped and listed so the page can say what the assessment did not see.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["to_clinical"]


def to_clinical(patient: Any, *, as_of: dt.date | None = None) -> tuple[Any, list[str]]:
    """The clinical ``Patient`` record for a stored patient, plus the skipped rows.

    With ``as_of``, only data dated on or before that day are included (a visit report).
    """
    import pedbone.clinical as m

    skipped: list[str] = []

    def keep(day: dt.date | None) -> bool:
        return as_of is None or day is None or day <= as_of

    medications = [
        m.Medication(
            name=med.name,
            drug_class=med.drug_class,
            start=med.start_date,
            end=med.stop_date,
            dose=med.dose,
            prednisone_equivalent_mg_per_kg_day=med.prednisone_eq_mg_per_kg_day,
            cumulative_dose_mg=med.cumulative_dose_mg,
            high_dose=med.high_dose,
        )
        for med in patient.medications
        if keep(med.start_date)
    ]
    medications += [
        m.Medication(
            name=t.drug,
            drug_class=m.MedicationClass.BISPHOSPHONATE,
            start=t.start_date,
            end=t.stop_date,
        )
        for t in patient.treatments
        if keep(t.start_date) and t.status != "planned"
    ]
    sites = {s.value for s in m.DxaSite}
    scans = []
    for scan in patient.dxa_scans:
        if not keep(scan.scanned_on):
            continue
        results = []
        for meas in scan.measurements:
            if meas.site not in sites:
                skipped.append(f"DXA {scan.scanned_on}: site {meas.site}")
                continue
            results.append(
                m.DxaSiteResult(
                    site=meas.site,
                    bmc_g=meas.bmc_g,
                    area_cm2=meas.area_cm2,
                    abmd_g_cm2=meas.abmd_g_cm2,
                    vendor_z_abmd=meas.vendor_z_abmd,
                    vendor_z_bmc=meas.vendor_z_bmc,
                    haz_adjusted_z_abmd=meas.reported_haz_adjusted_z_abmd,
                    bmad_z=meas.reported_bmad_z,
                )
            )
        scans.append(
            m.DxaScan(
                date=scan.scanned_on,
                scanner=m.Scanner(
                    manufacturer=scan.manufacturer,
                    model=scan.model,
                    software=scan.software_version,
                    serial=scan.serial,
                    precision=dict(scan.precision_rms_sd or {}),
                ),
                reference=scan.vendor_reference,
                sites=tuple(results),
            )
        )
    record = m.Patient(
        id=patient.uid,
        fictional=bool(patient.demo),
        demographics=m.Demographics(sex=patient.sex, birth_date=patient.birth_date),
        diagnoses=tuple(
            m.Diagnosis(code=d.code, text=d.text, onset=d.onset_date)
            for d in patient.diagnoses
            if keep(d.onset_date)
        ),
        anthropometry=tuple(
            m.Anthropometry(date=a.measured_on, height_cm=a.height_cm, weight_kg=a.weight_kg)
            for a in patient.anthropometry
            if keep(a.measured_on)
        ),
        puberty=tuple(
            m.PubertyObservation(
                date=p.assessed_on, tanner_stage=p.tanner_stage, menarche_date=p.menarche_date
            )
            for p in patient.puberty
            if keep(p.assessed_on)
        ),
        medications=tuple(medications),
        diets=tuple(
            m.Diet(kind=d.kind, start=d.start_date, end=d.stop_date, text=d.text)
            for d in patient.diets
            if keep(d.start_date)
        ),
        mobility=tuple(
            m.Mobility(
                date=mo.assessed_on,
                status=mo.status,
                gmfcs=mo.gmfcs,
                dxa_positioning_possible=mo.dxa_positioning_possible,
            )
            for mo in patient.mobility
            if keep(mo.assessed_on)
        ),
        sun_exposure=tuple(
            m.SunExposure(date=s.assessed_on, level=s.level)
            for s in patient.sun_exposures
            if keep(s.assessed_on)
        ),
        calcium_intake=tuple(
            m.CalciumIntake(
                date=c.assessed_on,
                mg_per_day=c.mg_per_day,
                includes_supplements=c.includes_supplements,
            )
            for c in patient.calcium_intakes
            if keep(c.assessed_on)
        ),
        labs=tuple(
            m.LabValue(
                date=lab.sampled_on,
                analyte=lab.analyte,
                value=lab.value,
                unit=lab.unit,
                name=lab.name,
                assay=lab.assay,
                reference_low=lab.reference_low,
                reference_high=lab.reference_high,
                flag=lab.flag,
            )
            for lab in patient.labs
            if keep(lab.sampled_on)
        ),
        fractures=tuple(
            m.Fracture(
                date=f.occurred_on,
                site=f.site,
                bone=f.bone or f.vertebral_level,
                trauma=f.trauma,
                local_disease=f.local_disease,
            )
            for f in patient.fractures
            if keep(f.occurred_on)
        ),
        vertebral_assessments=tuple(
            m.VertebralAssessment(
                date=va.assessed_on,
                method=va.method,
                trauma=va.trauma,
                local_disease=va.local_disease,
                vertebrae=tuple(
                    m.VertebraMeasurement(
                        level=v.level,
                        anterior_mm=v.anterior_mm,
                        middle_mm=v.middle_mm,
                        posterior_mm=v.posterior_mm,
                        reference_height_mm=v.reference_height_mm,
                        reader_grade=v.genant_grade,
                        reader_type=v.deformity_type,
                    )
                    for v in va.vertebrae
                ),
            )
            for va in patient.vertebral_assessments
            if keep(va.assessed_on)
        ),
        dxa_scans=tuple(scans),
        symptoms=tuple(
            m.Symptom(date=s.noted_on, kind=s.kind, text=s.text)
            for s in patient.symptoms
            if keep(s.noted_on)
        ),
    )
    return record, skipped
