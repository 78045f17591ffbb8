"""Z-scores for display, computed by :mod:`pedbone.references` (no clinical rule here).

Growth uses the same reference pack as the assessment engine (``AssessOptions.growth_pack``,
CDC 2000 by default), and WHO 2006 under 2 years, where CDC 2000 has no data (CDC itself
recommends the WHO standards under 2 years [CDC2000]). DXA Z-scores come from the pack named on
the measurement, or the built-in pack that has the measure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import numpy as np

from pedbone.clinical import LOW_Z as _CLINICAL_LOW_Z
from pedbone.web._i18n import N_

__all__ = [
    "LOW_Z",
    "STATUS_MESSAGES",
    "ZRequest",
    "ZValue",
    "assess_options_for",
    "dxa_pack_for",
    "growth_pack_for",
    "zscore",
    "zscores",
]

#: A BMC/BMD Z-score at or below -2.0 is reported as "low bone mass or bone density" [S1][S3]:
#: defined once, in the domain (``pedbone.clinical.LOW_Z``).
LOW_Z: Final = _CLINICAL_LOW_Z


#: Why a Z-score is missing, by ``pedbone.references.Status`` code (translatable wording).
STATUS_TEXT: Final[dict[int, str]] = {
    1: N_("sex missing or not recognised"),
    2: N_("population group missing or not in this reference"),
    3: N_("age missing"),
    4: N_("age outside the reference's coverage"),
    5: N_("measurement missing"),
    6: N_("measurement is zero or negative"),
    8: N_("value beyond the range of the reference curve"),
    9: N_("no size adjustment for this measure"),
    10: N_("height-age outside the reference's coverage"),
}
_NO_REFERENCE: Final = N_("no reference data for this measure")
_NO_ENGINE: Final = N_("reference engine not available")
_NO_Z: Final = N_("no Z-score")
#: Every status message a ZValue can carry (msgids defined here, never data).
STATUS_MESSAGES: Final = frozenset({*STATUS_TEXT.values(), _NO_REFERENCE, _NO_ENGINE, _NO_Z})


@dataclass(frozen=True, slots=True)
class ZValue:
    """A Z-score with its centile, the reference pack used and any status message."""

    z: float | None
    centile: float | None
    pack: str | None
    status: str = ""  # empty when OK; otherwise why there is no usable Z

    @property
    def ok(self) -> bool:
        """True when a Z-score is available."""
        return self.z is not None


def growth_pack_for(age_years: float) -> str:
    """The domain's growth reference for this age (``pedbone.clinical.growth_pack_for``: WHO
    2006 below 2 years, else the assessment engine's growth pack)."""
    from pedbone.clinical import growth_pack_for as domain_growth_pack_for

    return domain_growth_pack_for(age_years)


def assess_options_for(patient: Any) -> Any:
    """The assessment options of a stored patient: the DXA pack and population group named on
    each measurement, so the assessment, the list filter, the chart and the report score the
    same raw values the same way."""
    from pedbone.clinical import AssessOptions

    packs: dict[str, str] = {}
    groups: dict[str, str] = {}
    for scan in patient.dxa_scans:
        for m in scan.measurements:
            if m.reference_pack:
                packs[m.site] = m.reference_pack
                if m.reference_group:
                    groups[m.site] = m.reference_group
    return AssessOptions(dxa_packs=packs, dxa_groups=groups)


@cache
def _pack(pack_id: str) -> Any:
    import pedbone

    return pedbone.reference(pack_id)


@cache
def _packs_with(measure: str) -> tuple[str, ...]:
    from pedbone.references import available

    return tuple(summary.id for summary in available() if measure in summary.coverage)


def dxa_pack_for(measure: str, requested: str | None = None) -> str | None:
    """The pack for a DXA measure: the one named on the measurement, else the first built-in."""
    if requested:
        return requested
    packs = _packs_with(measure)
    return packs[0] if packs else None


def zscore(
    pack_id: str | None,
    measure: str,
    *,
    sex: str,
    age_years: float,
    value: float | None,
    group: str | None = None,
) -> ZValue:
    """Z-score and centile of one value; never raises (the reason goes in ``status``)."""
    if value is None:
        return ZValue(None, None, pack_id, "")
    if pack_id is None:
        return ZValue(None, None, None, _NO_REFERENCE)
    try:
        result = _pack(pack_id).evaluate(
            measure, sex=sex, age_years=age_years, value=value, group=group
        )
        z = float(np.ravel(result.z)[0])
        centile = float(np.ravel(result.centile)[0])
        status_code = int(np.ravel(result.status)[0])
    except NotImplementedError:
        return ZValue(None, None, pack_id, _NO_ENGINE)
    except (KeyError, ValueError) as exc:
        return ZValue(None, None, pack_id, str(exc).strip("'\""))
    if status_code != 0 or not math.isfinite(z):
        return ZValue(None, None, pack_id, STATUS_TEXT.get(status_code, _NO_Z))
    return _plausible(ZValue(z, centile, pack_id, ""), measure, value)


#: Shown instead of a number when the value or its Z is outside pedbone.plausibility.
IMPLAUSIBLE_TEXT: Final = N_("implausible value or Z-score (pedbone's data check): check the entry")


def _plausible(zv: ZValue, measure: str, value: float | None) -> ZValue:
    """No number for a value outside its plausibility limit or a |Z| beyond the bound (the
    same software rule as the assessment and the batch, PEDBONE_PLAUSIBILITY)."""
    from pedbone import plausibility

    bad_value = value is not None and not plausibility.is_plausible(measure, value)
    if bad_value or (zv.z is not None and not plausibility.is_plausible("z_score", zv.z)):
        return ZValue(None, None, zv.pack, IMPLAUSIBLE_TEXT)
    return zv


@dataclass(frozen=True, slots=True)
class ZRequest:
    """One value to score (see :func:`zscores`)."""

    pack: str | None
    measure: str
    sex: str
    age_years: float
    value: float | None
    group: str | None = None


def zscores(requests: list[ZRequest]) -> list[ZValue]:
    """Score many values with one vectorised reference call per (pack, measure, group).

    Same answers as :func:`zscore` one by one; never raises.
    """
    out: list[ZValue | None] = [None] * len(requests)
    groups: dict[tuple[str, str, str | None], list[int]] = {}
    for i, r in enumerate(requests):
        if r.value is None or r.pack is None:
            out[i] = zscore(r.pack, r.measure, sex=r.sex, age_years=r.age_years, value=r.value)
        else:
            groups.setdefault((r.pack, r.measure, r.group), []).append(i)
    for (pack_id, measure, group), idx in groups.items():
        try:
            result = _pack(pack_id).evaluate(
                measure,
                sex=[requests[i].sex for i in idx],
                age_years=[requests[i].age_years for i in idx],
                value=[requests[i].value for i in idx],
                group=group,
            )
            zs = np.ravel(result.z)
            cs = np.ravel(result.centile)
            st = np.ravel(result.status)
        except Exception:  # fall back to one by one, which reports the reason per value
            for i in idx:
                r = requests[i]
                out[i] = zscore(
                    r.pack, r.measure, sex=r.sex, age_years=r.age_years, value=r.value,
                    group=r.group,
                )  # fmt: skip
            continue
        for k, i in enumerate(idx):
            z, code = float(zs[k]), int(st[k])
            if code != 0 or not math.isfinite(z):
                out[i] = ZValue(None, None, pack_id, STATUS_TEXT.get(code, _NO_Z))
            else:
                out[i] = _plausible(
                    ZValue(z, float(cs[k]), pack_id, ""), measure, requests[i].value
                )
    return [z if z is not None else ZValue(None, None, None, "") for z in out]
