"""Per-element status codes of a Z-score evaluation."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Status"]


class Status(IntEnum):
    """Why an element has (or lacks) a Z-score; 0 = OK.

    Each member carries a human-readable ``description``. When several problems apply to one
    element, the first in this order is reported: sex, group, age, value.
    """

    description: str

    def __new__(cls, value: int, description: str) -> Status:
        obj = int.__new__(cls, value)
        obj._value_ = value
        obj.description = description
        return obj

    OK = (0, "Z-score computed")
    SEX_UNKNOWN = (1, "sex missing or not recognised (use M/F or 1/2)")
    GROUP_UNKNOWN = (2, "population group missing or not in this pack")
    AGE_MISSING = (3, "age missing (NaN)")
    AGE_OUT_OF_RANGE = (4, "age outside the reference's coverage (no extrapolation)")
    VALUE_MISSING = (5, "measurement missing (NaN) or not finite")
    VALUE_NOT_POSITIVE = (6, "measurement is zero or negative")
    Z_MISSING = (7, "Z-score missing (NaN) in an inverse (value-for-Z) request")
    Z_OUTSIDE_DISTRIBUTION = (8, "Z-score beyond the range where the LMS curve is defined")
    NO_ADJUSTMENT = (9, "no size-adjustment equation or reference for this element")
    HEIGHT_AGE_OUT_OF_RANGE = (10, "height-age outside the HAZ reference's coverage")
