"""Change from baseline and the least significant change. [S15]: "LSC = 2.77 × precision error
(95 % confidence). A change must be ≥ LSC to be called significant; recalculate LSC for a new
scanner or relocation." §2.4: "% change LS aBMD = (BMD_t − BMD_0) / BMD_0 × 100";
"ΔZ = Z_t − Z_0 (use the same reference database ... at both times)"."""

from __future__ import annotations

import pytest

from pedbone.clinical import monitoring

from ._helpers import SCANNER, patient, run, scan


def test_lsc_exactly_met_is_real() -> None:
    # precision 0.010 g/cm² → LSC 0.0277; 0.8000 → 0.8277 is a change of exactly 0.0277
    r = monitoring.compare_measurements("spine_abmd", 0.8, 0.8277, days=365, precision_error=0.01)
    assert r.lsc == pytest.approx(0.0277)
    assert r.verdict == "real_increase"
    assert r.is_real is True
    below = monitoring.compare_measurements(
        "spine_abmd", 0.8, 0.8276, days=365, precision_error=0.01
    )
    assert below.verdict == "within_lsc"
    assert below.is_real is False
    down = monitoring.compare_measurements(
        "spine_abmd", 0.8277, 0.8, days=365, precision_error=0.01
    )
    assert down.verdict == "real_decrease"


def test_percent_change_and_annualised() -> None:
    # (0.84 − 0.80) / 0.80 × 100 = 5 %; over 182 days: 5 × 365.25 / 182 = 10.0343 %/year
    r = monitoring.compare_measurements("spine_abmd", 0.80, 0.84, days=182, precision_error=None)
    assert r.percent_change == pytest.approx(5.0)
    assert r.annualised_percent_change == pytest.approx(5.0 * 365.25 / 182)
    assert r.verdict == "unknown"
    assert r.is_real is None


def test_different_scanner_cannot_be_called_real() -> None:
    r = monitoring.compare_measurements(
        "spine_abmd", 0.8, 0.9, days=365, precision_error=0.01, same_scanner=False
    )
    assert r.verdict == "unknown"
    assert "different scanners" in r.statement("en")


def test_z_change_needs_one_reference() -> None:
    # ΔZ = −1.49 − (−2.13) = +0.64 (ZA GIO RCT numbers [S35] used as inputs)
    z = monitoring.z_change(-2.13, -1.49, days=365, baseline_reference="A", followup_reference="a")
    assert z.change == pytest.approx(0.64)
    bad = monitoring.z_change(-2.0, -1.0, days=365, baseline_reference="A", followup_reference="B")
    assert bad.change is None
    assert "different references" in (bad.reason or "")


def test_lsc_and_percent_change_errors() -> None:
    with pytest.raises(ValueError, match="precision error must be a positive number"):
        monitoring.least_significant_change(0.0)
    with pytest.raises(ValueError, match="baseline must be positive"):
        monitoring.percent_change(0.0, 1.0)
    with pytest.raises(ValueError, match="after the baseline"):
        monitoring.annualise(1.0, 0)


def test_monitoring_in_the_assessment() -> None:
    sc = {**SCANNER, "precision": {"spine_abmd": 0.01}}
    rec = patient(
        dxa_scans=[
            scan("2022-01-01", spine_z=-2.0, abmd_g_cm2=0.8, scanner=sc),
            scan("2023-01-01", spine_z=-1.5, abmd_g_cm2=0.8277, scanner=sc),
        ]
    )
    a = run(rec)
    f = a.by_code("monitoring.spine_abmd.real_increase")[0]
    assert f.inputs["lsc"] == pytest.approx(0.0277)
    assert f.inputs["z_change"] == pytest.approx(0.5)
    assert f.inputs["percent_change"] == pytest.approx(3.4625)  # 0.0277 / 0.8 × 100


def test_z_scores_from_different_references_are_a_data_quality_finding() -> None:
    rec = patient(
        dxa_scans=[
            scan("2022-01-01", spine_z=-2.0, abmd_g_cm2=0.8, reference="Hologic NHANES"),
            scan("2023-01-01", spine_z=-1.5, abmd_g_cm2=0.82, reference="BMDCS 2011"),
        ]
    )
    a = run(rec)
    dq = a.by_code("data_quality.z_reference_mismatch")
    assert dq
    assert dq[0].field == "dxa_scans[1].reference"
    assert a.by_code("monitoring.spine_abmd")[0].inputs["z_change"] is None
