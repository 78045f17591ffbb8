"""Plans and checklists from a pedbone.clinical.Patient record."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pedbone.clinical import (
    Anthropometry,
    Demographics,
    LabAnalyte,
    LabValue,
    Medication,
    MedicationClass,
    Patient,
)
from pedbone.treatment import (
    PlanError,
    checklist_input_for_patient,
    get_protocol,
    latest_weight,
    plan_for_patient,
    run_checklist,
)

D = date(2026, 12, 1)


def patient(**kw: object) -> Patient:
    base: dict[str, object] = {
        "id": "T1",
        "fictional": True,
        "demographics": Demographics(sex="F", birth_date=date(2025, 6, 1)),
        "anthropometry": (
            Anthropometry(date=date(2026, 6, 1), height_cm=75.0, weight_kg=9.0),
            Anthropometry(date=date(2026, 11, 28), height_cm=80.0, weight_kg=10.0),
            Anthropometry(date=date(2026, 12, 20), weight_kg=10.5),  # after the start: ignored
        ),
        "medications": (
            Medication(
                name="prednisolone",
                drug_class=MedicationClass.GLUCOCORTICOID,
                start=date(2026, 1, 1),
            ),
        ),
        "labs": (
            LabValue(date=date(2026, 11, 20), analyte=LabAnalyte.CALCIUM, value=2.4, unit="mmol/L"),
            LabValue(
                date=date(2026, 11, 21),
                analyte=LabAnalyte.CALCIUM,
                value=1.2,
                unit="mmol/L",
                name="ionised calcium",
            ),
            LabValue(
                date=date(2026, 11, 20), analyte=LabAnalyte.PHOSPHATE, value=1.6, unit="mmol/L"
            ),
            LabValue(date=date(2026, 11, 20), analyte=LabAnalyte.VITAMIN_D_25OH, value=24.0,
                     unit="ng/mL"),
            LabValue(date=date(2026, 11, 20), analyte=LabAnalyte.CREATININE, value=0.3,
                     unit="mg/dL"),
        ),
    }  # fmt: skip
    base.update(kw)
    return Patient.model_validate(base)


def test_latest_weight_on_or_before() -> None:
    assert latest_weight(patient(), D) == (10.0, date(2026, 11, 28))
    assert latest_weight(patient(), date(2026, 1, 1)) is None


def test_plan_from_record(tmp_path: Path) -> None:
    # born 1 Jun 2025 → 1.5 y at the start: UK < 2 y band, 0.75 mg/kg × 10 kg = 7.5 mg [S53]
    proto = get_protocol("pamidronate-uk-2day", tmp_path)
    plan = plan_for_patient(proto, patient(), start=D, today=D)
    assert plan.doses[0].dose_mg == pytest.approx(7.5)
    assert plan.weight_date == date(2026, 11, 28)
    assert any(a.topic == "glucocorticoids" for a in plan.advice)  # on prednisolone [S55]
    with pytest.raises(PlanError, match="without a weight"):
        plan_for_patient(proto, patient(anthropometry=()), start=D, today=D)
    bp = Medication(name="pamidronate", drug_class=MedicationClass.BISPHOSPHONATE,
                    start=date(2026, 3, 1))  # fmt: skip
    again = plan_for_patient(proto, patient(medications=(bp,)), start=D, today=D)
    assert not any(a.topic == "acute-phase reaction" for a in again.advice)


def test_checklist_from_record(tmp_path: Path) -> None:
    inp = checklist_input_for_patient(patient(), dose_date=D, bisphosphonate_allergy=False)
    assert inp.corrected_calcium_mmol_l is not None
    assert inp.corrected_calcium_mmol_l.value == 2.4  # the ionised value is not used
    assert inp.ohd_nmol_l is not None
    assert inp.ohd_nmol_l.value == pytest.approx(60.0)  # 24 ng/mL × 2.5
    assert inp.creatinine_umol_l is not None
    assert inp.creatinine_umol_l.value == pytest.approx(26.52)  # 0.3 mg/dL × 88.4 [S72b]
    assert inp.height_cm == 80.0
    r = run_checklist(get_protocol("zoledronate-ward-2021", tmp_path), inp)
    # eGFR = 0.413 × 80 / 0.3 = 110.1 mL/min/1.73 m² [S72]
    assert r.item("renal function").value is not None
    assert r.item("renal function").value.startswith("eGFR 110.1")  # type: ignore[union-attr]
    # CALIPER phosphate 1-5 y: 1.38-2.19 [S74]: 1.6 is within
    assert r.item("phosphate").status == "ok"
    bad = patient(labs=(LabValue(date=date(2026, 11, 20), analyte=LabAnalyte.CALCIUM, value=9.6,
                                 unit="mg/dL"),))  # fmt: skip
    with pytest.raises(ValueError, match="needs mmol/L"):
        checklist_input_for_patient(bad, dose_date=D)
