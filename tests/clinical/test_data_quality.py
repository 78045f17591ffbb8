"""Bad input: a data-quality finding naming the field, and the rest still runs."""

from __future__ import annotations

from ._helpers import fracture, patient, run, scan


def test_scan_before_birth_is_left_out_and_the_rest_runs() -> None:
    rec = patient(
        birth="2012-05-01",
        dxa_scans=[scan("2011-01-01", spine_z=-3.0), scan("2020-01-01", spine_z=-1.0)],
    )
    a = run(rec)
    dq = a.by_code("data_quality.before_birth")
    assert [f.field for f in dq] == ["dxa_scans[0].date"]
    assert "before the birth date 2012-05-01" in dq[0].message_en
    assert a.classification == "not_low"  # the valid 2020 scan (Z −1.0) was used


def test_abmd_of_0_and_5_are_implausible() -> None:
    rec = patient(
        dxa_scans=[
            {
                "date": "2022-01-01",
                "scanner": {"manufacturer": "GE", "model": "iDXA"},
                "sites": [
                    {"site": "spine", "abmd_g_cm2": 0.0, "vendor_z_abmd": -5.0},
                    {"site": "tblh", "abmd_g_cm2": 5.0, "vendor_z_abmd": 4.0},
                ],
            }
        ],
        labs=[{"date": "2022-01-01", "analyte": "25ohd", "value": 60, "unit": "nmol/L"}],
    )
    a = run(rec)
    fields = [f.field for f in a.by_code("data_quality.implausible_abmd")]
    assert fields == ["dxa_scans[0].sites[0].abmd_g_cm2", "dxa_scans[0].sites[1].abmd_g_cm2"]
    assert a.classification == "insufficient_data"  # both sites left out, nothing invented
    assert a.by_code("nutrition.vitamin_d.sufficiency")  # the rest still runs


def test_abmd_inconsistent_with_bmc_over_area() -> None:
    rec = patient(
        dxa_scans=[scan("2022-01-01", spine_z=-1.0, bmc_g=30.0, area_cm2=50.0, abmd_g_cm2=0.7)]
    )
    # 30 / 50 = 0.600 g/cm², reported 0.7 (16.7 % off, more than the 5 % tolerance)
    f = run(rec).by_code("data_quality.inconsistent_abmd")[0]
    assert f.field == "dxa_scans[0].sites[0].abmd_g_cm2"
    assert "0.600" in f.message_en


def test_creatinine_in_the_wrong_unit() -> None:
    # 0.6 "µmol/L" at 12 y; as mg/dL it is 0.6 × 88.4 = 53 µmol/L, inside CALIPER 40–72 [S74]
    rec = patient(
        birth="2010-01-01",
        labs=[{"date": "2022-03-01", "analyte": "creatinine", "value": 0.6, "unit": "umol/L"}],
        anthropometry=[{"date": "2022-03-01", "height_cm": 150}],
    )
    a = run(rec)
    f = a.by_code("data_quality.creatinine_wrong_unit")[0]
    assert f.field == "labs[0].unit"
    assert "53 µmol/L" in f.message_en
    assert not a.by_code("renal.egfr")  # not used until confirmed


def test_creatinine_right_unit_gives_schwartz_egfr() -> None:
    # 0.413 × 140 / (61.88 / 88.4) = 0.413 × 140 / 0.7 = 82.6 mL/min/1.73 m² [S72]
    rec = patient(
        labs=[{"date": "2022-03-01", "analyte": "creatinine", "value": 61.88, "unit": "umol/L"}],
        anthropometry=[{"date": "2022-02-01", "height_cm": 140}],
    )
    f = run(rec).by_code("renal.egfr")[0]
    assert abs(f.inputs["egfr"] - 82.6) < 1e-6


def test_fracture_in_the_future() -> None:
    rec = patient(fractures=[fracture("2030-01-01")], dxa_scans=[scan("2022-01-01", spine_z=-1)])
    a = run(rec)  # today = 2026-01-01
    f = a.by_code("data_quality.in_future")[0]
    assert f.field == "fractures[0].date"
    assert a.as_of.isoformat() == "2022-01-01"  # the future date does not move as_of


def test_implausible_height_and_menarche_in_a_boy() -> None:
    rec = patient(
        sex="M",
        anthropometry=[{"date": "2022-01-01", "height_cm": 1.42}],
        puberty=[{"date": "2022-01-01", "tanner_stage": 2, "menarche_date": "2021-12-01"}],
    )
    a = run(rec)
    assert [f.field for f in a.by_code("data_quality.implausible_height")] == [
        "anthropometry[0].height_cm"
    ]
    assert a.by_code("data_quality.menarche_in_male")


def test_unknown_vitamin_d_unit() -> None:
    rec = patient(labs=[{"date": "2022-01-01", "analyte": "25ohd", "value": 50, "unit": "mg"}])
    a = run(rec)
    assert a.by_code("data_quality.unknown_unit")[0].field == "labs[0].unit"
    # the level is recorded but unusable: not "no 25-OH vitamin D recorded"
    assert not a.by_code("nutrition.vitamin_d.missing")
    assert "could not be used" in a.by_code("nutrition.vitamin_d.unusable")[0].message_en
