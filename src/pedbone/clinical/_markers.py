"""Laboratory reference intervals that have a source: CALIPER 2012 (Abbott Architect) [S74].

Only these analytes are judged against an age- and sex-specific interval; every other bone
turnover marker (P1NP, CTX, NTX, osteocalcin, bone ALP) is shown with its unit and the lab's own
flag, without a judgement by pedbone, because no sourced paediatric interval was transcribed (§8).
The intervals are assay-specific (Abbott Architect); the digest asks to verify them against
Colantonio 2012 before clinical use [S74]. Age bins are ``[from, until)`` in years.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["CALIPER", "Interval", "caliper_interval"]

_DAY: Final = 1 / 365.25


@dataclass(frozen=True, slots=True)
class Interval:
    """A reference interval for one analyte, age bin and sex."""

    analyte: str
    age_from: float
    age_until: float
    sex: Literal["M", "F", "MF"]
    lower: float
    upper: float
    unit: str
    source: str = "S74"


def _i(
    analyte: str, lo: float, hi: float, sex: Literal["M", "F", "MF"], a: float, b: float, unit: str
) -> Interval:
    return Interval(analyte, lo, hi, sex, a, b, unit)


#: CALIPER 2012 intervals as transcribed in §8.2 of the domain digest [S74].
CALIPER: Final[tuple[Interval, ...]] = (
    _i("alp", 0.0, 15 * _DAY, "MF", 90, 273, "U/L"),
    _i("alp", 15 * _DAY, 1.0, "MF", 134, 518, "U/L"),
    _i("alp", 1.0, 10.0, "MF", 156, 369, "U/L"),
    _i("alp", 10.0, 13.0, "MF", 141, 460, "U/L"),
    _i("alp", 13.0, 15.0, "F", 62, 280, "U/L"),
    _i("alp", 15.0, 17.0, "F", 54, 128, "U/L"),
    _i("alp", 17.0, 19.0, "F", 48, 95, "U/L"),
    _i("alp", 13.0, 15.0, "M", 127, 517, "U/L"),
    _i("alp", 15.0, 17.0, "M", 89, 365, "U/L"),
    _i("alp", 17.0, 19.0, "M", 59, 164, "U/L"),
    _i("calcium", 0.0, 1.0, "MF", 2.13, 2.74, "mmol/L"),
    _i("calcium", 1.0, 19.0, "MF", 2.29, 2.63, "mmol/L"),
    _i("phosphate", 0.0, 15 * _DAY, "MF", 1.80, 3.40, "mmol/L"),
    _i("phosphate", 15 * _DAY, 1.0, "MF", 1.54, 2.72, "mmol/L"),
    _i("phosphate", 1.0, 5.0, "MF", 1.38, 2.19, "mmol/L"),
    _i("phosphate", 5.0, 13.0, "MF", 1.33, 1.92, "mmol/L"),
    _i("phosphate", 13.0, 16.0, "F", 1.02, 1.79, "mmol/L"),
    _i("phosphate", 13.0, 16.0, "M", 1.14, 1.99, "mmol/L"),
    _i("phosphate", 16.0, 19.0, "MF", 0.95, 1.62, "mmol/L"),
    _i("magnesium", 0.0, 15 * _DAY, "MF", 0.82, 1.62, "mmol/L"),
    _i("magnesium", 15 * _DAY, 1.0, "MF", 0.81, 1.27, "mmol/L"),
    _i("magnesium", 1.0, 19.0, "MF", 0.86, 1.17, "mmol/L"),
    _i("creatinine", 0.0, 15 * _DAY, "MF", 29, 82, "umol/L"),
    _i("creatinine", 15 * _DAY, 2.0, "MF", 9, 32, "umol/L"),
    _i("creatinine", 2.0, 5.0, "MF", 18, 38, "umol/L"),
    _i("creatinine", 5.0, 12.0, "MF", 27, 54, "umol/L"),
    _i("creatinine", 12.0, 15.0, "MF", 40, 72, "umol/L"),
    _i("creatinine", 15.0, 19.0, "F", 43, 74, "umol/L"),
    _i("creatinine", 15.0, 19.0, "M", 55, 96, "umol/L"),
)


def caliper_interval(analyte: str, *, sex: Literal["M", "F"], age_years: float) -> Interval | None:
    """The CALIPER interval for this analyte, sex and age, or None where none is sourced."""
    for iv in CALIPER:
        if (
            iv.analyte == analyte
            and iv.sex in (sex, "MF")
            and iv.age_from <= age_years < iv.age_until
        ):
            return iv
    return None
