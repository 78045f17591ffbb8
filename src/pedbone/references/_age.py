"""Decimal age from dates, and corrected age for children born preterm."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["DAYS_PER_YEAR", "corrected_age", "decimal_age", "who_length_or_height"]

#: Days per year used for decimal age (the WHO anthro convention: 30.4375 d/month x 12).
DAYS_PER_YEAR = 365.25
#: Term = 40 weeks' gestation, the reference point of corrected age [ENGLE2004].
TERM_WEEKS = 40.0
#: Corrected age is applied while the chronological age is below this (years).
CORRECT_BELOW_YEARS = 2.0


def _days(x: ArrayLike) -> NDArray[np.datetime64]:
    arr = np.asarray(x)
    if arr.dtype.kind == "O":
        arr = np.asarray([None if v is None else v for v in arr.ravel().tolist()]).reshape(
            arr.shape
        )
    try:
        return arr.astype("datetime64[D]")
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"not a date (use YYYY-MM-DD, datetime.date or datetime64): {exc}"
        ) from None


def decimal_age(birth_date: ArrayLike, measurement_date: ArrayLike) -> NDArray[np.float64]:
    """Age in years = whole days between the dates / 365.25 (vectorised, broadcasting).

    Dates may be ``datetime.date``, ``numpy.datetime64``, ISO strings ``YYYY-MM-DD`` or arrays
    of them; a time of day is dropped (whole days). Missing dates (NaT/None) and measurement
    dates before the birth date give NaN.
    """
    b = _days(birth_date)
    m = _days(measurement_date)
    d = (m - b).astype("timedelta64[D]")
    days = np.where(np.isnat(d), np.nan, d.astype(np.float64))
    with np.errstate(invalid="ignore"):
        days = np.where(days < 0, np.nan, days)
    return np.asarray(days / DAYS_PER_YEAR, dtype=np.float64)


def corrected_age(age_years: ArrayLike, gestational_age_weeks: ArrayLike) -> NDArray[np.float64]:
    """Age corrected for preterm birth [ENGLE2004]: chronological age minus
    (40 - gestational age) weeks, while the chronological age is under 2 years.

    No correction where the gestational age is missing (NaN) or >= 40 weeks, or from 2 years
    on. A corrected age below 0 (before the expected date of delivery) is returned as is:
    growth references start at term, so such ages fall outside their coverage.
    """
    age = np.asarray(age_years, dtype=np.float64)
    ga = np.asarray(gestational_age_weeks, dtype=np.float64)
    shift = (TERM_WEEKS - ga) * 7.0 / DAYS_PER_YEAR
    with np.errstate(invalid="ignore"):
        apply = (age < CORRECT_BELOW_YEARS) & (ga < TERM_WEEKS)
    return np.asarray(np.where(apply, age - shift, age), dtype=np.float64)


#: WHO anthro: standing height is 0.7 cm less than recumbent length [WHO_ANTHRO]
LENGTH_HEIGHT_DIFF_CM = 0.7
#: WHO anthro: length below 731 days of age, height from 731 days [WHO_ANTHRO]
LENGTH_BELOW_DAYS = 731


def who_length_or_height(
    value_cm: ArrayLike, age_years: ArrayLike, position: ArrayLike
) -> NDArray[np.float64]:
    """Convert a measured length/height to what the WHO 2006 table expects at that age, as WHO
    anthro's ``adjust_lenhei`` does [WHO_ANTHRO]: under 731 days (age rounded half up to whole
    days) a standing height gets +0.7 cm; from 731 days a recumbent length gets -0.7 cm.

    ``position`` is ``"L"`` (lying, recumbent length) or ``"H"`` (standing height), any case;
    anything else leaves the value unchanged.
    """
    v = np.asarray(value_cm, dtype=np.float64)
    days = np.floor(np.asarray(age_years, dtype=np.float64) * DAYS_PER_YEAR + 0.5)
    pos = np.char.upper(np.char.strip(np.asarray(position).astype(str)))
    with np.errstate(invalid="ignore"):
        young = days < LENGTH_BELOW_DAYS
        old = days >= LENGTH_BELOW_DAYS
    out = np.where(young & (pos == "H"), v + LENGTH_HEIGHT_DIFF_CM, v)
    out = np.where(old & (pos == "L"), out - LENGTH_HEIGHT_DIFF_CM, out)
    return np.asarray(out, dtype=np.float64)
