"""pedbone.references — LMS reference packs and vectorised growth and DXA Z-scores.

>>> import pedbone
>>> ref = pedbone.reference("cdc2000")
>>> float(ref.zscore("height", sex="M", age_years=10.0, value=138.0))  # doctest: +ELLIPSIS
-0.0939...

Built-in packs: ``who2006`` (0-5 y), ``who2007`` (5-19 y), ``cdc2000`` (2-20 y),
``schafmeyer2022`` (lower-limb DXA, 8-20 y). Clinics add their own (e.g. BMDCS) with
``pedbone refs install``, or build one from healthy-control data with :func:`build_reference`
(``pedbone refs build``; LMS curves fitted by :func:`fit_lms`). See ``docs/reference-packs.md``.
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
from pedbone.references._build import BuildError, BuildResult, build_reference
from pedbone.references._engine import (
    ReferencePack,
    UnknownMeasureError,
    ZScoreResult,
    sex_codes,
)
from pedbone.references._fit import FitError, LMSFit, fit_lms
from pedbone.references._fit_report import write_diagnostics
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
    "BuildError",
    "BuildResult",
    "FitError",
    "HazEquation",
    "LMSFit",
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
    "build_reference",
    "corrected_age",
    "data_dir",
    "decimal_age",
    "fit_lms",
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
    "write_diagnostics",
]
