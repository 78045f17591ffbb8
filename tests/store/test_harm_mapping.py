"""Stored infusions and adverse events -> pedbone.treatment.HarmLog (the 0002 harm columns)."""

from __future__ import annotations

import datetime as dt

import pytest

from pedbone.store import (
    AdverseEvent,
    Database,
    Infusion,
    Patient,
    Treatment,
    ValidationError,
    harm_log,
)
from pedbone.treatment import HarmType


def _patient(name: str) -> Patient:
    return Patient(family_name=name, given_name="T", birth_date=dt.date(2015, 1, 1), sex="F")


def test_harm_log_numbers_given_doses_and_links_harms(db: Database) -> None:
    with db.unit_of_work() as session:
        p = _patient("A")
        t = Treatment(
            drug="pamidronate",
            route="iv",
            start_date=dt.date(2024, 1, 10),
            protocol_id="pamidronate-henderson-2002",
        )
        first = Infusion(given_on=dt.date(2024, 1, 10), dose_mg=30.0, cycle_number=1)
        second = Infusion(given_on=dt.date(2024, 1, 11), dose_mg_per_kg=1.0, weight_kg=35.0)
        planned = Infusion(given_on=dt.date(2024, 4, 10), dose_mg=30.0, status="planned")
        t.infusions.extend([first, second, planned])
        p.treatments.append(t)
        session.add(p)
        session.flush()
        p.adverse_events.append(
            AdverseEvent(
                occurred_on=dt.date(2024, 1, 11),
                category="acute_phase_reaction",
                infusion_id=first.id,
                ctcae_grade=2,
                onset_days=1.0,
                relatedness="probable",
            )
        )
        # an old-style event without grade/onset/relatedness is left out, and said so
        p.adverse_events.append(
            AdverseEvent(occurred_on=dt.date(2024, 1, 12), category="gastrointestinal")
        )
        session.flush()
        skipped: list[str] = []
        log = harm_log([p], skipped)
    # the planned infusion is not a dose: 2 doses, numbered by date
    assert [(i.dose_number, i.dose_mg) for i in log.infusions] == [(1, 30.0), (2, 35.0)]
    assert log.infusions[0].protocol_id == "pamidronate-henderson-2002"
    assert len(log.harms) == 1
    h = log.harms[0]
    assert (h.dose_number, h.type, h.grade, h.onset_days) == (
        1,
        HarmType.ACUTE_PHASE_REACTION,
        2,
        1.0,
    )
    assert len(skipped) == 1
    assert "infusion given, ctcae_grade" in skipped[0]
    rates = log.rate_by_dose()
    first_rate, later = rates["first"], rates["later"]
    assert first_rate is not None
    assert later is not None
    assert (first_rate.k, first_rate.n, later.k, later.n) == (1, 1, 0, 1)


@pytest.mark.parametrize(
    ("field", "value"),
    [("ctcae_grade", 0), ("ctcae_grade", 6), ("relatedness", "likely"), ("onset_days", -1.0)],
)
def test_bad_harm_fields_are_refused_with_the_field_named(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        AdverseEvent(occurred_on=dt.date(2024, 1, 1), category="other", **{field: value})


def test_infusion_status_is_planned_or_given() -> None:
    assert Infusion(given_on=dt.date(2024, 1, 1)).given  # default: given
    assert not Infusion(given_on=dt.date(2024, 1, 1), status="planned").given
    with pytest.raises(ValidationError, match="status"):
        Infusion(given_on=dt.date(2024, 1, 1), status="cancelled")


def test_a_grade_chosen_on_a_form_is_stored_as_a_number() -> None:
    ae = AdverseEvent(occurred_on=dt.date(2024, 1, 1), category="other", ctcae_grade="3")
    assert ae.ctcae_grade == 3
