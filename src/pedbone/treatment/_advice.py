"""Advice that goes with a bisphosphonate plan, as the sources give it (§6.2-§6.3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pedbone.treatment._protocol import Protocol

__all__ = ["INTENDED_USE", "Advice", "first_infusion_advice", "general_advice"]

#: Shown with every plan, checklist and calendar.
INTENDED_USE = (
    "pedbone supports, and does not replace, clinical judgement. All paediatric bisphosphonate "
    "use is off-label; check every dose against the local protocol."
)


@dataclass(frozen=True, slots=True)
class Advice:
    """One piece of advice with the sources it comes from."""

    text: str
    sources: tuple[str, ...]
    topic: str = "general"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"topic": self.topic, "text": self.text, "sources": list(self.sources)}

    def __str__(self) -> str:
        return f"{self.text} {''.join(f'[{k}]' for k in self.sources)}"


def first_infusion_advice(protocol: Protocol, *, on_glucocorticoids: bool) -> list[Advice]:
    """Acute-phase-reaction advice for a first bisphosphonate dose (IV protocols).

    Paracetamol for flu-like symptoms, which come mainly after the first cycle [S55]; for a
    child on glucocorticoids a sick-day steroid stress dose for 48 h starting the morning of the
    first infusion [S55]. No paracetamol or steroid dose is given: the source names none, so the
    dose follows the local formulary.
    """
    if protocol.route != "iv":
        return []
    out = [
        Advice(
            "Acute-phase reaction (fever, malaise, aches) is the most frequent harm and comes "
            "mainly after the first cycle.",
            ("S24", "S55"),
            "acute-phase reaction",
        ),
        Advice(
            "Paracetamol for flu-like symptoms (dose per local formulary).",
            ("S55",),
            "acute-phase reaction",
        ),
        Advice(
            "Check serum calcium before and after the infusion.",
            ("S57",),
            "calcium",
        ),
    ]
    if on_glucocorticoids:
        out.append(
            Advice(
                "On glucocorticoids: sick-day steroid stress dose for 48 h starting the morning "
                "of the first infusion (dose per local sick-day rules).",
                ("S55",),
                "glucocorticoids",
            )
        )
    return out


def general_advice(protocol: Protocol) -> list[Advice]:
    """Advice for the whole course."""
    return [
        Advice("Advise about 1000 mg/day calcium intake during treatment.", ("S54",), "calcium"),
        Advice(
            "Avoid dental interventions during treatment if possible (jaw osteonecrosis concern).",
            ("S53",),
            "dental",
        ),
    ]
