"""The clinic's treated cohort as a single-arm study row (practice data, pseudonymised)."""

from __future__ import annotations

import datetime as dt

import pytest

from pedbone.store import (
    AdverseEvent,
    Database,
    Fracture,
    Infusion,
    Patient,
    PermissionDeniedError,
    Treatment,
    clinic_cohort_row,
    create_user,
)
from pedbone.store._review_cohort import ChildCourse, cohort_summary

D = dt.date


def test_summary_by_hand() -> None:
    children = [
        # baseline -2.0 (1 month before), 12 months -1.2: change +0.8
        ChildCourse(
            "P-A",
            D(2024, 1, 10),
            4,
            ls_z=((D(2023, 12, 10), -2.0), (D(2025, 1, 12), -1.2)),
            fractures=(D(2023, 6, 1), D(2024, 6, 1)),  # one before, one after the first dose
            harms=((1, "acute_phase_reaction"), (1, "hypocalcaemia"), (3, "acute_phase_reaction")),
        ),
        # baseline -3.0, follow-up at 11 months -2.6: change +0.4
        ChildCourse(
            "P-B",
            D(2024, 2, 1),
            1,
            ls_z=((D(2024, 2, 1), -3.0), (D(2025, 1, 1), -2.6)),
            harms=((1, "acute_phase_reaction"),),
        ),
        # baseline scan 8 months before the first dose: outside the 6-month window
        ChildCourse("P-C", D(2024, 3, 1), 2, ls_z=((D(2023, 7, 1), -1.0), (D(2025, 3, 1), 0.0))),
    ]
    row = cohort_summary(children)
    assert (row.n, row.n_z) == (3, 2)
    # mean (0.8 + 0.4) / 2 = 0.6; SD = sqrt(((0.2)² + (0.2)²) / 1) = 0.2828427
    assert row.z_change_mean == pytest.approx(0.6)
    assert row.z_change_sd == pytest.approx(0.2828427, abs=1e-7)
    assert (row.children_with_fracture, row.fractures) == (1, 1)
    assert row.harms_first == {"acute_phase_reaction": 2, "hypocalcaemia": 1}
    assert row.harms_later == {"acute_phase_reaction": 1}
    assert (row.n_first_dose, row.n_later_doses) == (3, 2)
    assert "1 of 3 children without" in row.notes[0]
    syn = row.as_synthesis()
    apr = next(h for h in syn["harms"] if h["harm"] == "acute phase reaction")
    assert [(r["infusion"], r["events"], r["total"]) for r in apr["rows"]] == [
        ("first", 2, 3),
        ("later", 1, 2),
    ]
    assert "practice data" in syn["study"]["design"]
    with pytest.raises(ValueError, match="follow-up"):
        cohort_summary(children, follow_up_months=0)


def test_from_the_database_with_pseudonyms_only(db: Database) -> None:
    with db.unit_of_work() as s:
        p = Patient(family_name="Secret", given_name="T", birth_date=D(2015, 1, 1), sex="F")
        t = Treatment(drug="pamidronate", route="iv", start_date=D(2024, 1, 10))
        first = Infusion(given_on=D(2024, 1, 10), dose_mg=30.0)
        second = Infusion(given_on=D(2024, 4, 10), dose_mg=30.0)
        planned = Infusion(given_on=D(2024, 7, 10), dose_mg=30.0, status="planned")
        t.infusions.extend([first, second, planned])
        p.treatments.append(t)
        untreated = Patient(family_name="Other", given_name="U", birth_date=D(2014, 1, 1), sex="M")
        s.add_all([p, untreated])
        s.flush()
        p.adverse_events.append(
            AdverseEvent(
                occurred_on=D(2024, 1, 11), category="acute_phase_reaction", infusion_id=first.id
            )
        )
        p.fractures.append(Fracture(occurred_on=D(2024, 9, 1), site="long_bone_upper"))
        researcher = create_user(s, "res", "a long passphrase", "researcher")
        reviewer = create_user(s, "rev", "a long passphrase", "reviewer")
    with db.session() as s:
        row = clinic_cohort_row(s, researcher)
        assert (row.n, row.n_later_doses, row.fractures) == (1, 1, 1)
        assert row.harms_first == {"acute_phase_reaction": 1}
        assert row.harms_later == {}
        assert row.n_z == 0
        assert row.z_change_mean is None
        assert "Secret" not in repr(row)
        assert not row.simulated
    # a reviewer works on reviews and sees no patient data, not even pseudonymised
    with db.session() as s, pytest.raises(PermissionDeniedError):
        clinic_cohort_row(s, reviewer)
