"""Stored rows -> pedbone.clinical patient record, and DXA Z-scores from the named reference."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import pedbone
import pedbone.clinical as c
from pedbone.store import Database, DxaMeasurement, DxaScan, LabResult, Patient
from pedbone.store._clinical import dxa_zscores, to_clinical
from pedbone.store._demo import create_demo_patients
from pedbone.store._services import build, import_patients

from .conftest import full_patient_data


def _stored(db: Database, data: dict[str, object]) -> int:
    import_patients(db, [data])
    with db.unit_of_work() as session:
        return int(session.scalars(select(Patient.id)).one())


def test_full_record_maps_field_by_field(db: Database) -> None:
    patient_id = _stored(db, full_patient_data())
    with db.unit_of_work() as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None
        record, skipped = to_clinical(patient)
    assert skipped == []
    assert isinstance(record, c.Patient)
    assert record.fictional is True
    assert record.demographics == c.Demographics(
        sex="F", birth_date=dt.date(2012, 5, 17), gestational_age_weeks=39.0
    )
    assert record.diagnoses[0].code == c.DiagnosisCode.PHENYLKETONURIA
    assert [a.height_cm for a in record.anthropometry] == [141.2, 147.9]
    assert record.puberty[0].tanner_stage == 2
    assert [(m.name, m.drug_class) for m in record.medications] == [
        ("prednisolone", c.MedicationClass.GLUCOCORTICOID),
        ("zoledronate", c.MedicationClass.BISPHOSPHONATE),  # the treatment course
    ]
    assert record.medications[0].prednisone_equivalent_mg_per_kg_day == 0.3
    assert record.labs[1].assay == "enzymatic"
    assert record.fractures[0].trauma == c.TraumaLevel.LOW
    vertebra = record.vertebral_assessments[0].vertebrae[0]
    assert (vertebra.level, vertebra.reader_grade, vertebra.reader_type) == ("T7", 1, "wedge")
    scan = record.dxa_scans[0]
    assert scan.scanner.precision == {"spine_abmd": 0.012}
    spine = scan.sites[0]
    assert (spine.site, spine.abmd_g_cm2, spine.vendor_z_abmd) == (c.DxaSite.SPINE, 0.698, -1.4)
    assert record.calcium_intake[0].mg_per_day == 650.0
    assert record.sun_exposure[0].level == "limited"
    assert record.symptoms[0].kind == c.SymptomKind.BACK_PAIN
    assessment = pedbone.assess(record)  # the engine accepts the mapped record
    assert isinstance(assessment, c.Assessment)


def test_rows_the_record_cannot_hold_are_listed(db: Database) -> None:
    data = full_patient_data()
    data["diagnoses"] = [{"code": "made_up_condition"}, {"code": "epilepsy"}]
    patient_id = _stored(db, data)
    with db.unit_of_work() as session:
        session.add(
            LabResult(
                patient_id=patient_id,
                sampled_on=dt.date(2024, 3, 1),
                analyte="25ohd",
                value=10.0,
                comparator="<",
                unit="nmol/L",
            )
        )
    with db.unit_of_work() as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None
        record, skipped = to_clinical(patient)
    assert [d.code for d in record.diagnoses] == [c.DiagnosisCode.EPILEPSY]
    assert len(record.labs) == 2
    assert len(skipped) == 2
    assert skipped[0].startswith("diagnosis (row ")
    assert "code: Input should be" in skipped[0]
    assert "lab 2024-03-01" in skipped[1]
    assert "censored value <10 has no exact value" in skipped[1]


def test_as_of_leaves_out_later_rows() -> None:
    patient = build(Patient, full_patient_data())
    record, skipped = to_clinical(patient, as_of=dt.date(2023, 12, 31))
    assert skipped == []
    assert [a.date for a in record.anthropometry] == [dt.date(2023, 2, 1)]
    assert record.dxa_scans == ()
    assert [f.date for f in record.fractures] == [dt.date(2023, 11, 11)]


def test_demo_patients_map_completely(db: Database) -> None:
    with db.unit_of_work() as session:
        create_demo_patients(session, today=dt.date(2026, 1, 15))
    with db.unit_of_work() as session:
        for patient in session.scalars(select(Patient)):
            record, skipped = to_clinical(patient)
            assert skipped == [], (patient.given_name, skipped)
            assert record.fictional
            pedbone.assess(record)


def test_dxa_z_recomputed_from_the_named_pack() -> None:
    pack = pedbone.reference("schafmeyer2022")
    birth = dt.date(2010, 1, 1)
    scan_day = dt.date(2022, 7, 2)  # 4565 days = 12.498 years
    age = (scan_day - birth).days / 365.25
    leg = float(pack.value("leg_abmd", sex=["M"], age_years=[age], z=[-2.0], group="white")[0])
    patient = Patient(family_name="Z", given_name="Test", birth_date=birth, sex="M")
    scan = DxaScan(scanned_on=scan_day, manufacturer="Hologic")
    scan.measurements.append(
        DxaMeasurement(
            site="leg",
            abmd_g_cm2=leg,
            area_cm2=500.0,  # no reference curve for area: skipped
            vendor_z_abmd=1.0,  # informational only: never used
            reference_pack="schafmeyer2022",
            reference_group="white",
        )
    )
    scan.measurements.append(DxaMeasurement(site="spine", abmd_g_cm2=0.6))  # no pack named
    patient.dxa_scans.append(scan)
    (result,) = dxa_zscores(patient)
    assert result.measure == "leg_abmd"
    assert result.z == pytest.approx(-2.0, abs=1e-6)
    assert result.pack == "schafmeyer2022"
    # a 5-year-old is outside the pack's 8-20 year coverage: no Z, and the reason
    patient.birth_date = dt.date(2017, 7, 2)
    (young,) = dxa_zscores(patient)
    assert young.z is None
    assert "age" in young.status.lower()
