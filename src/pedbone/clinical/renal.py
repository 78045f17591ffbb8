"""Renal function for children: bedside Schwartz (CKiD 2009) eGFR [S72]."""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pedbone.units import creatinine_umol_to_mgdl

__all__ = ["BEDSIDE_SCHWARTZ_K", "SOURCE", "bedside_schwartz_egfr"]

#: eGFR (mL/min/1.73 m²) = 0.413 × height (cm) / serum creatinine (mg/dL) [S72].
BEDSIDE_SCHWARTZ_K: Final = 0.413
SOURCE: Final = "S72"


def bedside_schwartz_egfr(
    height_cm: ArrayLike,
    creatinine: ArrayLike,
    unit: Literal["umol/L", "mg/dL"] = "umol/L",
) -> NDArray[np.float64]:
    """Bedside Schwartz eGFR in mL/min/1.73 m² [S72].

    Derived in children 1-16 y with CKD, for IDMS-traceable (enzymatic) creatinine.
    Non-positive heights or creatinine values give NaN rather than a number.
    """
    h = np.asarray(height_cm, dtype=np.float64)
    cr = np.asarray(creatinine, dtype=np.float64)
    if unit == "umol/L":
        cr = creatinine_umol_to_mgdl(cr)
    elif unit != "mg/dL":
        raise ValueError(f"unknown creatinine unit {unit!r}; use 'umol/L' or 'mg/dL'")
    with np.errstate(divide="ignore", invalid="ignore"):
        egfr = BEDSIDE_SCHWARTZ_K * h / cr
    return np.where((h > 0) & (cr > 0), egfr, np.nan)
