"""BMAD from <site>_bmc and <site>_area, scored against a SYNTHETIC pack (invented numbers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from pedbone.references.batch import STATUS_COLUMN, plan_batch, score_frame


def _synthetic_pack(make_pack: Callable[..., Path]) -> str:
    """A pack with only spine_bmad: L=1, M=0.12 g/cm3, S=0.1 at 5 and 20 y, both sexes."""
    rows = [("spine_bmad", sex, "", age, 1, 0.12, 0.1) for sex in "MF" for age in (5, 20)]
    folder = make_pack(
        rows,
        name="synthetic_batch_bmad",
        id="synthetic_batch_bmad",
        title="SYNTHETIC spine BMAD pack for tests (invented numbers, not a reference)",
        measures={
            "spine_bmad": {"unit": "g/cm3", "age_min": 5, "age_max": 20, "interpolation": "linear"}
        },
    )
    return str(folder)


def test_bmad_is_computed_and_scored(make_pack: Callable[..., Path]) -> None:
    pack = _synthetic_pack(make_pack)
    frame = pl.DataFrame(
        {
            "sex": ["F", "M", "F", "F"],
            "age_years": ["10", "12", "10", "10"],
            "spine_bmc": ["30", "36", "30", "x"],
            "spine_area": ["40", "40", "-1", "40"],
        }
    )
    plan = plan_batch(frame.columns, {"dxa": pack})
    # spine_bmc itself has no table in this pack: left unscored, BMAD is scored
    assert [m.column for m in plan.measures] == ["spine_bmad"]
    assert [c for c, _ in plan.unscored] == ["spine_bmc"]
    out = score_frame(frame, plan)
    assert out.columns[-4:] == ["spine_bmad", "spine_bmad_z", "spine_bmad_centile", STATUS_COLUMN]
    # BMAD = 30 / 40^1.5 = 30 / 252.98221 = 0.1185854 g/cm3;  Z = (0.1185854/0.12 - 1)/0.1
    assert out["spine_bmad"][0] == pytest.approx(30 / 40**1.5, rel=1e-12)
    assert out["spine_bmad_z"][0] == pytest.approx(-0.117882, abs=1e-6)
    # 36 / 252.98221 = 0.1423025;  (0.1423025/0.12 - 1)/0.1 = 1.858541
    assert out["spine_bmad_z"][1] == pytest.approx(1.858541, abs=1e-6)
    assert out[STATUS_COLUMN].to_list() == [
        "ok",
        "ok",
        "spine_area:value_not_positive",
        "spine_bmc:not_a_number",
    ]


def test_no_bmad_when_the_pack_lacks_it() -> None:
    plan = plan_batch(["sex", "age_years", "height_cm", "spine_bmc", "spine_area"])
    assert [m.column for m in plan.measures] == ["height_cm"]
    assert {c for c, _ in plan.unscored} == {"spine_bmc", "spine_bmad"}
