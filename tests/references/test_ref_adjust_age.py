"""Size adjustment (BMAD, HAZ-adjusted, height-age) with a SYNTHETIC pack; ages from dates.

The fixture pack (fixtures/synthetic_dxa_pack, made by fixtures/make_synthetic_pack.py) has
invented round numbers: spine_abmd M = 0.50 + 0.03 (age - 5), L 1, S 0.10; spine_bmc M = 20 +
3 (age - 5), L 0, S 0.20; spine_bmad M = 0.20 + 0.005 (age - 5), L 1, S 0.10; femoral_neck_bmad
M = 0.30 + 0.004 (age - 5), L 1, S 0.10; ages 5-20 y, linear interpolation.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pedbone.references import (
    ReferencePack,
    Status,
    UnknownMeasureError,
    bmad,
    bmad_zscore,
    corrected_age,
    decimal_age,
    haz_adjusted_zscore,
    height_age,
    height_age_zscore,
    reference,
    validate,
    who_length_or_height,
)

FIXTURE = Path(__file__).parent / "fixtures" / "synthetic_dxa_pack"


@pytest.fixture(scope="module")
def pack() -> ReferencePack:
    return reference(str(FIXTURE))


def test_fixture_is_marked_synthetic(pack: ReferencePack) -> None:
    assert pack.id == "synthetic_dxa"
    assert pack.meta.synthetic is True
    assert "SYNTHETIC" in pack.title


def test_bmad_formulas_hand_computed() -> None:
    # spine: 30 g / 36 cm2 ^ 1.5 = 30 / 216 = 0.138888... [S13]
    # femoral neck: 4 g / 4 cm2 ^ 2 = 4 / 16 = 0.25 [KATZMAN1991]
    assert float(bmad(30.0, 36.0, site="spine")) == pytest.approx(30 / 216, rel=1e-15)
    assert float(bmad(4.0, 4.0, site="femoral_neck")) == pytest.approx(0.25, rel=1e-15)
    assert np.isnan(bmad([0.0, 5.0, np.nan], [4.0, -1.0, 4.0], site="spine")).all()
    with pytest.raises(ValueError, match="BMAD is defined for sites"):
        bmad(1.0, 1.0, site="radius")


def test_bmad_zscore(pack: ReferencePack) -> None:
    # girl 10 y: spine_bmad M = 0.20 + 0.005*5 = 0.225; BMAD = 30.9375 / 25^1.5 = 30.9375/125
    # = 0.2475 -> z = (0.2475 / 0.225 - 1) / 0.10 = 1.0
    res = bmad_zscore(pack, "spine", sex="F", age_years=10.0, bmc=30.9375, area=25.0)
    assert float(res.z) == pytest.approx(1.0, rel=1e-12)
    assert res.method == "bmad"
    assert res.measure == "spine_bmad"
    assert res.description == "BMAD Z-score (spine_bmad, reference synthetic_dxa)"
    # femoral neck at 15 y: M = 0.30 + 0.004*10 = 0.34; BMAD 4.08/4^2 = 0.255 -> z = -2.5
    fn = bmad_zscore(pack, "femoral_neck", sex="M", age_years=15.0, bmc=4.08, area=4.0)
    assert float(fn.z) == pytest.approx((0.255 / 0.34 - 1) / 0.1, rel=1e-12)
    with pytest.raises(UnknownMeasureError, match="no 'spine_bmad' table"):
        bmad_zscore("cdc2000", "spine", sex="F", age_years=10.0, bmc=30.0, area=25.0)


def test_l_zero_measure_in_pack(pack: ReferencePack) -> None:
    # spine_bmc at 10 y: M = 20 + 15 = 35, L = 0, S 0.2: value 35 e^0.2 -> z = ln(e^0.2)/0.2 = 1
    z = pack.zscore("spine_bmc", sex="M", age_years=10.0, value=35 * math.exp(0.2))
    assert float(z) == pytest.approx(1.0, rel=1e-12)


def test_haz_adjusted_hand_computed(pack: ReferencePack) -> None:
    # girl 10 y: spine_abmd M = 0.65, value 0.598 -> z = (0.598/0.65 - 1)/0.1 = -0.8
    # equation F: 0.1 + 0.4 haz - 0.01 age + 0.005 haz*age, residual SD 0.9
    # haz -2: prediction 0.1 - 0.8 - 0.1 - 0.1 = -0.9; adjusted (-0.8 + 0.9)/0.9 = 0.1111...
    # boy 10 y: value 0.6825 -> z 0.5; equation M: 0.5 haz + 0.001 age^2 (SD 1)
    # haz -1: prediction -0.5 + 0.1 = -0.4; adjusted 0.5 + 0.4 = 0.9
    res = haz_adjusted_zscore(
        pack,
        "spine_abmd",
        sex=["F", "M"],
        age_years=10.0,
        value=[0.598, 0.6825],
        haz=[-2.0, -1.0],
    )
    np.testing.assert_allclose(res.z, [0.1 / 0.9, 0.9], rtol=1e-12)
    assert res.status.tolist() == [0, 0]
    assert res.method == "haz_adjusted"


def test_haz_adjusted_from_height_uses_cdc2000(pack: ReferencePack) -> None:
    # a girl at the CDC 2000 median height for 10 y has HAZ 0 -> prediction 0.1 - 0.1 = 0;
    # adjusted z = z / 0.9 = -0.8 / 0.9
    median = float(reference("cdc2000").value("height", sex="F", age_years=10.0, z=0.0))
    res = haz_adjusted_zscore(
        pack, "spine_abmd", sex="F", age_years=10.0, value=0.598, height=median
    )
    assert float(res.haz) == pytest.approx(0.0, abs=1e-12)
    assert float(res.z) == pytest.approx(-0.8 / 0.9, rel=1e-12)
    assert res.haz_reference == "cdc2000"
    assert "HAZ from cdc2000" in res.description
    # no equation for spine_bmc -> NO_ADJUSTMENT; HAZ outside CDC coverage -> its status
    nb = haz_adjusted_zscore(pack, "spine_bmc", sex="F", age_years=10.0, value=35.0, haz=0.0)
    assert nb.status.tolist() == Status.NO_ADJUSTMENT
    assert np.isnan(nb.z)
    with pytest.raises(ValueError, match="exactly one of height"):
        haz_adjusted_zscore(pack, "spine_abmd", sex="F", age_years=10.0, value=0.6)


def test_height_age_inverts_cdc_median() -> None:
    # CDC 2000 boys: M(119.5 mo) 138.4142703, M(120.5 mo) 138.8234114 (linear between):
    # height 138.8234114 -> 120.5 mo = 10.041666... y; the midpoint 138.61884085 -> 120 mo = 10 y
    ha, st = height_age([138.8234114, 138.61884085, 80.0, np.nan], sex="M")
    np.testing.assert_allclose(ha[:2], [120.5 / 12, 10.0], rtol=1e-12)
    assert st.tolist() == [0, 0, Status.HEIGHT_AGE_OUT_OF_RANGE, Status.VALUE_MISSING]
    assert np.isnan(ha[2:]).all()


def test_height_age_zscore(pack: ReferencePack) -> None:
    # height-age 10 y (boy 138.61884085 cm) -> spine_abmd M 0.65; value 0.715 -> z 1.0
    res = height_age_zscore(pack, "spine_abmd", sex="M", value=0.715, height=138.61884085)
    assert float(res.z) == pytest.approx(1.0, rel=1e-9)
    assert float(res.height_age_years) == pytest.approx(10.0, rel=1e-12)
    assert res.method == "height_age"
    short = height_age_zscore(pack, "spine_abmd", sex="M", value=0.7, height=84.0)
    assert short.status.tolist() == Status.HEIGHT_AGE_OUT_OF_RANGE


def test_decimal_age_days_over_365_25() -> None:
    # 2010-01-01 -> 2020-01-01 = 3652 days (leap days 2012, 2016) -> 3652 / 365.25
    got = decimal_age(["2010-01-01", "2015-06-30", None], ["2020-01-01", "2015-06-29", "2020"])
    assert got[0] == pytest.approx(3652 / 365.25, rel=1e-15)
    assert np.isnan(got[1])  # measured before birth
    assert np.isnan(got[2])  # missing birth date
    one = decimal_age(dt.date(2020, 2, 29), np.datetime64("2021-02-28"))
    assert float(one) == pytest.approx(365 / 365.25)
    with pytest.raises(ValueError, match="not a date"):
        decimal_age("29/02/2020", "2021-01-01")


def test_corrected_age_for_preterm_birth() -> None:
    # born at 28 weeks: correction (40 - 28) weeks = 84 days while under 2 years [ENGLE2004]
    got = corrected_age([0.5, 1.99, 2.0, 0.5, 0.5], [28, 28, 28, np.nan, 41])
    np.testing.assert_allclose(
        got, [0.5 - 84 / 365.25, 1.99 - 84 / 365.25, 2.0, 0.5, 0.5], rtol=1e-15
    )


def test_who_length_height_position_as_anthro() -> None:
    # WHO anthro adjust_lenhei: < 731 d standing -> +0.7 cm; >= 731 d lying -> -0.7 cm
    # 700 d standing 80 -> 80.7; 800 d lying 90 -> 89.3; 730.4 d (rounds to 730) standing -> +0.7;
    # 730.5 d (rounds to 731) lying -> -0.7; matching positions and unknown ones unchanged
    days = np.array([700, 800, 730.4, 730.5, 700, 800, 700])
    got = who_length_or_height(
        [80, 90, 85, 85, 80, 90, 80], days / 365.25, ["H", "l", "h", "L", "L", "H", "?"]
    )
    np.testing.assert_allclose(got, [80.7, 89.3, 85.7, 84.3, 80, 90, 80], rtol=1e-15)


def test_haz_equations_by_age_band(make_pack: Callable[..., Path]) -> None:
    # per-age-band coefficients (as published tables often give them): girls 5-10 y slope 0.5,
    # 10-20 y slope 0.2 (synthetic). z of 0.65 at 10 y (M 0.65) = 0; at 7 y M = 0.56 ->
    # value 0.616 gives z (0.616/0.56 - 1)/0.1 = 1.0.
    rows = [
        ("spine_abmd", s, "", a, 1, round(0.5 + 0.03 * (a - 5), 6), 0.1)
        for s in "MF"
        for a in range(5, 21)
    ]
    measures = {
        "spine_abmd": {"unit": "g/cm2", "age_min": 5, "age_max": 20, "interpolation": "linear"}
    }
    bands = {
        "haz_reference": "cdc2000",
        "source": "synthetic",
        "equations": [
            {
                "measure": "spine_abmd",
                "sex": "F",
                "age_min": 5,
                "age_max": 10,
                "terms": {"haz": 0.5},
            },
            {
                "measure": "spine_abmd",
                "sex": "F",
                "age_min": 10,
                "age_max": 20.01,
                "terms": {"haz": 0.2},
            },
        ],
    }
    pack = reference(str(make_pack(rows, measures=measures, haz_adjustment=bands)))
    res = haz_adjusted_zscore(
        pack,
        "spine_abmd",
        sex="F",
        age_years=[7.0, 10.0, 4.0],
        value=[0.616, 0.65, 0.5],
        haz=-2.0,
    )
    # 7 y: 1.0 - 0.5*(-2) = 2.0; 10 y: 0 - 0.2*(-2) = 0.4; 4 y: outside the pack's ages
    np.testing.assert_allclose(res.z[:2], [2.0, 0.4], rtol=1e-12)
    assert res.status.tolist() == [0, 0, Status.AGE_OUT_OF_RANGE]
    # overlapping bands are refused
    bands["equations"][1]["age_min"] = 9
    bad = make_pack(rows, name="overlap", measures=measures, haz_adjustment=bands)
    assert any("overlap in age (5-10 and 9-20.01 y)" in str(p) for p in validate(bad))


def test_haz_equations_by_group_with_lagrange_pack(make_pack: Callable[..., Path]) -> None:
    # a BMDCS-shaped synthetic pack: groups black/non_black, cubic Lagrange, per-group equations.
    # M = 0.5 + 0.03 (age - 5) is linear, so the cubic reproduces it exactly: M(10.5) = 0.665;
    # value 0.7315 -> z (0.7315/0.665 - 1)/0.1 = 1.0.
    rows = [
        ("spine_abmd", s, g, a, 1, round(0.5 + 0.03 * (a - 5), 6), 0.1)
        for g in ("black", "non_black")
        for s in "MF"
        for a in range(5, 21)
    ]
    measures = {
        "spine_abmd": {"unit": "g/cm2", "age_min": 5, "age_max": 20, "interpolation": "lagrange4"}
    }
    eqs = {
        "source": "synthetic",
        "equations": [
            {"measure": "spine_abmd", "sex": "M", "group": "black", "terms": {"haz": 0.3}},
            {"measure": "spine_abmd", "sex": "M", "group": "non_black", "terms": {"haz": 0.6}},
        ],
    }
    pack = reference(
        str(make_pack(rows, measures=measures, groups=["black", "non_black"], haz_adjustment=eqs))
    )
    res = haz_adjusted_zscore(
        pack,
        "spine_abmd",
        sex="M",
        age_years=10.5,
        value=0.7315,
        haz=-1.0,
        group=["Black", "non_black", "other", "non_black"],
    )
    # black: 1 - 0.3*(-1) = 1.3; non-black: 1 + 0.6 = 1.6; unknown group; HAZ reference default
    np.testing.assert_allclose(res.z[:2], [1.3, 1.6], rtol=1e-12)
    assert res.status.tolist()[2] == Status.GROUP_UNKNOWN
    assert res.haz_reference == "given"
    girls = haz_adjusted_zscore(
        pack, "spine_abmd", sex="F", age_years=10.5, value=0.7315, haz=-1.0, group="black"
    )
    assert girls.status.tolist() == Status.NO_ADJUSTMENT
