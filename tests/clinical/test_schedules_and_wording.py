"""Overdue schedules are due now; every finding cites a key; wording matches the data."""

from __future__ import annotations

import datetime as dt

from pedbone.bibliography import sources

from ._helpers import fracture, patient, run, scan


def test_thalassaemia_overdue_is_due_now() -> None:
    # [S59] "Thalassaemia | DXA every 2 years from adolescence": last DXA 2021-03-01 → due
    # 2023-03-01; assessed 2023-03-01 (on the day) and later it is due now.
    def rec(as_of: str) -> dict[str, object]:
        return patient(
            birth="2008-01-01",
            diagnoses=[{"code": "thalassaemia"}],
            dxa_scans=[scan("2021-03-01", spine_z=-1.0)],
            anthropometry=[{"date": as_of, "height_cm": 160}],
        )

    before = run(rec("2023-02-28"))
    assert before.dxa_indicated_now is not True
    assert before.by_code("dxa_plan.thalassaemia")
    assert before.next_dxa_due == dt.date(2023, 3, 1)
    on_day = run(rec("2023-03-01"))
    assert on_day.dxa_indicated_now is True
    f = on_day.by_code("dxa_plan.thalassaemia.due_now")[0]
    assert "due now (due since 2023-03-01)" in f.message_en
    assert f.severity == "warning"
    late = run(rec("2025-06-01"))
    assert late.dxa_indicated_now is True
    assert late.by_code("dxa_plan.thalassaemia.due_now")


def test_duchenne_spine_xray_overdue_is_due_now() -> None:
    # [S59] "repeat every 1–2 y on GCs": last X-ray 2021-01-05, on GCs → window 2022-01-05 to
    # 2023-01-05; in the window it is due, after it overdue, before it the window is shown.
    def rec(as_of: str) -> dict[str, object]:
        return patient(
            sex="M",
            birth="2012-01-01",
            diagnoses=[{"code": "duchenne_muscular_dystrophy"}],
            vertebral_assessments=[{"date": "2021-01-05", "vertebrae": []}],
            medications=[
                {"name": "deflazacort", "drug_class": "glucocorticoid", "start": "2020-01-01"}
            ],
            anthropometry=[{"date": as_of, "height_cm": 130}],
        )

    early = run(rec("2022-01-04"))
    assert early.by_code("dxa_plan.duchenne.spine_xray_interval")
    assert not early.by_code("dxa_plan.duchenne.spine_xray_due")
    due = run(rec("2022-01-05")).by_code("dxa_plan.duchenne.spine_xray_due")[0]
    assert "due since 2022-01-05" in due.message_en
    over = run(rec("2023-01-06")).by_code("dxa_plan.duchenne.spine_xray_due")[0]
    assert "overdue since 2023-01-05" in over.message_en
    assert over.severity == "warning"


def test_galactosaemia_before_4_gets_its_due_date() -> None:
    # [S66] Panis 2007: "DXA from age 4" → born 2018-06-15: due 2022-06-15
    a = run(
        patient(
            birth="2018-06-15",
            diagnoses=[{"code": "galactosaemia"}],
            anthropometry=[{"date": "2021-01-01", "height_cm": 90}],
        )
    )
    f = a.by_code("dxa_plan.galactosaemia.start")[0]
    assert "due 2022-06-15" in f.message_en
    assert "op 2022-06-15" in f.message_nl
    assert a.next_dxa_due == dt.date(2022, 6, 15)


def test_duchenne_with_fracture_and_treatment_is_not_told_to_refer() -> None:
    rec = patient(
        sex="M",
        birth="2012-01-01",
        diagnoses=[{"code": "duchenne_muscular_dystrophy"}],
        fractures=[fracture("2021-05-01", "long_bone_lower")],
        medications=[
            {"name": "zoledronic acid", "drug_class": "bisphosphonate", "start": "2021-06-01"}
        ],
        anthropometry=[{"date": "2021-07-01", "height_cm": 130}],
    )
    a = run(rec)
    assert not a.by_code("dxa_plan.duchenne.refer_after_fracture")
    assert a.by_code("dxa_plan.duchenne.fracture_treated")


def test_planned_medication_is_not_a_data_quality_error() -> None:
    rec = patient(
        birth="2012-01-01",
        medications=[
            {"name": "zoledronic acid", "drug_class": "bisphosphonate", "start": "2026-03-01"}
        ],
        anthropometry=[{"date": "2025-12-01", "height_cm": 150}],
    )
    a = run(rec)  # today is 2026-01-01 in the helpers
    assert not [c for c in a.codes() if c.startswith("data_quality.in_future")]
    assert a.by_code("risk.medication_planned")[0].severity == "info"


def test_excluded_vertebral_fracture_is_not_called_no_fracture() -> None:
    rec = patient(
        birth="2012-01-01",
        fractures=[fracture("2021-01-01", "vertebral", trauma="high")],
        dxa_scans=[scan("2021-02-01", spine_z=-2.2)],
    )
    a = run(rec)
    f = a.by_code("iscd.low_bone_density")[0]
    assert "no vertebral fracture that counts" in f.message_en
    assert "geen wervelfractuur die meetelt" in f.message_nl


def test_implausible_inputs_are_data_quality_findings() -> None:
    # software rule limits [PEDBONE_PLAUSIBILITY]: weight 0.2-250 kg, BMI 5-100, calcium 0.5-5
    rec = patient(
        birth="2012-01-01",
        anthropometry=[
            {"date": "2021-01-01", "height_cm": 140, "weight_kg": 32000},
            {"date": "2021-02-01", "height_cm": 100, "weight_kg": 170},  # BMI 170
        ],
        labs=[{"date": "2021-01-01", "analyte": "calcium", "value": 20, "unit": "mmol/L"}],
    )
    a = run(rec)
    codes = a.codes()
    assert "data_quality.implausible_weight" in codes
    assert "data_quality.implausible_bmi" in codes
    assert "data_quality.implausible_calcium" in codes
    assert not a.by_code("growth.bmi")  # no BMI Z from absurd values
    for code in ("data_quality.implausible_weight", "data_quality.implausible_calcium"):
        f = a.by_code(code)[0]
        assert f.sources == ("PEDBONE_PLAUSIBILITY",)
        assert "niet aannemelijk" in f.message_nl


def test_every_finding_cites_a_known_key() -> None:
    known = set(sources())
    recs = [
        patient(),
        patient(
            birth="2012-01-01",
            puberty=[{"date": "2021-01-01", "tanner_stage": 2}],
            symptoms=[{"date": "2021-01-01", "kind": "diffuse_long_bone_pain"}],
            labs=[{"date": "2022-01-01", "analyte": "25ohd", "value": 50, "unit": "mg"}],
            anthropometry=[{"date": "2021-01-01", "height_cm": 140, "weight_kg": -3}],
        ),
    ]
    for rec in recs:
        for f in run(rec).findings:
            assert f.sources, f.code
            assert set(f.sources) <= known, f.code
