"""ISCD paediatric classification vignettes. Expected findings are written from the sources:

[S1] (digest §1.1): "Long-bone route | Without vertebral fractures: both a clinically significant
fracture history and BMC/BMD Z-score ≤ −2.0." "Clinically significant fracture history |
(1) ≥2 long-bone fractures by age 10 y, or (2) ≥3 long-bone fractures at any age up to 19 y."
"Vertebral route | One or more vertebral compression (crush) fractures, in the absence of local
disease or high-energy trauma, is indicative of osteoporosis. BMD ... is not required."
"No densitometry-only diagnosis | Osteoporosis must not be diagnosed on densitometric criteria
alone." [S3]: "Z ≤ −2.0 ... is reported as 'low bone mass or bone density'".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pedbone.clinical import AssessOptions

from ._helpers import fracture, patient, run, scan, write_spine_pack


def test_z_exactly_minus_2_is_low_bone_density() -> None:
    # [S3] "Z ≤ −2.0 ... is reported as low bone mass or bone density": −2.0 is included.
    a = run(patient(dxa_scans=[scan("2022-06-01", spine_z=-2.0)]))
    assert a.classification == "low_bone_density"
    assert a.by_code("iscd.low_bone_density")[0].sources == ("S1", "S3", "S9")
    assert a.z_score_used is not None
    assert a.z_score_used["z"] == -2.0


def test_z_minus_1_9_is_not_low_and_fragility_not_excluded() -> None:
    # [S1] "A BMC/BMD Z-score > −2.0 does not exclude skeletal fragility"
    a = run(patient(dxa_scans=[scan("2022-06-01", spine_z=-1.9)]))
    assert a.classification == "not_low"
    f = a.by_code("iscd.not_low")[0]
    assert "does not exclude skeletal fragility" in f.message_en
    assert "sluit botfragiliteit niet uit" in f.message_nl


def test_densitometry_alone_never_gives_osteoporosis() -> None:
    # [S1] "Osteoporosis must not be diagnosed on densitometric criteria alone."
    a = run(patient(dxa_scans=[scan("2022-06-01", spine_z=-4.5, tblh_z=-3.9)]))
    assert a.classification == "low_bone_density"
    assert not a.by_code("iscd.osteoporosis")


def test_second_long_bone_fracture_on_10th_birthday_counts() -> None:
    # [S1] "≥2 long-bone fractures by age 10 y": a fracture on the 10th birthday happened at
    # age exactly 10 y, i.e. by age 10. Z −2.1 ≤ −2.0 → osteoporosis (long-bone route).
    rec = patient(
        birth="2010-05-20",
        fractures=[fracture("2016-03-01"), fracture("2020-05-20", site="long_bone_lower")],
        dxa_scans=[scan("2020-09-01", spine_z=-2.1)],
    )
    a = run(rec)
    assert a.classification == "osteoporosis"
    f = a.by_code("iscd.osteoporosis.long_bone")[0]
    assert f.inputs["long_bone_by_age_10"] == 2


def test_second_fracture_the_day_after_10th_birthday_does_not_count() -> None:
    # Same child, second fracture one day after the 10th birthday: 1 by age 10, 2 by 19 (< 3),
    # so no clinically significant history → only "low bone density" [S1][S3].
    rec = patient(
        birth="2010-05-20",
        fractures=[fracture("2016-03-01"), fracture("2020-05-21")],
        dxa_scans=[scan("2020-09-01", spine_z=-2.1)],
    )
    a = run(rec)
    assert a.classification == "low_bone_density"
    f = a.by_code("iscd.low_bone_density")[0]
    assert (f.inputs["long_bone_by_age_10"], f.inputs["long_bone_by_age_19"]) == (1, 2)


def test_three_long_bone_fractures_by_19_with_z_minus_2() -> None:
    # [S1] "(2) ≥3 long-bone fractures at any age up to 19 y" + Z ≤ −2.0 → osteoporosis.
    rec = patient(
        birth="2006-01-01",
        fractures=[fracture("2018-01-01"), fracture("2020-01-01"), fracture("2024-12-31")],
        dxa_scans=[scan("2025-01-10", spine_z=-2.0)],
    )
    assert run(rec).classification == "osteoporosis"


def test_significant_history_but_z_minus_1_9_is_not_osteoporosis() -> None:
    # [S1] long-bone route needs "both" history and Z ≤ −2.0; the caveat applies.
    rec = patient(
        birth="2006-01-01",
        fractures=[fracture("2018-01-01"), fracture("2020-01-01"), fracture("2022-01-01")],
        dxa_scans=[scan("2023-01-10", spine_z=-1.9)],
    )
    a = run(rec)
    assert a.classification == "not_low"
    f = a.by_code("iscd.not_low")[0]
    assert f.severity == "notice"
    assert "clinically significant fracture history" in f.message_en


def test_vertebral_compression_fracture_without_bmd() -> None:
    # [S1] vertebral route: "BMD measurement adds to the assessment but is not required".
    # T8 anterior 15 / posterior 20 mm → 25 % anterior height loss → Genant grade 1 wedge [S16].
    rec = patient(
        vertebral_assessments=[
            {
                "date": "2023-03-01",
                "trauma": "low",
                "vertebrae": [
                    {"level": "T8", "anterior_mm": 15.0, "middle_mm": 19.0, "posterior_mm": 20.0}
                ],
            }
        ]
    )
    a = run(rec)
    assert a.classification == "osteoporosis"
    assert a.vertebral_fracture_count == 1
    assert a.by_code("iscd.osteoporosis.vertebral")[0].severity == "alert"


def test_vertebral_fracture_after_high_energy_trauma_does_not_count() -> None:
    # [S1] "... in the absence of local disease or high-energy trauma"
    rec = patient(
        fractures=[fracture("2022-02-02", site="vertebral", trauma="high", bone="L1")],
        dxa_scans=[scan("2022-06-01", spine_z=-1.0)],
    )
    a = run(rec)
    assert a.classification == "not_low"
    assert a.by_code("iscd.vertebral_fracture_excluded")


def test_vertebral_fracture_with_unknown_trauma_counts_but_asks_to_confirm() -> None:
    rec = patient(fractures=[fracture("2022-02-02", site="vertebral", trauma="unknown")])
    f = run(rec).by_code("iscd.osteoporosis.vertebral")[0]
    assert "confirm there was no high-energy trauma" in f.message_en


def test_no_dxa_and_no_fracture_cannot_be_classified() -> None:
    a = run(patient(anthropometry=[{"date": "2020-01-01", "height_cm": 120.0}]))
    assert a.classification == "insufficient_data"


def test_size_adjusted_z_used_when_puberty_is_delayed() -> None:
    # [S3] "in children with short stature or growth delay, use BMAD or HAZ-adjusted Z-scores".
    rec = patient(
        diagnoses=[{"code": "delayed_puberty"}],
        dxa_scans=[scan("2023-01-01", spine_z=-2.3, haz_adjusted_z_abmd=-1.6)],
    )
    a = run(rec)
    assert a.classification == "not_low"
    assert a.z_score_used is not None
    assert (a.z_score_used["kind"], a.z_score_used["z"]) == ("haz_adjusted", -1.6)
    # Without a reason for size adjustment the plain (vendor) Z-score is used: −2.3 → low.
    rec2 = patient(dxa_scans=[scan("2023-01-01", spine_z=-2.3, haz_adjusted_z_abmd=-1.6)])
    a2 = run(rec2)
    assert a2.classification == "low_bone_density"
    assert a2.z_score_used is not None
    assert a2.z_score_used["kind"] == "vendor"


def test_size_adjustment_needed_but_unavailable_is_said() -> None:
    rec = patient(
        diagnoses=[{"code": "short_stature"}], dxa_scans=[scan("2023-01-01", spine_z=-2.3)]
    )
    a = run(rec)
    assert a.by_code("densitometry.size_adjustment_unavailable")
    assert a.classification == "low_bone_density"


def test_lowest_of_spine_and_tblh_is_used() -> None:
    # [S3] spine and TBLH are the recommended sites; either at ≤ −2.0 is low for age.
    a = run(patient(dxa_scans=[scan("2023-01-01", spine_z=-1.2, tblh_z=-2.4)]))
    assert a.z_score_used is not None
    assert a.z_score_used["site"] == "tblh"
    assert a.classification == "low_bone_density"


def test_z_from_reference_pack(make_pack: Callable[..., Path]) -> None:
    # Synthetic pack, L = 1, M = 0.6, S = 0.1: Z = (0.48 / 0.6 − 1) / 0.1 = −2.0 → low [S3].
    pack = write_spine_pack(make_pack)
    rec = patient(dxa_scans=[scan("2023-01-01", abmd_g_cm2=0.48)])
    a = run(rec, options=AssessOptions(dxa_packs={"spine": str(pack)}))
    assert a.z_score_used is not None
    assert a.z_score_used["kind"] == "pack"
    assert abs(a.z_score_used["z"] - (-2.0)) < 1e-9
    assert a.classification == "low_bone_density"
    # 0.49 g/cm²: Z = (0.49/0.6 − 1)/0.1 = −1.8333 → not low.
    rec2 = patient(dxa_scans=[scan("2023-01-01", abmd_g_cm2=0.49)])
    a2 = run(rec2, options=AssessOptions(dxa_packs={"spine": str(pack)}))
    assert a2.classification == "not_low"
    assert a2.z_score_used is not None
    assert abs(a2.z_score_used["z"] - (0.49 / 0.6 - 1) / 0.1) < 1e-9


def test_as_of_leaves_out_later_data() -> None:
    rec = patient(dxa_scans=[scan("2021-01-01", spine_z=-1.0), scan("2023-01-01", spine_z=-2.5)])
    assert run(rec).as_of.isoformat() == "2023-01-01"  # default: latest data date
    import datetime as dt

    early = run(rec, as_of=dt.date(2022, 1, 1))
    assert early.classification == "not_low"
    assert early.by_code("data_quality.after_as_of")


def test_haz_adjusted_z_from_the_packs_equation(make_pack: Callable[..., Path]) -> None:
    # [S3] short / late-maturing → HAZ-adjusted Z; [S11] Zemel: adjusted Z = (Z − predicted Z
    # for HAZ) / residual SD. Synthetic equation: predicted Z = 0.5 × HAZ, residual SD 1.
    import pedbone.references as refs

    pack = write_spine_pack(
        make_pack,
        haz_adjustment={
            "haz_reference": "cdc2000",
            "source": "synthetic; no source",
            "equations": [
                {"measure": "spine_abmd", "sex": "F", "terms": {"haz": 0.5}, "residual_sd": 1.0}
            ],
        },
    )
    rec = patient(
        birth="2010-01-01",
        diagnoses=[{"code": "short_stature"}],
        anthropometry=[{"date": "2023-01-01", "height_cm": 140.0}],
        dxa_scans=[scan("2023-01-01", abmd_g_cm2=0.48)],  # unadjusted Z = −2.0 (see above)
    )
    a = run(rec, options=AssessOptions(dxa_packs={"spine": str(pack)}))
    # HAZ of 140 cm at 4748 days (2010-01-01 → 2023-01-01) from CDC 2000, as the engine does
    haz = float(
        refs.reference("cdc2000").zscore("height", sex="F", age_years=4748 / 365.25, value=140.0)
    )
    assert haz < -1.5  # a short girl, so the adjustment matters
    assert a.z_score_used is not None
    assert a.z_score_used["kind"] == "haz_adjusted"
    assert abs(a.z_score_used["z"] - (-2.0 - 0.5 * haz)) < 1e-9
