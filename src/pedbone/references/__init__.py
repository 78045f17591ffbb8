"""pedbone.references — LMS reference packs and vectorised growth and DXA Z-scores.

>>> import pedbone
>>> ref = pedbone.reference("cdc2000")
>>> float(ref.zscore("height", sex="M", age_years=10.0, value=138.0))  # doctest: +ELLIPSIS
-0.0939...

Built-in packs: ``who2006`` (0-5 y), ``who2007`` (5-19 y), ``cdc2000`` (2-20 y),
``schafmeyer2022`` (lower-limb DXA, 8-20 y). Clinics add their own (e.g. BMDCS) with
``pedbone refs install``. See ``docs/reference-packs.md``.
"""

from __future__ import annotations

from pedbone.references._adjust import (
    BMAD_EXPONENT,
    SizeAdjustedZ,
    bmad,
    bmad_zscore,
    haz_adjusted_zscore,
    height_age,
    height_age_zscore,
)
from pedbone.references._age import corrected_age, decimal_age, who_length_or_height
from pedbone.references._engine import (
    ReferencePack,
    UnknownMeasureError,
    ZScoreResult,
    sex_codes,
)
from pedbone.references._lms import lms_value, lms_z
from pedbone.references._pack import HazEquation, MeasureInfo, PackError, PackMeta, Problem
from pedbone.references._registry import (
    PackSummary,
    UnknownReferenceError,
    available,
    data_dir,
    install,
    reference,
    uninstall,
    validate,
)
from pedbone.references._status import Status

__all__ = [
    "BMAD_EXPONENT",
    "HazEquation",
    "MeasureInfo",
    "PackError",
    "PackMeta",
    "PackSummary",
    "Problem",
    "ReferencePack",
    "SizeAdjustedZ",
    "Status",
    "UnknownMeasureError",
    "UnknownReferenceError",
    "ZScoreResult",
    "available",
    "bmad",
    "bmad_zscore",
    "corrected_age",
    "data_dir",
    "decimal_age",
    "haz_adjusted_zscore",
    "height_age",
    "height_age_zscore",
    "install",
    "lms_value",
    "lms_z",
    "reference",
    "sex_codes",
    "uninstall",
    "validate",
    "who_length_or_height",
]
