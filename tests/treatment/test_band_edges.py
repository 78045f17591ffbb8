"""Every band edge of every shipped protocol, on both sides, as the source writes it.

The expected dose at each edge is read from the source's own words (cited per case): "10–30 kg"
includes both ends, "> 30 kg" excludes 30, "< 40 kg" excludes 40, "≥ 40 kg" includes it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pedbone.treatment import PlanError, ProtocolError, get_protocol, parse_protocol, plan_course

START = date(2026, 12, 1)
WEIGHED = date(2026, 11, 25)
TODAY = date(2026, 11, 26)


@pytest.fixture(scope="module")
def no_clinic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("no-clinic-edges")


def _first_mg(pid: str, folder: Path, weight: float, **kw: object) -> float:
    p = get_protocol(pid, folder)
    plan = plan_course(
        p,
        weight_kg=weight,
        weight_date=WEIGHED,
        start=START,
        today=TODAY,
        **kw,  # type: ignore[arg-type]
    )
    return plan.doses[0].dose_mg


# Risedronate, Bishop 2013 [S49]: "2.5 mg daily (10–30 kg), 5 mg daily (> 30 kg)".
@pytest.mark.parametrize(
    ("weight", "mg"),
    [
        (10.0, 2.5),  # "10–30 kg" includes 10 [S49]
        (10.01, 2.5),
        (29.99, 2.5),
        (30.0, 2.5),  # "10–30 kg" includes 30; "> 30 kg" does not [S49]
        (30.01, 5.0),  # "> 30 kg" [S49]
        (80.0, 5.0),
    ],
)
def test_risedronate_bishop_weight_edges(no_clinic: Path, weight: float, mg: float) -> None:
    assert _first_mg("risedronate-bishop-2013", no_clinic, weight) == mg


def test_risedronate_bishop_below_10_kg_gets_no_dose(no_clinic: Path) -> None:
    # The source gives no dose below 10 kg [S49].
    with pytest.raises(PlanError, match=r"9.99 kg is outside the weight bands"):
        _first_mg("risedronate-bishop-2013", no_clinic, 9.99)


# Alendronate, Ward 2011 [S46]: "5 mg/day if < 40 kg; 10 mg/day if ≥ 40 kg".
@pytest.mark.parametrize(
    ("weight", "mg"),
    [(39.99, 5.0), (40.0, 10.0), (40.01, 10.0)],  # "< 40 kg" excludes 40; "≥ 40 kg" includes it
)
def test_alendronate_ward_weight_edges(no_clinic: Path, weight: float, mg: float) -> None:
    assert _first_mg("alendronate-ward-2011", no_clinic, weight) == mg


# Pamidronate, UK 2-day protocol [S53]: "< 2 y: 0.75 mg/kg/day; 2–3 y: 1.125 mg/kg/day;
# > 3 y: 1.5 mg/kg/day (max 90 mg)". 10 kg child: 7.5 / 11.25 / 15 mg per day.
@pytest.mark.parametrize(
    ("birth", "mg"),
    [
        (date(2024, 12, 2), 7.5),  # 1 day before the 2nd birthday: "< 2 y" [S53]
        (date(2024, 12, 1), 11.25),  # exactly 2.0 y: "2–3 y" includes 2 [S53]
        (date(2023, 12, 2), 11.25),  # 1 day before the 3rd birthday
        (date(2023, 12, 1), 11.25),  # exactly 3.0 y: "2–3 y" includes 3, "> 3 y" does not
        (date(2023, 11, 30), 15.0),  # 3 y and 1 day: "> 3 y" [S53]
    ],
)
def test_pamidronate_uk_age_edges(no_clinic: Path, birth: date, mg: float) -> None:
    assert _first_mg("pamidronate-uk-2day", no_clinic, 10.0, birth_date=birth) == pytest.approx(mg)


def test_pamidronate_uk_age_years_edge_exactly_3(no_clinic: Path) -> None:
    # --age-years 3.0: 1.125 mg/kg × 10 kg = 11.25 mg [S53]; 3.001: 1.5 × 10 = 15 mg
    assert _first_mg("pamidronate-uk-2day", no_clinic, 10.0, age_years=3.0) == pytest.approx(11.25)
    assert _first_mg("pamidronate-uk-2day", no_clinic, 10.0, age_years=3.001) == pytest.approx(15)


def test_every_shipped_band_edge_is_explicit(no_clinic: Path) -> None:
    from pedbone.treatment import available_protocols

    for info in available_protocols(no_clinic):
        for r in info.protocol.regimens:
            for band in (r.age_years, r.weight_kg):
                if band is None:
                    continue
                assert band.min is None or band.min_inclusive is not None
                assert band.max is None or band.max_inclusive is not None


_LOCAL = """\
schema_version: 1
id: edge-test
version: "1"
title: Edge test
drug: pamidronate
route: iv
sources: [S53]
band_by: weight
regimens:
  - weight_kg: {A}
    dose: {{amount: 1, unit: mg/kg}}
    interval: {{every: 3, unit: months}}
    sources: [S53]
  - weight_kg: {B}
    dose: {{amount: 2, unit: mg/kg}}
    interval: {{every: 3, unit: months}}
    sources: [S53]
"""


def test_schema_requires_each_edge_to_say_open_or_closed() -> None:
    text = _LOCAL.format(A="{max: 30}", B="{min: 30, min_inclusive: false}")
    with pytest.raises(ProtocolError, match=r"'max' needs 'max_inclusive: true'"):
        parse_protocol(text)


def test_schema_refuses_an_edge_claimed_by_both_bands() -> None:
    text = _LOCAL.format(A="{max: 30, max_inclusive: true}", B="{min: 30, min_inclusive: true}")
    with pytest.raises(ProtocolError, match=r"meet at 30 and both include it"):
        parse_protocol(text)


def test_schema_refuses_an_edge_claimed_by_neither_band() -> None:
    text = _LOCAL.format(A="{max: 30, max_inclusive: false}", B="{min: 30, min_inclusive: false}")
    with pytest.raises(ProtocolError, match=r"meet at 30 and neither includes it"):
        parse_protocol(text)


def test_schema_refuses_overlapping_bands() -> None:
    text = _LOCAL.format(A="{max: 35, max_inclusive: false}", B="{min: 30, min_inclusive: true}")
    with pytest.raises(ProtocolError, match=r"overlap"):
        parse_protocol(text)


def test_local_band_edges_follow_the_file() -> None:
    text = _LOCAL.format(A="{max: 30, max_inclusive: false}", B="{min: 30, min_inclusive: true}")
    p = parse_protocol(text)
    # [.., 30) → 1 mg/kg; [30, ..) → 2 mg/kg × 30 kg = 60 mg
    mg = plan_course(p, weight_kg=30.0, weight_date=WEIGHED, start=START, today=TODAY)
    assert mg.doses[0].dose_mg == pytest.approx(60.0)
    mg = plan_course(p, weight_kg=29.9, weight_date=WEIGHED, start=START, today=TODAY)
    assert mg.doses[0].dose_mg == pytest.approx(29.9)
