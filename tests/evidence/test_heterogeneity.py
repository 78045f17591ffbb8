"""The heterogeneity read-out: rules fire on the stated thresholds and say why."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from pedbone.bibliography import cite
from pedbone.evidence import heterogeneity_readout, rma, rma_mh
from pedbone.evidence._heterogeneity import I2_BANDS, RULES
from pedbone.evidence._utils import EvidenceInputError

from ._metafor import fixtures


def _bcg() -> tuple[list[float], list[float]]:
    d = fixtures()["uni_data"]["bcg_rr"]
    return d["yi"], d["vi"]


def test_bcg_is_considerable_and_with_diversity_not_defensible() -> None:
    yi, vi = _bcg()
    res = rma(yi, vi)  # I² = 92.2 % (metafor), CI excludes 0, PI [-1.86, 0.43] includes 0
    alloc = fixtures_alloc()
    out = heterogeneity_readout(res, {"allocation": alloc})
    assert out.verdict == "not_defensible"
    rules = {s.rule for s in out.triggered}
    assert {"i2_substantial", "i2_considerable", "q_test", "prediction_interval"} <= rules
    assert "clinical_diversity" in rules
    assert "I² = 92.2 %" in out.headline
    assert out.metrics["i2"] == pytest.approx(92.2213845212761, rel=1e-6)  # metafor
    band = next(s for s in out.statements if s.rule == "i2_band")
    # 92.2 % lies only in the 75-100 % band
    assert band.text == "I² = 92.2 %: considerable heterogeneity."


def fixtures_alloc() -> list[str]:
    # dat.bcg allocation column (random / alternate / systematic), in study order
    return [
        "random", "random", "random", "random", "alternate", "alternate", "random",
        "random", "random", "systematic", "systematic", "systematic", "systematic",
    ]  # fmt: skip


def test_homogeneous_studies_look_defensible() -> None:
    # identical estimates: Q = 0, I² = 0 %, tau² = 0; PI = CI excludes 0
    res = rma([0.5, 0.5, 0.5, 0.5, 0.5], [0.01, 0.02, 0.015, 0.01, 0.02])
    out = heterogeneity_readout(res, {"drug": ["zoledronate"] * 5})
    assert out.verdict == "defensible"
    assert out.triggered == ()
    assert out.headline == "Pooling looks defensible."


def test_i2_bands_overlap_as_the_handbook_says() -> None:
    # I² = 35 % is in both 0-40 % and 30-60 %
    assert [lbl for lo, hi, lbl in I2_BANDS if lo <= 35 <= hi] == [
        "might not be important",
        "may represent moderate heterogeneity",
    ]


def test_moderate_heterogeneity_gives_caution_through_q_only() -> None:
    # Two-study EE fit: Q = (0.0-0.3)^2/(0.01+0.01) = 4.5 on 1 df, p = 0.0339 < 0.10;
    # I² = (4.5-1)/4.5 = 77.8 % -> considerable, but no diversity and no PI (EE) -> caution
    res = rma([0.0, 0.3], [0.01, 0.01], method="EE")
    out = heterogeneity_readout(res)
    assert res.q == pytest.approx(4.5)
    assert out.verdict == "caution"
    assert {s.rule for s in out.triggered} >= {"q_test", "i2_considerable", "few_studies"}
    assert out.headline.endswith("only 2 studies, so Q has little power and I² is imprecise.")


def test_diversity_columns_from_data_and_errors() -> None:
    yi, vi = _bcg()
    df = pl.DataFrame({"alloc": fixtures_alloc(), "design": ["RCT"] * 13})
    out = heterogeneity_readout(rma(yi, vi), ["alloc", "design"], data=df)
    div = [s for s in out.statements if s.rule == "clinical_diversity"]
    assert [s.triggered for s in div] == [True, False]
    assert "random ×7" in div[0].text
    with pytest.raises(EvidenceInputError, match="not in data: dose"):
        heterogeneity_readout(rma(yi, vi), ["dose"], data=df)
    with pytest.raises(EvidenceInputError, match="has 2 values for 13"):
        heterogeneity_readout(rma(yi, vi), {"x": ["a", "b"]})


def test_mantel_haenszel_result_is_read_too() -> None:
    t = fixtures()["tables"]["bcg"]
    out = heterogeneity_readout(rma_mh(ai=t["ai"], bi=t["bi"], ci=t["ci"], di=t["di"]))
    pi = next(s for s in out.statements if s.rule == "prediction_interval")
    assert "Equal-effects model" in pi.text
    assert out.verdict == "caution"


def test_every_rule_cites_a_known_source() -> None:
    for _, source in RULES.values():
        key = source.split()[0]
        assert cite(key).key == key
    text = Path(__file__).resolve().parents[2] / "src/pedbone/evidence/_heterogeneity.py"
    assert re.search(r"\[COCHRANE_HB10", text.read_text(encoding="utf-8"))


def test_summary_lists_triggers_and_sources() -> None:
    yi, vi = _bcg()
    text = heterogeneity_readout(rma(yi, vi)).summary()
    assert "because: I² = 92.2 % >= 50 % [COCHRANE_HB10 §10.10.2]" in text
    assert "Rule:" in text
