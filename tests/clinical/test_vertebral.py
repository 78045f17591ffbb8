"""Genant semi-quantitative grading [S16]. The digest's table (§3.1):

| 0 | Normal | < 20 % |  | 1 | Mild | 20–25 % |  | 2 | Moderate | 25–40 % |  | 3 | Severe | > 40 % |

pedbone's endpoint rule (documented in docs/clinical.md): "< 20 %" and "> 40 %" force 20 % into
grade 1 and 40 % into grade 2; the open endpoint 25 % follows the same "upper endpoint belongs to
the lower grade" rule, so 25 % is grade 1.
"""

from __future__ import annotations

import pytest

from pedbone.clinical import genant_grade, grade_from_loss

from ._helpers import patient, run


@pytest.mark.parametrize(
    ("loss", "grade"),
    [
        (0.0, 0),
        (19.99, 0),  # "< 20 %" → grade 0
        (20.0, 1),  # 20 % is not "< 20 %" → grade 1
        (25.0, 1),  # shared endpoint, resolved to the lower grade
        (25.01, 2),
        (40.0, 2),  # "> 40 %" is grade 3, so exactly 40 % stays grade 2
        (40.01, 3),
        (75.0, 3),
    ],
)
def test_grade_from_loss_at_the_boundaries(loss: float, grade: int) -> None:
    assert grade_from_loss(loss) == grade


def test_20_percent_from_heights_despite_floating_point() -> None:
    # anterior 16 / posterior 20 mm: (20 − 16) / 20 = 20 % (binary: 19.999999999999996) → grade 1
    g = genant_grade("T7", 16.0, 20.0, 20.0)
    assert (g.grade, g.fracture_type, g.loss_percent) == (1, "wedge", 20.0)
    assert genant_grade("T7", 16.1, 20.0, 20.0).grade == 0  # 19.5 %


def test_25_and_40_percent_from_heights() -> None:
    assert genant_grade("L1", 15.0, 20.0, 20.0).grade == 1  # 5/20 = 25 %
    assert genant_grade("L1", 14.9, 20.0, 20.0).grade == 2  # 5.1/20 = 25.5 %
    assert genant_grade("L1", 12.0, 20.0, 20.0).grade == 2  # 8/20 = 40 %
    assert genant_grade("L1", 11.9, 20.0, 20.0).grade == 3  # 8.1/20 = 40.5 %


def test_fracture_type_follows_the_reduced_height() -> None:
    # [S16][S90] wedge (anterior), biconcave (middle), crush (all / posterior)
    bic = genant_grade("T9", 20.0, 14.0, 20.0)  # middle 30 % → grade 2 biconcave
    assert (bic.grade, bic.fracture_type) == (2, "biconcave")
    crush = genant_grade("L2", 14.0, 14.0, 14.0, reference_height_mm=20.0)  # 30 % all
    assert (crush.grade, crush.fracture_type) == (2, "crush")
    assert crush.reduced_heights == ("anterior", "middle", "posterior")
    # Without a reference height a uniform loss is invisible, and the result says so.
    blind = genant_grade("L2", 14.0, 14.0, 14.0)
    assert blind.grade == 0
    assert "cannot be detected" in blind.note


def test_nonpositive_height_is_an_error() -> None:
    with pytest.raises(ValueError, match="posterior height must be positive"):
        genant_grade("L3", 10.0, 10.0, 0.0)


def test_count_of_vertebrae_with_a_fracture_and_borderline_reader_grade() -> None:
    rec = patient(
        vertebral_assessments=[
            {
                "date": "2023-05-01",
                "vertebrae": [
                    {"level": "T6", "anterior_mm": 12.0, "middle_mm": 16.0, "posterior_mm": 16.0},
                    {"level": "T7", "anterior_mm": 16.0, "middle_mm": 16.5, "posterior_mm": 17.0},
                    {"level": "T8", "anterior_mm": 17.0, "middle_mm": 10.0, "posterior_mm": 17.0},
                    {"level": "T9", "reader_grade": 0.5},
                ],
            }
        ]
    )
    a = run(rec)
    # T6: 4/16 = 25 % → grade 1 wedge; T7: 1/17 = 5.9 % → 0; T8: 7/17 = 41.2 % → grade 3
    # biconcave; T9 grade 0.5 "without meeting the 20 % threshold" is not a fracture.
    assert a.vertebral_fracture_count == 2
    f = a.by_code("vertebral.count")[0]
    grades = {v["level"]: v["grade"] for v in f.inputs["vertebrae"]}
    assert grades == {"T6": 1, "T7": 0, "T8": 3, "T9": 0.5}
    assert "Borderline (grade 0.5): T9" in f.message_en


def test_reader_grade_wins_and_disagreement_is_reported() -> None:
    rec = patient(
        vertebral_assessments=[
            {
                "date": "2023-05-01",
                "vertebrae": [
                    {
                        "level": "L1",
                        "anterior_mm": 16.0,
                        "middle_mm": 20.0,
                        "posterior_mm": 20.0,
                        "reader_grade": 0,
                    }
                ],
            }
        ]
    )
    a = run(rec)
    assert a.vertebral_fracture_count == 0
    assert a.by_code("vertebral.reader_disagrees")
    assert a.classification == "insufficient_data"


def test_invalid_reader_grade_is_a_schema_error() -> None:
    from pydantic import ValidationError

    from pedbone.clinical import VertebraMeasurement

    with pytest.raises(ValidationError, match=r"Genant grade must be 0, 0\.5, 1, 2 or 3"):
        VertebraMeasurement(level="L1", reader_grade=1.5)
