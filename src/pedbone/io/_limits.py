"""Input-sanity limits of the file imports (FHIR, DXA exports): one table for both.

They catch typing and unit errors (a height in mm, a BMC in kg, a value in the wrong column),
they are not clinical thresholds. aBMD, height and weight are the web form's limits.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LIMITS"]

# TODO(plausibility): move to pedbone.plausibility once it exists (helper `clin`).
LIMITS: Final[dict[str, tuple[float, float]]] = {
    "height_cm": (30.0, 230.0),
    "weight_kg": (0.5, 250.0),
    "head_circumference_cm": (20.0, 70.0),
    "sitting_height_cm": (15.0, 130.0),
    "abmd_g_cm2": (0.05, 2.5),
    "bmc_g": (0.5, 5000.0),
    "area_cm2": (1.0, 3000.0),
    "lean_mass_g": (100.0, 100000.0),
    "fat_mass_g": (10.0, 100000.0),
    "vendor_z_abmd": (-10.0, 10.0),
    "vendor_z_bmc": (-10.0, 10.0),
    "reported_haz_adjusted_z_abmd": (-10.0, 10.0),
    "reported_bmad_z": (-10.0, 10.0),
}
