"""Calcium and vitamin D alongside a bisphosphonate, built on ``pedbone.clinical.nutrition``.

Nothing is tabulated here: recommended intakes and regimens come from engineer CLIN's functions
(IOM/EFSA intakes [S70][S71], SPEG and Global Consensus treatment [S68c][S68d], OUH
pre-bisphosphonate repletion [S56]); this module adds the pre-infusion rule (25(OH)D ≥ 50 nmol/L
[S54]) and the advice of about 1000 mg/day calcium during treatment [S54].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pedbone import plausibility
from pedbone.clinical.nutrition import (
    IntakeRecommendation,
    Regimen,
    VitaminDStatus,
    calcium_recommended_intake,
    vitamin_d_recommended_intake,
    vitamin_d_regimens,
    vitamin_d_status,
)
from pedbone.treatment._advice import INTENDED_USE

__all__ = ["SupplementPlan", "supplementation_plan"]


@dataclass(frozen=True)
class SupplementPlan:
    """What the sources say about calcium and vitamin D for this child."""

    age_years: float
    vitamin_d_status: VitaminDStatus | None
    calcium_intake: IntakeRecommendation | None
    vitamin_d_intake: IntakeRecommendation | None
    vitamin_d_regimens: tuple[Regimen, ...]
    ready_for_infusion: bool | None
    advice: tuple[tuple[str, str], ...]
    #: Why a part of the answer is missing (e.g. the age is outside the sources' tables).
    notes: tuple[str, ...] = ()
    intended_use: str = INTENDED_USE

    def lines(self) -> list[str]:
        """The plan as text lines, each amount with its unit and each line with its source
        (the CLI prints these; the web page shows the same)."""
        out: list[str] = []
        st = self.vitamin_d_status
        if st is not None:
            ready = "yes" if self.ready_for_infusion else "no"
            out.append(
                f"25-OH vitamin D {st.nmol_per_l:g} nmol/L: {st.category} [{st.source}]; "
                f"ready for infusion (≥ 50 nmol/L): {ready} [S54]"
            )
        for label, r in (("Calcium", self.calcium_intake), ("Vitamin D", self.vitamin_d_intake)):
            if r is not None:
                out.append(
                    f"{label} intake for age ({r.band}): {r.amount:g} {r.unit} "
                    f"({r.body.upper()} {r.kind}) [{r.source}]"
                )
        out.extend(f"- {r.describe()}" for r in self.vitamin_d_regimens)
        out.extend(f"- {t} [{s}]" for t, s in self.advice)
        out.extend(f"NOTE: {n}" for n in self.notes)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""

        def rec(r: IntakeRecommendation | None) -> dict[str, Any] | None:
            if r is None:
                return None
            return {
                "amount": r.amount,
                "unit": r.unit,
                "kind": r.kind,
                "body": r.body,
                "age_band": r.band,
                "source": r.source,
            }

        st = self.vitamin_d_status
        return {
            "intended_use": self.intended_use,
            "age_years": self.age_years,
            "vitamin_d_status": None
            if st is None
            else {"nmol_per_l": st.nmol_per_l, "category": st.category, "source": st.source},
            "ready_for_infusion": self.ready_for_infusion,
            "calcium_intake": rec(self.calcium_intake),
            "vitamin_d_intake": rec(self.vitamin_d_intake),
            "vitamin_d_regimens": [
                {
                    "name": r.name,
                    "applies_to": r.applies_to,
                    "vitamin_d_iu_per_day": None
                    if r.vitamin_d_iu_per_day is None
                    else list(r.vitamin_d_iu_per_day),
                    "duration": r.duration,
                    "calcium": r.calcium,
                    "then": r.then,
                    "notes": r.notes,
                    "source": r.source,
                }
                for r in self.vitamin_d_regimens
            ],
            "advice": [{"text": t, "source": s} for t, s in self.advice],
            "notes": list(self.notes),
            "lines": self.lines(),
        }


def supplementation_plan(
    age_years: float,
    ohd: float | None = None,
    ohd_unit: str = "nmol/L",
    *,
    before_bisphosphonate: bool = True,
    body: Literal["iom", "efsa"] = "iom",
) -> SupplementPlan:
    """Calcium and vitamin D for a child starting or on a bisphosphonate.

    ``ohd`` is the 25-OH-D level (``ohd_unit`` 'nmol/L' or 'ng/mL'); without it only the
    recommended intakes are given. ``ready_for_infusion`` is True/False against the
    ≥ 50 nmol/L rule [S54] when a level is given.
    """
    plausibility.check("age_years", age_years)
    if ohd is not None:
        plausibility.check("ohd", ohd, ohd_unit)
    status = vitamin_d_status(ohd, ohd_unit) if ohd is not None else None
    nmol = status.nmol_per_l if status is not None else None
    regimens = tuple(
        vitamin_d_regimens(age_years, nmol, before_bisphosphonate=before_bisphosphonate)
    )
    ready = None if nmol is None else nmol >= 50.0
    advice: list[tuple[str, str]] = []
    if before_bisphosphonate:
        advice.append(("Advise about 1000 mg/day calcium during bisphosphonate treatment.", "S54"))
        advice.append(("25(OH)D must be ≥ 50 nmol/L before an infusion.", "S54"))
    calcium = calcium_recommended_intake(age_years, body=body)
    vit_d = vitamin_d_recommended_intake(age_years, body=body)
    notes: list[str] = []
    if calcium is None or vit_d is None:
        missing = " and ".join(
            n for n, r in (("calcium", calcium), ("vitamin D", vit_d)) if r is None
        )
        notes.append(
            f"age {age_years:g} y is outside the {body.upper()} {missing} intake tables "
            f"[{'S70' if body == 'iom' else 'S71'}]: pedbone gives no intake for this age"
        )
    no_repletion = not any(r.source == "S56" for r in regimens)
    if nmol is not None and nmol < 50.0 and before_bisphosphonate and no_repletion:
        notes.append(
            f"age {age_years:g} y is outside the age bands of the pre-bisphosphonate "
            "repletion table (1 month to < 18 y) [S56]: no repletion dose is given"
        )
    return SupplementPlan(
        age_years=age_years,
        vitamin_d_status=status,
        calcium_intake=calcium,
        vitamin_d_intake=vit_d,
        vitamin_d_regimens=regimens,
        ready_for_infusion=ready,
        advice=tuple(advice),
        notes=tuple(notes),
    )
