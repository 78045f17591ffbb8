"""Harms: record validation, per-patient and clinic summaries, binomial intervals vs R."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from pedbone.bibliography import cite
from pedbone.treatment import (
    Harm,
    HarmLog,
    HarmType,
    Infusion,
    Relatedness,
    clopper_pearson_interval,
    proportion,
    wilson_interval,
)

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "binom_ci.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", FIXTURE, ids=lambda c: f"{c['k']}of{c['n']}")
def test_intervals_match_r(case: dict[str, object]) -> None:
    k, n = int(case["k"]), int(case["n"])  # type: ignore[call-overload]
    assert wilson_interval(k, n) == pytest.approx(case["wilson"], abs=1e-9)
    assert clopper_pearson_interval(k, n) == pytest.approx(case["clopper_pearson"], abs=1e-9)


def test_wilson_by_hand() -> None:
    # 3/17 (Acott's flu-like illness [S31]): p = 0.176471, z = 1.959964, z² = 3.841459
    # centre = (p + z²/2n) / (1 + z²/n) = 0.289455 / 1.225968 = 0.236103
    # half = z √(p(1-p)/n + z²/4n²) / (1 + z²/n) = 1.959964 × 0.108958 / 1.225968 = 0.174193
    lo, hi = wilson_interval(3, 17)
    assert lo == pytest.approx(0.236103 - 0.174193, abs=2e-6)
    assert hi == pytest.approx(0.236103 + 0.174193, abs=2e-6)


def test_interval_errors_and_citations() -> None:
    with pytest.raises(ValueError, match="no denominator"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="between 0 and n"):
        clopper_pearson_interval(4, 3)
    with pytest.raises(ValueError, match="unknown interval method"):
        proportion(1, 2, "wald")  # type: ignore[arg-type]
    assert cite(proportion(1, 2).source).text.startswith("Wilson EB")
    assert cite(proportion(1, 2, "clopper-pearson").source).text.startswith("Clopper CJ")


def test_harm_validation() -> None:
    with pytest.raises(ValueError, match="CTCAE grade must be an integer 1-5"):
        Harm("p1", 1, HarmType.ACUTE_PHASE_REACTION, 6, 1, Relatedness.PROBABLE)
    with pytest.raises(ValueError, match="unknown harm type 'rash'"):
        Harm("p1", 1, "rash", 1, 1, Relatedness.PROBABLE)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown relatedness 'maybe'"):
        Harm("p1", 1, HarmType.GASTROINTESTINAL, 1, 1, "maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a description"):
        Harm("p1", 1, HarmType.OTHER, 1, 1, Relatedness.POSSIBLE)
    with pytest.raises(ValueError, match="onset_days must be 0 or more"):
        Harm("p1", 1, HarmType.GASTROINTESTINAL, 1, -1, Relatedness.POSSIBLE)
    h = Harm("p1", 1, "hypocalcaemia", 2, 3, "possible")  # type: ignore[arg-type]
    assert h.type is HarmType.HYPOCALCAEMIA
    assert h.to_dict()["sources"] == ["S38"]
    log = HarmLog()
    with pytest.raises(ValueError, match="no dose 1 recorded"):
        log.add_harm(h)
    log.add_infusion(Infusion("p1", 1, date(2026, 1, 1), "zoledronate-ward-2021", 1.0))
    with pytest.raises(ValueError, match="already recorded"):
        log.add_infusion(Infusion("p1", 1, date(2026, 1, 2), "zoledronate-ward-2021", 1.0))


def clinic() -> HarmLog:
    """3 patients: 3 first doses (2 with APR), 5 later doses (1 with APR)."""
    start = date(2026, 1, 5)
    infusions = []
    for pid, n in (("a", 3), ("b", 3), ("c", 2)):
        for k in range(1, n + 1):
            infusions.append(
                Infusion(pid, k, start + timedelta(days=90 * (k - 1)), "pamidronate-acott-2005", 20)
            )
    apr, gi = HarmType.ACUTE_PHASE_REACTION, HarmType.GASTROINTESTINAL
    harms = [
        Harm("a", 1, apr, 1, 1, Relatedness.PROBABLE),
        Harm("a", 1, apr, 2, 2, Relatedness.PROBABLE),  # same dose: counts once
        Harm("b", 1, apr, 2, 0.5, Relatedness.DEFINITE),
        Harm("b", 3, apr, 1, 1, Relatedness.UNLIKELY),
        Harm("c", 2, gi, 1, 3, Relatedness.POSSIBLE),
    ]
    return HarmLog.from_records(infusions, harms)


def test_rate_first_vs_later() -> None:
    rates = clinic().rate_by_dose(HarmType.ACUTE_PHASE_REACTION)
    first, later = rates["first"], rates["later"]
    assert first is not None
    assert later is not None
    assert (first.k, first.n) == (2, 3)
    assert (later.k, later.n) == (1, 5)
    # R: prop.test(2, 3, correct = FALSE)$conf.int = 0.2076596008 0.9385080553
    assert (first.lower, first.upper) == pytest.approx((0.2076596008, 0.9385080553), abs=1e-9)
    # only harms at least 'possible': b's later APR is 'unlikely' → 0/5
    strict = clinic().rate_by_dose(
        HarmType.ACUTE_PHASE_REACTION, min_relatedness=Relatedness.POSSIBLE
    )
    assert strict["later"] is not None
    assert strict["later"].k == 0
    cp = clinic().rate_by_dose(HarmType.ACUTE_PHASE_REACTION, method="clopper-pearson")
    assert cp["later"] is not None
    # R: binom.test(1, 5)$conf.int = 0.0050507634 0.7164179361
    assert (cp["later"].lower, cp["later"].upper) == pytest.approx(
        (0.0050507634, 0.7164179361), abs=1e-9
    )
    assert str(first).startswith("2/3 = 66.7 % (95 % CI 20.8 to 93.9 %, wilson [WILSON1927])")


def test_patient_and_clinic_summaries() -> None:
    log = clinic()
    a = log.patient_summary("a")
    assert a["doses"] == 3
    assert a["cumulative_mg"] == 60
    apr = a["by_type"]["acute_phase_reaction"]
    assert apr == {
        "count": 2,
        "worst_grade": 2,
        "median_onset_days": 1.5,  # onsets 1 and 2 days
        "after_first_dose": 2,
        "sources": ["S24"],
    }
    s = log.clinic_summary()
    assert (s["patients"], s["doses"], s["first_doses"], s["harms"]) == (3, 8, 3, 5)
    assert s["by_grade"] == {"1": 3, "2": 2}
    gi = s["rates_first_vs_later"]["gastrointestinal"]
    assert gi["first"]["k"] == 0
    assert gi["later"]["k"] == 1
    assert s["rates_first_vs_later"]["hypocalcaemia"]["sources"] == ["S38"]


def test_rate_by_cycle() -> None:
    """Patient x: APR after day 2 of cycle 1 → a later *dose* but the first *cycle*."""
    d0 = date(2026, 1, 5)
    infusions = [
        Infusion("x", 1, d0, "pamidronate-henderson-2002", 20, cycle=1),
        Infusion("x", 2, d0 + timedelta(days=1), "pamidronate-henderson-2002", 20, cycle=1),
        Infusion("x", 3, d0 + timedelta(days=90), "pamidronate-henderson-2002", 20, cycle=2),
        Infusion("y", 1, d0, "pamidronate-henderson-2002", 20, cycle=1),
    ]
    harm = Harm("x", 2, HarmType.ACUTE_PHASE_REACTION, 1, 1, Relatedness.PROBABLE)
    log = HarmLog.from_records(infusions, [harm])
    by_dose = log.rate_by_dose()
    assert by_dose["first"] is not None
    assert by_dose["later"] is not None
    # doses: first = x1, y1 (0 with APR); later = x2, x3 (1 with APR)
    assert (by_dose["first"].k, by_dose["first"].n) == (0, 2)
    assert (by_dose["later"].k, by_dose["later"].n) == (1, 2)
    by_cycle = log.rate_by_dose(unit="cycle")
    assert by_cycle["first"] is not None
    assert by_cycle["later"] is not None
    # cycles: first = x/1, y/1 (x/1 with APR); later = x/2 (none)
    assert (by_cycle["first"].k, by_cycle["first"].n) == (1, 2)
    assert (by_cycle["later"].k, by_cycle["later"].n) == (0, 1)
    no_cycle = HarmLog.from_records([Infusion("z", 1, d0, "p", 1.0)], [])
    with pytest.raises(ValueError, match="no cycle recorded"):
        no_cycle.rate_by_dose(unit="cycle")
