"""Hand-computed plans for every shipped protocol, caps, rounding, weight safety, local rules."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from pedbone.treatment import (
    INTENDED_USE,
    ClinicSettings,
    PlanError,
    Protocol,
    TreatmentPlan,
    get_protocol,
    mosteller_bsa,
    parse_protocol,
    plan_course,
)

START = date(2026, 12, 1)
WEIGHED = date(2026, 11, 25)  # 6 days before the start
TODAY = date(2026, 11, 26)


@pytest.fixture(scope="module")
def no_clinic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("no-clinic")


def proto(pid: str, folder: Path) -> Protocol:
    return get_protocol(pid, folder)


def plan(p: Protocol, weight: float, **kw: object) -> TreatmentPlan:
    kw.setdefault("weight_date", WEIGHED)
    kw.setdefault("start", START)
    kw.setdefault("today", TODAY)
    return plan_course(p, weight_kg=weight, **kw)  # type: ignore[arg-type]


def dates(p: TreatmentPlan) -> list[str]:
    return [d.date.isoformat() for d in p.doses]


# -- pamidronate, Henderson 2002 [S24c] ---------------------------------------------------------


def test_henderson_middle_weight(no_clinic: Path) -> None:
    # 1 mg/kg × 23.4 kg = 23.4 mg per day (inside 15-30 mg); 3 days × 5 cycles = 15 doses
    # total 15 × 23.4 = 351 mg; cycles every 3 months from 1 Dec 2026
    p = plan(proto("pamidronate-henderson-2002", no_clinic), 23.4)
    assert [d.dose_mg for d in p.doses] == pytest.approx([23.4] * 15)
    assert dates(p)[::3] == ["2026-12-01", "2027-03-01", "2027-06-01", "2027-09-01", "2027-12-01"]
    assert dates(p)[:3] == ["2026-12-01", "2026-12-02", "2026-12-03"]
    assert p.total_mg == pytest.approx(351.0)
    assert p.doses[-1].cumulative_mg == pytest.approx(351.0)
    assert not any(d.capped for d in p.doses)
    assert p.doses[0].calculation == "1 mg/kg × 23.4 kg = 23.4 mg"
    assert p.doses[0].sources == ("S24c",)
    # weighed 25 Nov 2026: on 1 Mar 2027 that weight is 96 days old (> 30): provisional
    assert p.doses[2].notes == ()
    assert p.doses[3].notes == (
        "provisional: the weight will be 96 days old on this date; weigh again and recompute "
        "before this dose",
    )
    # review at the end of the sourced 1-year course
    assert [(r.date, r.sources) for r in p.reviews] == [(date(2027, 12, 1), ("S24c",))]


def test_henderson_light_child_gets_the_15_mg_floor(no_clinic: Path) -> None:
    # 1 mg/kg × 12 kg = 12 mg < 15 mg minimum → 15 mg; 15 doses × 15 mg = 225 mg
    p = plan(proto("pamidronate-henderson-2002", no_clinic), 12.0)
    assert {d.dose_mg for d in p.doses} == {15.0}
    assert p.total_mg == pytest.approx(225.0)
    assert p.doses[0].computed_mg == pytest.approx(12.0)
    assert "protocol minimum of 15 mg" in p.doses[0].notes[0]
    assert p.doses[0].mg_per_kg == pytest.approx(1.25)  # 15 / 12


def test_henderson_heavy_child_is_capped_at_30_mg(no_clinic: Path) -> None:
    # 1 mg/kg × 35 kg = 35 mg > 30 mg → 30 mg, and the note says so; 15 × 30 = 450 mg
    p = plan(proto("pamidronate-henderson-2002", no_clinic), 35.0)
    assert {d.dose_mg for d in p.doses} == {30.0}
    assert all(d.capped for d in p.doses)
    assert p.doses[0].notes[0].startswith("CAPPED: computed 35 mg is above the protocol maximum")
    assert "[S24c]" in p.doses[0].notes[0]
    assert p.total_mg == pytest.approx(450.0)
    assert any("capped" in w for w in p.warnings)


def test_rounding_step_is_a_clinic_setting(no_clinic: Path) -> None:
    # 23.4 mg to the nearest 0.5 mg = 23.5 mg; 15 × 23.5 = 352.5 mg
    s = ClinicSettings(rounding_step_mg=0.5, origin="clinic.yaml")
    p = plan(proto("pamidronate-henderson-2002", no_clinic), 23.4, settings=s)
    assert {d.dose_mg for d in p.doses} == {23.5}
    assert (
        p.doses[0].notes[0]
        == "rounded 23.4 → 23.5 mg (rounding step 0.5 mg: clinic setting, clinic.yaml)"
    )
    assert p.total_mg == pytest.approx(352.5)
    # rounding never leaves the caps: 29.9 mg to the nearest 5 mg = 30 (ok); 14.6 → 15 (floor)
    s5 = ClinicSettings(rounding_step_mg=5)
    assert plan(proto("pamidronate-henderson-2002", no_clinic), 29.9, settings=s5).doses[
        0
    ].dose_mg == pytest.approx(30.0)
    # per-drug step wins: zoledronic acid 0.05 mg/kg × 23.4 kg = 1.17 → 1.2 mg (step 0.1)
    s_by = ClinicSettings(rounding_step_mg=5, rounding_step_mg_by_drug={"zoledronic acid": 0.1})
    za = plan(proto("zoledronate-ward-2021", no_clinic), 23.4, settings=s_by)
    assert za.doses[0].dose_mg == pytest.approx(1.2)
    # a protocol may carry its own step; the clinic's per-drug step still wins
    local = parse_protocol(
        LOCAL.replace("max_mg_per_year: 15\n", "rounding_step_mg: 1\n").replace(
            "max_mg_per_year_sources: [LOC]\n", ""
        )
    )
    # first day: 5 mg/m² × 1.3 m² = 6.5 mg → 7 mg (protocol step 1 mg, halves round up)
    q = plan(local, 36.0, bsa_m2=1.3, settings=ClinicSettings(rounding_step_mg=0.1))
    assert q.doses[0].dose_mg == 7.0
    assert "rounding step 1 mg: protocol local-bsa" in q.doses[0].notes[-1]
    q2 = plan(
        local,
        36.0,
        bsa_m2=1.3,
        settings=ClinicSettings(rounding_step_mg_by_drug={"pamidronate": 0.5}),
    )
    assert q2.doses[0].dose_mg == 6.5


# -- weight safety -----------------------------------------------------------------------------


def test_no_dose_without_a_weight(no_clinic: Path) -> None:
    p = proto("zoledronate-ward-2021", no_clinic)
    with pytest.raises(PlanError, match="no dose is computed without a weight"):
        plan_course(p, weight_kg=None, weight_date=WEIGHED, start=START, today=TODAY)
    with pytest.raises(PlanError, match="no dose is computed without a weight"):
        plan_course(p, weight_kg=23.4, weight_date=None, start=START, today=TODAY)
    with pytest.raises(PlanError, match="weight 0 kg is not plausible"):
        plan(p, 0.0)
    with pytest.raises(PlanError, match="weight nan kg is not plausible"):
        plan(p, math.nan)


@pytest.mark.parametrize("weight", [0.01, 0.19, 250.01, 300.0, 3000.0, 32000.0, -1.0])
def test_implausible_weight_plans_nothing(no_clinic: Path, weight: float) -> None:
    # Limits 0.2-250 kg are a software rule [PEDBONE_PLAUSIBILITY], not a clinical value:
    # 300 kg would have given 0.05 × 300 = 15 mg zoledronic acid.
    p = proto("zoledronate-ward-2021", no_clinic)
    with pytest.raises(PlanError, match=r"not plausible: pedbone accepts 0.2–250 kg.*"
                       r"PEDBONE_PLAUSIBILITY.*Nothing was planned"):  # fmt: skip
        plan(p, weight)


@pytest.mark.parametrize("weight", [0.2, 250.0])
def test_weight_at_the_plausibility_limits_is_planned(no_clinic: Path, weight: float) -> None:
    # 0.05 mg/kg × 0.2 kg = 0.01 mg; × 250 kg = 12.5 mg (limits are closed) [S35]
    p = plan(proto("zoledronate-ward-2021", no_clinic), weight)
    assert p.doses[0].dose_mg == pytest.approx(0.05 * weight)


def test_implausible_age_and_height_plan_nothing(no_clinic: Path) -> None:
    uk = proto("pamidronate-uk-2day", no_clinic)
    with pytest.raises(PlanError, match="age -1 years is not plausible"):
        plan(uk, 10.0, age_years=-1.0)
    with pytest.raises(PlanError, match="age 121 years is not plausible"):
        plan(uk, 10.0, age_years=121.0)
    with pytest.raises(PlanError, match="height 1400 cm is not plausible"):
        plan(uk, 10.0, age_years=5.0, height_cm=1400.0)
    with pytest.raises(PlanError, match="birth date 2027-01-01 is after the start date"):
        plan(uk, 10.0, birth_date=date(2027, 1, 1))


def test_old_weight_blocks_the_plan(no_clinic: Path) -> None:
    p = proto("zoledronate-ward-2021", no_clinic)
    # 1 Nov → 1 Dec = 30 days: exactly at the default limit, allowed
    assert plan(p, 23.4, weight_date=date(2026, 11, 1)).doses
    # 31 Oct → 1 Dec = 31 days > 30
    with pytest.raises(PlanError, match=r"31 days old .* limit is 30 days .*max_weight_age_days"):
        plan(p, 23.4, weight_date=date(2026, 10, 31))
    # a clinic that allows 60 days
    s = ClinicSettings(max_weight_age_days=60)
    assert plan(p, 23.4, weight_date=date(2026, 10, 31), settings=s).doses


def test_future_weight_is_refused(no_clinic: Path) -> None:
    p = proto("zoledronate-ward-2021", no_clinic)
    with pytest.raises(PlanError, match="in the future"):
        plan(p, 23.4, weight_date=date(2026, 11, 27))
    with pytest.raises(PlanError, match="after the start date"):
        plan(p, 23.4, weight_date=date(2026, 12, 2), start=START, today=date(2026, 12, 5))


# -- other shipped protocols -------------------------------------------------------------------


def test_acott_every_60_days(no_clinic: Path) -> None:
    # 1 mg/kg × 20 kg = 20 mg on days 0, 60, ..., 360 (< 365 days of the 1-year course): 7 doses
    p = plan(proto("pamidronate-acott-2005", no_clinic), 20.0)
    assert dates(p) == [
        "2026-12-01",  # day 0
        "2027-01-30",  # day 60
        "2027-03-31",  # day 120
        "2027-05-30",  # day 180
        "2027-07-29",  # day 240
        "2027-09-27",  # day 300
        "2027-11-26",  # day 360
    ]
    assert p.total_mg == pytest.approx(140.0)
    assert p.reviews[0].date == date(2027, 12, 1)
    assert p.reviews[0].sources == ("S31",)


def test_annual_pamidronate_needs_the_clinic_split(no_clinic: Path) -> None:
    p = proto("pamidronate-9mgkg-year", no_clinic)
    with pytest.raises(PlanError, match="annual dose only; choose cycles_per_year"):
        plan(p, 20.0)
    with pytest.raises(PlanError, match="must be 1, 2, 3, 4, 6 or 12"):
        plan(p, 20.0, cycles_per_year=5)
    # 9 mg/kg/year ÷ 4 cycles ÷ 3 days = 0.75 mg/kg/day; × 20 kg = 15 mg/day
    # 2-year course: 8 cycles × 3 days × 15 mg = 360 mg = 9 × 20 × 2
    q = plan(p, 20.0, cycles_per_year=4, days_per_cycle=3)
    assert {d.dose_mg for d in q.doses} == {15.0}
    assert len(q.doses) == 24
    assert q.total_mg == pytest.approx(360.0)
    assert q.mg_per_year() == pytest.approx({1: 180.0, 2: 180.0})
    assert q.doses[0].calculation.startswith("clinic split: 9 mg/kg/year ÷ 4 cycles ÷ 3 days")


def test_uk_two_day_bands_follow_age_at_each_cycle(no_clinic: Path) -> None:
    p = proto("pamidronate-uk-2day", no_clinic)
    with pytest.raises(PlanError, match="by age band"):
        plan(p, 10.0)
    # born 1 Jun 2025: 1.5 y at the start → < 2 y band, 0.75 mg/kg × 10 kg = 7.5 mg × 2 days,
    # every 2 months: 1 Dec, 1 Feb, 1 Apr. On 1 Jun 2027 the child is 2.0 → 2-3 y band:
    # 1.125 mg/kg × 10 kg = 11.25 mg × 2 days every 3 months: 1 Jun, 1 Sep (1 Dec 2027 is the
    # end of the 12-month planning horizon). Total 3×2×7.5 + 2×2×11.25 = 45 + 45 = 90 mg.
    q = plan(p, 10.0, birth_date=date(2025, 6, 1))
    assert dates(q)[::2] == ["2026-12-01", "2027-02-01", "2027-04-01", "2027-06-01", "2027-09-01"]
    assert [d.dose_mg for d in q.doses] == pytest.approx([7.5] * 6 + [11.25] * 4)
    assert q.total_mg == pytest.approx(90.0)
    assert q.doses[-1].regimen == "2-3 years"
    assert "2027-09-01 cycle 5 day 1/2 [2-3 years]: 11.25 mg" in q.to_text()
    assert q.reviews == ()  # the source gives no course length
    assert any("no review date" in w for w in q.warnings)


def test_uk_two_day_heavy_teenager_capped_at_90_mg(no_clinic: Path) -> None:
    # 1.5 mg/kg × 70 kg = 105 mg > 90 mg → 90 mg; 4 cycles × 2 days × 90 = 720 mg in 12 months
    q = plan(proto("pamidronate-uk-2day", no_clinic), 70.0, age_years=14.0)
    assert {d.dose_mg for d in q.doses} == {90.0}
    assert q.doses[0].computed_mg == pytest.approx(105.0)
    assert q.total_mg == pytest.approx(720.0)
    assert "[S53]" in q.doses[0].notes[0]


def test_zoledronate_every_6_months(no_clinic: Path) -> None:
    # 0.05 mg/kg × 23.4 kg = 1.17 mg; 1 Dec and 1 Jun in the 12-month horizon
    p = plan(proto("zoledronate-ward-2021", no_clinic), 23.4)
    assert [(d.date.isoformat(), d.dose_mg) for d in p.doses] == [
        ("2026-12-01", pytest.approx(1.17)),
        ("2027-06-01", pytest.approx(1.17)),
    ]
    assert p.doses[0].first_dose
    assert not p.doses[1].first_dose
    # heavy child: 0.05 × 60 = 3.0 mg, no cap (a paediatric maximum is not confirmed)
    h = plan(proto("zoledronate-ward-2021", no_clinic), 60.0)
    assert h.doses[0].dose_mg == pytest.approx(3.0)
    assert not h.doses[0].notes


def test_zoledronate_annual_in_four_doses(no_clinic: Path) -> None:
    # 0.1 mg/kg/year ÷ 4 = 0.025 mg/kg × 20 kg = 0.5 mg every 3 months; 2 years = 8 doses, 4 mg
    p = plan(proto("zoledronate-0.1mgkg-year", no_clinic), 20.0)
    assert [d.dose_mg for d in p.doses] == pytest.approx([0.5] * 8)
    assert len(p.doses) == 8
    assert p.total_mg == pytest.approx(4.0)
    assert p.reviews[0].date == date(2028, 12, 1)
    with pytest.raises(PlanError, match="fixes 4 cycles per year"):
        plan(proto("zoledronate-0.1mgkg-year", no_clinic), 20.0, cycles_per_year=2)


def test_neridronate_light_and_capped(no_clinic: Path) -> None:
    # 2 mg/kg × 30 kg = 60 mg every 3 months for 3 years = 12 doses, 720 mg
    p = plan(proto("neridronate-idolazzi-2017", no_clinic), 30.0)
    assert len(p.doses) == 12
    assert p.total_mg == pytest.approx(720.0)
    # 2 mg/kg × 60 kg = 120 mg > 100 mg → 100 mg
    h = plan(proto("neridronate-idolazzi-2017", no_clinic), 60.0)
    assert h.doses[0].dose_mg == 100.0
    assert h.doses[0].capped


def test_oral_alendronate_daily(no_clinic: Path) -> None:
    # 10 mg daily from 1 Dec 2026 to 30 Nov 2027 (1-year course): 365 doses, 3650 mg
    p = plan(proto("alendronate-golden-2005", no_clinic), 45.0)
    (line,) = p.doses
    assert line.dose_mg == 10.0
    assert line.count == 365
    assert line.until == date(2027, 11, 30)
    assert p.total_mg == pytest.approx(3650.0)
    assert p.advice[0].topic == "calcium"  # no infusion advice for an oral drug


def test_oral_weight_bands(no_clinic: Path) -> None:
    ward = proto("alendronate-ward-2011", no_clinic)
    assert plan(ward, 39.9).doses[0].dose_mg == 5.0  # < 40 kg
    assert plan(ward, 40.0).doses[0].dose_mg == 10.0  # >= 40 kg
    bishop = proto("risedronate-bishop-2013", no_clinic)
    assert plan(bishop, 29.9).doses[0].dose_mg == 2.5
    # "2.5 mg daily (10–30 kg), 5 mg daily (> 30 kg)" [S49]: 30.0 kg is in 10–30 kg
    assert plan(bishop, 30.0).doses[0].dose_mg == 2.5
    assert plan(bishop, 30.1).doses[0].dose_mg == 5.0
    with pytest.raises(PlanError, match=r"9 kg is outside the weight bands .* no dose"):
        plan(bishop, 9.0)


def test_oral_risedronate_per_kg(no_clinic: Path) -> None:
    # 0.05 mg/kg × 23.4 kg = 1.17 mg daily
    p = plan(proto("risedronate-iwasaki", no_clinic), 23.4)
    assert p.doses[0].dose_mg == pytest.approx(1.17)
    assert p.doses[0].sources == ("S45",)


# -- local protocols: first-cycle dose, BSA, per-year cap ---------------------------------------

LOCAL = """\
schema_version: 1
id: local-bsa
version: "1"
title: Local per-m2 test protocol
drug: pamidronate
route: iv
sources: [LOC]
local_sources: {LOC: "Test clinic protocol, for the test suite only"}
regimens:
  - dose: {amount: 10, unit: mg/m2}
    interval: {every: 6, unit: months}
    sources: [LOC]
first_cycle:
  first_day_dose: {amount: 5, unit: mg/m2}
  sources: [LOC]
max_mg_per_year: 15
max_mg_per_year_sources: [LOC]
"""


def test_local_bsa_first_cycle_and_yearly_cap() -> None:
    p = parse_protocol(LOCAL)
    # BSA = √(150 cm × 36 kg / 3600) = √1.5 = 1.224745 m² [MOSTELLER1987]
    bsa = math.sqrt(1.5)
    assert mosteller_bsa(150, 36) == pytest.approx(bsa)
    q = plan(p, 36.0, height_cm=150.0, cycles=3)
    assert q.bsa_m2 == pytest.approx(bsa)
    assert q.bsa_source == "MOSTELLER1987"
    first, second, third = q.doses[:3]
    # day 1 of cycle 1: 5 mg/m² × 1.224745 = 6.123724 mg (the protocol's first-cycle dose)
    assert first.dose_mg == pytest.approx(5 * bsa)
    assert "first-cycle" in first.notes[0]
    # 1 Jun 2027: 10 mg/m² × 1.224745 = 12.247449 mg, but only 15 - 6.123724 = 8.876276 mg
    # remain in plan year 1 → capped to 8.876276 mg
    assert second.computed_mg == pytest.approx(10 * bsa)
    assert second.dose_mg == pytest.approx(15 - 5 * bsa)
    assert second.capped
    assert "plan year 1" in second.notes[-1]
    # 1 Dec 2027 starts plan year 2: full 12.247449 mg
    assert third.date == date(2027, 12, 1)
    assert third.dose_mg == pytest.approx(10 * bsa)
    assert q.mg_per_year()[1] == pytest.approx(15.0)
    # not bisphosphonate-naive: no first-cycle reduction
    r = plan(p, 36.0, height_cm=150.0, bisphosphonate_naive=False)
    assert r.doses[0].dose_mg == pytest.approx(10 * bsa)
    # given BSA wins; without BSA or height → error
    assert plan(p, 36.0, bsa_m2=1.0).doses[1].dose_mg == pytest.approx(10.0)
    with pytest.raises(PlanError, match="per m²"):
        plan(p, 36.0)


def test_prior_cumulative_dose_and_cycles_override(no_clinic: Path) -> None:
    # 2 cycles × 3 days × 23.4 mg = 140.4 mg; plus 100 mg given before = 240.4 mg
    p = plan(
        proto("pamidronate-henderson-2002", no_clinic), 23.4, cycles=2, prior_cumulative_mg=100
    )
    assert len(p.doses) == 6
    assert p.cumulative_mg == pytest.approx(240.4)
    assert p.doses[-1].cumulative_mg == pytest.approx(240.4)
    with pytest.raises(PlanError, match="cannot be negative"):
        plan(proto("pamidronate-henderson-2002", no_clinic), 23.4, prior_cumulative_mg=-1)


def test_plan_dict_traces_every_number(no_clinic: Path) -> None:
    p = plan(proto("pamidronate-henderson-2002", no_clinic), 35.0, on_glucocorticoids=True)
    d = p.to_dict()
    assert d["intended_use"] == INTENDED_USE
    assert "does not replace, clinical judgement" in d["intended_use"]
    assert d["protocol"]["id"] == "pamidronate-henderson-2002"
    assert d["protocol"]["sources"] == ["S29", "S24c"]
    assert all(x["sources"] for x in d["doses"])
    assert d["doses"][0]["capped"] is True
    assert d["total_mg"] == 450.0
    topics = [a["topic"] for a in d["advice"]]
    assert "glucocorticoids" in topics  # sick-day steroid cover [S55]
    assert {"S55", "S54"} <= set(d["sources"])
    text = p.to_text()
    assert "[pamidronate-henderson-2002]" in text
    assert INTENDED_USE in text
    assert "CAPPED" in text


def test_settings_and_oral_cap_errors() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ClinicSettings(rounding_step_mg_by_drug={"pamidronate": 0})
    oral = LOCAL.replace("route: iv", "route: oral").replace("unit: mg/m2", "unit: mg/kg")
    with pytest.raises(PlanError, match="per-year cap on a continuous oral regimen"):
        plan(parse_protocol(oral), 36.0)
