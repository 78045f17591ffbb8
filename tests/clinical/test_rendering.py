"""Rendering and small contracts of the Assessment."""

from __future__ import annotations

import datetime as dt
import json

from pedbone.clinical import Patient, latest_data_date

from ._helpers import TODAY, fracture, patient, run, scan


def test_same_vertebra_from_record_and_radiograph_counts_once() -> None:
    rec = patient(
        fractures=[fracture("2023-02-01", site="vertebral", bone="T8")],
        vertebral_assessments=[
            {
                "date": "2023-03-01",
                "vertebrae": [
                    {"level": "T8", "anterior_mm": 12.0, "middle_mm": 16.0, "posterior_mm": 16.0}
                ],
            }
        ],
    )
    f = run(rec).by_code("iscd.osteoporosis.vertebral")[0]
    assert f.message_en.startswith("Osteoporosis: 1 vertebra with a low-energy compression")


def test_dutch_uses_decimal_comma_and_english_does_not() -> None:
    a = run(patient(dxa_scans=[scan("2022-06-01", spine_z=-2.1)]))
    f = a.by_code("iscd.low_bone_density")[0]
    assert "Z-score -2,10 ≤ −2,0" in f.message_nl
    assert "Z-score -2.10 ≤ −2.0" in f.message_en
    assert "2022-06-01" in a.to_text("nl")  # ISO dates are left alone


def test_text_markdown_and_json_carry_codes_and_sources() -> None:
    a = run(patient(dxa_scans=[scan("2022-06-01", spine_z=-2.1)]))
    assert "[S1, S3, S9]" in a.to_text()
    assert "`iscd.low_bone_density`" in a.to_markdown()
    data = json.loads(a.to_json())
    assert data["classification"] == "low_bone_density"
    assert data["findings"][0]["sources"]
    assert "supports, and does not replace, clinical judgement" in a.to_text()
    assert "FICTIONAL PATIENT" in a.to_text()


def test_latest_data_date_ignores_future_and_prebirth_dates() -> None:
    p = Patient.model_validate(
        patient(
            birth="2012-01-01",
            dxa_scans=[scan("2011-01-01", spine_z=0), scan("2030-01-01", spine_z=0)],
            labs=[{"date": "2020-05-05", "analyte": "pth", "value": 4.1, "unit": "pmol/L"}],
        )
    )
    assert latest_data_date(p, today=TODAY) == dt.date(2020, 5, 5)


def test_assessment_is_reproducible_for_a_given_as_of() -> None:
    rec = patient(dxa_scans=[scan("2022-06-01", spine_z=-2.1)])
    a1 = run(rec, as_of=dt.date(2023, 1, 1))
    a2 = run(rec, as_of=dt.date(2023, 1, 1))
    assert a1.to_json() == a2.to_json()


def test_bmi_and_tanner_stage_are_shown_without_judgement() -> None:
    rec = patient(
        anthropometry=[{"date": "2022-01-01", "height_cm": 150.0, "weight_kg": 45.0}],
        puberty=[{"date": "2022-01-01", "tanner_stage": 3, "menarche_date": "2021-11-01"}],
    )
    a = run(rec)
    bmi = a.by_code("growth.bmi")[0]
    assert abs(bmi.inputs["bmi"] - 20.0) < 1e-9  # 45 / 1.5² = 20.0 kg/m²
    assert bmi.severity == "info"
    pub = a.by_code("growth.puberty")[0]
    assert "Tanner stage 3" in pub.message_en
    assert "menarche 2021-11-01" in pub.message_en
