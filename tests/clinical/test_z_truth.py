"""One Z-score truth: every measured site and measure counts, size adjustment when short,
growth reference by age, implausible Z-scores left out. Expected values from the sources."""

from __future__ import annotations

from pedbone.clinical import LOW_Z, growth_pack_for, is_low_z

from ._helpers import SCANNER, fracture, patient, run


def _scan(date: str, *sites: dict[str, object]) -> dict[str, object]:
    return {
        "date": date,
        "reference": "Hologic pediatric",
        "scanner": SCANNER,
        "sites": list(sites),
    }


def test_low_z_is_defined_once() -> None:
    # "BMC/BMD Z-score ≤ −2.0" [S1]
    assert LOW_Z == -2.0
    assert is_low_z(-2.0)
    assert is_low_z(-2.0000001)
    assert not is_low_z(-1.99)
    assert not is_low_z(None)


def test_tblh_bmc_z_counts_for_the_long_bone_route() -> None:
    # Two long-bone fractures by age 10 [S1] and TBLH BMC Z −2.5 ≤ −2.0: "BMC/BMD Z-score
    # ≤ −2.0" [S1], "low BMC or BMD for chronological age" [S3] → osteoporosis, although the
    # spine aBMD Z is −1.6.
    rec = patient(
        birth="2012-01-01",
        fractures=[fracture("2019-05-01"), fracture("2020-06-01", "long_bone_lower")],
        dxa_scans=[
            _scan(
                "2021-01-10",
                {"site": "spine", "vendor_z_abmd": -1.6},
                {"site": "tblh", "vendor_z_abmd": -1.2, "vendor_z_bmc": -2.5},
            )
        ],
    )
    a = run(rec)
    assert a.classification == "osteoporosis"
    assert a.z_score_used is not None
    assert a.z_score_used["quantity"] == "bmc"
    assert a.z_score_used["z"] == -2.5
    used = a.by_code("densitometry.z_used")[0]
    assert "tblh BMC Z-score -2.50" in used.message_en
    assert "the scanner's own Z-score" in used.message_en
    assert "spine aBMD -1.60" in used.message_en  # the others are named


def test_bmc_z_just_above_minus_2_is_not_low() -> None:
    rec = patient(
        birth="2012-01-01",
        fractures=[fracture("2019-05-01"), fracture("2020-06-01")],
        dxa_scans=[_scan("2021-01-10", {"site": "tblh", "vendor_z_bmc": -1.99})],
    )
    assert run(rec).classification == "not_low"


def test_other_site_counts_too() -> None:
    # every measured site counts [S1][S3]: a femoral-neck aBMD Z −2.1 makes "low"
    rec = patient(
        birth="2012-01-01",
        dxa_scans=[
            _scan(
                "2021-01-10",
                {"site": "spine", "vendor_z_abmd": -1.0},
                {"site": "femoral_neck", "vendor_z_abmd": -2.1},
            )
        ],
    )
    a = run(rec)
    assert a.classification == "low_bone_density"
    assert a.z_score_used is not None
    assert a.z_score_used["site"] == "femoral_neck"


def test_short_child_uses_the_size_adjusted_z_where_one_exists() -> None:
    # Short stature recorded: use HAZ-adjusted Z-scores [S3][S11]. The record has a
    # HAZ-adjusted spine Z −1.2; the unadjusted spine −2.4 and TBLH BMC −2.3 do not decide.
    rec = patient(
        birth="2012-01-01",
        diagnoses=[{"code": "short_stature"}],
        dxa_scans=[
            _scan(
                "2021-01-10",
                {"site": "spine", "vendor_z_abmd": -2.4, "haz_adjusted_z_abmd": -1.2},
                {"site": "tblh", "vendor_z_bmc": -2.3},
            )
        ],
    )
    a = run(rec)
    assert a.z_score_used is not None
    assert a.z_score_used["kind"] == "haz_adjusted"
    assert a.z_score_used["z"] == -1.2
    assert a.classification == "not_low"
    assert "densitometry.size_adjustment_unavailable" not in a.codes()
    used = a.by_code("densitometry.z_used")[0].message_en
    assert "size-adjusted because the child is short or late-maturing" in used
    assert "recorded: short_stature" in used


def test_short_child_without_any_adjusted_z_is_told() -> None:
    rec = patient(
        birth="2012-01-01",
        diagnoses=[{"code": "short_stature"}],
        dxa_scans=[_scan("2021-01-10", {"site": "spine", "vendor_z_abmd": -2.4})],
    )
    a = run(rec)
    assert "densitometry.size_adjustment_unavailable" in a.codes()
    assert (
        "has none at any site"
        in a.by_code("densitometry.size_adjustment_unavailable")[0].message_en
    )


def test_measured_haz_with_a_clinic_cut_off_makes_the_child_short() -> None:
    from pedbone.clinical import AssessOptions

    # height 120 cm at 11 y (girl) is well below −2 HAZ on CDC 2000; clinic cut-off −2.0
    # (clinic setting, not a sourced value [PEDBONE_CLINIC_SETTING])
    rec = patient(
        birth="2010-01-01",
        anthropometry=[{"date": "2021-01-05", "height_cm": 120.0}],
        dxa_scans=[_scan("2021-01-10", {"site": "spine", "vendor_z_abmd": -2.4, "bmad_z": -1.5})],
    )
    plain = run(rec)
    assert plain.z_score_used is not None
    assert plain.z_score_used["kind"] == "vendor"  # no cut-off set: not counted as short
    assert "no short-stature cut-off is set" in plain.by_code("densitometry.z_used")[0].message_en
    assert "PEDBONE_CLINIC_SETTING" in plain.by_code("densitometry.z_used")[0].sources
    short = run(rec, options=AssessOptions(short_stature_haz=-2.0))
    assert short.z_score_used is not None
    assert short.z_score_used["kind"] == "bmad"
    used = short.by_code("densitometry.z_used")[0]
    assert "≤ clinic cut-off -2.00 (clinic setting short_stature_haz" in used.message_en
    assert "PEDBONE_CLINIC_SETTING" in used.sources


def test_growth_reference_by_age() -> None:
    # WHO 2006 under 2 years [WHO2006]; the clinic's pack (CDC 2000 [CDC2000]) from 2 years
    assert growth_pack_for(1.99) == "who2006"
    assert growth_pack_for(2.0) == "cdc2000"
    rec = patient(birth="2020-01-01", anthropometry=[{"date": "2021-01-01", "height_cm": 75.0}])
    a = run(rec)
    assert "growth.haz" in a.codes()
    assert "(who2006)" in a.by_code("growth.haz")[0].message_en


def test_implausible_z_is_a_data_quality_finding_not_a_number() -> None:
    # |Z| bound 8 is a software rule [PEDBONE_PLAUSIBILITY]
    rec = patient(
        birth="2012-01-01",
        dxa_scans=[
            _scan(
                "2021-01-10",
                {"site": "leg", "vendor_z_abmd": 19.5},
                {"site": "spine", "vendor_z_abmd": -1.0},
            )
        ],
    )
    a = run(rec)
    assert "data_quality.implausible_z" in a.codes()
    assert a.by_code("data_quality.implausible_z")[0].sources == ("PEDBONE_PLAUSIBILITY",)
    assert a.z_score_used is not None
    assert a.z_score_used["z"] == -1.0


def test_classification_z_is_the_assessments_choice_for_every_scan() -> None:
    from pedbone.clinical import classification_z

    rec = patient(
        birth="2012-01-01",
        dxa_scans=[
            _scan("2020-01-10", {"site": "spine", "vendor_z_abmd": -1.0}),
            _scan("2021-01-10", {"site": "tblh", "vendor_z_bmc": -2.5, "vendor_z_abmd": -1.5}),
        ],
    )
    series = classification_z(rec, today=run(rec).as_of)
    assert [(z.scan_date.isoformat(), z.value, z.quantity) for z in series] == [
        ("2020-01-10", -1.0, "abmd"),
        ("2021-01-10", -2.5, "bmc"),
    ]
    assert series[-1].low
    a = run(rec)
    assert a.z_score_used is not None
    assert a.z_score_used["z"] == series[-1].value
