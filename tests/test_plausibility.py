"""pedbone.plausibility: one limit, one message, both sides of every edge."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pedbone import plausibility as pl
from pedbone.bibliography import cite


def test_every_limit_cites_the_documented_software_rule() -> None:
    for lim in pl.LIMITS.values():
        assert lim.source == "PEDBONE_PLAUSIBILITY"
        assert lim.reason
        assert lim.low < lim.high
    assert "software rule" in cite("PEDBONE_PLAUSIBILITY").text
    assert "not a clinical reference value" in cite("PEDBONE_PLAUSIBILITY").text


@pytest.mark.parametrize("quantity", sorted(pl.LIMITS))
def test_both_sides_of_every_edge(quantity: str) -> None:
    lim = pl.LIMITS[quantity]
    step = (lim.high - lim.low) * 1e-6
    assert pl.is_plausible(quantity, lim.low)
    assert pl.is_plausible(quantity, lim.high)
    assert not pl.is_plausible(quantity, lim.low - step)
    assert not pl.is_plausible(quantity, lim.high + step)
    assert not pl.is_plausible(quantity, math.nan)
    assert not pl.is_plausible(quantity, math.inf)


def test_one_message() -> None:
    with pytest.raises(pl.ImplausibleValueError) as exc:
        pl.check("weight", 32000)
    assert str(exc.value) == (
        "weight 32000 kg is not plausible: pedbone accepts 0.2–250 kg (no child or young adult "
        "has a value outside this range; catches g/lb/typing errors; software rule "
        "[PEDBONE_PLAUSIBILITY]). Check the value and its unit."
    )
    assert exc.value.quantity == "weight_kg"
    assert isinstance(exc.value, ValueError)  # CLI exit 2, API 422
    assert pl.check("calcium", 2.4) == 2.4
    assert pl.check_optional("calcium", None) is None


def test_units_pick_the_limit() -> None:
    # creatinine 1.2 is plausible in mg/dL (limit 0.05-28) but not in µmol/L (5-2500)
    assert pl.is_plausible("creatinine", 1.2, "mg/dL")
    assert not pl.is_plausible("creatinine", 1.2, "umol/L")
    assert pl.limit_for("spine_abmd") is pl.LIMITS["abmd_g_cm2"]
    assert pl.limit_for("tblh_bmc") is pl.LIMITS["bmc_g"]
    assert pl.limit_for("unknown_thing") is None


def test_mask_treats_missing_as_not_implausible() -> None:
    mask = pl.implausible_mask("weight", [20.0, np.nan, 32000.0, 0.1, np.inf])
    assert mask.tolist() == [False, False, True, True, True]


def test_z_bound() -> None:
    assert pl.Z_ABS_MAX == 8.0
    assert pl.check_z(-8.0) == -8.0
    with pytest.raises(pl.ImplausibleValueError, match=r"Z-score 19.5 is not plausible"):
        pl.check_z(19.5)


def test_the_docs_table_is_the_module() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "clinical.md").read_text("utf-8")
    for lim in pl.LIMITS.values():
        assert f"| {lim.label} (`{lim.quantity}`) | {lim.low:g}–{lim.high:g} |" in doc


def test_check_lab_uses_the_reported_unit() -> None:
    assert pl.check_lab("calcium", 2.4, "mmol/L") == 2.4
    with pytest.raises(pl.ImplausibleValueError, match="calcium 20 mmol/L is not plausible"):
        pl.check_lab("calcium", 20, "mmol/L")
    assert pl.check_lab("calcium", 9.6, "mg/dL") == 9.6  # another unit: not this check's job
    with pytest.raises(pl.ImplausibleValueError, match="25-OH vitamin D 2000 nmol/L"):
        pl.check_lab("25ohd", 2000, "nmol/L")
    assert pl.check_lab("25ohd", 80, "ng/mL") == 80
    with pytest.raises(pl.ImplausibleValueError, match="creatinine 3000 µmol/L"):
        pl.check_lab("creatinine", 3000, "µmol/L")
