"""Stored infusions and adverse events as a :class:`pedbone.treatment.HarmLog`.

Only the mapping lives here: which rows count (doses given, harms with a grade, onset and
relatedness linked to a given dose) and how a dose is numbered. Every summary and rate is
computed by ``pedbone.treatment``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pedbone.store._models import Infusion, Patient

__all__ = ["given_doses", "harm_log"]


def given_doses(patient: Patient) -> list[tuple[int, Infusion]]:
    """The patient's doses given, over all bone treatments, numbered 1, 2, ... by date
    (then by row id); planned infusions are not doses."""
    rows = [i for t in patient.treatments for i in t.infusions if i.given]
    rows.sort(key=lambda i: (i.given_on, i.id or 0))
    return list(enumerate(rows, start=1))


def harm_log(patients: Iterable[Patient], skipped: list[str] | None = None) -> Any:
    """A :class:`pedbone.treatment.HarmLog` of these patients' doses given and harms.

    The patient id of the log is the patient's ``uid``. A dose needs an absolute dose (mg, or
    mg/kg with the weight); a harm needs a linked dose given, a CTCAE grade, an onset and a
    relatedness. Rows that lack these are left out and described in ``skipped`` (if given).
    """
    from pedbone.treatment import Harm, HarmLog
    from pedbone.treatment import Infusion as Dose

    log = HarmLog()
    notes: list[str] = []
    for patient in patients:
        numbers: dict[int, int] = {}
        for number, inf in given_doses(patient):
            mg = inf.dose_mg
            if mg is None and inf.dose_mg_per_kg is not None and inf.weight_kg is not None:
                mg = inf.dose_mg_per_kg * inf.weight_kg
            if mg is None or mg <= 0:
                notes.append(f"infusion {inf.id} on {inf.given_on}: no dose in mg; left out")
                continue
            numbers[inf.id] = number
            log.add_infusion(
                Dose(
                    patient_id=patient.uid,
                    dose_number=number,
                    date=inf.given_on,
                    protocol_id=inf.treatment.protocol_id or inf.treatment.drug,
                    dose_mg=mg,
                    cycle=inf.cycle_number,
                )
            )
        for ae in patient.adverse_events:
            missing = [
                name
                for name in ("ctcae_grade", "onset_days", "relatedness")
                if getattr(ae, name) is None
            ]
            if ae.infusion_id is None or ae.infusion_id not in numbers:
                missing.insert(0, "infusion given")
            if missing:
                notes.append(
                    f"adverse event {ae.id} on {ae.occurred_on}: no {', '.join(missing)}; left out"
                )
                continue
            assert ae.ctcae_grade is not None
            assert ae.onset_days is not None
            log.add_harm(
                Harm(
                    patient_id=patient.uid,
                    dose_number=numbers[int(ae.infusion_id or 0)],
                    type=ae.category,  # type: ignore[arg-type]  # Harm coerces the value
                    grade=ae.ctcae_grade,
                    onset_days=ae.onset_days,
                    relatedness=ae.relatedness,  # type: ignore[arg-type]
                    description=ae.description or "",
                )
            )
    if skipped is not None:
        skipped.extend(notes)
    return log
