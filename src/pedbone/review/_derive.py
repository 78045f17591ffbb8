"""Derivations from what a report gives to what ``escalc`` needs (mean, SD, n per arm).

Each function returns a :class:`Derived` value that names its method and source, so the
extraction table and the review report can say how every analysed number was obtained.

- SD from a standard error: ``SD = SE × √n`` [COCHRANE_HB6 §6.5.2.2].
- SD from a 95 % confidence interval of a mean: ``SD = √n × (upper − lower) / (2 × t)``, with
  ``t`` the 0.975 quantile of Student's t on ``n − 1`` df (the Handbook: 3.92 = 2 × 1.96 for
  large samples; t for small samples, "n < 60 in each group") [COCHRANE_HB6 §6.5.2.2]. pedbone
  always uses t, which equals the normal value in the limit.
- SE of a difference from its CI or p-value, then an SD assumed equal in both arms:
  ``SD = SE / √(1/n1 + 1/n2)`` [COCHRANE_HB6 §6.5.2.3].
- Mean and SD from the median with the range, the IQR, or both: means by Luo et al. 2018
  [LUO2018] (the weights of their eqs. for scenarios S1, S2 and S3), SDs by Wan et al. 2014
  [WAN2014] (``ξ(n) = 2Φ⁻¹((n − 0.375)/(n + 0.25))`` for the range, ``η(n) =
  2Φ⁻¹((0.75n − 0.125)/(n + 0.25))`` for the IQR; S3 averages the two), as the Cochrane Handbook
  cites them [COCHRANE_HB6 §6.5.2.5]. Wan et al. give exact table values of ξ(n) for n ≤ 50;
  pedbone uses their closed form for every n (R's ``meta`` package uses the table for n ≤ 50),
  and says so in the method note.
- SD of the change from baseline from the baseline and final SDs and a correlation ``r`` that
  the reviewer states: ``SD_change = √(SD_b² + SD_f² − 2 r SD_b SD_f)`` [COCHRANE_HB6 §6.5.2.8],
  with a sensitivity range over other values of ``r``.

Percent change and Z-score change are different scales and are never converted into each other
(:class:`pedbone.review.Scale` keeps them apart).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

_NORMAL = NormalDist()

__all__ = [
    "DeriveError",
    "Derived",
    "Scale",
    "mean_sd_from_median",
    "sd_change_from_baseline",
    "sd_from_ci",
    "sd_from_diff_ci",
    "sd_from_diff_p",
    "sd_from_se",
]


class DeriveError(ValueError):
    """Numbers that cannot give an SD or a mean (with the reason)."""


class Scale(StrEnum):
    """The scale an outcome is reported on: never pooled across."""

    PERCENT_CHANGE = "percent_change"  # e.g. LS aBMD % change from baseline
    Z_CHANGE = "z_change"  # change in Z-score
    ABSOLUTE = "absolute"  # e.g. g/cm² at follow-up
    ABSOLUTE_CHANGE = "absolute_change"
    EVENTS = "events"  # events / totals


@dataclass(frozen=True, slots=True)
class Derived:
    """A derived number with how it was obtained."""

    value: float
    method: str
    source: str  # citation key(s)
    note: str = ""


def _n(n: float, name: str = "n") -> float:
    if not (isinstance(n, int | float) and math.isfinite(n) and n >= 2):
        raise DeriveError(f"{name} must be a number of participants ≥ 2, got {n!r}")
    return float(n)


def _positive(x: float, name: str) -> float:
    if not (math.isfinite(x) and x > 0):
        raise DeriveError(f"{name} must be positive, got {x!r}")
    return x


def sd_from_se(se: float, n: float) -> Derived:
    """SD = SE × √n [COCHRANE_HB6 §6.5.2.2]."""
    return Derived(_positive(se, "SE") * math.sqrt(_n(n)), "SD = SE × √n", "COCHRANE_HB6")


def sd_from_ci(lower: float, upper: float, n: float, level: float = 0.95) -> Derived:
    """SD of one group from the CI of its mean, with Student's t on n − 1 df [COCHRANE_HB6]."""
    n_ = _n(n)
    if not upper > lower:
        raise DeriveError(f"the upper limit ({upper}) must exceed the lower ({lower})")
    if not 0 < level < 1:
        raise DeriveError(f"confidence level must be between 0 and 1, got {level}")
    t = _t_ppf(0.5 + level / 2, n_ - 1)
    return Derived(
        math.sqrt(n_) * (upper - lower) / (2 * t),
        f"SD = √n × (upper − lower) / (2 × t{{{level:g}, n−1}}), t = {t:.4f}",
        "COCHRANE_HB6",
    )


def _diff_sd(se: float, n1: float, n2: float, how: str) -> Derived:
    return Derived(
        se / math.sqrt(1 / _n(n1, "n1") + 1 / _n(n2, "n2")),
        f"{how}; SD = SE / √(1/n1 + 1/n2), assumed equal in both arms",
        "COCHRANE_HB6",
    )


def sd_from_diff_ci(
    lower: float, upper: float, n1: float, n2: float, level: float = 0.95
) -> Derived:
    """Common SD from the CI of a difference in means (t on n1 + n2 − 2 df) [COCHRANE_HB6]."""
    if not upper > lower:
        raise DeriveError(f"the upper limit ({upper}) must exceed the lower ({lower})")
    df = _n(n1, "n1") + _n(n2, "n2") - 2
    t = _t_ppf(0.5 + level / 2, df)
    se = (upper - lower) / (2 * t)
    return _diff_sd(se, n1, n2, f"SE = (upper − lower) / (2 × t), t = {t:.4f} on {df:g} df")


def sd_from_diff_p(diff: float, p: float, n1: float, n2: float) -> Derived:
    """Common SD from a difference in means and its two-sided t-test p-value [COCHRANE_HB6]."""
    if not 0 < p < 1:
        raise DeriveError(f"p must be between 0 and 1 (exclusive), got {p!r}")
    if diff == 0 or not math.isfinite(diff):
        raise DeriveError("a difference of zero (or not a number) gives no SE")
    df = _n(n1, "n1") + _n(n2, "n2") - 2
    t = _t_ppf(1 - p / 2, df)
    return _diff_sd(
        abs(diff) / t, n1, n2, f"t = {t:.4f} from p = {p:g} on {df:g} df; SE = |diff| / t"
    )


def _t_ppf(q: float, df: float) -> float:
    # SciPy's Student t quantile, imported on first use (scipy.stats is slow to import and
    # pedbone.store imports this module).
    from scipy import stats

    return float(stats.t.ppf(q, df))


def _xi(n: float) -> float:
    return 2 * _NORMAL.inv_cdf((n - 0.375) / (n + 0.25))


def _eta(n: float) -> float:
    return 2 * _NORMAL.inv_cdf((0.75 * n - 0.125) / (n + 0.25))


def mean_sd_from_median(
    n: float,
    median: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    q1: float | None = None,
    q3: float | None = None,
) -> tuple[Derived, Derived]:
    """Mean (Luo 2018) and SD (Wan 2014) from the median with range and/or IQR."""
    n_ = _n(n)
    has_range = minimum is not None and maximum is not None
    has_iqr = q1 is not None and q3 is not None
    note = "assumes a roughly normal distribution; skewed data make these estimates poor"
    if has_range and has_iqr:
        a, b, lo, hi = float(minimum), float(maximum), float(q1), float(q3)  # type: ignore[arg-type]
        if not a <= lo <= median <= hi <= b or a == b:
            raise DeriveError("need minimum ≤ Q1 ≤ median ≤ Q3 ≤ maximum with a range")
        w1 = 2.2 / (2.2 + n_**0.75)
        w2 = 0.7 - 0.72 / n_**0.55
        mean = w1 * (a + b) / 2 + w2 * (lo + hi) / 2 + (1 - w1 - w2) * median
        sd = 0.5 * ((b - a) / _xi(n_) + (hi - lo) / _eta(n_))
        scen = "S3 (minimum, Q1, median, Q3, maximum)"
    elif has_range:
        a, b = float(minimum), float(maximum)  # type: ignore[arg-type]
        if not a <= median <= b or a == b:
            raise DeriveError("need minimum ≤ median ≤ maximum with minimum < maximum")
        w = 4 / (4 + n_**0.75)
        mean = w * (a + b) / 2 + (1 - w) * median
        sd = (b - a) / _xi(n_)
        scen = "S1 (minimum, median, maximum)"
    elif has_iqr:
        lo, hi = float(q1), float(q3)  # type: ignore[arg-type]
        if not lo <= median <= hi or lo == hi:
            raise DeriveError("need Q1 ≤ median ≤ Q3 with Q1 < Q3")
        w = 0.7 + 0.39 / n_
        mean = w * (lo + hi) / 2 + (1 - w) * median
        sd = (hi - lo) / _eta(n_)
        scen = "S2 (Q1, median, Q3)"
    else:
        raise DeriveError("give the range (minimum and maximum), the IQR (Q1 and Q3), or both")
    return (
        Derived(mean, f"mean from the median, {scen}: Luo et al. 2018", "LUO2018", note),
        Derived(
            sd,
            f"SD from the median, {scen}: Wan et al. 2014 closed form (no table for n ≤ 50)",
            "WAN2014",
            note,
        ),
    )


def sd_change_from_baseline(
    sd_baseline: float,
    sd_final: float,
    r: float,
    sensitivity: Sequence[float] = (),
) -> tuple[Derived, dict[float, float]]:
    """SD of the change from baseline with a stated correlation r, and the same for other r.

    ``SD_change = √(SD_b² + SD_f² − 2 r SD_b SD_f)`` [COCHRANE_HB6 §6.5.2.8]. The correlation is
    the reviewer's statement (from a study that reports all three SDs, or an assumption), so it
    has no default; ``sensitivity`` lists the other values to report beside it.
    """

    def one(rho: float) -> float:
        if not -1 <= rho <= 1:
            raise DeriveError(f"a correlation lies between −1 and 1, got {rho!r}")
        return math.sqrt(
            _positive(sd_baseline, "baseline SD") ** 2
            + _positive(sd_final, "final SD") ** 2
            - 2 * rho * sd_baseline * sd_final
        )

    main = Derived(
        one(r),
        f"SD_change = √(SD_b² + SD_f² − 2 r SD_b SD_f) with stated r = {r:g}",
        "COCHRANE_HB6",
    )
    return main, {float(rho): one(rho) for rho in sensitivity}
