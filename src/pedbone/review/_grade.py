"""GRADE certainty of evidence per outcome, each step with its reason.

Rules [GRADE18_2019, Table 1; GRADE6_2011; GRADE9_2011]:

- The body of evidence starts **High** for randomised trials and **Low** for observational
  studies; non-randomised studies assessed with ROBINS-I may start High and are then rated down
  for risk of bias [GRADE18_2019] (``start_high_with_robins_i=True``).
- Rate down for risk of bias, inconsistency, indirectness and imprecision: −1 serious, −2 very
  serious; imprecision may be rated down three levels under the minimally contextualised
  approach [GRADE_IMPRECISION2022]; publication bias −1 likely, −2 very likely.
- Rate up for a large effect (+1; +2 very large), a dose–response gradient (+1), and when all
  plausible confounding would reduce a demonstrated effect (+1). Upgrading is "usually only
  applicable to observational studies without any reason for rating down" [GRADE18_2019]: pedbone
  refuses it otherwise unless the reviewer says why.
- Four levels: High, Moderate, Low, Very low; never below Very low or above High.

Every step needs a written reason; the result lists the steps in order for the summary-of-
findings table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

__all__ = [
    "Certainty",
    "DownFactor",
    "GradeError",
    "GradeResult",
    "GradeStep",
    "UpFactor",
    "grade",
]


class GradeError(ValueError):
    """A GRADE step that the rules do not allow (with the reason)."""


class Certainty(IntEnum):
    VERY_LOW = 1
    LOW = 2
    MODERATE = 3
    HIGH = 4

    @property
    def label(self) -> str:
        return {1: "Very low", 2: "Low", 3: "Moderate", 4: "High"}[self.value]

    @property
    def symbols(self) -> str:
        return "⊕" * self.value + "◯" * (4 - self.value)


class DownFactor(StrEnum):
    RISK_OF_BIAS = "risk_of_bias"
    INCONSISTENCY = "inconsistency"
    INDIRECTNESS = "indirectness"
    IMPRECISION = "imprecision"
    PUBLICATION_BIAS = "publication_bias"


class UpFactor(StrEnum):
    LARGE_EFFECT = "large_effect"
    DOSE_RESPONSE = "dose_response"
    CONFOUNDING = "plausible_confounding"


#: Largest number of levels each factor may move the certainty [GRADE18_2019; imprecision:
#: GRADE_IMPRECISION2022].
MAX_DOWN: Mapping[DownFactor, int] = {
    DownFactor.RISK_OF_BIAS: 2,
    DownFactor.INCONSISTENCY: 2,
    DownFactor.INDIRECTNESS: 2,
    DownFactor.IMPRECISION: 3,
    DownFactor.PUBLICATION_BIAS: 2,
}
MAX_UP: Mapping[UpFactor, int] = {
    UpFactor.LARGE_EFFECT: 2,
    UpFactor.DOSE_RESPONSE: 1,
    UpFactor.CONFOUNDING: 1,
}


@dataclass(frozen=True, slots=True)
class GradeStep:
    factor: DownFactor | UpFactor | str
    levels: int  # negative: rated down
    reason: str
    certainty_after: Certainty


@dataclass(frozen=True, slots=True)
class GradeResult:
    outcome: str
    start: Certainty
    start_reason: str
    steps: tuple[GradeStep, ...]
    certainty: Certainty
    notes: tuple[str, ...] = field(default=())

    def explanation(self) -> str:
        parts = [f"{self.outcome}: starts {self.start.label} ({self.start_reason})"]
        for s in self.steps:
            verb = "down" if s.levels < 0 else "up"
            parts.append(f"rated {verb} {abs(s.levels)} for {s.factor}: {s.reason}")
        parts.append(f"certainty {self.certainty.label} {self.certainty.symbols}")
        return "; ".join(parts)


def grade(
    outcome: str,
    *,
    randomised: bool,
    down: Mapping[DownFactor | str, tuple[int, str]] | None = None,
    up: Mapping[UpFactor | str, tuple[int, str]] | None = None,
    start_high_with_robins_i: bool = False,
    upgrade_reason_despite_rules: str = "",
) -> GradeResult:
    """The GRADE certainty for one outcome.

    ``down`` maps a factor to (levels, reason), e.g. ``{"imprecision": (2, "n = 62, CI
    includes no effect and appreciable benefit")}``; ``up`` likewise for upgrading.
    """
    if randomised:
        start, why = Certainty.HIGH, "randomised trials [GRADE18_2019]"
    elif start_high_with_robins_i:
        start, why = Certainty.HIGH, "non-randomised studies assessed with ROBINS-I [GRADE18_2019]"
    else:
        start, why = Certainty.LOW, "observational studies [GRADE18_2019]"
    steps: list[GradeStep] = []
    level = int(start)
    notes: list[str] = []
    for raw, (levels, reason) in (down or {}).items():
        factor = DownFactor(raw)
        if not 1 <= levels <= MAX_DOWN[factor]:
            raise GradeError(f"{factor}: rate down 1 to {MAX_DOWN[factor]} levels, not {levels}")
        if not reason.strip():
            raise GradeError(f"{factor}: every step needs a reason")
        level = max(int(Certainty.VERY_LOW), level - levels)
        steps.append(GradeStep(factor, -levels, reason.strip(), Certainty(level)))
    if up:
        rated_down = bool(steps)
        if (randomised or start_high_with_robins_i or rated_down) and not (
            upgrade_reason_despite_rules.strip()
        ):
            raise GradeError(
                "rating up is usually only for observational studies with no reason for rating "
                "down [GRADE18_2019]; give upgrade_reason_despite_rules to do it anyway"
            )
        if upgrade_reason_despite_rules.strip():
            notes.append(f"upgraded despite the usual rule: {upgrade_reason_despite_rules.strip()}")
        for raw, (levels, reason) in up.items():
            ufactor = UpFactor(raw)
            if not 1 <= levels <= MAX_UP[ufactor]:
                raise GradeError(f"{ufactor}: rate up 1 to {MAX_UP[ufactor]} levels, not {levels}")
            if not reason.strip():
                raise GradeError(f"{ufactor}: every step needs a reason")
            level = min(int(Certainty.HIGH), level + levels)
            steps.append(GradeStep(ufactor, levels, reason.strip(), Certainty(level)))
    return GradeResult(outcome, start, why, tuple(steps), Certainty(level), tuple(notes))
