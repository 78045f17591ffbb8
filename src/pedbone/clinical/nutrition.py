"""Vitamin D and calcium: 25-OH-D status, recommended intakes and supplementation regimens.

Every threshold, intake and dose here is transcribed from the sources' tables and carries its
citation key. Age bands are half-open, ``[from, until)``: the "1–3 y" band of a dietary
reference intake runs from the 1st to the day before the 4th birthday.

Boundaries decided here (the sources' tables share endpoints):

* Global consensus [S68]: deficiency < 30 nmol/L, insufficiency 30 to < 50 nmol/L,
  sufficiency ≥ 50 nmol/L. The table gives sufficiency as "> 50 nmol/L (≥ 20 ng/mL)"; the
  ng/mL form, the IOM row (≥ 20 ng/mL [S70]) and the pre-bisphosphonate rule
  "25(OH)D ≥ 50 nmol/L" [S54] all put exactly 50 nmol/L on the sufficient side, so pedbone does.
* IOM [S70]: deficiency < 12 ng/mL, inadequacy 12 to < 20, sufficiency ≥ 20 ng/mL.
* Endocrine Society [S69]: deficiency < 20 ng/mL, insufficiency 20 to < 30 ng/mL (the source
  writes 21–29), sufficiency 30–100 ng/mL; above 100 ng/mL is reported as above the range (no
  toxicity threshold is confirmed in the sources).

Other areas (treatment planning) call these functions; never re-implement them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from pedbone.units import ohd_ngml_to_nmol

__all__ = [
    "CALCIUM_INTAKES",
    "VITAMIN_D_INTAKES",
    "VITAMIN_D_SCHEMES",
    "IntakeRecommendation",
    "Regimen",
    "VitaminDStatus",
    "assess_calcium_intake",
    "calcium_recommended_intake",
    "to_nmol_per_l",
    "vitamin_d_recommended_intake",
    "vitamin_d_regimens",
    "vitamin_d_status",
]

Scheme = Literal["global_consensus", "iom", "endocrine_society"]
Body = Literal["iom", "efsa"]
Category = Literal["deficiency", "insufficiency", "sufficiency", "above_range"]

_ONE_MONTH: Final = 1 / 12


def to_nmol_per_l(value: float, unit: str) -> float:
    """25-OH-D in nmol/L from a value in 'nmol/L' or 'ng/mL' (1 ng/mL = 2.5 nmol/L).

    Raises ValueError for any other unit.
    """
    u = unit.strip().lower().replace("µ", "u")
    if u in ("nmol/l",):
        return float(value)
    if u in ("ng/ml", "ug/l"):
        return float(ohd_ngml_to_nmol(float(value)))
    raise ValueError(f"unknown 25-OH vitamin D unit {unit!r}; use 'nmol/L' or 'ng/mL'")


@dataclass(frozen=True, slots=True)
class _Cut:
    """Lower bounds (nmol/L, inclusive) of insufficiency, sufficiency and above-range."""

    insufficiency: float
    sufficiency: float
    above: float | None
    source: str
    label: str


#: Status cut-offs in nmol/L (ng/mL × 2.5). See the module docstring for the endpoints.
VITAMIN_D_SCHEMES: Final[dict[Scheme, _Cut]] = {
    # Global Consensus 2016: < 30 nmol/L deficiency; 30–50 insufficiency; ≥ 20 ng/mL sufficient
    "global_consensus": _Cut(30.0, 50.0, None, "S68", "Global Consensus on nutritional rickets"),
    # IOM 2011: < 12 ng/mL deficiency; 12–20 ng/mL; ≥ 20 ng/mL
    "iom": _Cut(30.0, 50.0, None, "S70", "IOM 2011"),
    # Endocrine Society 2011: < 20 ng/mL; 21–29 ng/mL; 30–100 ng/mL
    "endocrine_society": _Cut(50.0, 75.0, 250.0, "S69", "Endocrine Society 2011"),
}


@dataclass(frozen=True, slots=True)
class VitaminDStatus:
    """25-OH-D status by one source's thresholds."""

    nmol_per_l: float
    category: Category
    scheme: Scheme
    source: str
    thresholds_nmol_per_l: tuple[float, float]

    @property
    def ng_per_ml(self) -> float:
        """The value in ng/mL."""
        return self.nmol_per_l / 2.5


def vitamin_d_status(
    value: float, unit: str = "nmol/L", *, scheme: Scheme = "global_consensus"
) -> VitaminDStatus:
    """Classify a 25-OH-D level: deficiency, insufficiency, sufficiency (or above_range).

    ``scheme`` picks the source: 'global_consensus' [S68] (default), 'iom' [S70] or
    'endocrine_society' [S69]. Raises ValueError for an unknown unit or a negative value.
    """
    nmol = to_nmol_per_l(value, unit)
    if nmol < 0:
        raise ValueError(f"25-OH vitamin D cannot be negative ({value} {unit})")
    cut = VITAMIN_D_SCHEMES[scheme]
    category: Category
    if nmol < cut.insufficiency:
        category = "deficiency"
    elif nmol < cut.sufficiency:
        category = "insufficiency"
    elif cut.above is not None and nmol > cut.above:
        category = "above_range"
    else:
        category = "sufficiency"
    return VitaminDStatus(
        nmol_per_l=nmol,
        category=category,
        scheme=scheme,
        source=cut.source,
        thresholds_nmol_per_l=(cut.insufficiency, cut.sufficiency),
    )


@dataclass(frozen=True, slots=True)
class IntakeRecommendation:
    """A recommended daily intake for an age band ``[age_from, age_until)`` in years."""

    age_from: float
    age_until: float
    amount: float
    unit: Literal["mg/day", "IU/day"]
    kind: Literal["RDA", "AI", "PRI", "EAR", "UL"]
    body: Body
    source: str

    @property
    def band(self) -> str:
        """Human-readable age band, e.g. '1 y to <4 y' or '0 mo to <6 mo'."""
        return self.band_label("en")

    def band_label(self, lang: Literal["en", "nl"] = "en") -> str:
        """The age band in English or Dutch."""
        mo, y, to = ("mo", "y", "to") if lang == "en" else ("mnd", "j", "tot")

        def fmt(x: float) -> str:
            return f"{round(x * 12)} {mo}" if x < 1 else f"{x:g} {y}"

        return f"{fmt(self.age_from)} {to} <{fmt(self.age_until)}"


def _band(
    lo: float,
    hi: float,
    amount: float,
    unit: Literal["mg/day", "IU/day"],
    kind: Literal["RDA", "AI", "PRI", "EAR", "UL"],
    body: Body,
    source: str,
) -> IntakeRecommendation:
    return IntakeRecommendation(lo, hi, amount, unit, kind, body, source)


#: Calcium (mg/day). IOM 2011 RDA (AI for infants) [S70]; EFSA 2015 PRI (AI 7–11 mo) [S71];
#: IOM EAR [S70]; IOM UL [S70b]. "1–3 y" = [1, 4) etc.; "7–11 mo" = [7/12, 1).
CALCIUM_INTAKES: Final[tuple[IntakeRecommendation, ...]] = (
    _band(0.0, 0.5, 200, "mg/day", "AI", "iom", "S70"),
    _band(0.5, 1.0, 260, "mg/day", "AI", "iom", "S70"),
    _band(1.0, 4.0, 700, "mg/day", "RDA", "iom", "S70"),
    _band(4.0, 9.0, 1000, "mg/day", "RDA", "iom", "S70"),
    _band(9.0, 14.0, 1300, "mg/day", "RDA", "iom", "S70"),
    _band(14.0, 19.0, 1300, "mg/day", "RDA", "iom", "S70"),
    _band(7 / 12, 1.0, 280, "mg/day", "AI", "efsa", "S71"),
    _band(1.0, 4.0, 450, "mg/day", "PRI", "efsa", "S71"),
    _band(4.0, 11.0, 800, "mg/day", "PRI", "efsa", "S71"),
    _band(11.0, 18.0, 1150, "mg/day", "PRI", "efsa", "S71"),
    _band(18.0, 25.0, 1000, "mg/day", "PRI", "efsa", "S71"),
    _band(1.0, 4.0, 500, "mg/day", "EAR", "iom", "S70"),
    _band(4.0, 9.0, 800, "mg/day", "EAR", "iom", "S70"),
    _band(9.0, 19.0, 1100, "mg/day", "EAR", "iom", "S70"),
    _band(0.0, 0.5, 1000, "mg/day", "UL", "iom", "S70b"),
    _band(0.5, 1.0, 1500, "mg/day", "UL", "iom", "S70b"),
    _band(1.0, 9.0, 2500, "mg/day", "UL", "iom", "S70b"),
    _band(9.0, 19.0, 3000, "mg/day", "UL", "iom", "S70b"),
)

#: Vitamin D (IU/day). IOM RDA/AI and UL [S70]; EFSA AI (10 µg = 400 IU, 15 µg = 600 IU) [S71].
VITAMIN_D_INTAKES: Final[tuple[IntakeRecommendation, ...]] = (
    _band(0.0, 1.0, 400, "IU/day", "AI", "iom", "S70"),
    _band(1.0, 19.0, 600, "IU/day", "RDA", "iom", "S70"),
    _band(0.0, 0.5, 1000, "IU/day", "UL", "iom", "S70"),
    _band(0.5, 1.0, 1500, "IU/day", "UL", "iom", "S70"),
    _band(1.0, 4.0, 2500, "IU/day", "UL", "iom", "S70"),
    _band(4.0, 9.0, 3000, "IU/day", "UL", "iom", "S70"),
    _band(9.0, 19.0, 4000, "IU/day", "UL", "iom", "S70"),
    _band(7 / 12, 1.0, 400, "IU/day", "AI", "efsa", "S71"),
    _band(1.0, 18.0, 600, "IU/day", "AI", "efsa", "S71"),
)


def _lookup(
    table: tuple[IntakeRecommendation, ...],
    age_years: float,
    body: Body,
    kinds: tuple[str, ...],
) -> IntakeRecommendation | None:
    if age_years < 0:
        raise ValueError(f"age must not be negative (got {age_years})")
    for rec in table:
        if rec.body == body and rec.kind in kinds and rec.age_from <= age_years < rec.age_until:
            return rec
    return None


def calcium_recommended_intake(
    age_years: float,
    *,
    body: Body = "iom",
    kind: Literal["recommended", "EAR", "UL"] = "recommended",
) -> IntakeRecommendation | None:
    """Calcium intake for an age: the recommended intake (IOM RDA/AI [S70], EFSA PRI/AI [S71]),
    or the IOM EAR [S70] or UL [S70b]. None where the source has no value for that age."""
    kinds = ("RDA", "AI", "PRI") if kind == "recommended" else (kind,)
    return _lookup(CALCIUM_INTAKES, age_years, body, kinds)


def vitamin_d_recommended_intake(
    age_years: float, *, body: Body = "iom", kind: Literal["recommended", "UL"] = "recommended"
) -> IntakeRecommendation | None:
    """Vitamin D intake (IU/day) for an age: IOM RDA/AI or UL [S70], or EFSA AI [S71]."""
    kinds = ("RDA", "AI", "PRI") if kind == "recommended" else (kind,)
    return _lookup(VITAMIN_D_INTAKES, age_years, body, kinds)


@dataclass(frozen=True, slots=True)
class CalciumIntakeAssessment:
    """Calcium intake against the age-specific recommendation (and the UL)."""

    mg_per_day: float
    recommended: IntakeRecommendation
    upper_limit: IntakeRecommendation | None
    below_recommended: bool
    above_upper_limit: bool


def assess_calcium_intake(
    mg_per_day: float, age_years: float, *, body: Body = "iom"
) -> CalciumIntakeAssessment | None:
    """Compare a calcium intake with the recommended intake for age; an intake equal to the
    recommendation meets it. None when the source has no value for this age."""
    rec = calcium_recommended_intake(age_years, body=body)
    if rec is None:
        return None
    ul = calcium_recommended_intake(age_years, body="iom", kind="UL")
    return CalciumIntakeAssessment(
        mg_per_day=mg_per_day,
        recommended=rec,
        upper_limit=ul,
        below_recommended=mg_per_day < rec.amount,
        above_upper_limit=ul is not None and mg_per_day > ul.amount,
    )


@dataclass(frozen=True, slots=True)
class Regimen:
    """A vitamin D (and calcium) regimen as the source gives it: data, not a plan."""

    name: str
    applies_to: str
    vitamin_d_iu_per_day: tuple[float, float] | None
    duration: str | None
    calcium: str | None
    then: str | None
    source: str
    notes: str = ""

    def describe(self) -> str:
        """One line with a unit on every amount, e.g. 'X: vitamin D 2000 IU/day; calcium
        500 mg/day; at least 3 months [S68d]'."""
        parts: list[str] = []
        if self.vitamin_d_iu_per_day is not None:
            lo, hi = self.vitamin_d_iu_per_day
            dose = f"{lo:g}" if lo == hi else f"{lo:g}–{hi:g}"
            parts.append(f"vitamin D {dose} IU/day")
        if self.duration:
            parts.append(self.duration)
        if self.calcium:
            parts.append(self.calcium if "calcium" in self.calcium else f"calcium {self.calcium}")
        if self.then:
            parts.append(f"then {self.then}")
        if self.notes:
            parts.append(self.notes)
        body = "; ".join(parts)
        return f"{self.name} ({self.applies_to}): {body} [{self.source}]"


# NHS Scotland SPEG treatment of 25(OH)D < 30 nmol/L [S68c]; bands [from, until) in years.
_SPEG: Final = (
    (0.0, 0.25, (2000.0, 2000.0), "no calcium needed on a milk diet"),
    (0.25, 0.5, (2000.0, 2000.0), "± calcium"),
    (0.5, 12.0, (3000.0, 6400.0), "± calcium"),
    (12.0, 18.0, (6000.0, 6000.0), None),
)

# OUH pre-bisphosphonate repletion if 25(OH)D < 50 nmol/L: colecalciferol daily × 2 months [S56].
_OUH: Final = (
    (_ONE_MONTH, 1.0, 3000.0),
    (1.0, 12.0, 6000.0),
    (12.0, 18.0, 9000.0),
)


def vitamin_d_regimens(
    age_years: float, nmol_per_l: float | None = None, *, before_bisphosphonate: bool = False
) -> list[Regimen]:
    """The supplementation regimens the sources give for this age and 25-OH-D level.

    * < 30 nmol/L: NHS Scotland SPEG treatment by age [S68c] and the Global Consensus minimum
      (≥ 2000 IU/day for ≥ 3 months plus calcium 500 mg/day) [S68d]; under 1 year also the
      Endocrine Society infant regimen [S69].
    * 30 to < 50 nmol/L: an over-the-counter age-appropriate supplement [S68c], i.e. the
      recommended intake for age [S70].
    * ``before_bisphosphonate`` and < 50 nmol/L: the OUH repletion course [S56]
      (the source requires ≥ 50 nmol/L before an infusion [S54]).
    * ``nmol_per_l`` None or ≥ 50: the recommended intake for age [S70] (prevention).

    Returns source data for a clinician or the treatment planner; it does not choose one.
    """
    if age_years < 0:
        raise ValueError(f"age must not be negative (got {age_years})")
    out: list[Regimen] = []
    intake = vitamin_d_recommended_intake(age_years)
    if nmol_per_l is not None and nmol_per_l < 30.0:
        for lo, hi, iu, calcium in _SPEG:
            if lo <= age_years < hi:
                out.append(
                    Regimen(
                        name="SPEG treatment of deficiency",
                        applies_to="25(OH)D < 30 nmol/L",
                        vitamin_d_iu_per_day=iu,
                        duration=None,
                        calcium=calcium,
                        then="maintenance until growth stops",
                        source="S68c",
                        notes=(
                            "if adherence is a problem: 50 000–300 000 IU orally or IM every "
                            "3 months with calcium 30 mg/kg/day for 12 weeks"
                        ),
                    )
                )
        out.append(
            Regimen(
                name="Global Consensus treatment of nutritional rickets",
                applies_to="vitamin D deficiency (rickets)",
                vitamin_d_iu_per_day=(2000.0, 2000.0),
                duration="at least 3 months (minimum dose)",
                calcium="oral calcium 500 mg/day",
                then=None,
                source="S68d",
                notes="D2 and D3 equivalent for daily dosing; D3 preferred for single large doses",
            )
        )
        if age_years < 1.0:
            out.append(
                Regimen(
                    name="Endocrine Society treatment, 0–1 y",
                    applies_to="vitamin D deficiency, age 0–1 y",
                    vitamin_d_iu_per_day=(2000.0, 2000.0),
                    duration="or 50 000 IU weekly for 6 weeks",
                    calcium=None,
                    then="400–1000 IU/day",
                    source="S69",
                )
            )
    elif nmol_per_l is not None and nmol_per_l < 50.0 and intake is not None:
        out.append(
            Regimen(
                name="SPEG insufficiency: age-appropriate supplement",
                applies_to="25(OH)D 30–50 nmol/L",
                vitamin_d_iu_per_day=(intake.amount, intake.amount),
                duration=None,
                calcium=None,
                then=None,
                source="S68c",
                notes=f"over-the-counter supplement; intake for age {intake.amount:g} IU/day [S70]",
            )
        )
    elif intake is not None:
        out.append(
            Regimen(
                name="Recommended intake for age",
                applies_to="prevention",
                vitamin_d_iu_per_day=(intake.amount, intake.amount),
                duration=None,
                calcium=None,
                then=None,
                source=intake.source,
            )
        )
    if before_bisphosphonate and nmol_per_l is not None and nmol_per_l < 50.0:
        for lo, hi, dose in _OUH:
            if lo <= age_years < hi:
                out.append(
                    Regimen(
                        name="Pre-bisphosphonate repletion (OUH protocol)",
                        applies_to="25(OH)D < 50 nmol/L before a bisphosphonate",
                        vitamin_d_iu_per_day=(dose, dose),
                        duration="2 months",
                        calcium=None,
                        then="recheck: 25(OH)D ≥ 50 nmol/L before infusion [S54]",
                        source="S56",
                    )
                )
    return out
