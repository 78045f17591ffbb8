"""25-OH-D status, recommended intakes and regimens, from the digest's tables (§5).

[S68] Global Consensus: "< 30 nmol/L (< 12 ng/mL) | 30–50 nmol/L (12–20 ng/mL) |
> 50 nmol/L (≥ 20 ng/mL)". [S70] IOM: "< 12 ng/mL | 12–20 ng/mL | ≥ 20 ng/mL".
[S69] Endocrine Society: "< 20 ng/mL | 21–29 ng/mL | 30–100 ng/mL".
"""

from __future__ import annotations

import pytest

from pedbone.clinical import nutrition

from ._helpers import patient, run


@pytest.mark.parametrize(
    ("value", "unit", "category"),
    [
        (29.9, "nmol/L", "deficiency"),  # "< 30 nmol/L"
        (30.0, "nmol/L", "insufficiency"),  # "30–50 nmol/L"
        (49.9, "nmol/L", "insufficiency"),
        (50.0, "nmol/L", "sufficiency"),  # "≥ 20 ng/mL" = 50 nmol/L
        (11.9, "ng/mL", "deficiency"),  # 29.75 nmol/L
        (12.0, "ng/mL", "insufficiency"),  # 12 × 2.5 = 30 nmol/L
        (20.0, "ng/mL", "sufficiency"),  # 20 × 2.5 = 50 nmol/L
    ],
)
def test_global_consensus_cut_offs(value: float, unit: str, category: str) -> None:
    st = nutrition.vitamin_d_status(value, unit)
    assert st.category == category
    assert st.source == "S68"


@pytest.mark.parametrize(
    ("ngml", "category"),
    [
        (19.9, "deficiency"),  # "< 20 ng/mL"
        (20.0, "insufficiency"),  # "21–29": 20.0–29.9 read as insufficiency
        (29.9, "insufficiency"),
        (30.0, "sufficiency"),  # "30–100 ng/mL"
        (100.0, "sufficiency"),
        (100.1, "above_range"),
    ],
)
def test_endocrine_society_cut_offs(ngml: float, category: str) -> None:
    st = nutrition.vitamin_d_status(ngml, "ng/mL", scheme="endocrine_society")
    assert (st.category, st.source) == (category, "S69")


def test_iom_cut_offs_and_unit_errors() -> None:
    assert nutrition.vitamin_d_status(11.99, "ng/mL", scheme="iom").category == "deficiency"
    assert nutrition.vitamin_d_status(12, "ng/mL", scheme="iom").category == "insufficiency"
    assert nutrition.vitamin_d_status(20, "ng/mL", scheme="iom").category == "sufficiency"
    with pytest.raises(ValueError, match="unknown 25-OH vitamin D unit"):
        nutrition.vitamin_d_status(50, "mmol/L")
    with pytest.raises(ValueError, match="negative"):
        nutrition.vitamin_d_status(-1, "nmol/L")


@pytest.mark.parametrize(
    ("age", "body", "mg", "kind"),
    [
        (0.4, "iom", 200, "AI"),  # "0–6 mo | 200 (AI)"
        (0.5, "iom", 260, "AI"),  # "6/7–11/12 mo | 260 (AI)"
        (3.99, "iom", 700, "RDA"),  # "1–3 y | 700"
        (4.0, "iom", 1000, "RDA"),  # "4–8 y | 1000"
        (8.99, "iom", 1000, "RDA"),
        (9.0, "iom", 1300, "RDA"),  # "9–13 y | 1300"
        (18.5, "iom", 1300, "RDA"),  # "14–18 y | 1300"
        (10.99, "efsa", 800, "PRI"),  # "800 (4–10 y)"
        (11.0, "efsa", 1150, "PRI"),  # "1150 (11–17 y)"
    ],
)
def test_calcium_recommended_intake_by_age(age: float, body: str, mg: int, kind: str) -> None:
    rec = nutrition.calcium_recommended_intake(age, body=body)  # type: ignore[arg-type]
    assert rec is not None
    assert (rec.amount, rec.kind) == (mg, kind)


def test_no_calcium_value_outside_the_tables() -> None:
    assert nutrition.calcium_recommended_intake(19.0) is None  # IOM table ends at 18 y
    assert nutrition.calcium_recommended_intake(0.3, body="efsa") is None  # EFSA: from 7 mo


def test_calcium_intake_equal_to_rda_meets_it() -> None:
    # age 10 y, IOM RDA 1300 mg/day [S70]; UL 3000 mg/day for 9–18 y [S70b]
    assert not nutrition.assess_calcium_intake(1300, 10.0).below_recommended  # type: ignore[union-attr]
    assert nutrition.assess_calcium_intake(1299, 10.0).below_recommended  # type: ignore[union-attr]
    assert nutrition.assess_calcium_intake(3001, 10.0).above_upper_limit  # type: ignore[union-attr]


def test_vitamin_d_intake() -> None:
    # IOM: 0–12 mo 400 IU (AI); 1–18 y 600 IU [S70]; EFSA 15 µg = 600 IU [S71]
    assert nutrition.vitamin_d_recommended_intake(0.5).amount == 400  # type: ignore[union-attr]
    assert nutrition.vitamin_d_recommended_intake(1.0).amount == 600  # type: ignore[union-attr]
    ul = nutrition.vitamin_d_recommended_intake(10.0, kind="UL")
    assert ul is not None
    assert ul.amount == 4000


def test_deficiency_regimens_by_age() -> None:
    # [S68c] "6 mo–12 y 3000–6400 IU/day ± calcium; 12–18 y 6000 IU/day"
    r5 = nutrition.vitamin_d_regimens(5.0, 25.0)
    assert r5[0].source == "S68c"
    assert r5[0].vitamin_d_iu_per_day == (3000.0, 6400.0)
    # [S68d] "minimum 2000 IU/day for ≥ 3 months plus oral calcium 500 mg/day"
    assert any(r.source == "S68d" and r.calcium == "oral calcium 500 mg/day" for r in r5)
    r12 = nutrition.vitamin_d_regimens(12.0, 25.0)
    assert r12[0].vitamin_d_iu_per_day == (6000.0, 6000.0)
    # [S56] pre-bisphosphonate "if 25(OH)D < 50 ... 12 mo–12 y 6000 IU" for 2 months
    pre = nutrition.vitamin_d_regimens(5.0, 40.0, before_bisphosphonate=True)
    ouh = [r for r in pre if r.source == "S56"]
    assert ouh
    assert ouh[0].vitamin_d_iu_per_day == (6000.0, 6000.0)
    assert ouh[0].duration == "2 months"
    # 30–50 nmol/L: "OTC age-appropriate supplement" [S68c] = 600 IU/day at 5 y [S70]
    ins = nutrition.vitamin_d_regimens(5.0, 40.0)
    assert ins[0].source == "S68c"
    assert ins[0].vitamin_d_iu_per_day == (600.0, 600.0)


def test_vitamin_d_finding_in_the_assessment_converts_units() -> None:
    rec = patient(labs=[{"date": "2022-01-01", "analyte": "25ohd", "value": 12, "unit": "ng/mL"}])
    a = run(rec)
    f = a.by_code("nutrition.vitamin_d.insufficiency")[0]
    assert f.inputs["nmol_per_l"] == 30.0
    assert "nutritional" in a.risk_groups


def test_calcium_intake_below_rda_is_a_nutritional_risk() -> None:
    rec = patient(birth="2012-01-01", calcium_intake=[{"date": "2022-06-01", "mg_per_day": 900}])
    a = run(rec)
    f = a.by_code("nutrition.calcium.below_recommended")[0]
    assert f.inputs["recommended"] == 1300  # 10.4 y → IOM 9–13 y RDA 1300 mg/day
    assert a.risk_groups["nutritional"] == ["nutrition.calcium.below_recommended"]
