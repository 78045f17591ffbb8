"""pedbone.clinical — the clinical assessment engine.

``assess(patient) -> Assessment`` answers "how are this child's bones, why, and what now?" from
a :class:`Patient` record with pure, typed, explainable rules. Every rule's source is a
citation key of the domain digest (``pedbone sources``).

Public modules other areas call directly:

* :mod:`pedbone.clinical.nutrition` — 25-OH-D status, recommended intakes, regimens;
* :mod:`pedbone.clinical.monitoring` — percent change, Z change, least significant change;
* :mod:`pedbone.clinical.renal` — bedside Schwartz eGFR.
"""

from __future__ import annotations

from pedbone.clinical._assessment import assess, classification_z, latest_data_date
from pedbone.clinical._engine import LOW_Z, WHO2006_BELOW_YEARS, growth_pack_for, is_low_z
from pedbone.clinical._findings import Assessment, Category, Finding, Severity
from pedbone.clinical._markers import CALIPER, caliper_interval
from pedbone.clinical._model import (
    Anthropometry,
    CalciumIntake,
    Demographics,
    Diagnosis,
    DiagnosisCode,
    Diet,
    DietKind,
    DxaScan,
    DxaSite,
    DxaSiteResult,
    Fracture,
    FractureSite,
    LabAnalyte,
    LabValue,
    Medication,
    MedicationClass,
    Mobility,
    MobilityStatus,
    Patient,
    PubertyObservation,
    Scanner,
    SunExposure,
    Symptom,
    SymptomKind,
    TraumaLevel,
    VertebralAssessment,
    VertebraMeasurement,
)
from pedbone.clinical._options import AssessOptions
from pedbone.clinical._vertebral import (
    GENANT_THRESHOLDS,
    VertebraGrade,
    genant_grade,
    grade_from_loss,
)

__all__ = [
    "CALIPER",
    "GENANT_THRESHOLDS",
    "LOW_Z",
    "WHO2006_BELOW_YEARS",
    "Anthropometry",
    "AssessOptions",
    "Assessment",
    "CalciumIntake",
    "Category",
    "Demographics",
    "Diagnosis",
    "DiagnosisCode",
    "Diet",
    "DietKind",
    "DxaScan",
    "DxaSite",
    "DxaSiteResult",
    "Finding",
    "Fracture",
    "FractureSite",
    "LabAnalyte",
    "LabValue",
    "Medication",
    "MedicationClass",
    "Mobility",
    "MobilityStatus",
    "Patient",
    "PubertyObservation",
    "Scanner",
    "Severity",
    "SunExposure",
    "Symptom",
    "SymptomKind",
    "TraumaLevel",
    "VertebraGrade",
    "VertebraMeasurement",
    "VertebralAssessment",
    "assess",
    "caliper_interval",
    "classification_z",
    "genant_grade",
    "grade_from_loss",
    "growth_pack_for",
    "is_low_z",
    "latest_data_date",
]
