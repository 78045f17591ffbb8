"""Fictional demonstration patients (``pedbone demo``).

Every demo patient is clearly fictional: ``demo=True``, family name "Demo", given names
"Patient 01", "Patient 02", ..., MRNs ``DEMO-0001``... and a note saying so. Growth values are
generated *from the reference packs* at a chosen Z-score (CDC 2000 height and weight, Schafmeyer
2022 leg DXA for ages 8-20), so that the application shows the intended picture; spine DXA
values are made-up numbers with a made-up vendor Z-score (informational only). Treatment rows
use published regimens: zoledronic acid 0.05 mg/kg every 6 months [S35], pamidronate
1 mg/kg/day on 3 consecutive days every 3 months [S24c].
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pedbone.store._models import (
    Anthropometry,
    CalciumIntake,
    Diagnosis,
    Diet,
    DxaMeasurement,
    DxaScan,
    Fracture,
    Infusion,
    LabResult,
    Medication,
    MobilityAssessment,
    Note,
    Patient,
    PubertyAssessment,
    Treatment,
    Vertebra,
    VertebralAssessment,
)

__all__ = ["DEMO_FAMILY_NAME", "create_demo_patients", "demo_patient_count"]

DEMO_FAMILY_NAME = "Demo"
DEMO_NOTE = "FICTIONAL demonstration patient created by `pedbone demo`; not a real person."
LEG_PACK = "schafmeyer2022"
LEG_GROUP = "white"
GROWTH_PACK = "cdc2000"
YEAR = 365.25


@dataclass(frozen=True)
class _Profile:
    sex: str
    age: float  # years, today
    diagnosis: str
    text: str
    height_z: float
    weight_z: float
    leg_z: tuple[float, float, float]  # leg aBMD Z two years ago, one year ago, today
    spine_vendor_z: float
    mobility: str = "ambulatory"
    gmfcs: int | None = None
    steroid_mg_kg: float | None = None
    diet: str | None = None
    antiepileptic: str | None = None
    fractures: tuple[
        tuple[float, str, str | None, str], ...
    ] = ()  # (years ago, site, bone, trauma)
    vertebral_grade: tuple[str, float] | None = None
    treatment: str | None = None  # "zoledronate" / "pamidronate"
    extra: dict[str, Any] = field(default_factory=dict)


PROFILES: tuple[_Profile, ...] = (
    _Profile(
        "F",
        11.4,
        "phenylketonuria",
        "classic PKU",
        0.2,
        0.4,
        (-0.6, -0.8, -0.9),
        -0.7,
        diet="protein_restricted",
    ),
    _Profile(
        "M",
        12.2,
        "duchenne_muscular_dystrophy",
        "DMD",
        -1.6,
        0.8,
        (-1.8, -2.3, -2.7),
        -2.4,
        mobility="non_ambulatory",
        steroid_mg_kg=0.75,
        vertebral_grade=("T8", 2.0),
        treatment="zoledronate",
    ),
    _Profile(
        "F", 15.1, "anorexia_nervosa", "restrictive type", -0.3, -2.2, (-0.9, -1.4, -1.6), -1.5
    ),
    _Profile(
        "M",
        10.3,
        "cerebral_palsy",
        "spastic quadriplegia",
        -2.1,
        -2.4,
        (-2.6, -2.9, -2.8),
        -2.9,
        mobility="non_ambulatory",
        gmfcs=5,
        fractures=((0.6, "long_bone_lower", "femur", "low"),),
        treatment="pamidronate",
    ),
    _Profile(
        "F",
        13.7,
        "juvenile_idiopathic_arthritis",
        "polyarticular JIA",
        -0.8,
        -0.2,
        (-0.7, -1.1, -1.3),
        -1.2,
        steroid_mg_kg=0.3,
        fractures=((1.2, "long_bone_upper", "radius", "low"),),
    ),
    _Profile(
        "M", 9.1, "glycogen_storage_disease_type_1", "GSD Ia", -1.2, 0.9, (-0.4, -0.5, -0.5), -0.3
    ),
    _Profile(
        "F",
        16.4,
        "galactosaemia",
        "classic galactosaemia",
        0.1,
        0.0,
        (-1.0, -1.1, -1.0),
        -1.1,
        diet="galactose_restricted",
    ),
    _Profile(
        "M",
        14.6,
        "epilepsy",
        "focal epilepsy",
        0.5,
        0.6,
        (-0.2, -0.4, -0.6),
        -0.5,
        antiepileptic="valproate",
        fractures=((2.1, "long_bone_upper", "clavicle", "high"),),
    ),
)


def demo_patient_count(session: Session) -> int:
    """How many demo patients the database holds."""
    return int(session.scalar(select(func.count()).select_from(Patient).where(Patient.demo)) or 0)


def _values(
    pack_id: str,
    measure: str,
    sex: str,
    ages: list[float],
    zs: list[float],
    group: str | None = None,
) -> list[float | None]:
    import numpy as np

    import pedbone

    pack = pedbone.reference(pack_id)
    out = pack.value(measure, sex=[sex] * len(ages), age_years=ages, z=zs, group=group)
    return [None if not np.isfinite(v) else round(float(v), 3) for v in out]


def _patient(number: int, profile: _Profile, today: dt.date) -> Patient:
    birth = today - dt.timedelta(days=round(profile.age * YEAR))
    patient = Patient(
        mrn=f"DEMO-{number:04d}",
        family_name=DEMO_FAMILY_NAME,
        given_name=f"Patient {number:02d}",
        birth_date=birth,
        sex=profile.sex,
        demo=True,
    )
    patient.diagnoses.append(
        Diagnosis(code=profile.diagnosis, text=profile.text, onset_date=birth, primary=True)
    )
    patient.notes.append(Note(text=DEMO_NOTE))

    visits = [today - dt.timedelta(days=round(y * YEAR)) for y in (2.0, 1.0, 0.0)]
    ages = [(v - birth).days / YEAR for v in visits]
    heights = _values(GROWTH_PACK, "height", profile.sex, ages, [profile.height_z] * 3)
    weights = _values(GROWTH_PACK, "weight", profile.sex, ages, [profile.weight_z] * 3)
    legs = _values(LEG_PACK, "leg_abmd", profile.sex, ages, list(profile.leg_z), LEG_GROUP)
    leg_bmc = _values(LEG_PACK, "leg_bmc", profile.sex, ages, list(profile.leg_z), LEG_GROUP)
    for i, (visit, age) in enumerate(zip(visits, ages, strict=True)):
        height = None if heights[i] is None else round(heights[i] or 0.0, 1)
        weight = None if weights[i] is None else round(weights[i] or 0.0, 1)
        patient.anthropometry.append(
            Anthropometry(measured_on=visit, height_cm=height, weight_kg=weight)
        )
        patient.mobility.append(
            MobilityAssessment(assessed_on=visit, status=profile.mobility, gmfcs=profile.gmfcs)
        )
        if age >= 9.0:
            stage = min(5, 1 + int(age - 9.0))
            patient.puberty.append(PubertyAssessment(assessed_on=visit, tanner_stage=stage))
        # fictional laboratory values: 25-OH vitamin D and calcium
        patient.labs.append(
            LabResult(sampled_on=visit, analyte="25ohd", value=48.0 + 6 * i, unit="nmol/L")
        )
        patient.labs.append(
            LabResult(sampled_on=visit, analyte="calcium", value=2.35, unit="mmol/L")
        )
        scan = DxaScan(
            scanned_on=visit,
            manufacturer="Hologic",
            model="Horizon A (demo)",
            software_version="13.6",
            analysis_mode="pediatric",
            height_cm=height,
            weight_kg=weight,
            vendor_reference="vendor pediatric reference (demo)",
            comment="Fictional demo scan.",
        )
        spine_z = profile.spine_vendor_z + 0.1 * (2 - i)
        scan.measurements.append(
            DxaMeasurement(
                site="spine",
                region="L1-L4",
                abmd_g_cm2=round(0.55 + 0.03 * age + 0.05 * spine_z, 3),  # made-up number
                vendor_z_abmd=round(spine_z, 1),
            )
        )
        if legs[i] is not None:
            scan.measurements.append(
                DxaMeasurement(
                    site="leg",
                    abmd_g_cm2=legs[i],
                    bmc_g=leg_bmc[i],
                    reference_pack=LEG_PACK,
                    reference_group=LEG_GROUP,
                )
            )
        patient.dxa_scans.append(scan)
    patient.calcium_intakes.append(CalciumIntake(assessed_on=today, mg_per_day=700.0))

    if profile.diet:
        patient.diets.append(Diet(kind=profile.diet, start_date=birth + dt.timedelta(days=14)))
    if profile.steroid_mg_kg is not None:
        patient.medications.append(
            Medication(
                name="prednisolone",
                drug_class="glucocorticoid",
                dose="daily (demo)",
                prednisone_eq_mg_per_kg_day=profile.steroid_mg_kg,
                start_date=today - dt.timedelta(days=round(3 * YEAR)),
            )
        )
    if profile.antiepileptic:
        patient.medications.append(
            Medication(
                name=profile.antiepileptic,
                drug_class="antiepileptic",
                start_date=today - dt.timedelta(days=round(4 * YEAR)),
            )
        )
    for years_ago, site, bone, trauma in profile.fractures:
        patient.fractures.append(
            Fracture(
                occurred_on=today - dt.timedelta(days=round(years_ago * YEAR)),
                site=site,
                bone=bone,
                trauma=trauma,
            )
        )
    if profile.vertebral_grade:
        level, grade = profile.vertebral_grade
        assessment = VertebralAssessment(
            assessed_on=visits[1], method="radiograph", reader="demo reader"
        )
        assessment.vertebrae.append(Vertebra(level=level, genant_grade=grade))
        patient.vertebral_assessments.append(assessment)
    if profile.treatment:
        patient.treatments.append(_treatment(profile.treatment, visits[1], weights[1], today))
    return patient


def _treatment(drug: str, start: dt.date, weight: float | None, today: dt.date) -> Treatment:
    kg = round(weight or 30.0, 1)
    if drug == "zoledronate":
        # 0.05 mg/kg every 6 months [S35]
        course = Treatment(
            drug="zoledronate",
            route="iv",
            start_date=start,
            interval_months=6,
            planned_dose_mg_per_kg=0.05,
            indication="vertebral fracture (demo)",
        )
        day, cycle = start, 1
        while day <= today:
            course.infusions.append(
                Infusion(
                    given_on=day,
                    cycle_number=cycle,
                    day_number=1,
                    dose_mg_per_kg=0.05,
                    dose_mg=round(0.05 * kg, 2),
                    weight_kg=kg,
                    first_dose=cycle == 1,
                )
            )
            day += dt.timedelta(days=182)
            cycle += 1
        return course
    # pamidronate 1 mg/kg/day x 3 days every 3 months [S24c]
    course = Treatment(
        drug="pamidronate",
        route="iv",
        start_date=start,
        interval_months=3,
        planned_dose_mg_per_kg=1.0,
        indication="low-trauma femur fracture (demo)",
    )
    day, cycle = start, 1
    while day <= today:
        for d in range(3):
            course.infusions.append(
                Infusion(
                    given_on=day + dt.timedelta(days=d),
                    cycle_number=cycle,
                    day_number=d + 1,
                    dose_mg_per_kg=1.0,
                    dose_mg=round(1.0 * kg, 1),
                    weight_kg=kg,
                    first_dose=cycle == 1 and d == 0,
                )
            )
        day += dt.timedelta(days=91)
        cycle += 1
    return course


def create_demo_patients(session: Session, *, today: dt.date | None = None) -> list[Patient]:
    """Add the fictional demo patients unless the database already has them.

    Returns the patients added (empty if demo patients were there already).
    """
    if demo_patient_count(session):
        return []
    today = today or dt.date.today()
    patients = [_patient(n, p, today) for n, p in enumerate(PROFILES, start=1)]
    session.add_all(patients)
    session.flush()
    return patients
