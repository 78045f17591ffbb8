"""The patient record: immutable pydantic v2 value objects.

The schema checks types and enumerations only. Values that are *implausible* (an aBMD of
0 g/cm², a scan dated before birth, creatinine that looks like the wrong unit) are accepted
here and reported by the assessment as data-quality findings naming the field, so that one
bad value never hides the rest of the assessment.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "Anthropometry",
    "CalciumIntake",
    "Demographics",
    "Diagnosis",
    "DiagnosisCode",
    "Diet",
    "DietKind",
    "DxaScan",
    "DxaSite",
    "DxaSiteResult",
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
    "SunExposure",
    "Symptom",
    "SymptomKind",
    "TraumaLevel",
    "VertebraMeasurement",
    "VertebralAssessment",
]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Demographics(_Record):
    """Sex, birth date and gestational age."""

    sex: Literal["M", "F"] = Field(description="Sex: 'M' (male) or 'F' (female).")
    birth_date: dt.date
    gestational_age_weeks: float | None = Field(
        default=None, description="Gestational age at birth in completed weeks, if known."
    )


class DiagnosisCode(StrEnum):
    """Coded conditions: the seeds' metabolic diseases, the trial populations, and the
    conditions with a disease-specific DXA rule in [S59] Table 3."""

    PHENYLKETONURIA = "phenylketonuria"
    GALACTOSAEMIA = "galactosaemia"
    GLYCOGEN_STORAGE_DISEASE_1 = "glycogen_storage_disease_type_1"
    NEUROMUSCULAR_DISEASE = "neuromuscular_disease"
    CEREBRAL_PALSY = "cerebral_palsy"
    DUCHENNE = "duchenne_muscular_dystrophy"
    RETT_SYNDROME = "rett_syndrome"
    BURNS = "burns"
    ANOREXIA_NERVOSA = "anorexia_nervosa"
    RHEUMATIC_INFLAMMATORY = "rheumatic_inflammatory_disease"
    JUVENILE_IDIOPATHIC_ARTHRITIS = "juvenile_idiopathic_arthritis"
    INFLAMMATORY_BOWEL_DISEASE = "inflammatory_bowel_disease"
    COELIAC_DISEASE = "coeliac_disease"
    RENAL_DISEASE = "renal_disease"
    RENAL_TRANSPLANT = "renal_transplant"
    LEUKAEMIA = "leukaemia"
    OTHER_NEOPLASM = "other_neoplasm"
    EPILEPSY = "epilepsy"
    CYSTIC_FIBROSIS = "cystic_fibrosis"
    THALASSAEMIA = "thalassaemia"
    DELAYED_PUBERTY = "delayed_puberty"
    HYPOGONADISM = "hypogonadism"
    PREMATURE_OVARIAN_INSUFFICIENCY = "premature_ovarian_insufficiency"
    GROWTH_HORMONE_DEFICIENCY = "growth_hormone_deficiency"
    SHORT_STATURE = "short_stature"
    GROWTH_DELAY = "growth_delay"
    MALNUTRITION = "malnutrition"
    OTHER = "other"


class Diagnosis(_Record):
    """One diagnosis: a code plus optional free text and onset date."""

    code: DiagnosisCode
    text: str | None = Field(default=None, description="Free text, e.g. the local diagnosis.")
    onset: dt.date | None = None


class Anthropometry(_Record):
    """Height and/or weight on one date."""

    date: dt.date
    height_cm: float | None = None
    weight_kg: float | None = None


class PubertyObservation(_Record):
    """Tanner stage on one date; menarche (girls) when reached."""

    date: dt.date
    tanner_stage: Literal[1, 2, 3, 4, 5] | None = None
    menarche_date: dt.date | None = Field(
        default=None, description="Date of menarche, once reached (girls only)."
    )


class MedicationClass(StrEnum):
    """Medication groups that the rules look at; everything else is 'other'."""

    GLUCOCORTICOID = "glucocorticoid"
    ANTIEPILEPTIC = "antiepileptic"
    CHEMOTHERAPY = "chemotherapy"
    BISPHOSPHONATE = "bisphosphonate"
    SEX_STEROID = "sex_steroid"
    GROWTH_HORMONE = "growth_hormone"
    VITAMIN_D = "vitamin_d"
    CALCIUM = "calcium"
    OTHER = "other"


class Medication(_Record):
    """A medication course with dates and dose."""

    name: str
    drug_class: MedicationClass
    start: dt.date
    end: dt.date | None = Field(default=None, description="Last day; empty while ongoing.")
    dose: str | None = Field(default=None, description="Dose as prescribed, free text.")
    prednisone_equivalent_mg_per_kg_day: float | None = Field(
        default=None,
        description="Glucocorticoids: average daily prednisone-equivalent dose (mg/kg/day).",
    )
    cumulative_dose_mg: float | None = Field(
        default=None,
        description="Glucocorticoids: cumulative prednisone-equivalent dose (mg) to 'end' or now.",
    )
    high_dose: bool | None = Field(
        default=None,
        description=(
            "Clinician's judgement that this is a high-dose course (the sources use "
            "'high-dose glucocorticoids' without defining a dose)."
        ),
    )


class DietKind(StrEnum):
    """Prescribed diets that restrict intake."""

    PROTEIN_RESTRICTED = "protein_restricted"
    LACTOSE_FREE = "lactose_free"
    GALACTOSE_RESTRICTED = "galactose_restricted"
    OTHER_RESTRICTION = "other_restriction"


class Diet(_Record):
    """A prescribed restrictive diet."""

    kind: DietKind
    start: dt.date | None = None
    end: dt.date | None = None
    text: str | None = None


class MobilityStatus(StrEnum):
    """Ambulatory status."""

    AMBULATORY = "ambulatory"
    LIMITED = "limited"
    NON_AMBULATORY = "non_ambulatory"
    BEDRIDDEN = "bedridden"


class Mobility(_Record):
    """Mobility on one date; GMFCS level for cerebral palsy."""

    date: dt.date
    status: MobilityStatus
    gmfcs: Literal[1, 2, 3, 4, 5] | None = None
    dxa_positioning_possible: bool | None = Field(
        default=None,
        description="False if safe, appropriate DXA positioning cannot be assured [S1].",
    )


class SunExposure(_Record):
    """Sun exposure as judged at a visit.

    'adequate' means at least the few minutes of daily exposure of hands, face and arms
    that [S59] recommends; 'limited' and 'minimal' mean less than that.
    """

    date: dt.date
    level: Literal["adequate", "limited", "minimal"]


class CalciumIntake(_Record):
    """Estimated dietary calcium intake (mg/day) on one date."""

    date: dt.date
    mg_per_day: float
    includes_supplements: bool = False


class LabAnalyte(StrEnum):
    """Laboratory analytes the engine knows."""

    VITAMIN_D_25OH = "25ohd"
    CALCIUM = "calcium"
    PHOSPHATE = "phosphate"
    MAGNESIUM = "magnesium"
    ALP = "alp"
    BONE_ALP = "bone_alp"
    P1NP = "p1np"
    CTX = "ctx"
    NTX = "ntx"
    OSTEOCALCIN = "osteocalcin"
    PTH = "pth"
    CREATININE = "creatinine"
    IGF1 = "igf1"
    OESTRADIOL = "oestradiol"
    TESTOSTERONE = "testosterone"
    OTHER = "other"


class LabValue(_Record):
    """One laboratory result with its unit, and the lab's own reference range and flag."""

    date: dt.date
    analyte: LabAnalyte
    value: float
    unit: str = Field(description="Unit as reported, e.g. 'nmol/L', 'ng/mL', 'umol/L', 'U/L'.")
    name: str | None = Field(default=None, description="Local test name (needed for 'other').")
    assay: str | None = Field(default=None, description="Assay / platform, e.g. 'Abbott'.")
    reference_low: float | None = Field(default=None, description="Lab's lower reference limit.")
    reference_high: float | None = Field(default=None, description="Lab's upper reference limit.")
    flag: Literal["low", "normal", "high"] | None = Field(
        default=None, description="The lab's own flag."
    )


class FractureSite(StrEnum):
    """Where a fracture was."""

    VERTEBRAL = "vertebral"
    LONG_BONE_UPPER = "long_bone_upper"
    LONG_BONE_LOWER = "long_bone_lower"
    OTHER = "other"


class TraumaLevel(StrEnum):
    """Energy of the trauma that caused a fracture."""

    LOW = "low"
    HIGH = "high"
    UNKNOWN = "unknown"


class Fracture(_Record):
    """One fracture."""

    date: dt.date
    site: FractureSite
    bone: str | None = Field(default=None, description="e.g. 'radius', 'femur', 'T7'.")
    trauma: TraumaLevel = TraumaLevel.UNKNOWN
    local_disease: bool = Field(
        default=False, description="Local bone disease at the site (e.g. tumour, infection)."
    )


class VertebraMeasurement(_Record):
    """One vertebra: morphometric heights (mm) and/or a reader's Genant grade."""

    level: str = Field(description="Vertebral level, e.g. 'T7', 'L1'.")
    anterior_mm: float | None = None
    middle_mm: float | None = None
    posterior_mm: float | None = None
    reference_height_mm: float | None = Field(
        default=None,
        description=(
            "Expected height of this vertebra (e.g. from adjacent normal vertebrae). Needed to "
            "detect a crush fracture, where all three heights are reduced alike."
        ),
    )
    reader_grade: float | None = Field(
        default=None,
        description="Genant semi-quantitative grade given by a reader: 0, 0.5, 1, 2 or 3 [S16].",
    )
    reader_type: Literal["wedge", "biconcave", "crush"] | None = None

    @field_validator("reader_grade")
    @classmethod
    def _genant(cls, v: float | None) -> float | None:
        if v is not None and v not in (0, 0.5, 1, 2, 3):
            raise ValueError("Genant grade must be 0, 0.5, 1, 2 or 3")
        return v


class VertebralAssessment(_Record):
    """A lateral spine radiograph or DXA vertebral fracture assessment (VFA)."""

    date: dt.date
    method: Literal["radiograph", "vfa"] = "radiograph"
    vertebrae: tuple[VertebraMeasurement, ...] = ()
    trauma: TraumaLevel = Field(
        default=TraumaLevel.UNKNOWN,
        description="Trauma preceding any deformity found; 'high' excludes the ISCD route.",
    )
    local_disease: bool = False


class DxaSite(StrEnum):
    """DXA sites; the value is the measure prefix of the reference packs."""

    SPINE = "spine"
    TBLH = "tblh"
    TOTAL_BODY = "total_body"
    FEMORAL_NECK = "femoral_neck"
    TOTAL_HIP = "total_hip"
    FOREARM = "forearm"
    LATERAL_DISTAL_FEMUR = "lateral_distal_femur"
    LEG = "leg"


class Scanner(_Record):
    """The densitometer, with this facility's precision errors."""

    manufacturer: str
    model: str | None = None
    software: str | None = None
    serial: str | None = Field(default=None, description="Distinguishes two machines.")
    precision: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "Precision error (RMS-SD) per measure, keyed like 'spine_abmd' (g/cm²) or "
            "'tblh_bmc' (g), from an ISCD precision assessment [S15]."
        ),
    )

    @property
    def identity(self) -> tuple[str, str | None, str | None]:
        """What must match for two scans to share one least significant change."""
        return (self.manufacturer.lower(), (self.model or "").lower() or None, self.serial)


class DxaSiteResult(_Record):
    """Raw values at one site, plus the vendor's Z-score (informational)."""

    site: DxaSite
    bmc_g: float | None = None
    area_cm2: float | None = None
    abmd_g_cm2: float | None = None
    vendor_z_abmd: float | None = None
    vendor_z_bmc: float | None = None
    haz_adjusted_z_abmd: float | None = Field(
        default=None, description="HAZ-adjusted aBMD Z as reported (e.g. BMDCS calculator)."
    )
    bmad_z: float | None = Field(default=None, description="BMAD Z as reported.")


class DxaScan(_Record):
    """One DXA visit."""

    date: dt.date
    scanner: Scanner
    reference: str | None = Field(
        default=None, description="Reference database the vendor Z-scores come from."
    )
    sites: tuple[DxaSiteResult, ...] = ()


class SymptomKind(StrEnum):
    """Symptoms named in the clinic seed document."""

    DIFFUSE_LONG_BONE_PAIN = "diffuse_long_bone_pain"
    BACK_PAIN = "back_pain"
    KYPHOSIS = "kyphosis"
    OTHER = "other"


class Symptom(_Record):
    """A symptom on one date."""

    date: dt.date
    kind: SymptomKind
    text: str | None = None


class Patient(_Record):
    """Everything a metabolic or endocrine clinic records about a child's bones."""

    id: str | None = Field(default=None, description="Local identifier (pseudonymous).")
    fictional: bool = Field(
        default=False, description="True for made-up example and test patients."
    )
    demographics: Demographics
    diagnoses: tuple[Diagnosis, ...] = ()
    anthropometry: tuple[Anthropometry, ...] = ()
    puberty: tuple[PubertyObservation, ...] = ()
    medications: tuple[Medication, ...] = ()
    diets: tuple[Diet, ...] = ()
    mobility: tuple[Mobility, ...] = ()
    sun_exposure: tuple[SunExposure, ...] = ()
    calcium_intake: tuple[CalciumIntake, ...] = ()
    labs: tuple[LabValue, ...] = ()
    fractures: tuple[Fracture, ...] = ()
    vertebral_assessments: tuple[VertebralAssessment, ...] = ()
    dxa_scans: tuple[DxaScan, ...] = ()
    symptoms: tuple[Symptom, ...] = ()
    notes: str | None = None
