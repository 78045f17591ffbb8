"""Derivations to an analysable effect [COCHRANE_HB6, WAN2014, LUO2018] and GRADE [GRADE18_2019].

Every expected value is computed by hand below from the formula in the module docstring; the
quantiles are R's: qt(0.975, 24) = 2.063899, qt(0.975, 38) = 2.024394,
2*qnorm((25 - 0.375)/25.25) = 3.928434, 2*qnorm((0.75*30 - 0.125)/30.25) = 1.284653.
"""

from __future__ import annotations

import math

import pytest

from pedbone.review._derive import (
    DeriveError,
    mean_sd_from_median,
    sd_change_from_baseline,
    sd_from_ci,
    sd_from_diff_ci,
    sd_from_diff_p,
    sd_from_se,
)
from pedbone.review._grade import Certainty, GradeError, grade


def test_sd_from_se() -> None:
    d = sd_from_se(0.5, 25)  # 0.5 * sqrt(25) = 2.5
    assert d.value == pytest.approx(2.5)
    assert d.source == "COCHRANE_HB6"
    assert "SE" in d.method


def test_sd_from_ci_of_a_mean_uses_t() -> None:
    # sqrt(25) * (3 - 1) / (2 * 2.063899) = 10 / 4.127797 = 2.422600
    assert sd_from_ci(1.0, 3.0, 25).value == pytest.approx(2.422600, abs=1e-6)


def test_sd_from_the_ci_or_p_of_a_difference() -> None:
    # SE = (3 - (-1)) / (2 * 2.024394) = 0.987949; SD = SE / sqrt(1/20 + 1/20) = 3.124172
    assert sd_from_diff_ci(-1.0, 3.0, 20, 20).value == pytest.approx(3.124172, abs=1e-6)
    # p = 0.05 on 38 df gives t = 2.024394; SE = 2 / t = 0.987949: the same SD
    assert sd_from_diff_p(2.0, 0.05, 20, 20).value == pytest.approx(3.124172, abs=1e-6)


def test_mean_and_sd_from_median_and_range_s1() -> None:
    # Luo: w = 4 / (4 + 25^0.75) = 4 / 15.180340 = 0.263499; mean = w*7 + (1-w)*5 = 5.526998
    # Wan: SD = (12 - 2) / 3.928434 = 2.545544
    mean, sd = mean_sd_from_median(25, 5.0, minimum=2.0, maximum=12.0)
    assert mean.value == pytest.approx(5.526998, abs=1e-6)
    assert sd.value == pytest.approx(2.545544, abs=1e-6)
    assert mean.source == "LUO2018"
    assert sd.source == "WAN2014"


def test_mean_and_sd_from_median_and_iqr_s2() -> None:
    # Luo: w = 0.7 + 0.39/30 = 0.713; mean = 0.713*(3+7)/2 + 0.287*4 = 4.713
    # Wan: SD = (7 - 3) / 1.284653 = 3.113681
    mean, sd = mean_sd_from_median(30, 4.0, q1=3.0, q3=7.0)
    assert mean.value == pytest.approx(4.713, abs=1e-9)
    assert sd.value == pytest.approx(3.113681, abs=1e-6)


def test_mean_and_sd_from_median_range_and_iqr_s3() -> None:
    # n = 40: w1 = 2.2/(2.2 + 40^0.75) = 0.121511, w2 = 0.7 - 0.72/40^0.55 = 0.605333
    # mean = w1*(1+13)/2 + w2*(4+8)/2 + (1-w1-w2)*5 = 5.848354
    # SD = 0.5*(12/xi(40) + 4/eta(40)) = 2.929096
    mean, sd = mean_sd_from_median(40, 5.0, minimum=1.0, maximum=13.0, q1=4.0, q3=8.0)
    assert mean.value == pytest.approx(5.848354, abs=1e-6)
    assert sd.value == pytest.approx(2.929096, abs=1e-6)


def test_impossible_summaries_are_refused() -> None:
    with pytest.raises(DeriveError, match="minimum"):
        mean_sd_from_median(20, 5.0, minimum=6.0, maximum=9.0)
    with pytest.raises(DeriveError, match="give the range"):
        mean_sd_from_median(20, 5.0)
    with pytest.raises(DeriveError, match="≥ 2"):
        sd_from_se(1.0, 1)
    with pytest.raises(DeriveError, match="exceed"):
        sd_from_ci(3.0, 1.0, 10)


def test_change_sd_with_a_stated_correlation_and_its_sensitivity_range() -> None:
    # sqrt(1 + 1 - 2*0.5*1*1) = 1; r = 0 -> sqrt(2); r = 0.8 -> sqrt(0.4) = 0.632456
    main, sens = sd_change_from_baseline(1.0, 1.0, 0.5, sensitivity=(0.0, 0.8))
    assert main.value == pytest.approx(1.0)
    assert sens == {0.0: pytest.approx(math.sqrt(2)), 0.8: pytest.approx(0.632456, abs=1e-6)}
    assert "r = 0.5" in main.method
    with pytest.raises(DeriveError, match="between −1 and 1"):
        sd_change_from_baseline(1.0, 1.0, 1.5)


def test_grade_starts_high_for_trials_and_low_for_observational_studies() -> None:
    assert grade("LS aBMD", randomised=True).certainty is Certainty.HIGH
    assert grade("LS aBMD", randomised=False).certainty is Certainty.LOW
    assert grade("x", randomised=False, start_high_with_robins_i=True).certainty is Certainty.HIGH


def test_grade_steps_down_with_reasons_and_never_below_very_low() -> None:
    r = grade(
        "LS aBMD Z change",
        randomised=True,
        down={"risk_of_bias": (1, "unclear concealment"), "imprecision": (2, "n = 62")},
    )
    # High (4) - 1 - 2 = Very low (1)
    assert r.certainty is Certainty.VERY_LOW
    assert [s.levels for s in r.steps] == [-1, -2]
    assert [s.certainty_after for s in r.steps] == [Certainty.MODERATE, Certainty.VERY_LOW]
    floor = grade("x", randomised=False, down={"inconsistency": (2, "I2 90%")})
    assert floor.certainty is Certainty.VERY_LOW  # Low (2) - 2 floors at Very low
    assert grade("x", randomised=True, down={"imprecision": (3, "one tiny trial")}).certainty is (
        Certainty.VERY_LOW
    )
    with pytest.raises(GradeError, match="1 to 2 levels"):
        grade("x", randomised=True, down={"risk_of_bias": (3, "bad")})
    with pytest.raises(GradeError, match="reason"):
        grade("x", randomised=True, down={"indirectness": (1, " ")})
    assert "rated down 2 for imprecision: n = 62" in r.explanation()


def test_grade_rates_up_only_observational_evidence_without_down_ratings() -> None:
    up = grade("fracture", randomised=False, up={"large_effect": (1, "RR 0.4 in two cohorts")})
    assert up.certainty is Certainty.MODERATE  # Low + 1
    with pytest.raises(GradeError, match="usually only"):
        grade("x", randomised=True, up={"dose_response": (1, "gradient")})
    with pytest.raises(GradeError, match="usually only"):
        grade(
            "x",
            randomised=False,
            down={"imprecision": (1, "wide CI")},
            up={"large_effect": (1, "big")},
        )
    forced = grade(
        "x",
        randomised=False,
        down={"imprecision": (1, "wide CI")},
        up={"large_effect": (2, "RR 0.1")},
        upgrade_reason_despite_rules="panel decision, minutes 3",
    )
    assert forced.certainty is Certainty.MODERATE  # 2 - 1 + 2 = 3
    assert forced.notes
