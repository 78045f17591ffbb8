"""Plausibility limits of clinical inputs: one place, one message, every entry point.

A value outside its limit is not judged, scored or dosed: it is refused (CLI exit 2, API 422,
web form error, import row error) or, in the assessment and the batch, reported as a data-quality
problem instead of a number. The limits are **software rules**, not clinical reference values:
they are set far outside anything a child (or the young adults of the treatment trials) can have,
so that they catch a dropped decimal point, a wrong unit or a typing error and never a real,
extreme result. Each limit names its reason and cites the project key ``PEDBONE_PLAUSIBILITY``
(see ``pedbone sources``), which says exactly that. They are documented in
``docs/clinical.md`` ("Plausibility limits").

This module is bottom-level and pure: it imports nothing from other pedbone packages, so the
references, clinical, treatment, store, io and web layers can all use it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ABMD_CONSISTENCY_TOLERANCE",
    "LIMITS",
    "PLAUSIBILITY_SOURCE",
    "Z_ABS_MAX",
    "ImplausibleValueError",
    "Limit",
    "abmd_inconsistency",
    "check",
    "check_lab",
    "check_optional",
    "check_z",
    "implausible_mask",
    "is_plausible",
    "limit_for",
    "message",
]

#: Bibliography key of the software rule behind every limit here.
PLAUSIBILITY_SOURCE: Final = "PEDBONE_PLAUSIBILITY"


class ImplausibleValueError(ValueError):
    """A clinical input outside its plausibility limit (the message says which and why)."""

    def __init__(self, text: str, *, quantity: str, value: float) -> None:
        super().__init__(text)
        self.quantity = quantity
        self.value = value


@dataclass(frozen=True, slots=True)
class Limit:
    """The closed interval ``[low, high]`` a value of ``quantity`` must lie in, with its reason."""

    quantity: str
    label: str
    unit: str
    low: float
    high: float
    reason: str
    source: str = PLAUSIBILITY_SOURCE

    def contains(self, value: float) -> bool:
        """True when ``low <= value <= high`` (NaN and infinities are never plausible)."""
        return math.isfinite(value) and self.low <= value <= self.high

    def describe(self) -> str:
        """E.g. 'weight 0.2–250 kg'."""
        return f"{self.label} {self.low:g}–{self.high:g} {self.unit}".rstrip()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the docs table, the API and the web forms)."""
        return {
            "quantity": self.quantity,
            "label": self.label,
            "unit": self.unit,
            "low": self.low,
            "high": self.high,
            "reason": self.reason,
            "source": self.source,
        }


def _l(quantity: str, label: str, unit: str, low: float, high: float, reason: str) -> Limit:
    return Limit(quantity, label, unit, low, high, reason)


_BODY = "no child or young adult has a value outside this range"
_LAB = "outside this range the sample or the unit is wrong (no living patient has it)"

#: Every limit, by quantity name. Units are the canonical unit of the quantity.
LIMITS: Final[Mapping[str, Limit]] = {
    lim.quantity: lim
    for lim in (
        _l("weight_kg", "weight", "kg", 0.2, 250.0, f"{_BODY}; catches g/lb/typing errors"),
        _l("height_cm", "height", "cm", 20.0, 250.0, f"{_BODY}; catches m/inch/typing errors"),
        _l("age_years", "age", "years", 0.0, 120.0, "an age below 0 or above 120 years"),
        _l("bmi_kg_m2", "BMI", "kg/m²", 5.0, 100.0, f"{_BODY}; follows from height and weight"),
        _l("bsa_m2", "body surface area", "m²", 0.05, 4.0, _BODY),
        _l("calcium_mmol_l", "calcium", "mmol/L", 0.5, 5.0, f"{_LAB}; 20 is a dropped point"),
        _l("phosphate_mmol_l", "phosphate", "mmol/L", 0.1, 6.0, _LAB),
        _l("magnesium_mmol_l", "magnesium", "mmol/L", 0.1, 5.0, _LAB),
        _l("alp_u_l", "alkaline phosphatase", "U/L", 1.0, 30000.0, _LAB),
        _l("ohd_nmol_l", "25-OH vitamin D", "nmol/L", 0.0, 1500.0, _LAB),
        _l("ohd_ng_ml", "25-OH vitamin D", "ng/mL", 0.0, 600.0, _LAB),
        _l("pth_pmol_l", "PTH", "pmol/L", 0.0, 500.0, _LAB),
        _l("pth_pg_ml", "PTH", "pg/mL", 0.0, 5000.0, _LAB),
        _l("creatinine_umol_l", "creatinine", "µmol/L", 5.0, 2500.0, _LAB),
        _l("creatinine_mg_dl", "creatinine", "mg/dL", 0.05, 28.0, _LAB),
        _l("egfr", "eGFR", "mL/min/1.73 m²", 0.0, 400.0, "follows from height and creatinine"),
        _l("abmd_g_cm2", "areal BMD", "g/cm²", 0.05, 2.5, "no DXA aBMD outside this range"),
        _l("bmc_g", "BMC", "g", 0.1, 6000.0, "no DXA BMC outside this range"),
        _l("area_cm2", "DXA area", "cm²", 1.0, 5000.0, "no DXA scan area outside this range"),
        _l(
            "z_score",
            "Z-score",
            "",
            -8.0,
            8.0,
            "beyond ±8 SD an LMS curve is extrapolated far past its data: a data error",
        ),
        _l("calcium_mg_day", "calcium intake", "mg/day", 0.0, 10000.0, "no diet gives more"),
        _l("vitamin_d_iu_day", "vitamin D intake", "IU/day", 0.0, 1000000.0, "no dose is larger"),
    )
}

#: The largest |Z| shown as a number; beyond it the value is a data-quality problem.
Z_ABS_MAX: Final = LIMITS["z_score"].high

#: Alternative names accepted by :func:`limit_for` (reference-pack measure names, form names).
_ALIASES: Final[Mapping[str, str]] = {
    "weight": "weight_kg",
    "height": "height_cm",
    "length": "height_cm",
    "age": "age_years",
    "bmi": "bmi_kg_m2",
    "calcium": "calcium_mmol_l",
    "corrected_calcium": "calcium_mmol_l",
    "corrected_calcium_mmol_l": "calcium_mmol_l",
    "phosphate": "phosphate_mmol_l",
    "alp": "alp_u_l",
    "ohd": "ohd_nmol_l",
    "25ohd": "ohd_nmol_l",
    "pth": "pth_pmol_l",
    "creatinine": "creatinine_umol_l",
    "z": "z_score",
}

#: Unit spellings mapped to the quantity of an analyte in that unit.
_UNIT_QUANTITY: Final[Mapping[tuple[str, str], str]] = {
    ("ohd", "nmol/l"): "ohd_nmol_l",
    ("ohd", "ng/ml"): "ohd_ng_ml",
    ("pth", "pmol/l"): "pth_pmol_l",
    ("pth", "pg/ml"): "pth_pg_ml",
    ("pth", "ng/l"): "pth_pg_ml",
    ("creatinine", "umol/l"): "creatinine_umol_l",
    ("creatinine", "µmol/l"): "creatinine_umol_l",
    ("creatinine", "mg/dl"): "creatinine_mg_dl",
    ("calcium", "mmol/l"): "calcium_mmol_l",
    ("phosphate", "mmol/l"): "phosphate_mmol_l",
    ("magnesium", "mmol/l"): "magnesium_mmol_l",
    ("alp", "u/l"): "alp_u_l",
    ("alp", "iu/l"): "alp_u_l",
}


def limit_for(quantity: str, unit: str | None = None) -> Limit | None:
    """The limit of a quantity (``'weight_kg'``, ``'weight'``, ``'creatinine'`` + unit, ...).

    Reference-pack DXA measures (``'spine_abmd'``, ``'tblh_bmc'``) map to the aBMD / BMC limit.
    None when pedbone has no limit for it.
    """
    q = quantity.strip().lower()
    if unit is not None:
        key = (_ALIASES.get(q, q).split("_")[0], unit.strip().lower().replace(" ", ""))
        if key in _UNIT_QUANTITY:
            return LIMITS[_UNIT_QUANTITY[key]]
    q = _ALIASES.get(q, q)
    if q in LIMITS:
        return LIMITS[q]
    if q.endswith("_abmd"):
        return LIMITS["abmd_g_cm2"]
    if q.endswith("_bmc"):
        return LIMITS["bmc_g"]
    return None


def message(limit: Limit, value: float) -> str:
    """The one wording used everywhere for a value outside its limit."""
    shown = f"{value:g}" if math.isfinite(value) else str(value)
    unit = f" {limit.unit}" if limit.unit else ""
    return (
        f"{limit.label} {shown}{unit} is not plausible: pedbone accepts "
        f"{limit.low:g}–{limit.high:g}{unit} ({limit.reason}; software rule "
        f"[{limit.source}]). Check the value and its unit."
    )


def is_plausible(quantity: str, value: float, unit: str | None = None) -> bool:
    """True when ``value`` is inside the limit of ``quantity`` (or pedbone has no limit)."""
    lim = limit_for(quantity, unit)
    return True if lim is None else lim.contains(float(value))


def check(quantity: str, value: float, unit: str | None = None) -> float:
    """Return ``value`` when plausible, else raise :class:`ImplausibleValueError`."""
    lim = limit_for(quantity, unit)
    v = float(value)
    if lim is None:
        if not math.isfinite(v):
            raise ImplausibleValueError(
                f"{quantity} {v} is not a finite number", quantity=quantity, value=v
            )
        return v
    if not lim.contains(v):
        raise ImplausibleValueError(message(lim, v), quantity=lim.quantity, value=v)
    return v


def check_optional(quantity: str, value: float | None, unit: str | None = None) -> float | None:
    """:func:`check` that lets ``None`` (not recorded) through."""
    return None if value is None else check(quantity, value, unit)


def check_z(value: float) -> float:
    """:func:`check` for a Z-score (|Z| ≤ :data:`Z_ABS_MAX`)."""
    return check("z_score", value)


def implausible_mask(
    quantity: str, values: ArrayLike, unit: str | None = None
) -> NDArray[np.bool_]:
    """Vectorised: True where a *present* value is outside the limit (NaN = missing = False)."""
    arr = np.asarray(values, dtype=np.float64)
    lim = limit_for(quantity, unit)
    if lim is None:
        return np.zeros(arr.shape, dtype=np.bool_)
    with np.errstate(invalid="ignore"):
        out = ~np.isnan(arr) & ((arr < lim.low) | (arr > lim.high) | np.isinf(arr))
    return np.asarray(out, dtype=np.bool_)


def _norm_unit(unit: str) -> str:
    return unit.strip().lower().replace("µ", "u").replace("μ", "u").replace(" ", "")


def check_lab(analyte: str, value: float, unit: str | None) -> float:
    """:func:`check` for a laboratory result in its reported unit (``'25ohd'``, ``'calcium'``,
    ``'creatinine'``, ...). Only checked when the unit is the limit's unit (a result in another
    unit is the unit check's business, not this one's)."""
    key = {"25ohd": "ohd", "vitamin_d_25oh": "ohd"}.get(analyte.strip().lower(), analyte)
    lim = limit_for(key, unit)
    if lim is None or unit is None or _norm_unit(lim.unit) != _norm_unit(unit):
        return float(value)
    return check(lim.quantity, value)


#: Largest relative difference accepted between a reported aBMD and BMC / area [SWRULES].
#: aBMD is by definition BMC (g) divided by the projected area (cm²). Scanners print the three
#: rounded (aBMD to 3 decimals, BMC and area to 2): even for a small region (area 5 cm²,
#: BMC 2 g) rounding moves the quotient by well under 1 %. A difference of more than 5 % is not
#: rounding but a mix-up (BMC and area swapped, values of different sites or regions in one
#: row, a unit error) and is flagged in the import preview for the user to check.
ABMD_CONSISTENCY_TOLERANCE: Final = 0.05


def abmd_inconsistency(abmd: float | None, bmc: float | None, area: float | None) -> float | None:
    """The relative difference between ``abmd`` and ``bmc / area`` if it exceeds
    :data:`ABMD_CONSISTENCY_TOLERANCE` (``None``: consistent, or not all three given).

    >>> abmd_inconsistency(0.698, 31.5, 45.1) is None  # 31.5 / 45.1 = 0.6984
    True
    >>> round(abmd_inconsistency(0.698, 45.1, 31.5), 3)  # swapped: |0.698 - 1.432| / 0.698
    1.051
    """
    if abmd is None or bmc is None or area is None or area <= 0 or abmd <= 0:
        return None
    expected = bmc / area
    difference = abs(abmd - expected) / abmd
    return difference if difference > ABMD_CONSISTENCY_TOLERANCE else None
