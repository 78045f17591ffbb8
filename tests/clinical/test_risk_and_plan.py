"""Risk profile and DXA plan vignettes. Sources quoted per test; the risk groups are the clinic
seed's: nutritional, lifestyle, hormonal, iatrogenic, disease-specific."""

from __future__ import annotations

import datetime as dt

from ._helpers import fracture, patient, run, scan


def test_glucocorticoids_are_an_iatrogenic_risk_with_the_stopp_dose_response() -> None:
    # [S18] "each 0.5 mg/kg increase in average daily prednisone-equivalent dose → HR 2.0"
    rec = patient(
        medications=[
            {
                "name": "prednisolone",
                "drug_class": "glucocorticoid",
                "start": "2022-01-01",
                "end": "2022-03-31",
                "prednisone_equivalent_mg_per_kg_day": 1.0,
                "cumulative_dose_mg": 2700,
            }
        ],
        anthropometry=[{"date": "2022-06-01", "height_cm": 140}],
    )
    a = run(rec)
    f = a.by_code("risk.iatrogenic.glucocorticoids")[0]
    assert f.inputs["days"] == 90  # 1 Jan – 31 Mar 2022 inclusive = 31 + 28 + 31
    assert f.inputs["cumulative_mg"] == 2700
    assert "HR 2.0" in f.message_en
    assert "S18" in f.sources
    assert a.risk_groups["iatrogenic"] == ["risk.iatrogenic.glucocorticoids"]


def test_low_igf1_is_judged_only_by_the_labs_range() -> None:
    # Digest §4.1: "A general numeric IGF-1 threshold: not found." → use the lab's flag/range.
    low = patient(
        labs=[
            {
                "date": "2022-01-01",
                "analyte": "igf1",
                "value": 95,
                "unit": "ng/mL",
                "reference_low": 143,
                "reference_high": 693,
            }
        ]
    )
    a = run(low)
    assert a.risk_groups["hormonal"] == ["risk.hormonal.low_igf1"]
    assert "lab range 143–693" in a.by_code("risk.hormonal.low_igf1")[0].message_en
    bare = patient(labs=[{"date": "2022-01-01", "analyte": "igf1", "value": 95, "unit": "ng/mL"}])
    b = run(bare)
    assert "hormonal" not in b.risk_groups
    assert b.by_code("laboratory.igf1.unjudged")


def test_immobility_little_sun_and_diet() -> None:
    # [S60] "Immobility / reduced mobility"; [S59] "sunlight exposure ... a few minutes daily";
    # seed: "opgelegde diëten zoals eiwitarme en lactosevrije voedingen"
    rec = patient(
        mobility=[{"date": "2022-01-01", "status": "non_ambulatory", "gmfcs": 5}],
        sun_exposure=[{"date": "2022-01-01", "level": "minimal"}],
        diets=[{"kind": "protein_restricted", "start": "2010-02-01"}],
        diagnoses=[{"code": "phenylketonuria"}],
    )
    a = run(rec)
    assert a.risk_groups["lifestyle"] == ["risk.lifestyle.immobility", "risk.lifestyle.little_sun"]
    assert a.risk_groups["iatrogenic"] == ["risk.iatrogenic.restrictive_diet"]
    assert a.risk_groups["disease_specific"] == ["risk.disease.phenylketonuria"]
    assert "GMFCS 5" in a.by_code("risk.lifestyle.immobility")[0].message_en
    assert a.by_code("risk.summary")


def test_at_risk_child_without_dxa_gets_one() -> None:
    # [S1] "in ... risk of secondary bone disease, do DXA when the patient may benefit from an
    # intervention and the result will influence management"
    rec = patient(
        medications=[{"name": "valproate", "drug_class": "antiepileptic", "start": "2020-01-01"}],
        diagnoses=[{"code": "anorexia_nervosa"}],
    )
    a = run(rec)
    assert a.dxa_indicated_now is True
    assert a.by_code("dxa_plan.general.indicated")[0].sources == ("S1",)


def test_duchenne_baseline_then_annual() -> None:
    # [S59] "Duchenne MD | Baseline DXA + annual"
    no_scan = run(
        patient(
            sex="M",
            diagnoses=[{"code": "duchenne_muscular_dystrophy"}],
            anthropometry=[{"date": "2022-01-01", "height_cm": 120}],
        )
    )
    assert no_scan.dxa_indicated_now is True
    assert no_scan.by_code("dxa_plan.duchenne.baseline")
    rec = patient(
        sex="M",
        diagnoses=[{"code": "duchenne_muscular_dystrophy"}],
        dxa_scans=[scan("2024-01-10", spine_z=-1.0)],
    )
    a = run(rec)
    assert a.next_dxa_due == dt.date(2025, 1, 10)
    assert a.dxa_indicated_now is False
    assert run(rec, as_of=dt.date(2025, 1, 10)).dxa_indicated_now is True


def test_duchenne_spine_z_fall_of_half_an_sd_in_12_months() -> None:
    # [S59] "lateral spine X-ray ... and if back pain or ≥0.5 SD fall in spine BMD Z in 12 months"
    def rec(z1: float) -> dict[str, object]:
        return patient(
            sex="M",
            diagnoses=[{"code": "duchenne_muscular_dystrophy"}],
            vertebral_assessments=[{"date": "2023-01-05", "vertebrae": []}],
            dxa_scans=[scan("2023-01-10", spine_z=-1.0), scan("2024-01-10", spine_z=z1)],
        )

    assert run(rec(-1.5)).by_code("dxa_plan.duchenne.spine_xray_now")  # fall 0.50
    later = run(rec(-1.49))  # fall 0.49 → interval rule instead
    assert not later.by_code("dxa_plan.duchenne.spine_xray_now")
    assert later.by_code("dxa_plan.duchenne.spine_xray_interval")


def test_cerebral_palsy_dxa_only_with_fragility_fracture() -> None:
    # [S59] "Cerebral palsy | Total-body or distal-femur DXA only if fragility fractures"
    base = {
        "diagnoses": [{"code": "cerebral_palsy"}],
        "mobility": [{"date": "2022-01-01", "status": "non_ambulatory", "gmfcs": 4}],
    }
    assert run(patient(**base)).dxa_indicated_now is False
    with_fx = run(patient(**base, fractures=[fracture("2021-09-09", "long_bone_lower")]))
    assert with_fx.dxa_indicated_now is True


def test_positioning_not_possible_means_no_dxa() -> None:
    # [S1] "Do not perform DXA if safe, appropriate positioning cannot be assured."
    rec = patient(
        diagnoses=[{"code": "duchenne_muscular_dystrophy"}],
        mobility=[{"date": "2022-01-01", "status": "bedridden", "dxa_positioning_possible": False}],
    )
    a = run(rec)
    assert a.dxa_indicated_now is False
    assert a.by_code("dxa_plan.positioning_not_possible")[0].severity == "warning"


def test_galactosaemia_dxa_from_age_4() -> None:
    # [S66] Panis 2007: "DXA from age 4, repeat every 2 y if normal, yearly if BMC < 0 SD"
    def rec(as_of: str) -> dict[str, object]:
        return patient(
            birth="2018-06-15",
            diagnoses=[{"code": "galactosaemia"}],
            anthropometry=[{"date": as_of, "height_cm": 100}],
        )

    assert run(rec("2022-06-14")).dxa_indicated_now is not True  # 3.99 y
    assert run(rec("2022-06-15")).dxa_indicated_now is True  # 4th birthday
    yearly = patient(
        birth="2012-01-01",
        diagnoses=[{"code": "galactosaemia"}],
        dxa_scans=[scan("2022-03-01", spine_z=-0.5, vendor_z_bmc=-0.2)],
    )
    assert run(yearly).next_dxa_due == dt.date(2023, 3, 1)
    biennial = patient(
        birth="2012-01-01",
        diagnoses=[{"code": "galactosaemia"}],
        dxa_scans=[scan("2022-03-01", spine_z=0.1, vendor_z_bmc=0.0)],
    )
    assert run(biennial).next_dxa_due == dt.date(2024, 3, 1)


def test_jia_age_split_at_6() -> None:
    # [S59] "JIA | < 6 y: DXA if fragility fracture; > 6 y: DXA if no rapid remission or
    # high-dose GCs"
    young = patient(
        birth="2018-01-01",
        diagnoses=[{"code": "juvenile_idiopathic_arthritis"}],
        anthropometry=[{"date": "2022-01-01", "height_cm": 100}],
    )
    assert run(young).by_code("dxa_plan.jia.under_6")
    assert run(young).dxa_indicated_now is False
    older = patient(
        birth="2012-01-01",
        diagnoses=[{"code": "juvenile_idiopathic_arthritis"}],
        medications=[
            {
                "name": "prednisolone",
                "drug_class": "glucocorticoid",
                "start": "2022-01-01",
                "high_dose": True,
            }
        ],
    )
    assert run(older).dxa_indicated_now is True


def test_leukaemia_baseline_two_years_after_chemotherapy() -> None:
    # [S59] "Neoplasms | Baseline DXA 2 y after completing osteotoxic chemotherapy / HSCT"
    rec = patient(
        diagnoses=[{"code": "leukaemia"}],
        medications=[
            {
                "name": "ALL protocol",
                "drug_class": "chemotherapy",
                "start": "2020-01-15",
                "end": "2023-01-15",
            }
        ],
    )
    a = run(rec)
    assert a.next_dxa_due == dt.date(2025, 1, 15)
    assert a.dxa_indicated_now is False
    assert run(rec, as_of=dt.date(2025, 1, 15)).dxa_indicated_now is True


def test_monitoring_interval_after_a_scan_cites_shepherd() -> None:
    # [S14] "MTI < 1 year for TBLH and spine BMD/BMC in boys ≤17 y and girls ≤15 y"
    a = run(patient(sex="M", dxa_scans=[scan("2022-01-01", spine_z=-1.0)]))
    f = a.by_code("dxa_plan.general.interval")[0]
    assert "boys up to 17 y" in f.message_en
    assert f.sources == ("S14", "S15")


def test_back_pain_without_spine_imaging_asks_for_it() -> None:
    a = run(patient(symptoms=[{"date": "2022-01-01", "kind": "back_pain"}]))
    f = a.by_code("symptoms.back_pain")[0]
    assert f.severity == "warning"
    assert "VFA" in f.message_en


def test_galactosaemia_supplements_below_minus_1_bmc_z() -> None:
    # [S66] Panis 2007: "supplement Ca, vitamin K1 and D3 if BMC < −1 SD"
    def rec(bmc_z: float) -> dict[str, object]:
        return patient(
            birth="2012-01-01",
            diagnoses=[{"code": "galactosaemia"}],
            dxa_scans=[scan("2022-03-01", spine_z=-1.0, vendor_z_bmc=bmc_z)],
        )

    assert run(rec(-1.01)).by_code("dxa_plan.galactosaemia.supplement")
    assert not run(rec(-1.0)).by_code("dxa_plan.galactosaemia.supplement")


def test_cerebral_palsy_vertebral_fracture_on_imaging_is_a_fragility_fracture() -> None:
    # [S59] CP: DXA "only if fragility fractures"; a Genant grade ≥ 1 vertebra (T9 anterior
    # 14 / posterior 20 mm = 30 % → grade 2 [S16]) without high-energy trauma is one.
    rec = patient(
        diagnoses=[{"code": "cerebral_palsy"}],
        vertebral_assessments=[
            {
                "date": "2022-05-01",
                "vertebrae": [
                    {"level": "T9", "anterior_mm": 14.0, "middle_mm": 18.0, "posterior_mm": 20.0}
                ],
            }
        ],
        fractures=[fracture("2021-01-01", trauma="unknown")],
    )
    assert run(rec).dxa_indicated_now is True
    only_unknown = run(
        patient(
            diagnoses=[{"code": "cerebral_palsy"}],
            fractures=[fracture("2021-01-01", trauma="unknown")],
        )
    )
    assert only_unknown.dxa_indicated_now is False
    assert (
        "unknown trauma level"
        in only_unknown.by_code("dxa_plan.cerebral_palsy.no_fragility_fracture")[0].message_en
    )
