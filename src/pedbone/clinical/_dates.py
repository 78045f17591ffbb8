"""Age arithmetic shared by the rules."""

from __future__ import annotations

import datetime as dt

__all__ = [
    "DAYS_PER_YEAR",
    "add_months",
    "age_years",
    "birthday",
    "completed_years",
    "months_between",
]

#: Mean Julian year, the usual convention for decimal age in growth references.
DAYS_PER_YEAR = 365.25


def age_years(birth: dt.date, on: dt.date) -> float:
    """Decimal age in years (days / 365.25)."""
    return (on - birth).days / DAYS_PER_YEAR


def birthday(birth: dt.date, years: int) -> dt.date:
    """The calendar date of the ``years``-th birthday (29 February → 28 February)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return birth.replace(year=birth.year + years, day=28)


def completed_years(birth: dt.date, on: dt.date) -> int:
    """Age in completed years by the calendar (the birthday itself counts)."""
    years = on.year - birth.year
    if on < birthday(birth, years):
        years -= 1
    return years


def months_between(start: dt.date, end: dt.date) -> float:
    """Decimal months between two dates (days / 30.4375)."""
    return (end - start).days / (DAYS_PER_YEAR / 12)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day-of-month ``months`` later (clipped to the month's last day)."""
    month0 = day.month - 1 + months
    year = day.year + month0 // 12
    month = month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover
