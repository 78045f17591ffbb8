"""DXA response through pedbone.clinical.monitoring; supplements through clinical.nutrition."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pedbone.treatment import DxaMeasurement, get_protocol, supplementation_plan, treatment_response

START = date(2026, 12, 1)


def scans() -> list[DxaMeasurement]:
    kw = {"measure": "spine_abmd", "reference": "X", "scanner": "A", "precision_error": 0.01}
    return [
        DxaMeasurement(date(2026, 6, 1), value=0.480, z=-2.7, **kw),  # type: ignore[arg-type]
        DxaMeasurement(date(2026, 11, 1), value=0.500, z=-2.5, **kw),  # type: ignore[arg-type]
        DxaMeasurement(date(2027, 6, 1), value=0.520, z=-2.2, **kw),  # type: ignore[arg-type]
        DxaMeasurement(date(2027, 11, 1), value=0.560, z=-1.9, **kw),  # type: ignore[arg-type]
    ]


def test_response_against_lsc(tmp_path: Path) -> None:
    proto = get_protocol("pamidronate-henderson-2002", tmp_path)
    r = treatment_response(scans(), treatment_start=START, protocol=proto)
    assert r.baseline.date == date(2026, 11, 1)  # last scan before the start
    first, second = r.rows
    # LSC = 2.77 × 0.01 = 0.0277 g/cm² [S15]; +0.020 is within it: (0.52 − 0.5)/0.5 = +4 %
    assert first.change.percent_change == pytest.approx(4.0)
    assert first.change.verdict == "within_lsc"
    assert first.change.lsc == pytest.approx(0.0277)
    # +0.060 ≥ LSC: real increase of (0.56 − 0.5)/0.5 = +12 %; ΔZ = −1.9 − (−2.5) = +0.6
    assert second.change.percent_change == pytest.approx(12.0)
    assert second.change.verdict == "real_increase"
    assert second.change.z is not None
    assert second.change.z.change == pytest.approx(0.6)
    assert second.days_on_treatment == 335
    # review at the end of the 1-year course [S24c]
    assert r.review_due == date(2027, 12, 1)
    assert r.review_sources == ("S24c",)
    d = r.to_dict()
    assert d["rows"][1]["verdict"] == "real_increase"
    assert "clinical judgement" in d["intended_use"]


def test_response_needs_a_baseline_and_one_measure() -> None:
    with pytest.raises(ValueError, match="no baseline scan"):
        treatment_response(scans()[2:], treatment_start=START)
    other = DxaMeasurement(date(2027, 6, 1), "tblh_bmc", 900.0)
    with pytest.raises(ValueError, match="one measure at a time"):
        treatment_response([*scans(), other], treatment_start=START)


def test_response_other_scanner_is_unknown() -> None:
    s = scans()
    s[3] = DxaMeasurement(date(2027, 11, 1), "spine_abmd", 0.56, -1.9, "X", "B", 0.01)
    r = treatment_response(s, treatment_start=START)
    assert r.rows[1].change.verdict == "unknown"
    assert r.review_due is None


def test_supplements_from_clinical_nutrition() -> None:
    sp = supplementation_plan(10.0, 40.0)
    assert sp.ready_for_infusion is False  # < 50 nmol/L [S54]
    assert sp.vitamin_d_status is not None
    assert sp.vitamin_d_status.category == "insufficiency"  # 30-50 nmol/L [S68]
    assert sp.calcium_intake is not None
    assert (sp.calcium_intake.amount, sp.calcium_intake.source) == (1300, "S70")  # 9-13 y RDA
    assert sp.vitamin_d_intake is not None
    assert sp.vitamin_d_intake.amount == 600  # IOM RDA 1-18 y [S70]
    ouh = [r for r in sp.vitamin_d_regimens if r.source == "S56"]
    assert ouh[0].vitamin_d_iu_per_day == (6000.0, 6000.0)  # 12 mo-12 y, 2 months [S56]
    d = sp.to_dict()
    assert {"text": "25(OH)D must be ≥ 50 nmol/L before an infusion.", "source": "S54"} in d[
        "advice"
    ]
    # 20 ng/mL = 50 nmol/L: ready
    assert supplementation_plan(10.0, 20.0, "ng/mL").ready_for_infusion is True
    assert supplementation_plan(10.0).ready_for_infusion is None
