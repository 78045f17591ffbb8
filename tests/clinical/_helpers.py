"""Builders for clinical vignettes: small, fictional patient records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pedbone.clinical import Assessment, Patient, assess

D = dt.date
TODAY = D(2026, 1, 1)  # fixed "today" so that future-date checks are reproducible
SCANNER = {"manufacturer": "Hologic", "model": "Horizon A", "serial": "H-1"}


def patient(*, sex: str = "F", birth: str = "2010-01-01", **fields: Any) -> dict[str, Any]:
    """A fictional record as a dict (what a JSON file holds)."""
    rec: dict[str, Any] = {
        "id": "TEST",
        "fictional": True,
        "demographics": {"sex": sex, "birth_date": birth},
    }
    rec.update(fields)
    return rec


def scan(
    date: str,
    *,
    spine_z: float | None = None,
    tblh_z: float | None = None,
    reference: str = "Hologic pediatric",
    scanner: dict[str, Any] | None = None,
    **site_fields: Any,
) -> dict[str, Any]:
    """A DXA visit with vendor aBMD Z-scores at the spine and/or TBLH."""
    sites = []
    if spine_z is not None or site_fields:
        sites.append({"site": "spine", "vendor_z_abmd": spine_z, **site_fields})
    if tblh_z is not None:
        sites.append({"site": "tblh", "vendor_z_abmd": tblh_z})
    return {"date": date, "reference": reference, "scanner": scanner or SCANNER, "sites": sites}


def fracture(
    date: str, site: str = "long_bone_upper", trauma: str = "low", **kw: Any
) -> dict[str, Any]:
    return {"date": date, "site": site, "trauma": trauma, **kw}


def run(rec: dict[str, Any], **kw: Any) -> Assessment:
    kw.setdefault("today", TODAY)
    return assess(Patient.model_validate(rec), **kw)


def codes(a: Assessment) -> list[str]:
    return a.codes()


def write_spine_pack(
    make_pack: Callable[..., Path], *, m: float = 0.6, s: float = 0.1, **extra: Any
) -> Path:
    """A synthetic DXA pack (invented numbers): L = 1, constant M and S for ages 5-20 y, so
    Z = (value / M - 1) / S exactly (LMS with L = 1)."""
    rows = [("spine_abmd", sex, "", age, 1, m, s) for sex in ("M", "F") for age in range(5, 21)]
    return make_pack(
        rows,
        id="synthetic_spine",
        title="Synthetic spine pack (invented numbers, not a reference)",
        measures={
            "spine_abmd": {"unit": "g/cm2", "age_min": 5, "age_max": 20, "interpolation": "linear"}
        },
        **extra,
    )
