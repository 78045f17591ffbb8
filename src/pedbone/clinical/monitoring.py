"""Change in bone density between two scans: percent change, Z change, least significant change.

Definitions (§2.4 of the domain digest; no source needed for the arithmetic):

* percent change = (value_t − value_0) / value_0 × 100;
* ΔZ = Z_t − Z_0, only when both Z-scores come from the same reference and the same size
  adjustment;
* annualised = change × 365.25 / days between the scans (linear);
* least significant change LSC = 2.77 × precision error (RMS-SD), 95 % confidence; a change is
  called real only if |value_t − value_0| ≥ LSC, and the LSC is valid only for the scanner it was
  measured on [S15].

"LSC exactly met" counts as real (the source: "a change must be ≥ LSC"). Differences are compared
after rounding to 9 decimal places so that, for example, 0.8277 − 0.8 (which is
0.027699999999999947 in binary floating point) meets an LSC of 0.0277.

Engineer TREAT calls these for treatment response; never re-implement them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

from pedbone.clinical._dates import DAYS_PER_YEAR

__all__ = [
    "LSC_FACTOR",
    "ChangeResult",
    "ZChange",
    "annualise",
    "compare_measurements",
    "least_significant_change",
    "percent_change",
    "z_change",
]

#: LSC = 2.77 × precision error (95 % confidence) [S15].
LSC_FACTOR: Final = 2.77
_DECIMALS: Final = 9


def least_significant_change(precision_error: float) -> float:
    """LSC = 2.77 × precision error (RMS-SD, same unit as the measure) [S15]."""
    if not precision_error > 0 or math.isinf(precision_error):
        raise ValueError(f"precision error must be a positive number (got {precision_error})")
    return LSC_FACTOR * precision_error


def percent_change(baseline: float, followup: float) -> float:
    """(followup − baseline) / baseline × 100. Raises ValueError if baseline ≤ 0."""
    if not baseline > 0:
        raise ValueError(f"baseline must be positive for a percent change (got {baseline})")
    return (followup - baseline) / baseline * 100.0


def annualise(change: float, days: int) -> float:
    """A change over ``days`` days expressed per year (× 365.25 / days)."""
    if days <= 0:
        raise ValueError(f"the follow-up must be after the baseline (got {days} days)")
    return change * DAYS_PER_YEAR / days


@dataclass(frozen=True, slots=True)
class ZChange:
    """ΔZ between two scans, or the reason it cannot be computed."""

    baseline: float
    followup: float
    change: float | None
    annualised: float | None
    reason: str | None = None


def z_change(
    baseline_z: float,
    followup_z: float,
    *,
    days: int,
    baseline_reference: str | None,
    followup_reference: str | None,
) -> ZChange:
    """Z_t − Z_0 (and per year), refused when the references differ or are unknown."""
    if baseline_reference is None or followup_reference is None:
        return ZChange(baseline_z, followup_z, None, None, "reference of a Z-score not recorded")
    if baseline_reference.strip().lower() != followup_reference.strip().lower():
        return ZChange(
            baseline_z,
            followup_z,
            None,
            None,
            f"Z-scores from different references ({baseline_reference!r} vs "
            f"{followup_reference!r}) cannot be subtracted",
        )
    d = round(followup_z - baseline_z, _DECIMALS)
    return ZChange(baseline_z, followup_z, d, round(annualise(d, days), _DECIMALS))


Verdict = Literal["real_increase", "real_decrease", "within_lsc", "unknown"]


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """Change of one measure (e.g. 'spine_abmd') between two scans."""

    measure: str
    baseline: float
    followup: float
    days: int
    absolute_change: float
    percent_change: float
    annualised_percent_change: float
    lsc: float | None
    verdict: Verdict
    reason: str
    z: ZChange | None = None

    @property
    def is_real(self) -> bool | None:
        """True/False when an LSC applies; None when it cannot be judged."""
        if self.verdict == "unknown":
            return None
        return self.verdict != "within_lsc"

    def statement(self, lang: Literal["en", "nl"] = "en") -> str:
        """One plain sentence on whether the change is real."""
        pct = f"{self.percent_change:+.1f} %"
        if lang == "nl":
            if self.verdict == "unknown":
                return (
                    f"{self.measure}: verandering {pct}; niet te beoordelen of deze reëel is "
                    f"({_REASONS_NL.get(self.reason, self.reason)})."
                )
            if self.verdict == "within_lsc":
                return (
                    f"{self.measure}: verandering {pct} ({self.absolute_change:+.4g}) is kleiner "
                    f"dan de kleinste significante verandering ({self.lsc:.4g}); geen aantoonbare "
                    "verandering."
                )
            richting = "toename" if self.verdict == "real_increase" else "daling"
            return (
                f"{self.measure}: reële {richting} van {pct} ({self.absolute_change:+.4g}, "
                f"≥ kleinste significante verandering {self.lsc:.4g})."
            )
        if self.verdict == "unknown":
            return f"{self.measure}: change {pct}; cannot say whether it is real ({self.reason})."
        if self.verdict == "within_lsc":
            return (
                f"{self.measure}: change {pct} ({self.absolute_change:+.4g}) is smaller than the "
                f"least significant change ({self.lsc:.4g}); no demonstrable change."
            )
        word = "increase" if self.verdict == "real_increase" else "decrease"
        return (
            f"{self.measure}: real {word} of {pct} ({self.absolute_change:+.4g}, at least the "
            f"least significant change {self.lsc:.4g})."
        )


_REASONS_NL: Final = {
    "scans from different scanners; the LSC does not carry over": (
        "scans op verschillende toestellen; de kleinste significante verandering geldt niet"
    ),
    "no precision error recorded for this scanner and site": (
        "geen precisiefout geregistreerd voor dit toestel en deze meetplaats"
    ),
}


def compare_measurements(
    measure: str,
    baseline: float,
    followup: float,
    *,
    days: int,
    precision_error: float | None,
    same_scanner: bool = True,
    z: ZChange | None = None,
) -> ChangeResult:
    """Percent and absolute change of one measure, annualised, judged against the LSC.

    ``precision_error`` is the facility's RMS-SD for this measure on this scanner [S15]; without
    it, or when the two scans come from different scanners (the LSC must be recalculated for a
    new scanner [S15]), the verdict is 'unknown'.
    """
    pct = percent_change(baseline, followup)
    delta = round(followup - baseline, _DECIMALS)
    ann = annualise(pct, days)
    lsc: float | None = None
    verdict: Verdict
    if not same_scanner:
        verdict, reason = "unknown", "scans from different scanners; the LSC does not carry over"
    elif precision_error is None:
        verdict, reason = "unknown", "no precision error recorded for this scanner and site"
    else:
        lsc = least_significant_change(precision_error)
        if abs(delta) >= round(lsc, _DECIMALS):
            verdict = "real_increase" if delta > 0 else "real_decrease"
            reason = "|change| ≥ LSC"
        else:
            verdict, reason = "within_lsc", "|change| < LSC"
    return ChangeResult(
        measure=measure,
        baseline=baseline,
        followup=followup,
        days=days,
        absolute_change=delta,
        percent_change=pct,
        annualised_percent_change=ann,
        lsc=lsc,
        verdict=verdict,
        reason=reason,
        z=z,
    )
