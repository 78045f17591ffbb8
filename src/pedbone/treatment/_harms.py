"""Harms of bisphosphonate treatment: records, per-patient and clinic summaries.

Harm categories follow the Cochrane review (acute-phase reaction, gastrointestinal complaints,
bone/muscle pain) [S24] plus hypocalcaemia and hypophosphataemia [S38]; severity is the CTCAE
grade 1-5 and relatedness the CTCAE attribution scale [CTCAE5]. Rates come with a 95 %
confidence interval by the Wilson score method [WILSON1927] (default) or the exact
Clopper-Pearson method [CLOPPER1934].
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Literal

__all__ = [
    "HARM_SOURCES",
    "Harm",
    "HarmLog",
    "HarmType",
    "Infusion",
    "Proportion",
    "Relatedness",
    "clopper_pearson_interval",
    "proportion",
    "wilson_interval",
]


class HarmType(StrEnum):
    """Harm categories for the data model [S24][S38]."""

    ACUTE_PHASE_REACTION = "acute_phase_reaction"
    GASTROINTESTINAL = "gastrointestinal"
    BONE_MUSCLE_PAIN = "bone_muscle_pain"
    HYPOCALCAEMIA = "hypocalcaemia"
    HYPOPHOSPHATAEMIA = "hypophosphataemia"
    OTHER = "other"


#: Where each category comes from.
HARM_SOURCES: dict[HarmType, tuple[str, ...]] = {
    HarmType.ACUTE_PHASE_REACTION: ("S24",),
    HarmType.GASTROINTESTINAL: ("S24",),
    HarmType.BONE_MUSCLE_PAIN: ("S24",),
    HarmType.HYPOCALCAEMIA: ("S38",),
    HarmType.HYPOPHOSPHATAEMIA: ("S38",),
    HarmType.OTHER: (),
}


class Relatedness(StrEnum):
    """Attribution of an adverse event to the drug (CTCAE attribution scale) [CTCAE5]."""

    UNRELATED = "unrelated"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"


_RELATED_ORDER = list(Relatedness)


@dataclass(frozen=True, slots=True)
class Infusion:
    """One bisphosphonate dose given. ``dose_number`` counts the patient's doses (1 = first)."""

    patient_id: str
    dose_number: int
    date: date
    protocol_id: str
    dose_mg: float
    #: Treatment cycle of the patient (1 = first cycle), when recorded.
    cycle: int | None = None

    def __post_init__(self) -> None:
        if self.cycle is not None and self.cycle < 1:
            raise ValueError(f"cycle must be 1 or more (got {self.cycle})")
        if self.dose_number < 1:
            raise ValueError(f"dose_number must be 1 or more (got {self.dose_number})")
        if not self.dose_mg > 0:
            raise ValueError(f"dose_mg must be positive (got {self.dose_mg})")
        if not self.patient_id:
            raise ValueError("patient_id is empty")


@dataclass(frozen=True, slots=True)
class Harm:
    """One harm after a dose: type, CTCAE grade (1-5), onset in days after it, relatedness."""

    patient_id: str
    dose_number: int
    type: HarmType
    grade: int
    onset_days: float
    relatedness: Relatedness
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.grade, int) or not 1 <= self.grade <= 5:
            raise ValueError(f"CTCAE grade must be an integer 1-5 (got {self.grade!r})")
        if self.onset_days < 0:
            raise ValueError(f"onset_days must be 0 or more (got {self.onset_days})")
        try:
            object.__setattr__(self, "type", HarmType(self.type))
        except ValueError:
            known = ", ".join(t.value for t in HarmType)
            raise ValueError(f"unknown harm type {self.type!r}; use one of {known}") from None
        try:
            object.__setattr__(self, "relatedness", Relatedness(self.relatedness))
        except ValueError:
            known = ", ".join(r.value for r in Relatedness)
            msg = f"unknown relatedness {self.relatedness!r}; use one of {known}"
            raise ValueError(msg) from None
        if self.type == HarmType.OTHER and not self.description.strip():
            raise ValueError("a harm of type 'other' needs a description")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "patient_id": self.patient_id,
            "dose_number": self.dose_number,
            "type": self.type.value,
            "grade": self.grade,
            "onset_days": self.onset_days,
            "relatedness": self.relatedness.value,
            "description": self.description,
            "sources": list(HARM_SOURCES[self.type]),
        }


# --------------------------------------------------------------------------------------------
# Binomial confidence intervals


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k events in n [WILSON1927]."""
    _check_kn(k, n)
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def clopper_pearson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact Clopper-Pearson interval for k events in n [CLOPPER1934]."""
    _check_kn(k, n)
    from scipy.special import betaincinv  # quantile of the beta distribution

    a = 1 - confidence
    lo = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, a / 2))
    hi = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1 - a / 2))
    return lo, hi


def _check_kn(k: int, n: int) -> None:
    if n <= 0:
        raise ValueError("no denominator: n must be at least 1")
    if not 0 <= k <= n:
        raise ValueError(f"k must be between 0 and n (k={k}, n={n})")


@dataclass(frozen=True, slots=True)
class Proportion:
    """k of n with its confidence interval and the method's citation key."""

    k: int
    n: int
    lower: float
    upper: float
    method: Literal["wilson", "clopper-pearson"]
    source: str

    @property
    def rate(self) -> float:
        """k / n."""
        return self.k / self.n

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "k": self.k,
            "n": self.n,
            "rate": self.rate,
            "ci95": [self.lower, self.upper],
            "method": self.method,
            "source": self.source,
        }

    def __str__(self) -> str:
        return (
            f"{self.k}/{self.n} = {100 * self.rate:.1f} % (95 % CI {100 * self.lower:.1f} to "
            f"{100 * self.upper:.1f} %, {self.method} [{self.source}])"
        )


def proportion(
    k: int, n: int, method: Literal["wilson", "clopper-pearson"] = "wilson"
) -> Proportion:
    """k of n with a 95 % interval by the chosen method."""
    if method == "wilson":
        lo, hi = wilson_interval(k, n)
        return Proportion(k, n, lo, hi, method, "WILSON1927")
    if method == "clopper-pearson":
        lo, hi = clopper_pearson_interval(k, n)
        return Proportion(k, n, lo, hi, method, "CLOPPER1934")
    raise ValueError(f"unknown interval method {method!r}; use 'wilson' or 'clopper-pearson'")


# --------------------------------------------------------------------------------------------
# The log


@dataclass
class HarmLog:
    """Infusions given and harms recorded, with per-patient and clinic summaries."""

    infusions: list[Infusion] = field(default_factory=list)
    harms: list[Harm] = field(default_factory=list)

    def add_infusion(self, infusion: Infusion) -> None:
        """Record a dose; a second record of the same patient and dose number is an error."""
        for i in self.infusions:
            if i.patient_id == infusion.patient_id and i.dose_number == infusion.dose_number:
                raise ValueError(
                    f"patient {infusion.patient_id}: dose {infusion.dose_number} already recorded"
                )
        self.infusions.append(infusion)

    def add_harm(self, harm: Harm) -> None:
        """Record a harm; it must refer to a recorded dose of the same patient."""
        if self._infusion(harm.patient_id, harm.dose_number) is None:
            raise ValueError(
                f"patient {harm.patient_id}: no dose {harm.dose_number} recorded; record the "
                "infusion first"
            )
        self.harms.append(harm)

    def _infusion(self, patient_id: str, dose_number: int) -> Infusion | None:
        for i in self.infusions:
            if i.patient_id == patient_id and i.dose_number == dose_number:
                return i
        return None

    @staticmethod
    def _keep(h: Harm, min_relatedness: Relatedness) -> bool:
        return _RELATED_ORDER.index(h.relatedness) >= _RELATED_ORDER.index(min_relatedness)

    def patient_summary(
        self, patient_id: str, *, min_relatedness: Relatedness = Relatedness.UNRELATED
    ) -> dict[str, Any]:
        """One patient's doses, harms by type (count, worst grade, median onset), each harm."""
        doses = sorted(
            (i for i in self.infusions if i.patient_id == patient_id), key=lambda i: i.dose_number
        )
        harms = [
            h for h in self.harms if h.patient_id == patient_id and self._keep(h, min_relatedness)
        ]
        by_type: dict[str, dict[str, Any]] = {}
        for t in HarmType:
            hs = [h for h in harms if h.type == t]
            if not hs:
                continue
            onsets = sorted(h.onset_days for h in hs)
            mid = len(onsets) // 2
            median = onsets[mid] if len(onsets) % 2 else (onsets[mid - 1] + onsets[mid]) / 2
            by_type[t.value] = {
                "count": len(hs),
                "worst_grade": max(h.grade for h in hs),
                "median_onset_days": median,
                "after_first_dose": sum(1 for h in hs if h.dose_number == 1),
                "sources": list(HARM_SOURCES[t]),
            }
        return {
            "patient_id": patient_id,
            "doses": len(doses),
            "cumulative_mg": sum(i.dose_mg for i in doses),
            "harms": len(harms),
            "by_type": by_type,
            "records": [h.to_dict() for h in harms],
            "grade_scale": "CTCAE [CTCAE5]",
        }

    def rate_by_dose(
        self,
        harm_type: HarmType = HarmType.ACUTE_PHASE_REACTION,
        *,
        method: Literal["wilson", "clopper-pearson"] = "wilson",
        min_relatedness: Relatedness = Relatedness.UNRELATED,
        unit: Literal["dose", "cycle"] = "dose",
    ) -> dict[str, Proportion | None]:
        """Share of first vs later doses (or cycles) followed by at least one harm of this type.

        ``unit='dose'``: the first dose is dose number 1. ``unit='cycle'``: the first cycle is
        cycle 1 and a cycle counts once whichever of its days the harm followed (every infusion
        must then record its cycle). A unit counts once however many harms followed it.
        ``None`` where a group is empty.
        """

        def key(i: Infusion) -> tuple[str, int]:
            if unit == "dose":
                return (i.patient_id, i.dose_number)
            if i.cycle is None:
                raise ValueError(
                    f"patient {i.patient_id}: dose {i.dose_number} has no cycle recorded; "
                    "rates by cycle need the cycle of every dose"
                )
            return (i.patient_id, i.cycle)

        if unit not in ("dose", "cycle"):
            raise ValueError(f"unknown unit {unit!r}; use 'dose' or 'cycle'")
        with_harm: set[tuple[str, int]] = set()
        for h in self.harms:
            if h.type == harm_type and self._keep(h, min_relatedness):
                inf = self._infusion(h.patient_id, h.dose_number)
                assert inf is not None  # add_harm guarantees it
                with_harm.add(key(inf))
        units: dict[str, set[tuple[str, int]]] = {"first": set(), "later": set()}
        for i in self.infusions:
            k = key(i)
            units["first" if k[1] == 1 else "later"].add(k)
        out: dict[str, Proportion | None] = {}
        for name, members in units.items():
            k_events = len(members & with_harm)
            out[name] = proportion(k_events, len(members), method) if members else None
        return out

    def clinic_summary(
        self,
        *,
        method: Literal["wilson", "clopper-pearson"] = "wilson",
        min_relatedness: Relatedness = Relatedness.UNRELATED,
        unit: Literal["dose", "cycle"] = "dose",
    ) -> dict[str, Any]:
        """Across the clinic: patients, doses, and first-vs-later rates for every harm type."""
        rates: dict[str, Any] = {}
        for t in HarmType:
            r = self.rate_by_dose(t, method=method, min_relatedness=min_relatedness, unit=unit)
            rates[t.value] = {k: (v.to_dict() if v is not None else None) for k, v in r.items()} | {
                "sources": list(HARM_SOURCES[t])
            }
        grades: dict[str, int] = {}
        for h in self.harms:
            if self._keep(h, min_relatedness):
                grades[str(h.grade)] = grades.get(str(h.grade), 0) + 1
        return {
            "patients": len({i.patient_id for i in self.infusions}),
            "doses": len(self.infusions),
            "first_doses": sum(1 for i in self.infusions if i.dose_number == 1),
            "harms": sum(1 for h in self.harms if self._keep(h, min_relatedness)),
            "by_grade": dict(sorted(grades.items())),
            "rates_first_vs_later": rates,
            "min_relatedness": min_relatedness.value,
            "unit": unit,
            "interval_method": method,
        }

    @classmethod
    def from_records(cls, infusions: Iterable[Infusion], harms: Iterable[Harm]) -> HarmLog:
        """Build a log, checking each record."""
        log = cls()
        for i in infusions:
            log.add_infusion(i)
        for h in harms:
            log.add_harm(h)
        return log
