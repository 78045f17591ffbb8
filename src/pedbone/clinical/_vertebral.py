"""Genant semi-quantitative grading of vertebral deformity from morphometry [S16].

Genant table (§3.1): grade 0 normal, < 20 % height reduction; grade 1 mild, 20–25 %;
grade 2 moderate, 25–40 %; grade 3 severe, > 40 %; grade 0.5 (borderline) is a reader's call
and is never derived from heights.

Shared endpoints. "< 20 %" (grade 0) puts exactly 20 % in grade 1, and "> 40 %" (grade 3) puts
exactly 40 % in grade 2; so grade 2 includes its upper endpoint. pedbone applies the same rule to
the endpoint the table leaves open, 25 %: every band includes its upper endpoint, so

* grade 0: loss < 20 %
* grade 1: 20 % ≤ loss ≤ 25 %
* grade 2: 25 % < loss ≤ 40 %
* grade 3: loss > 40 %

The height loss is rounded to 6 decimals (of a percent) before it is compared, so that binary
floating point (16/20 = 0.8 gives a loss of 19.999999999999996 %) cannot move a vertebra across a
boundary.

Heights: loss = (expected − measured) / expected for the anterior, middle and posterior height.
The expected height is ``reference_height_mm`` when given (e.g. from adjacent normal vertebrae),
otherwise the largest of the vertebra's own three heights. The type follows the most reduced
height: anterior → wedge, middle → biconcave, posterior → crush; all three reduced by ≥ 20 %
against a reference height → crush [S16][S90]. Without a reference height a crush fracture
(uniform loss) cannot be seen, which the result says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["GENANT_THRESHOLDS", "VertebraGrade", "genant_grade", "grade_from_loss"]

#: Height-reduction thresholds (percent) of the Genant SQ method [S16].
GENANT_THRESHOLDS: Final = (20.0, 25.0, 40.0)

FractureType = Literal["wedge", "biconcave", "crush"]


def grade_from_loss(loss_percent: float) -> Literal[0, 1, 2, 3]:
    """Genant grade for a height reduction in percent (see the module docstring) [S16]."""
    loss = round(loss_percent, 6)
    mild, moderate, severe = GENANT_THRESHOLDS
    if loss < mild:
        return 0
    if loss <= moderate:
        return 1
    if loss <= severe:
        return 2
    return 3


@dataclass(frozen=True, slots=True)
class VertebraGrade:
    """Morphometric result for one vertebra."""

    level: str
    grade: Literal[0, 1, 2, 3]
    loss_percent: float
    fracture_type: FractureType | None
    reduced_heights: tuple[str, ...]
    used_reference_height: bool
    note: str = ""

    @property
    def is_fracture(self) -> bool:
        """Grade ≥ 1: at least the 20 % threshold of a mild fracture [S16]."""
        return self.grade >= 1


def genant_grade(
    level: str,
    anterior_mm: float,
    middle_mm: float,
    posterior_mm: float,
    reference_height_mm: float | None = None,
) -> VertebraGrade:
    """Grade one vertebra from its anterior, middle and posterior heights [S16].

    Raises ValueError for a non-positive height.
    """
    heights = {"anterior": anterior_mm, "middle": middle_mm, "posterior": posterior_mm}
    for name, h in heights.items():
        if not h > 0:
            raise ValueError(f"{level}: {name} height must be positive (got {h})")
    if reference_height_mm is not None and not reference_height_mm > 0:
        raise ValueError(f"{level}: reference height must be positive (got {reference_height_mm})")
    expected = reference_height_mm if reference_height_mm is not None else max(heights.values())
    losses = {k: round((expected - h) / expected * 100.0, 6) for k, h in heights.items()}
    worst_name = max(losses, key=lambda k: losses[k])
    worst = max(losses[worst_name], 0.0)
    grade = grade_from_loss(worst)
    reduced = tuple(k for k, v in losses.items() if grade_from_loss(max(v, 0.0)) >= 1)
    ftype: FractureType | None = None
    if grade >= 1:
        if len(reduced) == 3 or worst_name == "posterior":
            ftype = "crush"
        elif worst_name == "anterior":
            ftype = "wedge"
        else:
            ftype = "biconcave"
    note = ""
    if reference_height_mm is None:
        note = "no reference height: a uniform (crush) height loss cannot be detected"
    return VertebraGrade(
        level=level,
        grade=grade,
        loss_percent=worst,
        fracture_type=ftype,
        reduced_heights=reduced,
        used_reference_height=reference_height_mm is not None,
        note=note,
    )
