"""Pseudonymised view of the clinic data for the researcher role.

What a researcher sees, and what is hidden (see also ``docs/store.md``):

* **Hidden**: family and given name, medical record number (MRN), INSZ/NISS number,
  administrative gender, the internal patient UID,
  the exact birth date, every free-text field (notes, diagnosis wording, diet text, symptom
  text, comments, DXA facility and scanner serial, treatment indication, adverse-event
  description, vertebral reader), row ids and who entered what.
* **Coarsened**: the birth date becomes the birth *year*; every other date becomes the age in
  years on that day, rounded to 0.01 year (about 4 days).
* **Kept**: sex, gestational age, coded diagnoses, every value the store checks against a
  vocabulary, the coded choices of the forms (``CODED_TEXT``), all measurements, reference
  pack ids, demo flag. **Generalised** (``GENERALISED_TEXT``): an ICD-10 code, a lab unit, a
  scanner software version and a bone drug's name are kept when they have that shape, else
  become ``"other"``. Every other text column (fracture bone, medication name and dose, lab
  name and assay, scanner model and analysis mode, ...) is free text and is dropped — also any
  text column added later.
* **Pseudonym**: ``P-`` and 8 hexadecimal characters of the patient's random UID (a version 4
  UUID, never derived from identity); stable for the life of the record, the same as the web
  application shows, and not reversible without the database.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

from sqlalchemy import String, inspect, select
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
#: Text columns a researcher may see besides those the store checks against a vocabulary
#: (``@validates``): coded values that the forms offer as choices. Every other text column is
#: free text and is dropped, including columns added later (allowlist, not blocklist).
CODED_TEXT: Final = frozenset(
    {
        ("diagnoses", "code"),
        ("anthropometry", "height_method"),
        ("treatments", "route"),
        ("treatments", "protocol_id"),
        ("dxa_scans", "manufacturer"),
        ("dxa_measurements", "region"),
        ("dxa_measurements", "reference_pack"),
        ("dxa_measurements", "reference_group"),
    }
)
#: Text columns generalised for researchers: kept only when the value has the expected shape,
#: otherwise replaced by ``"other"`` (a typed name or note can never pass).
_ICD10 = re.compile(r"[A-TV-Z][0-9][0-9AB](\.[0-9A-Z]{1,4})?")
_UNIT_TOKEN = r"(?:[pnuµμmcdk]?(?:mol|g|L|l|U|IU|IE|kat)|%|min|h|d|s|24h|1\.73 ?m[²2]|mmHg)"
_UNIT = re.compile(rf"{_UNIT_TOKEN}(?:/{_UNIT_TOKEN})*")
_VERSION = re.compile(r"(?:[A-Za-z]{2,8} )?[0-9][0-9.]{0,15}[a-z]?")
#: Bone-active drugs by generic name (a vocabulary, not a dose); anything else -> "other".
BONE_DRUGS: Final = frozenset(
    {"pamidronate", "zoledronate", "zoledronic acid", "alendronate", "risedronate",
     "neridronate", "ibandronate", "denosumab", "teriparatide"}
)  # fmt: skip
GENERALISED_TEXT: Final = {
    ("diagnoses", "icd10"): lambda v: v if _ICD10.fullmatch(v) else "other",
    ("lab_results", "unit"): lambda v: v if _UNIT.fullmatch(v) else "other",
    ("dxa_scans", "software_version"): lambda v: v if _VERSION.fullmatch(v) else "other",
    ("treatments", "drug"): lambda v: v.lower() if v.strip().lower() in BONE_DRUGS else "other",
}
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
        column_type = attr.columns[0].type
        if isinstance(column_type, String) and not isinstance(value, bool):
            table = str(obj.__tablename__)
            if (table, key) in GENERALISED_TEXT:
                value = None if value is None else GENERALISED_TEXT[(table, key)](str(value))
            elif key not in mapper.validators and (table, key) not in CODED_TEXT:
                continue  # free text never reaches a researcher
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
