"""Z-score engine: published values, hand-computed LMS values, interpolation and edge cases."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import pedbone
from pedbone.references import (
    Status,
    UnknownMeasureError,
    UnknownReferenceError,
    lms_value,
    lms_z,
    reference,
    sex_codes,
)

DAY = 1.0 / 365.25  # one day in years (WHO anthro: 30.4375 d per month = 365.25 / 12)


# --- published example values -------------------------------------------------------------


def test_who2006_weight_anthro_published_example() -> None:
    # WHO anthro R package, tests/testthat/test-zscore-weight-for-age.R:
    # anthro_zscore_weight_for_age(17, 1522 days, girl) -> zwei 0.24 (rounded to 2 dp)
    z = reference("who2006").zscore("weight", sex=2, age_years=1522 * DAY, value=17.0)
    assert round(float(z), 2) == 0.24
    # table row F 1522: L -0.3387, M 16.433, S 0.14051
    # -> ((17/16.433)^-0.3387 - 1)/(-0.3387*0.14051)
    assert float(z) == pytest.approx(((17 / 16.433) ** -0.3387 - 1) / (-0.3387 * 0.14051), 1e-12)


def test_who2006_length_anthro_published_example() -> None:
    # anthro tests/testthat/test-zscore-length-for-age.R: boy, 44 days, 50 cm
    # expected ((50 / 56.4833)^1 - 1) / (0.03492 * 1) = -3.2871... (length is not restricted)
    z = reference("who2006").zscore("height", sex="M", age_years=44 * DAY, value=50.0)
    assert float(z) == pytest.approx((50 / 56.4833 - 1) / 0.03492, rel=1e-12)


@pytest.mark.parametrize(
    ("age_months", "height", "weight", "zhfa", "zwfa", "zbfa"),
    [
        # anthroplus tests/testthat/test-zscores.R "computes correct value for age ~ 60
        # months and precision of 3dp" (girls)
        (60.32, 113.8, 18.7, 0.959, 0.212, -0.575),
        (60.911701, 113.6, 20.5, 0.848, 0.795, 0.418),
    ],
)
def test_who2007_anthroplus_published_examples(
    age_months: float, height: float, weight: float, zhfa: float, zwfa: float, zbfa: float
) -> None:
    ref = reference("who2007")
    age = age_months / 12.0
    bmi = weight / (height / 100) ** 2
    assert round(float(ref.zscore("height", sex="F", age_years=age, value=height)), 3) == zhfa
    assert round(float(ref.zscore("weight", sex="F", age_years=age, value=weight)), 3) == zwfa
    assert round(float(ref.zscore("bmi", sex="F", age_years=age, value=bmi)), 3) == zbfa


def test_who2007_age_bounds_follow_anthroplus() -> None:
    # anthroplus 1.1.0 "age upper bounds are exclusive": ages 120, 228.5, 121, 229 months
    # height: ok, ok, ok, NA; weight: ok, NA, NA, NA; and 60 months is supported.
    ref = reference("who2007")
    ages = np.array([120, 228.5, 121, 229, 60, 59.99]) / 12.0
    h = ref.evaluate("height", sex=1, age_years=ages, value=130.0)
    w = ref.evaluate("weight", sex=1, age_years=ages, value=30.0)
    assert np.isnan(h.z).tolist() == [False, False, False, True, False, True]
    assert np.isnan(w.z).tolist() == [False, True, True, True, False, True]
    assert h.status[3] == Status.AGE_OUT_OF_RANGE


# --- hand-computed values -----------------------------------------------------------------


def test_cdc2000_height_linear_between_half_months() -> None:
    # boy, 10.0 y = 120 months, between table rows 119.5 and 120.5 (CDC SAS: linear):
    #   119.5: L 0.499652617  M 138.4142703  S 0.047491194
    #   120.5: L 0.505564115  M 138.8234114  S 0.047610108
    # midpoint: L 0.502608366, M 138.61884085, S 0.047550651
    # z = ((138 / 138.61884085)^0.502608366 - 1) / (0.502608366 * 0.047550651) = -0.0939903427
    ref = pedbone.reference("cdc2000")
    z = ref.zscore("height", sex=["M"], age_years=[10.0], value=[138.0])
    np.testing.assert_allclose(z, [-0.0939903427007], rtol=1e-9)


def test_cdc2000_at_table_age_is_plain_lms() -> None:
    # girl at 24.0 months: L 1.07244896, M 84.97555512, S 0.040791394 (statage.csv row)
    L, M, S = 1.07244896, 84.97555512, 0.040791394
    ref = reference("cdc2000")
    z = ref.zscore("height", sex="F", age_years=2.0, value=90.0)
    assert float(z) == pytest.approx(((90 / M) ** L - 1) / (L * S), rel=1e-12)
    assert float(ref.value("height", sex="F", age_years=2.0, z=0.0)) == pytest.approx(M, 1e-12)
    # centile = 100 * Phi(z)
    c = ref.centile("height", sex="F", age_years=2.0, value=90.0)
    assert float(c) == pytest.approx(100 * 0.5 * math.erfc(-float(z) / math.sqrt(2)), 1e-12)


def test_who2006_restricted_tails_for_weight() -> None:
    # boy 365 d: L 0.0645 M 9.646 S 0.10925. SD_k = M (1 + L S k)^(1/L):
    # SD3 13.3414680961, SD2 11.9833471563, SD-3 6.92597900063, SD-2 7.74067593041
    # y 15: raw z 4.0993, WHO: 3 + (15 - SD3)/(SD3 - SD2) = 4.22119603296
    # y  6: raw z -4.2800, WHO: -3 + (6 - SD-3)/(SD-2 - SD-3) = -4.13659321250
    ref = reference("who2006")
    z = ref.zscore("weight", sex="M", age_years=365 * DAY, value=[15.0, 6.0, 9.646])
    np.testing.assert_allclose(z, [4.22119603296, -4.13659321250, 0.0], rtol=1e-10, atol=1e-12)
    # the inverse follows the same restricted scale
    y = ref.value("weight", sex="M", age_years=365 * DAY, z=z)
    np.testing.assert_allclose(y, [15.0, 6.0, 9.646], rtol=1e-12)
    # head circumference is not restricted: plain LMS beyond |z| > 3
    hc = ref.info("head_circumference")
    assert hc.restricted_tails is False


def test_who2006_days_are_rounded_half_up() -> None:
    # WHO anthro: age in days rounded half up. 365.49 d -> row 365; 365.5 d -> row 366
    # (boys weight M: 365 -> 9.646, 366 -> 9.6535)
    ref = reference("who2006")
    m = ref.value("weight", sex="M", age_years=np.array([365.49, 365.5]) * DAY, z=0.0)
    np.testing.assert_allclose(m, [9.646, 9.6535], rtol=1e-12)
    # coverage: months < 60 (days < 1826.25), table to 1826 days
    st = ref.evaluate("weight", sex="M", age_years=[4.999, 5.0, -0.01], value=18.0).status
    assert st.tolist() == [Status.OK, Status.AGE_OUT_OF_RANGE, Status.AGE_OUT_OF_RANGE]


def test_lagrange4_hand_computed(make_pack: Callable[..., Path]) -> None:
    # synthetic table (years 0,1,2,3; M 10,12,13,15; L 1; S 0.1) -> at 1.5 y the cubic Lagrange
    # weights are -1/16, 9/16, 9/16, -1/16: M = (-10 + 108 + 117 - 15)/16 = 12.5
    rows = [
        ("height", sex, "", a, 1, m, 0.1) for sex in "MF" for a, m in enumerate([10, 12, 13, 15])
    ]
    ref = reference(str(make_pack(rows)))
    m = ref.value("height", sex="F", age_years=1.5, z=0.0)
    assert float(m) == pytest.approx(12.5, rel=1e-12)
    # at 0.5 y (first interval, same four points): weights 5/16, 15/16, -5/16, 1/16
    # M = (50 + 180 - 65 + 15)/16 = 11.25
    assert float(ref.value("height", sex="M", age_years=0.5, z=0.0)) == pytest.approx(11.25)
    # at the table ages the table values come back exactly
    np.testing.assert_allclose(
        ref.value("height", sex="M", age_years=[0, 1, 2, 3], z=0.0), [10, 12, 13, 15]
    )
    # z at 1.5 y for y 13.75: (13.75/12.5 - 1)/0.1 = 1.0 (L = 1)
    assert float(ref.zscore("height", sex="M", age_years=1.5, value=13.75)) == pytest.approx(1.0)


def test_lms_with_l_zero_is_log_form() -> None:
    # L = 0: z = ln(y/M)/S; ln(12/10)/0.1 = 1.8232155679395
    z = lms_z(np.array([12.0]), np.array([0.0]), np.array([10.0]), np.array([0.1]))
    np.testing.assert_allclose(z, [math.log(1.2) / 0.1], rtol=1e-14)
    y = lms_value(z, np.array([0.0]), np.array([10.0]), np.array([0.1]))
    np.testing.assert_allclose(y, [12.0], rtol=1e-14)
    # tiny L converges to the log form without cancellation
    z_small = lms_z(np.array([12.0]), np.array([1e-12]), np.array([10.0]), np.array([0.1]))
    np.testing.assert_allclose(z_small, z, rtol=1e-9)


def test_inverse_undefined_beyond_box_cox_support() -> None:
    # L = 1, S = 0.1: 1 + L S z <= 0 for z <= -10 -> NaN with a status
    y = lms_value(np.array([-10.0, -11.0, 1.0]), np.ones(3), np.full(3, 10.0), np.full(3, 0.1))
    assert np.isnan(y[:2]).all()
    assert y[2] == pytest.approx(11.0)


def test_schafmeyer_groups_and_units() -> None:
    ref = reference("schafmeyer2022")
    assert ref.groups == ("white", "black", "mexican")
    assert ref.info("leg_bmc").unit == "g"  # grams, not g/cm2 (see PROVENANCE)
    # z = 0 at the median: white boys BMD at 8.0 y is 0.758 g/cm2 (rounded, PROVENANCE.md)
    m = ref.value("leg_abmd", sex="M", age_years=8.0, z=0.0, group="White")
    assert float(m) == pytest.approx(0.758, abs=5e-4)
    st = ref.evaluate(
        "leg_abmd", sex="M", age_years=12.0, value=1.0, group=["asian", "black", None]
    ).status
    assert st.tolist() == [Status.GROUP_UNKNOWN, Status.OK, Status.GROUP_UNKNOWN]
    no_group = ref.evaluate("leg_abmd", sex="M", age_years=12.0, value=1.0)
    assert no_group.status.tolist() == Status.GROUP_UNKNOWN
    with pytest.raises(ValueError, match="no population groups"):
        reference("cdc2000").zscore("height", sex="M", age_years=5, value=100, group="white")


# --- edge cases -----------------------------------------------------------------------------


def test_status_codes_and_nan_never_extrapolate() -> None:
    ref = reference("cdc2000")
    res = ref.evaluate(
        "height",
        sex=["M", "F", "X", None, "m", "f", 2, "1", "F"],
        age_years=[10.0, 1.9, 10.0, 10.0, np.nan, 10.0, 10.0, 20.01, 10.0],
        value=[140.0, 80.0, 140.0, 140.0, 140.0, np.nan, 0.0, 170.0, np.inf],
    )
    assert res.status.tolist() == [
        Status.OK,
        Status.AGE_OUT_OF_RANGE,
        Status.SEX_UNKNOWN,
        Status.SEX_UNKNOWN,
        Status.AGE_MISSING,
        Status.VALUE_MISSING,
        Status.VALUE_NOT_POSITIVE,
        Status.AGE_OUT_OF_RANGE,
        Status.VALUE_MISSING,
    ]
    assert np.isfinite(res.z[0])
    assert np.isnan(res.z[1:]).all()
    assert np.isnan(res.centile[1:]).all()
    assert res.ok().tolist() == [True] + [False] * 8
    assert Status.AGE_OUT_OF_RANGE.description.startswith("age outside")


def test_scalars_arrays_and_broadcasting() -> None:
    ref = reference("cdc2000")
    z0 = ref.zscore("weight", sex="F", age_years=8.0, value=25.0)
    assert z0.shape == ()
    grid = ref.zscore(
        "weight", sex=np.array([["M"], ["F"]]), age_years=[6.0, 8.0, 10.0], value=25.0
    )
    assert grid.shape == (2, 3)
    assert grid[1, 1] == pytest.approx(float(z0), rel=1e-15)
    one_by_one = [
        float(ref.zscore("weight", sex=s, age_years=a, value=25.0))
        for s in "MF"
        for a in (6.0, 8.0, 10.0)
    ]
    np.testing.assert_allclose(grid.ravel(), one_by_one, rtol=1e-15)


def test_large_input_crosses_chunks_identically() -> None:
    ref = reference("who2006")
    rng = np.random.default_rng(7)
    n = 40_000  # more than one internal chunk
    sex = rng.integers(1, 3, n)
    age = rng.uniform(0, 4.99, n)
    v = rng.uniform(3, 25, n)
    z = ref.zscore("weight", sex=sex, age_years=age, value=v)
    idx = [0, 12_345, 16_384, 39_999]
    singles = [
        float(ref.zscore("weight", sex=int(sex[i]), age_years=age[i], value=v[i])) for i in idx
    ]
    np.testing.assert_allclose(z[idx], singles, rtol=1e-15)


def test_sex_codings() -> None:
    got = sex_codes(["M", "f", " male ", "FEMALE", "1", "2", "x", ""]).tolist()
    assert got == [0, 1, 0, 1, 0, 1, -1, -1]
    assert sex_codes(np.array([1, 2, 3, 0])).tolist() == [0, 1, -1, -1]
    assert sex_codes(np.array([1.0, 2.0, np.nan])).tolist() == [0, 1, -1]
    assert sex_codes(np.array(["M", "F", "m", "?"])).tolist() == [0, 1, 0, -1]
    assert sex_codes(np.array(["M", None, 2], dtype=object)).tolist() == [0, -1, 1]


def test_unknown_pack_and_measure_give_clear_errors() -> None:
    with pytest.raises(UnknownReferenceError, match="available: cdc2000"):
        reference("bmdcs2011")
    with pytest.raises(UnknownMeasureError, match="has: height, weight, bmi"):
        reference("cdc2000").zscore("spine_abmd", sex="M", age_years=10, value=0.7)


def test_available_lists_builtin_packs_with_coverage() -> None:
    packs = {p.id: p for p in pedbone.references.available()}
    assert {"who2006", "who2007", "cdc2000", "schafmeyer2022"} <= set(packs)
    assert packs["cdc2000"].coverage["height"] == (2.0, 20.0)
    assert packs["who2007"].coverage["weight"] == (5.0, 121 / 12)
    assert "CDC 2000" in packs["cdc2000"].title


def test_threaded_blocks_equal_single_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = reference("cdc2000")
    rng = np.random.default_rng(11)
    n = (1 << 20) + 123  # above the parallel threshold, not a multiple of the chunk size
    sex = rng.integers(0, 4, n)  # includes invalid codes 0 and 3
    age = rng.uniform(1, 21, n)
    v = rng.uniform(60, 200, n)
    monkeypatch.setenv("PEDBONE_THREADS", "1")
    one = ref.evaluate("height", sex=sex, age_years=age, value=v)
    monkeypatch.setenv("PEDBONE_THREADS", "3")
    three = ref.evaluate("height", sex=sex, age_years=age, value=v)
    np.testing.assert_array_equal(one.z, three.z)
    np.testing.assert_array_equal(one.status, three.status)
    assert (one.status == Status.SEX_UNKNOWN).sum() == ((sex == 0) | (sex == 3)).sum()


@pytest.mark.parametrize("interp", ["linear", "lagrange4"])
def test_irregular_table_ages(make_pack: Callable[..., Path], interp: str) -> None:
    # ages 0, 0.3, 1, 2.5, 3 (not on a common grid -> the engine's interval-search path);
    # M = 10, 11, 13, 16, 17; L 1; S 0.1
    ages = [0, 0.3, 1, 2.5, 3]
    ms = [10, 11, 13, 16, 17]
    rows = [("height", s, "", a, 1, m, 0.1) for s in "MF" for a, m in zip(ages, ms, strict=True)]
    measures = {"height": {"unit": "cm", "age_min": 0, "age_max": 3, "interpolation": interp}}
    ref = reference(str(make_pack(rows, measures=measures)))
    assert ref._compiled_for("height").aligned is False
    probe = [0.0, 0.2, 0.3, 0.65, 2.0, 2.9999, 3.0]
    got = ref.value("height", sex="M", age_years=probe, z=0.0)
    if interp == "linear":
        # 0.2: 10 + 0.2/0.3*1 = 10.6667; 0.65: 11 + 0.35/0.7*2 = 12; 2.0: 13 + 1/1.5*3 = 15;
        # 2.9999: 16 + 0.4999/0.5*1 = 16.9998
        want = [10, 10 + 2 / 3, 11, 12, 15, 16 + 0.4999 / 0.5, 17]
    else:
        # cubic through 4 points, by the Lagrange formula written out here
        def lag(x: float, xs: list[float], ys: list[int]) -> float:
            tot = 0.0
            for i, (xi, yi) in enumerate(zip(xs, ys, strict=True)):
                w = 1.0
                for k, xk in enumerate(xs):
                    if k != i:
                        w *= (x - xk) / (xi - xk)
                tot += w * yi
            return tot

        first, last = (ages[:4], ms[:4]), (ages[1:], ms[1:])
        # intervals [0,0.3] and [0.3,1] use points 0..3; [1,2.5] uses 0.3..3 (j-1..j+2);
        # [2.5,3] is the last interval -> last four points
        want = [
            10,
            lag(0.2, *first),
            11,
            lag(0.65, *first),
            lag(2.0, *last),
            lag(2.9999, *last),
            17,
        ]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_who2006_anthro_zscores_published_examples() -> None:
    # WHO anthro, tests/testthat/test-zscores.R (expected z rounded to 2 dp by anthro):
    from pedbone.references import who_length_or_height

    ref = reference("who2006")
    month = 30.4375 * DAY  # anthro: ANTHRO_DAYS_OF_MONTH
    # "length for age uses adjusted lenhei": boy, 987 days, 72.86 cm lying -> zlen -6.09
    h = who_length_or_height(72.86, 987 * DAY, "l")
    assert round(float(ref.zscore("height", sex=1, age_years=987 * DAY, value=h)), 2) == -6.09
    # "young children with measured standing will be adjusted": boy 9 months, 60 cm standing
    # -> clenhei 60.7, zlen -5.02
    h9 = who_length_or_height(60.0, 9 * month, "h")
    assert float(h9) == pytest.approx(60.7)
    assert round(float(ref.zscore("height", sex=1, age_years=9 * month, value=h9)), 2) == -5.02
    # "height measurements are used for age 24 months": girl 24 months (730.5 d -> day 731),
    # 77.5 cm -> zlen -2.55
    assert round(float(ref.zscore("height", sex=2, age_years=24 * month, value=77.5)), 2) == -2.55
    # "adds adjusted lenhei": ages 730, 800, 730, 800 d; measures h, h, l, l; 100 cm
    got = who_length_or_height(100.0, np.array([730, 800, 730, 800]) * DAY, ["h", "h", "l", "l"])
    np.testing.assert_allclose(got, [100.7, 100, 100, 99.3])
    # "zscores are only computed for children younger than 60 months": 59.9, 60, 60.1 months
    ok = ref.evaluate("weight", sex=1, age_years=np.array([59.9, 60, 60.1]) * month, value=20.0)
    assert ok.status.tolist() == [Status.OK, Status.AGE_OUT_OF_RANGE, Status.AGE_OUT_OF_RANGE]
