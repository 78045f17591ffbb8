"""Pseudonymised view of the clinic data for the researcher role.

What a researcher sees, and what is hidden (see also ``docs/store.md``):

* **Hidden**: family and given name, medical record number (MRN), INSZ/NISS number,
  administrative gender, the internal patient UID,
  the exact birth date, every free-text field (notes, diagnosis wording, diet text, symptom
  text, comments, DXA facility and scanner serial, treatment indication, adverse-event
  description, vertebral reader), row ids and who entered what.
* **Coarsened**: the birth date becomes the birth *year*; every other date becomes the age in
  years on that day, rounded to 0.01 year (about 4 days).
* **Kept**: sex, gestational age, coded diagnoses (with ICD-10), all measurements and their
  units, scanner make / model / software, reference pack ids, demo flag.
* **Pseudonym**: ``P-`` and 8 hexadecimal characters of the patient's random UID (a version 4
  UUID, never derived from identity); stable for the life of the record, the same as the web
  application shows, and not reversible without the database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, selectinload

from pedbone.store._models import Base, DxaScan, Patient, Treatment, VertebralAssessment
from pedbone.store._security import Permission, ensure_permission

__all__ = ["HIDDEN_FIELDS", "pseudonym", "pseudonymise", "pseudonymised_patients"]

#: Column names never shown to researchers, on any table.
HIDDEN_FIELDS = frozenset(
    {
        "id",
        "version",
        "created_at",
        "updated_at",
        "patient_id",
        "scan_id",
        "treatment_id",
        "assessment_id",
        "infusion_id",
        "author_id",
        "uid",
        "mrn",
        "ssin",
        "administrative_gender",
        "family_name",
        "given_name",
        "birth_date",
        "text",
        "comment",
        "description",
        "indication",
        "facility",
        "serial",
        "reader",
    }
)
#: Relationships left out entirely (free text only).
HIDDEN_RELATIONSHIPS = frozenset({"notes", "patient", "scan", "treatment", "assessment"})
AGE_DECIMALS = 2


def pseudonym(uid: str) -> str:
    """Researcher-facing pseudonym of a patient UID: ``P-`` + 8 upper-case hex characters."""
    return "P-" + uid.replace("-", "")[:8].upper()


def _age(birth: dt.date, day: dt.date) -> float:
    return round((day - birth).days / 365.25, AGE_DECIMALS)


def _record(obj: Base, birth: dt.date) -> dict[str, Any]:
    mapper = inspect(type(obj))
    out: dict[str, Any] = {}
    first_date = True
    for attr in mapper.column_attrs:
        key = attr.key
        if key in HIDDEN_FIELDS:
            continue
        value = getattr(obj, key)
        if isinstance(value, dt.datetime):
            continue  # timestamps (e.g. note times) are not research data
        python_type = attr.columns[0].type.python_type
        if python_type is dt.date:
            name = "age_years" if first_date else f"{key}_age_years"
            first_date = False
            out[name] = None if value is None else _age(birth, value)
        else:
            out[key] = value
    for rel in mapper.relationships:
        if rel.key in HIDDEN_RELATIONSHIPS or rel.direction.name != "ONETOMANY":
            continue
        out[rel.key] = [_record(child, birth) for child in getattr(obj, rel.key)]
    return out


def pseudonymise(patient: Patient) -> dict[str, Any]:
    """The researcher's view of one patient (a JSON-ready dict; see the module docstring)."""
    body = _record(patient, patient.birth_date)
    body.pop("demo", None)
    body.pop("sex", None)
    body.pop("gestational_age_weeks", None)
    return {
        "pseudonym": pseudonym(patient.uid),
        "demo": patient.demo,
        "sex": patient.sex,
        "birth_year": patient.birth_date.year,
        "gestational_age_weeks": patient.gestational_age_weeks,
        **body,
    }


def pseudonymised_patients(
    session: Session, user: Any, *, include_demo: bool = True
) -> list[dict[str, Any]]:
    """All patients as researchers see them; ``user`` needs the read-pseudonymised right
    (``None`` = system, e.g. the CLI). Ordered by pseudonym."""
    ensure_permission(user, Permission.READ_PSEUDONYMISED)
    query = select(Patient).options(
        selectinload(Patient.dxa_scans).selectinload(DxaScan.measurements),
        selectinload(Patient.treatments).selectinload(Treatment.infusions),
        selectinload(Patient.vertebral_assessments).selectinload(VertebralAssessment.vertebrae),
    )
    if not include_demo:
        query = query.where(Patient.demo.is_(False))
    rows = [pseudonymise(p) for p in session.scalars(query)]
    return sorted(rows, key=lambda r: str(r["pseudonym"]))
