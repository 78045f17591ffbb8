"""Pre-infusion checklist: go when everything is in order, hold with the reason otherwise."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from pedbone.treatment import (
    ClinicSettings,
    LabResult,
    PreInfusionInput,
    Protocol,
    get_protocol,
    run_checklist,
)

DOSE = date(2026, 12, 1)
LABS = date(2026, 11, 20)


@pytest.fixture(scope="module")
def za(tmp_path_factory: pytest.TempPathFactory) -> Protocol:
    return get_protocol("zoledronate-ward-2021", tmp_path_factory.mktemp("none"))


@pytest.fixture(scope="module")
def pam(tmp_path_factory: pytest.TempPathFactory) -> Protocol:
    return get_protocol("pamidronate-henderson-2002", tmp_path_factory.mktemp("none"))


def good() -> PreInfusionInput:
    """A 10-year-old boy with everything in order."""
    return PreInfusionInput(
        dose_date=DOSE,
        sex="M",
        age_years=10.0,
        weight_date=date(2026, 11, 25),
        height_cm=140.0,
        corrected_calcium_mmol_l=LabResult(2.40, LABS),  # CALIPER 1-19 y: 2.29-2.63 [S74]
        phosphate_mmol_l=LabResult(1.50, LABS),  # CALIPER 5-13 y: 1.33-1.92 [S74]
        ohd_nmol_l=LabResult(60.0, LABS),  # ≥ 50 nmol/L [S54]
        creatinine_umol_l=LabResult(50.0, LABS),
        dental_review_done=True,
        known_dental_disease=False,
        bisphosphonate_allergy=False,
        previous_acute_phase_reaction=False,
        dehydrated=False,
    )


def test_all_in_order_is_go(za: Protocol) -> None:
    r = run_checklist(za, good())
    assert r.decision == "go"
    assert r.reasons == []
    # eGFR = 0.413 × 140 / (50 / 88.4 mg/dL) = 57.82 / 0.565611 = 102.2 mL/min/1.73 m² [S72]
    renal = r.item("renal function")
    assert renal.status == "ok"
    assert renal.value is not None
    assert renal.value.startswith("eGFR 102.2")
    assert "S73" in renal.sources
    assert r.item("corrected calcium").sources == ("S74",)
    assert r.item("pregnancy").status == "info"  # boy
    assert "does not replace, clinical judgement" in r.to_dict()["intended_use"]


def test_low_calcium_holds(za: Protocol) -> None:
    r = run_checklist(za, replace(good(), corrected_calcium_mmol_l=LabResult(2.20, LABS)))
    assert r.decision == "hold"
    item = r.item("corrected calcium")
    assert item.status == "hold"
    assert "hypocalcaemia is a contraindication" in item.detail
    assert "2.29-2.63" in item.detail
    assert item.sources == ("S74", "S54")


def test_lab_interval_overrides_caliper(za: Protocol) -> None:
    # 2.25 is below CALIPER's 2.29 but inside the lab's own 2.20-2.60
    inp = replace(good(), corrected_calcium_mmol_l=LabResult(2.25, LABS, 2.20, 2.60))
    item = run_checklist(za, inp).item("corrected calcium")
    assert item.status == "ok"
    assert "lab interval 2.2-2.6" in item.detail


def test_low_vitamin_d_holds_with_repletion(za: Protocol) -> None:
    r = run_checklist(za, replace(good(), ohd_nmol_l=LabResult(45.0, LABS)))
    assert r.decision == "hold"
    item = r.item("25-OH vitamin D")
    assert "below 50 nmol/L" in item.detail
    # OUH repletion for 1-12 y: colecalciferol 6000 IU/day for 2 months [S56]
    assert "6000 IU/day for 2 months [S56]" in item.detail
    # exactly 50 is enough [S54]
    ok = run_checklist(za, replace(good(), ohd_nmol_l=LabResult(50.0, LABS)))
    assert ok.item("25-OH vitamin D").status == "ok"


def test_renal_limit_only_where_sourced(za: Protocol, pam: Protocol) -> None:
    # creatinine 200 µmol/L = 2.2624 mg/dL; eGFR = 57.82 / 2.2624 = 25.6 < 35 [S73]
    inp = replace(good(), creatinine_umol_l=LabResult(200.0, LABS))
    r = run_checklist(za, inp)
    assert r.decision == "hold"
    assert r.item("renal function").value is not None
    assert r.item("renal function").value.startswith("eGFR 25.6")  # type: ignore[union-attr]
    assert "below the protocol's limit of 35 mL/min" in r.item("renal function").detail
    # pamidronate has no sourced eGFR limit: renal impairment is a relative contraindication
    # [S54]: creatinine 200 > CALIPER 5-12 y upper limit 54 µmol/L [S74] → attention, not hold
    p = run_checklist(pam, inp)
    item = p.item("renal function")
    assert item.status == "attention"
    assert "relative contraindication" in item.detail
    assert "CALIPER upper limit 54 µmol/L" in item.detail
    assert item.sources == ("S72", "S54", "S74")
    assert p.decision == "go"
    assert any("renal function" in a for a in p.attention)


@pytest.mark.parametrize(
    ("creatinine", "status"),
    [
        (54.0, "ok"),  # CALIPER 5-12 y: 27-54 µmol/L [S74]; 54 is inside (eGFR 94.6)
        (54.1, "attention"),  # above the upper limit: relative contraindication [S54]
        (150.0, "attention"),  # eGFR 0.413 × 140 / (150 / 88.4) = 34.1 [S72]
    ],
)
def test_pamidronate_renal_edges(pam: Protocol, creatinine: float, status: str) -> None:
    r = run_checklist(pam, replace(good(), creatinine_umol_l=LabResult(creatinine, LABS)))
    assert r.item("renal function").status == status
    assert r.decision == "go"


def test_pamidronate_renal_uses_the_lab_interval_when_given(pam: Protocol) -> None:
    # the lab's own upper limit 60 µmol/L wins over CALIPER's 54 [S54]
    inp = replace(good(), creatinine_umol_l=LabResult(58.0, LABS, 20.0, 60.0))
    assert run_checklist(pam, inp).item("renal function").status == "ok"
    inp = replace(good(), creatinine_umol_l=LabResult(61.0, LABS, 20.0, 60.0))
    item = run_checklist(pam, inp).item("renal function")
    assert item.status == "attention"
    assert "the lab's upper limit 60 µmol/L" in item.detail


@pytest.mark.parametrize(
    ("ohd", "status"),
    [
        (250.0, "ok"),  # sufficiency 30–100 ng/mL = 75–250 nmol/L [S69] (× 2.5 [S68])
        (250.1, "attention"),  # above the sourced sufficiency range [S69]
        (400.0, "attention"),
    ],
)
def test_high_vitamin_d_is_flagged(za: Protocol, ohd: float, status: str) -> None:
    item = run_checklist(za, replace(good(), ohd_nmol_l=LabResult(ohd, LABS))).item(
        "25-OH vitamin D"
    )
    assert item.status == status
    if status == "attention":
        assert "above the sufficiency range 30–100 ng/mL (250 nmol/L) [S69]" in item.detail


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("corrected_calcium_mmol_l", 20.0, "calcium 20 mmol/L is not plausible"),
        ("corrected_calcium_mmol_l", -1.0, "calcium -1 mmol/L is not plausible"),
        ("corrected_calcium_mmol_l", 0.49, "calcium 0.49 mmol/L is not plausible"),
        ("corrected_calcium_mmol_l", 5.01, "calcium 5.01 mmol/L is not plausible"),
        ("phosphate_mmol_l", 15.0, "phosphate 15 mmol/L is not plausible"),
        ("ohd_nmol_l", -5.0, "25-OH vitamin D -5 nmol/L is not plausible"),
        ("creatinine_umol_l", 0.5, "creatinine 0.5 µmol/L is not plausible"),
    ],
)
def test_impossible_labs_are_refused_not_judged(
    za: Protocol, field: str, value: float, message: str
) -> None:
    from pedbone.plausibility import ImplausibleValueError

    with pytest.raises(ImplausibleValueError, match=message):
        run_checklist(za, replace(good(), **{field: LabResult(value, LABS)}))


@pytest.mark.parametrize("calcium", [0.5, 5.0])
def test_calcium_at_the_plausibility_limits_is_judged(za: Protocol, calcium: float) -> None:
    # inside [0.5, 5.0] (software rule): judged against CALIPER 2.29-2.63 [S74]
    item = run_checklist(za, replace(good(), corrected_calcium_mmol_l=LabResult(calcium, LABS)))
    assert item.item("corrected calcium").status == ("hold" if calcium < 2.29 else "attention")


def test_old_labs_hold_the_first_cycle_only(pam: Protocol) -> None:
    # 31 Aug is more than 3 months before 1 Dec [S54]
    inp = replace(good(), phosphate_mmol_l=LabResult(1.5, date(2026, 8, 31)))
    r = run_checklist(pam, inp)
    assert r.decision == "hold"
    assert "more than 3 months before the first cycle" in r.item("phosphate").detail
    # 1 Sep is exactly 3 months before: allowed
    ok = run_checklist(pam, replace(good(), phosphate_mmol_l=LabResult(1.5, date(2026, 9, 1))))
    assert ok.item("phosphate").status == "ok"
    later = run_checklist(pam, replace(inp, first_cycle=False))
    assert later.item("phosphate").status == "ok"


def test_missing_items(pam: Protocol) -> None:
    inp = replace(good(), corrected_calcium_mmol_l=None, ohd_nmol_l=None, weight_date=None)
    r = run_checklist(pam, inp)
    assert r.decision == "hold"
    held = {i.item for i in r.items if i.status == "hold"}
    assert held == {"weight", "corrected calcium", "25-OH vitamin D"}


def test_old_weight_holds(pam: Protocol) -> None:
    # 1 Oct → 1 Dec = 61 days > 30 (default clinic setting)
    r = run_checklist(pam, replace(good(), weight_date=date(2026, 10, 1)))
    assert r.item("weight").status == "hold"
    assert "61 days old" in r.item("weight").detail
    s = ClinicSettings(max_weight_age_days=90)
    assert run_checklist(pam, replace(good(), weight_date=date(2026, 10, 1)), s).decision == "go"


def test_dental_pregnancy_allergy_apr_dehydration(za: Protocol) -> None:
    r = run_checklist(za, replace(good(), known_dental_disease=True, dental_review_done=False))
    assert r.item("dental review").status == "hold"
    girl = replace(good(), sex="F", age_years=14.0, phosphate_mmol_l=LabResult(1.5, LABS))
    assert run_checklist(za, girl).item("pregnancy").status == "attention"
    preg = replace(girl, pregnancy_possible=True)
    assert run_checklist(za, preg).item("pregnancy").status == "hold"  # no test yet
    assert run_checklist(za, replace(preg, pregnancy_test="negative")).decision == "go"
    assert run_checklist(za, replace(preg, pregnancy_test="positive")).decision == "hold"
    assert run_checklist(za, replace(good(), bisphosphonate_allergy=True)).decision == "hold"
    apr = run_checklist(za, replace(good(), previous_acute_phase_reaction=True))
    assert apr.decision == "go"
    assert "paracetamol" in apr.item("previous acute-phase reaction").detail
    dry = run_checklist(za, replace(good(), dehydrated=True))
    assert dry.decision == "hold"
    assert dry.item("hydration").sources == ("S73",)


def test_text_output_lists_decision(za: Protocol) -> None:
    text = run_checklist(za, replace(good(), dehydrated=True)).to_text()
    assert "Decision: HOLD" in text
    assert "[HOLD] hydration" in text
