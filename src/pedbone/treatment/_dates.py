"""Calendar arithmetic for treatment schedules (no clinical content)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from pedbone.treatment._protocol import Interval

__all__ = ["add_interval", "add_months", "age_at"]


def add_months(d: date, months: int, anchor_day: int | None = None) -> date:
    """``d`` plus whole calendar months; the day is clamped to the month's end.

    ``anchor_day`` keeps the original day of month across steps (31 Jan -> 28 Feb -> 31 Mar).
    """
    day = anchor_day if anchor_day is not None else d.day
    m0 = d.year * 12 + (d.month - 1) + months
    year, month = divmod(m0, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day, last))


def add_interval(d: date, interval: Interval, anchor_day: int | None = None) -> date:
    """``d`` plus one protocol interval (days, weeks, calendar months or years)."""
    if interval.unit == "days":
        return d + timedelta(days=interval.every)
    if interval.unit == "weeks":
        return d + timedelta(weeks=interval.every)
    if interval.unit == "months":
        return add_months(d, interval.every, anchor_day)
    return add_months(d, 12 * interval.every, anchor_day)


def age_at(birth_date: date, on: date) -> float:
    """Age in years on a date: completed years plus the fraction of the current year of age.

    Exactly ``n`` on the ``n``-th birthday (a 29 February birthday falls on 28 February in
    other years), so age bands switch on the birthday itself.
    """
    if on < birth_date:
        raise ValueError(f"date {on} is before the birth date {birth_date}")
    years = on.year - birth_date.year
    if add_months(birth_date, 12 * years) > on:
        years -= 1
    last = add_months(birth_date, 12 * years)
    nxt = add_months(birth_date, 12 * (years + 1))
    return years + (on - last).days / (nxt - last).days
