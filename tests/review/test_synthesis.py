"""Synthesis: pooling decision, vote counting with a sign test (R binom.test), harms pooling
(metafor), effect-direction plot. Fixture: fixtures/synthesis_metafor_binomtest.json, made by
fixtures/make_synthesis_fixtures.R."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pedbone.review._derive import Scale
from pedbone.review._synthesis import (
    Direction,
    StudyEffect,
    SynthesisError,
    effect_direction_svg,
    pool_proportions,
    pooling_decision,
    vote_count,
)

FIX = json.loads(
    (Path(__file__).parent / "fixtures" / "synthesis_metafor_binomtest.json").read_text()
)


@pytest.mark.parametrize("case", FIX["proportions"], ids=lambda c: f"{c['id']}-{c['measure']}")
def test_pooled_proportions_equal_metafor(case: dict[str, Any]) -> None:
    r = pool_proportions(case["xi"], case["ni"], measure=case["measure"])
    for ours, theirs in [
        (r.proportion, case["pred"]),
        (r.ci_lb, case["ci_lb"]),
        (r.ci_ub, case["ci_ub"]),
        (r.pi_lb, case["pi_lb"]),
        (r.pi_ub, case["pi_ub"]),
    ]:
        assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-7)
    assert r.tau2 == pytest.approx(case["tau2"], abs=1e-6)
    assert r.events == sum(case["xi"])
    assert r.total == sum(case["ni"])


@pytest.mark.parametrize("case", FIX["binomtest"], ids=lambda c: f"{c['benefit']}-{c['harm']}")
def test_sign_test_equals_binom_test(case: dict[str, Any]) -> None:
    effects = [
        StudyEffect(f"b{i}", "LS aBMD", Scale.Z_CHANGE, 12, yi=0.4, vi=0.1)
        for i in range(case["benefit"])
    ]
    effects += [
        StudyEffect(f"h{i}", "LS aBMD", Scale.Z_CHANGE, 12, yi=-0.2, vi=0.1)
        for i in range(case["harm"])
    ]
    effects.append(StudyEffect("u", "LS aBMD", Scale.Z_CHANGE, 12, direction=Direction.UNCLEAR))
    v = vote_count(effects)
    assert (v.benefit, v.harm, v.unclear) == (case["benefit"], case["harm"], 1)
    assert v.p_value == pytest.approx(case["p"], rel=1e-12)


def test_sign_test_by_hand() -> None:
    # 7 of 8 favour the intervention: p = 2 * (C(8,7) + C(8,8)) / 2^8 = 2 * 9 / 256 = 0.0703125
    effects = [StudyEffect(str(i), "LS", Scale.PERCENT_CHANGE, 12, yi=1.0) for i in range(7)]
    effects.append(StudyEffect("x", "LS", Scale.PERCENT_CHANGE, 12, yi=-1.0))
    assert vote_count(effects).p_value == pytest.approx(0.0703125)
    # lower is better (e.g. fracture rate): the signs swap
    assert vote_count(effects, higher_is_better=False).harm == 7


def _e(study: str, **kw: Any) -> StudyEffect:
    base: dict[str, Any] = {"outcome": "LS aBMD", "scale": Scale.Z_CHANGE, "timepoint_months": 12}
    base.update(kw)
    return StudyEffect(study, **base)


def test_pooling_needs_two_studies_on_one_scale_and_time_point() -> None:
    mixed = pooling_decision(
        [_e("A", yi=0.5, vi=0.04), _e("B", scale=Scale.PERCENT_CHANGE, yi=4.0, vi=2.0)]
    )
    assert not mixed.pool
    assert any("percent change and Z-score change" in r for r in mixed.reasons)
    single = pooling_decision([_e("A", yi=0.5, vi=0.04), _e("B", direction=Direction.BENEFIT)])
    assert not single.pool
    assert any("at least 2" in r for r in single.reasons)
    times = pooling_decision(
        [_e("A", yi=0.5, vi=0.04), _e("B", timepoint_months=24, yi=0.3, vi=0.05)]
    )
    assert not times.pool
    assert any("time points" in r for r in times.reasons)


def test_pooling_with_populations_as_subgroups() -> None:
    d = pooling_decision(
        [
            _e("A", yi=0.5, vi=0.04, population="chronic illness", drug="pamidronate"),
            _e("B", yi=0.3, vi=0.05, population="neuromuscular", drug="alendronate"),
            _e("C", yi=0.6, vi=0.09, population="chronic illness", drug="pamidronate"),
        ]
    )
    assert d.pool
    assert d.subgroups == ("chronic illness", "neuromuscular")
    assert any("drugs differ" in r for r in d.reasons)
    assert d.heterogeneity
    with pytest.raises(SynthesisError):
        pooling_decision([])


def test_effect_direction_plot_escapes_text() -> None:
    svg = effect_direction_svg(
        [
            ("<b>Study</b> 2006", [Direction.BENEFIT, None]),
            ("Klein", [Direction.UNCLEAR, Direction.HARM]),
        ],
        ["LS aBMD", "Fractures & pain"],
    )
    assert "<b>" not in svg
    assert "&lt;b&gt;Study&lt;/b&gt;" in svg
    assert "Fractures &amp; pain" in svg
    assert svg.count("▲") == 2  # one in the plot, one in the legend
    assert svg.count("▼") == 2


def test_bad_counts_are_refused() -> None:
    with pytest.raises(SynthesisError, match="whole numbers"):
        pool_proportions([5, 30], [20, 10])
    with pytest.raises(SynthesisError, match="PLO"):
        pool_proportions([1], [10], measure="PR")
