"""Bone profile and turnover markers. CALIPER 2012 (Abbott Architect) [S74], §8.2:
"13–15 y | F | 62 | 280" and "13–15 y | M | 127 | 517" (ALP, U/L); "10–13 y | M+F | 141 | 460";
other markers: no sourced paediatric interval → shown without judgement (§8.1)."""

from __future__ import annotations

from pedbone.clinical import caliper_interval

from ._helpers import patient, run


def test_alp_interval_depends_on_sex_at_13() -> None:
    girl = run(
        patient(
            sex="F",
            birth="2009-01-01",
            labs=[{"date": "2022-06-01", "analyte": "alp", "value": 300, "unit": "U/L"}],
        )
    )
    assert girl.by_code("laboratory.alp.above_interval")[0].inputs["interval"] == [62, 280]
    boy = run(
        patient(
            sex="M",
            birth="2009-01-01",
            labs=[{"date": "2022-06-01", "analyte": "alp", "value": 300, "unit": "U/L"}],
        )
    )
    assert boy.by_code("laboratory.alp.within_interval")[0].inputs["interval"] == [127, 517]


def test_age_bins_are_half_open() -> None:
    # [from, until): exactly 10.0 y belongs to the 10–13 y bin
    iv = caliper_interval("alp", sex="F", age_years=10.0)
    assert iv is not None
    assert (iv.lower, iv.upper) == (141, 460)
    assert caliper_interval("alp", sex="F", age_years=19.0) is None


def test_turnover_markers_are_shown_without_judgement() -> None:
    rec = patient(
        labs=[
            {
                "date": "2022-01-01",
                "analyte": "p1np",
                "value": 510,
                "unit": "ug/L",
                "assay": "Roche Cobas",
                "flag": "high",
            }
        ]
    )
    f = run(rec).by_code("laboratory.p1np.recorded")[0]
    assert f.severity == "info"
    assert "shown without judgement" in f.message_en
    assert "flag high" in f.message_en  # the lab's own flag is echoed, not pedbone's
