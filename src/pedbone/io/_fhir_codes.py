"""The one table of codes pedbone writes to and reads from FHIR, with the source of each.

``data/fhir_codes.csv`` lists every code: a pedbone concept ``key`` (``weight``,
``dxa.spine.abmd``, ``dxa.total_hip.abmd_z.left``, ...), its code system and code, the UCUM unit,
the ``role`` of the row and the bibliography key of its ``source``:

* ``export`` — written on export and read on import (one per key);
* ``synonym`` — read on import only (codes other EHRs use for the same concept [RCPCH_SMART]);
* ``derived`` — written on export, skipped on import because pedbone recomputes it (BMI);
* ``ignored`` — recognised on import and not stored, with the reason in ``description``
  (T-scores are not used in children [S1]; LOINC "femur" codes do not say which region).

Where LOINC has no code (BMC, area, total body less head, height-adjusted and BMAD Z-scores,
sites without a DXA code) the code system is pedbone's own (``urn:pedbone:codesystem:dxa``)
[PEDBONE_FHIR]; the unadjusted LOINC Z-score codes are never used for an adjusted Z-score.
Z-scores use the UCUM annotation unit ``{Z-score}`` [PEDBONE_FHIR].
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

__all__ = [
    "ATC",
    "EXT",
    "LOINC",
    "PEDBONE",
    "SYSTEMS",
    "UCUM",
    "Code",
    "by_key",
    "codes",
    "lookup",
]

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
ATC: Final = "http://www.whocc.no/atc"
ICD10: Final = "http://hl7.org/fhir/sid/icd-10"
#: Belgian INSZ/NISS identifier system [BE_CORE_SSIN].
SSIN: Final = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"
#: Project-owned namespace (a URN: not resolvable, never mistaken for a published system).
PEDBONE: Final = "urn:pedbone"
#: FHIR terminology systems used as-is [FHIR_R4B].
OBSERVATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL: Final = "http://terminology.hl7.org/CodeSystem/condition-clinical"

SYSTEMS: Final[dict[str, str]] = {
    "loinc": LOINC,
    "atc": ATC,
    "pedbone-dxa": f"{PEDBONE}:codesystem:dxa",
    "pedbone-obs": f"{PEDBONE}:codesystem:observation",
}


class EXT:
    """pedbone extension and code-system URIs [PEDBONE_FHIR]."""

    SEX_AT_BIRTH: Final = f"{PEDBONE}:extension:sex-at-birth"
    GESTATIONAL_AGE: Final = f"{PEDBONE}:extension:gestational-age-weeks"
    ROW: Final = f"{PEDBONE}:row"  # Observation.identifier: which stored row it came from
    PATIENT_UID: Final = f"{PEDBONE}:patient-uid"
    MRN: Final = f"{PEDBONE}:mrn"  # default medical-record-number system (override per clinic)
    TAG: Final = f"{PEDBONE}:tag"
    DXA_REGION: Final = f"{PEDBONE}:extension:dxa-region"
    REFERENCE_PACK: Final = f"{PEDBONE}:extension:reference-pack"
    REFERENCE_GROUP: Final = f"{PEDBONE}:extension:reference-group"
    Z_METHOD: Final = f"{PEDBONE}:codesystem:z-method"  # vendor / reported / reference-pack
    HEIGHT_METHOD: Final = f"{PEDBONE}:extension:height-method"
    SCAN: Final = f"{PEDBONE}:extension:dxa-scan"  # prefix; + -analysis-mode, ...
    TREATMENT: Final = f"{PEDBONE}:extension:treatment"  # prefix
    INFUSION: Final = f"{PEDBONE}:extension:infusion"  # prefix
    HARM: Final = f"{PEDBONE}:codesystem:harm"
    SEVERITY: Final = f"{PEDBONE}:codesystem:severity"
    RELATEDNESS: Final = f"{PEDBONE}:codesystem:relatedness"
    ADVERSE: Final = f"{PEDBONE}:extension:adverse-event"  # prefix
    DIAGNOSIS: Final = f"{PEDBONE}:codesystem:diagnosis"
    PRIMARY_DIAGNOSIS: Final = f"{PEDBONE}:extension:primary-diagnosis"


@dataclass(frozen=True, slots=True)
class Code:
    """One row of the code table."""

    key: str
    system: str  # full URI
    code: str
    unit: str
    role: str
    source: str
    description: str

    def coding(self) -> dict[str, str]:
        """The FHIR Coding (LOINC's own display text governs, so none is written)."""
        return {"system": self.system, "code": self.code}

    def concept(self) -> dict[str, object]:
        """A CodeableConcept with pedbone's description as its text."""
        return {"coding": [self.coding()], "text": self.description}


@cache
def codes() -> tuple[Code, ...]:
    """Every row of ``fhir_codes.csv``, in file order."""
    text = (resources.files("pedbone.io") / "data" / "fhir_codes.csv").read_text(encoding="utf-8")
    out = []
    for row in csv.DictReader(text.splitlines()):
        out.append(
            Code(
                key=row["key"],
                system=SYSTEMS[row["system"]],
                code=row["code"],
                unit=row["unit"],
                role=row["role"],
                source=row["source"],
                description=row["description"],
            )
        )
    return tuple(out)


@cache
def _by_key() -> dict[str, Code]:
    out: dict[str, Code] = {}
    for c in codes():
        if c.role in ("export", "derived"):
            if c.key in out:
                raise ValueError(f"fhir_codes.csv: two export codes for {c.key!r}")
            out[c.key] = c
    return out


def by_key(key: str) -> Code | None:
    """The code written for a pedbone concept, or ``None`` when the table has none."""
    return _by_key().get(key)


@cache
def _by_code() -> dict[tuple[str, str], Code]:
    return {(c.system, c.code): c for c in codes()}


def lookup(system: str | None, code: str | None) -> Code | None:
    """The table row of a (system, code) pair read from a FHIR Coding."""
    if not system or not code:
        return None
    return _by_code().get((system, code))
