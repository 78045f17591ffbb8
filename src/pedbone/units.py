"""Unit conversions used across pedbone, each with its source key.

All functions are vectorised: they accept floats or NumPy arrays and return the same shape.
"""

from __future__ import annotations

from typing import Final, TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CREATININE_UMOL_PER_MGDL",
    "IU_PER_UG_VITAMIN_D",
    "NMOL_PER_NG_25OHD",
    "creatinine_mgdl_to_umol",
    "creatinine_umol_to_mgdl",
    "ohd_ngml_to_nmol",
    "ohd_nmol_to_ngml",
    "vitd_iu_to_ug",
    "vitd_ug_to_iu",
]

Number = TypeVar("Number", float, NDArray[np.float64])

#: Creatinine: µmol/L ÷ 88.4 = mg/dL [S72b].
CREATININE_UMOL_PER_MGDL: Final = 88.4
#: 25-OH vitamin D: 1 ng/mL = 2.5 nmol/L (thresholds given in both units in [S68]).
NMOL_PER_NG_25OHD: Final = 2.5
#: Vitamin D dose: 1 µg = 40 IU (EFSA: 10 µg = 400 IU, [S71]).
IU_PER_UG_VITAMIN_D: Final = 40.0

SOURCES: Final = {
    "creatinine": "S72b",
    "25ohd": "S68",
    "vitamin_d_dose": "S71",
}


def creatinine_umol_to_mgdl(value: Number) -> Number:
    """Serum creatinine µmol/L → mg/dL [S72b]."""
    return value / CREATININE_UMOL_PER_MGDL


def creatinine_mgdl_to_umol(value: Number) -> Number:
    """Serum creatinine mg/dL → µmol/L [S72b]."""
    return value * CREATININE_UMOL_PER_MGDL


def ohd_ngml_to_nmol(value: Number) -> Number:
    """25-OH vitamin D ng/mL → nmol/L."""
    return value * NMOL_PER_NG_25OHD


def ohd_nmol_to_ngml(value: Number) -> Number:
    """25-OH vitamin D nmol/L → ng/mL."""
    return value / NMOL_PER_NG_25OHD


def vitd_ug_to_iu(value: Number) -> Number:
    """Vitamin D dose µg → IU."""
    return value * IU_PER_UG_VITAMIN_D


def vitd_iu_to_ug(value: Number) -> Number:
    """Vitamin D dose IU → µg."""
    return value / IU_PER_UG_VITAMIN_D
