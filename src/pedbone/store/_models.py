"""SQLAlchemy 2 declarative models of the clinic database.

Every clinical table carries ``id``, ``version`` (optimistic locking through SQLAlchemy's
``version_id_col``), ``created_at`` and ``updated_at``. Every insert, update and delete of a
versioned row is written to :class:`AuditEntry` in the same transaction (see ``_audit``).

DXA scans keep raw values per site (BMC, area, aBMD, ...) plus the scanner's manufacturer,
model, software and analysis mode; pedbone recomputes Z-scores from the named reference pack
(``DxaMeasurement.reference_pack``), while the vendor's own Z-score and reference database are
kept only as informational columns. The data-model checklist is §9 of the domain digest
([S1][S2][S3][S6][S11][S13][S15][S16][S18][S39][S35][S38][S24]).
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    declared_attr,
    mapped_column,
    relationship,
    validates,
)

from pedbone.store._errors import ValidationError
from pedbone.treatment import HarmType, Relatedness

__all__ = [
    "AdverseEvent",
    "AdverseEventCategory",
    "Anthropometry",
    "AuditEntry",
    "Base",
    "CalciumIntake",
    "Diagnosis",
    "Diet",
    "DxaMeasurement",
    "DxaScan",
    "Fracture",
    "FractureSite",
    "ImportCommit",
    "Infusion",
    "LabResult",
    "Medication",
    "MedicationClass",
    "MobilityAssessment",
    "Note",
    "Patient",
    "PubertyAssessment",
    "Role",
    "Setting",
    "SunExposure",
    "Symptom",
    "TraumaLevel",
    "Treatment",
    "User",
    "Versioned",
    "Vertebra",
    "VertebralAssessment",
    "integer_key",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Timezone-aware current time (UTC)."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware timestamps on every backend: stored as UTC, read back as UTC.

    (SQLite has no time zone type and would hand back naive values.)
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[dt.datetime]:
        """Values are :class:`datetime.datetime`."""
        return dt.datetime

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValidationError(f"timestamp {value.isoformat()} has no time zone")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base; constraint names follow a fixed convention so migrations are stable.

    Every table with an integer surrogate key is ``AUTOINCREMENT`` on SQLite (since revision
    0003): an id, once used, is never handed out again, also after the row with the highest id
    was deleted. Without it SQLite reuses ``max(id) + 1``, and a form left open on a deleted
    record would write over the new, different record that got its id (hazard H30).
    PostgreSQL's sequences never hand an id out twice.
    """

    metadata = MetaData(naming_convention=NAMING)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__table__")
        if table is not None and integer_key(table):
            table.dialect_kwargs["sqlite_autoincrement"] = True


def integer_key(table: Any) -> bool:
    """True if ``table`` has a single integer primary key (an id the database hands out)."""
    key = list(table.primary_key.columns)
    return len(key) == 1 and isinstance(key[0].type, Integer)


class Role(StrEnum):
    """User roles. Admin manages users; clinician reads and edits identified records;
    researcher reads pseudonymised data and exports it, and may change nothing."""

    ADMIN = "admin"
    CLINICIAN = "clinician"
    RESEARCHER = "researcher"
    REVIEWER = "reviewer"  # systematic reviews only: sees reviews, never patients (0005)


class FractureSite(StrEnum):
    """Fracture site categories of the data-model checklist [S1][S2]."""

    VERTEBRAL = "vertebral"
    LONG_BONE_UPPER = "long_bone_upper"
    LONG_BONE_LOWER = "long_bone_lower"
    OTHER = "other"


class TraumaLevel(StrEnum):
    """Trauma energy of a fracture [S1][S2]."""

    LOW = "low"
    HIGH = "high"
    UNKNOWN = "unknown"


class MedicationClass(StrEnum):
    """Bone-relevant exposure classes [S18][S62][S59]."""

    GLUCOCORTICOID = "glucocorticoid"
    ANTIEPILEPTIC = "antiepileptic"
    CHEMOTHERAPY = "chemotherapy"
    BISPHOSPHONATE = "bisphosphonate"
    SEX_STEROID = "sex_steroid"
    GROWTH_HORMONE = "growth_hormone"
    VITAMIN_D = "vitamin_d"
    CALCIUM = "calcium"
    OTHER = "other"


#: Harm categories of bisphosphonate treatment [S24][S38]: the treatment package's vocabulary.
AdverseEventCategory = HarmType

#: FHIR ``Patient.gender`` codes (administrative gender, not the sex at birth) [FHIR_R4B].
ADMINISTRATIVE_GENDERS = ("male", "female", "other", "unknown")
#: Infusion rows: planned from a course plan, or given.
INFUSION_STATUSES = ("planned", "given")
#: CTCAE attribution scale, as ``pedbone.treatment.Relatedness`` [CTCAE5].
RELATEDNESS = tuple(r.value for r in Relatedness)

#: Coded vocabularies shared with the patient record of ``pedbone.clinical`` (same values).
DIET_KINDS = ("protein_restricted", "lactose_free", "galactose_restricted", "other_restriction")
MOBILITY_STATUSES = ("ambulatory", "limited", "non_ambulatory", "bedridden")
LAB_ANALYTES = (
    "25ohd",
    "calcium",
    "phosphate",
    "magnesium",
    "alp",
    "bone_alp",
    "p1np",
    "ctx",
    "ntx",
    "osteocalcin",
    "pth",
    "creatinine",
    "igf1",
    "oestradiol",
    "testosterone",
    "other",
)
SYMPTOM_KINDS = ("diffuse_long_bone_pain", "back_pain", "kyphosis", "other")
SUN_EXPOSURE_LEVELS = ("adequate", "limited", "minimal")
#: Genant semi-quantitative grades 0-3, with 0.5 for borderline deformity [S16].
GENANT_GRADES = (0.0, 0.5, 1.0, 2.0, 3.0)
#: Vertebral levels assessed on lateral spine images.
VERTEBRAL_LEVELS = tuple(f"T{i}" for i in range(4, 13)) + tuple(f"L{i}" for i in range(1, 6))
#: DXA sites of the data-model checklist [S3][S6].
DXA_SITES = (
    "spine",  # lumbar spine, region in DxaMeasurement.region (default L1-L4)
    "tblh",  # total body less head
    "total_body",
    "femoral_neck",
    "total_hip",
    "forearm",
    "lateral_distal_femur",
    "leg",
)


def _choice(field: str, value: Any, allowed: tuple[str, ...] | type[StrEnum]) -> Any:
    if value is None:
        return None
    options = tuple(str(m) for m in allowed)  # StrEnum iterates members
    text = str(value)
    if text not in options:
        raise ValidationError(f"{field}: {value!r} is not one of {', '.join(options)}")
    return text


def _non_negative(field: str, value: Any) -> Any:
    if value is not None and value < 0:
        raise ValidationError(f"{field}: {value!r} must not be negative")
    return value


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class Versioned:
    """Mixin: surrogate key, optimistic-lock version and timestamps; audited."""

    __audited__: ClassVar[bool] = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - declared_attr gets the class
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]

    @property
    def row_stamp(self) -> str:
        """What a form carries to say which row, at which version, it was loaded from:
        ``"id:version:created"`` (creation time in microseconds since 1970, UTC).

        The version alone does not identify a row: a deleted row's id handed out again (SQLite
        before revision 0003) starts at version 1 again. The creation time never changes and
        differs between the deleted row and its successor (hazard H30).
        """
        created = self.created_at
        micros = (created - _EPOCH) // dt.timedelta(microseconds=1) if created else 0
        return f"{self.id}:{self.version}:{micros}"


# --------------------------------------------------------------------------- users


class User(Versioned, Base):
    """A person who signs in. Passwords are stored only as argon2 hashes."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'clinician', 'researcher', 'reviewer')", name="role"),
    )

    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    full_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @validates("role")
    def _check_role(self, _key: str, value: Any) -> str:
        return str(_choice("role", value, Role))

    @validates("username")
    def _check_username(self, _key: str, value: str) -> str:
        value = value.strip()
        if not value or len(value) > 64 or any(c.isspace() for c in value):
            raise ValidationError(f"username: {value!r} must be 1-64 characters without spaces")
        return value

    def __repr__(self) -> str:
        return f"User(id={self.id}, username={self.username!r}, role={self.role!r})"


# --------------------------------------------------------------------------- patients


def _new_uuid() -> str:
    return str(uuid.uuid4())


class Patient(Versioned, Base):
    """A child followed by the clinic. ``demo`` marks fictional demonstration patients."""

    __tablename__ = "patients"
    __table_args__ = (CheckConstraint("sex IN ('M', 'F')", name="sex"),)

    uid: Mapped[str] = mapped_column(String(36), unique=True, nullable=False, default=_new_uuid)
    mrn: Mapped[str | None] = mapped_column(String(64), unique=True)
    family_name: Mapped[str] = mapped_column(String(200), nullable=False)
    given_name: Mapped[str] = mapped_column(String(200), nullable=False)
    birth_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    sex: Mapped[str] = mapped_column(String(1), nullable=False)
    gestational_age_weeks: Mapped[float | None] = mapped_column(Float)
    demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: Belgian INSZ/NISS (national register / BIS number), 11 digits as text (since 0006).
    ssin: Mapped[str | None] = mapped_column(String(11), unique=True)
    #: FHIR administrative gender (male/female/other/unknown); ``sex`` is the sex at birth the
    #: references use and is never derived from it (since 0006).
    administrative_gender: Mapped[str | None] = mapped_column(String(16))

    diagnoses: Mapped[list[Diagnosis]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="Diagnosis.id"
    )
    anthropometry: Mapped[list[Anthropometry]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="Anthropometry.measured_on"
    )
    puberty: Mapped[list[PubertyAssessment]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="PubertyAssessment.assessed_on",
    )
    medications: Mapped[list[Medication]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="Medication.start_date"
    )
    diets: Mapped[list[Diet]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="Diet.start_date"
    )
    mobility: Mapped[list[MobilityAssessment]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="MobilityAssessment.assessed_on",
    )
    labs: Mapped[list[LabResult]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="LabResult.sampled_on"
    )
    fractures: Mapped[list[Fracture]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="Fracture.occurred_on"
    )
    vertebral_assessments: Mapped[list[VertebralAssessment]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="VertebralAssessment.assessed_on",
    )
    dxa_scans: Mapped[list[DxaScan]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="DxaScan.scanned_on"
    )
    treatments: Mapped[list[Treatment]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="Treatment.start_date"
    )
    adverse_events: Mapped[list[AdverseEvent]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="AdverseEvent.occurred_on"
    )
    calcium_intakes: Mapped[list[CalciumIntake]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="CalciumIntake.assessed_on"
    )
    sun_exposures: Mapped[list[SunExposure]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="SunExposure.assessed_on"
    )
    symptoms: Mapped[list[Symptom]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="Symptom.noted_on"
    )
    notes: Mapped[list[Note]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="Note.written_at"
    )

    @validates("sex")
    def _check_sex(self, _key: str, value: Any) -> str:
        if value in (1, "1", "m", "male", "Male"):
            value = "M"
        elif value in (2, "2", "f", "female", "Female"):
            value = "F"
        return str(_choice("sex", value, ("M", "F")))

    @validates("ssin")
    def _check_ssin(self, _key: str, value: Any) -> Any:
        if value is None:
            return None
        text = "".join(c for c in str(value) if c not in " .-")
        if not text:
            return None
        if len(text) != 11 or not text.isdigit():
            raise ValidationError(f"ssin: {value!r} is not an INSZ/NISS number (11 digits)")
        return text

    @validates("administrative_gender")
    def _check_gender(self, key: str, value: Any) -> Any:
        return _choice(key, value, ADMINISTRATIVE_GENDERS)

    @validates("family_name", "given_name")
    def _check_name(self, key: str, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValidationError(f"{key}: must not be empty")
        return value

    @property
    def display_name(self) -> str:
        """``"Family, Given"``."""
        return f"{self.family_name}, {self.given_name}"

    def age_years(self, on: dt.date) -> float:
        """Decimal age in years on ``on`` (days / 365.25)."""
        return (on - self.birth_date).days / 365.25

    def __repr__(self) -> str:
        return f"Patient(id={self.id}, uid={self.uid!r}, demo={self.demo})"


class _PatientChild(Versioned):
    """Mixin: a row that belongs to one patient (deleted with the patient)."""

    @declared_attr
    def patient_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(
            ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True
        )


class Diagnosis(_PatientChild, Base):
    """An underlying condition: pedbone's condition code (``pedbone.clinical.DiagnosisCode``
    values such as ``phenylketonuria``) plus the local wording and an optional ICD-10 code."""

    __tablename__ = "diagnoses"

    code: Mapped[str] = mapped_column(String(64), nullable=False, default="other")
    text: Mapped[str | None] = mapped_column(String(500))
    icd10: Mapped[str | None] = mapped_column(String(16))
    onset_date: Mapped[dt.date | None] = mapped_column(Date)
    resolved_date: Mapped[dt.date | None] = mapped_column(Date)
    primary: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    patient: Mapped[Patient] = relationship(back_populates="diagnoses")


class Anthropometry(_PatientChild, Base):
    """Height (needed for HAZ adjustment and Schwartz eGFR [S11][S72]) and weight (dosing)."""

    __tablename__ = "anthropometry"

    measured_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    height_cm: Mapped[float | None] = mapped_column(Float)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    head_circumference_cm: Mapped[float | None] = mapped_column(Float)
    sitting_height_cm: Mapped[float | None] = mapped_column(Float)
    height_method: Mapped[str | None] = mapped_column(String(32))  # standing/supine/segmental

    patient: Mapped[Patient] = relationship(back_populates="anthropometry")

    @validates("height_cm", "weight_kg", "head_circumference_cm", "sitting_height_cm")
    def _check_positive(self, key: str, value: Any) -> Any:
        return _non_negative(key, value)


class PubertyAssessment(_PatientChild, Base):
    """Tanner stages and menarche."""

    __tablename__ = "puberty_assessments"

    assessed_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    tanner_stage: Mapped[int | None] = mapped_column(Integer)  # overall stage as judged
    tanner_breast_genital: Mapped[int | None] = mapped_column(Integer)  # B (girls) / G (boys)
    tanner_pubic_hair: Mapped[int | None] = mapped_column(Integer)
    testicular_volume_ml: Mapped[float | None] = mapped_column(Float)
    menarche: Mapped[bool | None] = mapped_column(Boolean)
    menarche_date: Mapped[dt.date | None] = mapped_column(Date)

    patient: Mapped[Patient] = relationship(back_populates="puberty")

    @validates("tanner_stage", "tanner_breast_genital", "tanner_pubic_hair")
    def _check_tanner(self, key: str, value: Any) -> Any:
        if value is not None and value not in (1, 2, 3, 4, 5):
            raise ValidationError(f"{key}: Tanner stage must be 1-5, got {value!r}")
        return value


class Medication(_PatientChild, Base):
    """A drug exposure; glucocorticoids as mg/kg/day prednisone-equivalent [S18][S62]."""

    __tablename__ = "medications"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    drug_class: Mapped[str] = mapped_column(String(32), nullable=False, default="other")
    dose: Mapped[str | None] = mapped_column(String(200))  # as prescribed, e.g. "10 mg twice daily"
    route: Mapped[str | None] = mapped_column(String(32))
    prednisone_eq_mg_per_kg_day: Mapped[float | None] = mapped_column(Float)
    cumulative_dose_mg: Mapped[float | None] = mapped_column(Float)  # prednisone-equivalent
    high_dose: Mapped[bool | None] = mapped_column(Boolean)  # clinician's judgement
    start_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    stop_date: Mapped[dt.date | None] = mapped_column(Date)

    patient: Mapped[Patient] = relationship(back_populates="medications")

    @validates("drug_class")
    def _check_class(self, key: str, value: Any) -> Any:
        return _choice(key, value, MedicationClass)


class Diet(_PatientChild, Base):
    """A prescribed restrictive diet (e.g. the protein-restricted diet of phenylketonuria)."""

    __tablename__ = "diets"

    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    text: Mapped[str | None] = mapped_column(Text)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    stop_date: Mapped[dt.date | None] = mapped_column(Date)

    patient: Mapped[Patient] = relationship(back_populates="diets")

    @validates("kind")
    def _check_kind(self, key: str, value: Any) -> Any:
        return _choice(key, value, DIET_KINDS)


class CalciumIntake(_PatientChild, Base):
    """Estimated dietary calcium intake (mg/day) on one date."""

    __tablename__ = "calcium_intakes"

    assessed_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    mg_per_day: Mapped[float] = mapped_column(Float, nullable=False)
    includes_supplements: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    patient: Mapped[Patient] = relationship(back_populates="calcium_intakes")

    @validates("mg_per_day")
    def _check_positive(self, key: str, value: Any) -> Any:
        return _non_negative(key, value)


class SunExposure(_PatientChild, Base):
    """Sun exposure as judged at a visit: adequate / limited / minimal."""

    __tablename__ = "sun_exposures"

    assessed_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False)

    patient: Mapped[Patient] = relationship(back_populates="sun_exposures")

    @validates("level")
    def _check_level(self, key: str, value: Any) -> Any:
        return _choice(key, value, SUN_EXPOSURE_LEVELS)


class Symptom(_PatientChild, Base):
    """A symptom on one date (e.g. back pain, diffuse long-bone pain)."""

    __tablename__ = "symptoms"

    noted_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    text: Mapped[str | None] = mapped_column(Text)

    patient: Mapped[Patient] = relationship(back_populates="symptoms")

    @validates("kind")
    def _check_kind(self, key: str, value: Any) -> Any:
        return _choice(key, value, SYMPTOM_KINDS)


class MobilityAssessment(_PatientChild, Base):
    """Ambulatory status on one date; GMFCS level (1-5) for cerebral palsy."""

    __tablename__ = "mobility_assessments"

    assessed_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    gmfcs: Mapped[int | None] = mapped_column(Integer)
    dxa_positioning_possible: Mapped[bool | None] = mapped_column(Boolean)

    patient: Mapped[Patient] = relationship(back_populates="mobility")

    @validates("status")
    def _check_status(self, key: str, value: Any) -> Any:
        return _choice(key, value, MOBILITY_STATUSES)

    @validates("gmfcs")
    def _check_gmfcs(self, key: str, value: Any) -> Any:
        if value is not None and value not in (1, 2, 3, 4, 5):
            raise ValidationError(f"{key}: GMFCS level must be 1-5, got {value!r}")
        return value


class LabResult(_PatientChild, Base):
    """One analyte value with its unit and assay method [S54][S72][S74]."""

    __tablename__ = "lab_results"

    sampled_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    analyte: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str | None] = mapped_column(String(100))  # local test name
    value: Mapped[float] = mapped_column(Float, nullable=False)
    comparator: Mapped[str | None] = mapped_column(String(2))  # "<" / ">" for censored values
    unit: Mapped[str] = mapped_column(String(32), nullable=False)
    assay: Mapped[str | None] = mapped_column(String(100))  # e.g. "enzymatic" creatinine
    reference_low: Mapped[float | None] = mapped_column(Float)
    reference_high: Mapped[float | None] = mapped_column(Float)
    flag: Mapped[str | None] = mapped_column(String(8))  # the lab's own flag

    patient: Mapped[Patient] = relationship(back_populates="labs")

    @validates("analyte")
    def _check_analyte(self, key: str, value: Any) -> Any:
        return _choice(key, value, LAB_ANALYTES)

    @validates("flag")
    def _check_flag(self, key: str, value: Any) -> Any:
        return _choice(key, value, ("low", "normal", "high"))

    @validates("comparator")
    def _check_comparator(self, key: str, value: Any) -> Any:
        return _choice(key, value, ("<", "<=", ">", ">="))


class Fracture(_PatientChild, Base):
    """A fracture: site, date, trauma level [S1][S2]; vertebral level and Genant grade [S16]."""

    __tablename__ = "fractures"

    occurred_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    site: Mapped[str] = mapped_column(String(32), nullable=False)
    bone: Mapped[str | None] = mapped_column(String(100))  # e.g. "radius", "femur", "T7"
    trauma: Mapped[str] = mapped_column(String(16), nullable=False, default="unknown")
    local_disease: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    vertebral_level: Mapped[str | None] = mapped_column(String(4))
    genant_grade: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)

    patient: Mapped[Patient] = relationship(back_populates="fractures")

    @validates("site")
    def _check_site(self, key: str, value: Any) -> Any:
        return _choice(key, value, FractureSite)

    @validates("trauma")
    def _check_trauma(self, key: str, value: Any) -> Any:
        return _choice(key, value, TraumaLevel)

    @validates("vertebral_level")
    def _check_level(self, key: str, value: Any) -> Any:
        return _choice(key, value, VERTEBRAL_LEVELS)

    @validates("genant_grade")
    def _check_grade(self, key: str, value: Any) -> Any:
        if value is not None and float(value) not in GENANT_GRADES:
            raise ValidationError(f"{key}: Genant grade must be 0, 0.5, 1, 2 or 3, got {value!r}")
        return value


class VertebralAssessment(_PatientChild, Base):
    """A lateral spine radiograph or DXA vertebral fracture assessment (VFA), with the
    vertebrae read [S16]."""

    __tablename__ = "vertebral_assessments"

    assessed_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False, default="radiograph")
    trauma: Mapped[str] = mapped_column(String(16), nullable=False, default="unknown")
    local_disease: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reader: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)

    patient: Mapped[Patient] = relationship(back_populates="vertebral_assessments")
    vertebrae: Mapped[list[Vertebra]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="Vertebra.id"
    )

    @validates("method")
    def _check_method(self, key: str, value: Any) -> Any:
        return _choice(key, value, ("radiograph", "vfa"))

    @validates("trauma")
    def _check_trauma(self, key: str, value: Any) -> Any:
        return _choice(key, value, TraumaLevel)


class Vertebra(Versioned, Base):
    """One vertebra in one assessment: morphometric heights (mm) and/or the reader's Genant
    grade (0, 0.5, 1, 2, 3) and deformity type [S16]."""

    __tablename__ = "vertebrae"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("vertebral_assessments.id", ondelete="CASCADE"), nullable=False, index=True
    )
    level: Mapped[str] = mapped_column(String(4), nullable=False)
    anterior_mm: Mapped[float | None] = mapped_column(Float)
    middle_mm: Mapped[float | None] = mapped_column(Float)
    posterior_mm: Mapped[float | None] = mapped_column(Float)
    reference_height_mm: Mapped[float | None] = mapped_column(Float)
    genant_grade: Mapped[float | None] = mapped_column(Float)
    deformity_type: Mapped[str | None] = mapped_column(String(16))

    assessment: Mapped[VertebralAssessment] = relationship(back_populates="vertebrae")

    @validates("level")
    def _check_level(self, key: str, value: Any) -> Any:
        return _choice(key, value, VERTEBRAL_LEVELS)

    @validates("genant_grade")
    def _check_grade(self, key: str, value: Any) -> Any:
        if value is not None and float(value) not in GENANT_GRADES:
            raise ValidationError(f"{key}: Genant grade must be 0, 0.5, 1, 2 or 3, got {value!r}")
        return value

    @validates("deformity_type")
    def _check_type(self, key: str, value: Any) -> Any:
        return _choice(key, value, ("wedge", "biconcave", "crush"))

    @validates("anterior_mm", "middle_mm", "posterior_mm", "reference_height_mm")
    def _check_positive(self, key: str, value: Any) -> Any:
        return _non_negative(key, value)


class DxaScan(_PatientChild, Base):
    """One DXA visit: scanner make/model/software and analysis mode [S3][S6][S15]."""

    __tablename__ = "dxa_scans"

    scanned_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    manufacturer: Mapped[str] = mapped_column(String(64), nullable=False)  # Hologic / GE Lunar
    model: Mapped[str | None] = mapped_column(String(64))
    software_version: Mapped[str | None] = mapped_column(String(64))
    serial: Mapped[str | None] = mapped_column(String(64))  # tells two machines apart
    analysis_mode: Mapped[str | None] = mapped_column(String(64))  # e.g. "pediatric", "low density"
    facility: Mapped[str | None] = mapped_column(String(200))
    # facility precision error (RMS-SD) per measure, e.g. {"spine_abmd": 0.01} [S15]
    precision_rms_sd: Mapped[dict[str, float] | None] = mapped_column(JSON)
    height_cm: Mapped[float | None] = mapped_column(Float)  # height on the scan day [S11]
    weight_kg: Mapped[float | None] = mapped_column(Float)
    vendor_reference: Mapped[str | None] = mapped_column(String(200))  # informational
    comment: Mapped[str | None] = mapped_column(Text)

    patient: Mapped[Patient] = relationship(back_populates="dxa_scans")
    measurements: Mapped[list[DxaMeasurement]] = relationship(
        back_populates="scan", cascade="all, delete-orphan", order_by="DxaMeasurement.id"
    )


class DxaMeasurement(Versioned, Base):
    """Raw values of one DXA site; pedbone recomputes Z from ``reference_pack``.

    ``vendor_z_*`` and ``vendor_reference`` on the scan are what the scanner printed; the
    assessment uses them only where no Z can be computed from the raw values with a reference
    pack, and then says so (``pedbone.clinical.classification_z``).
    """

    __tablename__ = "dxa_measurements"

    scan_id: Mapped[int] = mapped_column(
        ForeignKey("dxa_scans.id", ondelete="CASCADE"), nullable=False, index=True
    )
    site: Mapped[str] = mapped_column(String(32), nullable=False)
    region: Mapped[str | None] = mapped_column(String(32))  # e.g. "L1-L4", "L2-L4", "left"
    bmc_g: Mapped[float | None] = mapped_column(Float)
    area_cm2: Mapped[float | None] = mapped_column(Float)
    abmd_g_cm2: Mapped[float | None] = mapped_column(Float)
    lean_mass_g: Mapped[float | None] = mapped_column(Float)
    fat_mass_g: Mapped[float | None] = mapped_column(Float)
    reference_pack: Mapped[str | None] = mapped_column(String(64))  # e.g. "schafmeyer2022"
    reference_group: Mapped[str | None] = mapped_column(String(64))
    # what the scanner (or an external calculator) printed; informational only
    vendor_z_abmd: Mapped[float | None] = mapped_column(Float)
    vendor_z_bmc: Mapped[float | None] = mapped_column(Float)
    reported_haz_adjusted_z_abmd: Mapped[float | None] = mapped_column(Float)
    reported_bmad_z: Mapped[float | None] = mapped_column(Float)

    scan: Mapped[DxaScan] = relationship(back_populates="measurements")

    @validates("site")
    def _check_site(self, key: str, value: Any) -> Any:
        return _choice(key, value, DXA_SITES)

    @validates("bmc_g", "area_cm2", "abmd_g_cm2", "lean_mass_g", "fat_mass_g")
    def _check_positive(self, key: str, value: Any) -> Any:
        return _non_negative(key, value)


class Treatment(_PatientChild, Base):
    """A bone-active treatment course (e.g. a bisphosphonate) [S39][S36]."""

    __tablename__ = "treatments"
    #: One course per protocol and start date and patient (since 0003): two "start" requests
    #: at the same moment cannot both store a series of infusions (hazard H34). Courses
    #: without a protocol (``NULL``) are not constrained.
    __table_args__ = (UniqueConstraint("patient_id", "protocol_id", "start_date"),)

    drug: Mapped[str] = mapped_column(String(100), nullable=False)
    route: Mapped[str] = mapped_column(String(16), nullable=False)  # iv / oral
    indication: Mapped[str | None] = mapped_column(Text)
    start_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    stop_date: Mapped[dt.date | None] = mapped_column(Date)
    interval_months: Mapped[float | None] = mapped_column(Float)
    planned_dose_mg_per_kg: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    #: Id of the ``pedbone.treatment`` protocol the course was planned with (since 0002).
    protocol_id: Mapped[str | None] = mapped_column(String(64))
    #: The clinician's written reason for starting although the checklist said HOLD, with the
    #: HOLD reasons it overrode (since 0004; kept in the audit log with the row).
    checklist_override: Mapped[str | None] = mapped_column(Text)

    patient: Mapped[Patient] = relationship(back_populates="treatments")
    infusions: Mapped[list[Infusion]] = relationship(
        back_populates="treatment", cascade="all, delete-orphan", order_by="Infusion.given_on"
    )

    @validates("status")
    def _check_status(self, key: str, value: Any) -> Any:
        return _choice(key, value, ("planned", "active", "paused", "stopped", "completed"))


class Infusion(Versioned, Base):
    """One dose given: mg/kg, absolute mg, cycle/day, first-dose and stress-dose flags
    [S39][S36][S35][S38][S55]."""

    __tablename__ = "infusions"

    treatment_id: Mapped[int] = mapped_column(
        ForeignKey("treatments.id", ondelete="CASCADE"), nullable=False, index=True
    )
    given_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    cycle_number: Mapped[int | None] = mapped_column(Integer)
    day_number: Mapped[int | None] = mapped_column(Integer)
    dose_mg_per_kg: Mapped[float | None] = mapped_column(Float)
    dose_mg: Mapped[float | None] = mapped_column(Float)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    first_dose: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    steroid_stress_dose: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    comment: Mapped[str | None] = mapped_column(Text)
    #: ``planned`` (from a course plan, date = planned day) or ``given``; rows written before
    #: revision 0002 have ``None`` and are doses given (since 0002).
    status: Mapped[str | None] = mapped_column(String(16), default="given")
    #: The clinician's written reason for recording the dose as given although the checklist
    #: said HOLD, with the HOLD reasons (since 0004; shown on the infusion, in the audit log).
    checklist_override: Mapped[str | None] = mapped_column(Text)

    treatment: Mapped[Treatment] = relationship(back_populates="infusions")

    @validates("dose_mg_per_kg", "dose_mg", "weight_kg")
    def _check_positive(self, key: str, value: Any) -> Any:
        return _non_negative(key, value)

    @validates("status")
    def _check_status(self, key: str, value: Any) -> Any:
        return _choice(key, value, INFUSION_STATUSES)

    @property
    def given(self) -> bool:
        """True for a dose given (status ``given`` or, before revision 0002, unset)."""
        return self.status != "planned"


class AdverseEvent(_PatientChild, Base):
    """A harm, optionally linked to the infusion that preceded it [S24][S38]."""

    __tablename__ = "adverse_events"

    infusion_id: Mapped[int | None] = mapped_column(
        ForeignKey("infusions.id", ondelete="SET NULL"), index=True
    )
    occurred_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    severity: Mapped[str | None] = mapped_column(String(16))  # mild / moderate / severe
    description: Mapped[str | None] = mapped_column(Text)
    #: CTCAE grade 1-5 [CTCAE5] (since revision 0002).
    ctcae_grade: Mapped[int | None] = mapped_column(Integer)
    #: Onset in days after the linked infusion (0 = the day of the dose).
    onset_days: Mapped[float | None] = mapped_column(Float)
    #: CTCAE attribution: unrelated / unlikely / possible / probable / definite [CTCAE5].
    relatedness: Mapped[str | None] = mapped_column(String(16))

    patient: Mapped[Patient] = relationship(back_populates="adverse_events")
    infusion: Mapped[Infusion | None] = relationship()

    @validates("category")
    def _check_category(self, key: str, value: Any) -> Any:
        return _choice(key, value, AdverseEventCategory)

    @validates("severity")
    def _check_severity(self, key: str, value: Any) -> Any:
        return _choice(key, value, ("mild", "moderate", "severe", "life_threatening"))

    @validates("ctcae_grade")
    def _check_grade(self, key: str, value: Any) -> Any:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)  # a form's choice
        if value is not None and (isinstance(value, bool) or value not in (1, 2, 3, 4, 5)):
            raise ValidationError(f"{key}: {value!r} is not a CTCAE grade (1-5)")
        return value

    @validates("onset_days")
    def _check_onset(self, key: str, value: Any) -> Any:
        return _non_negative(key, value)

    @validates("relatedness")
    def _check_relatedness(self, key: str, value: Any) -> Any:
        return _choice(key, value, RELATEDNESS)


class Note(_PatientChild, Base):
    """Free-text clinical note (never shown to researchers)."""

    __tablename__ = "notes"

    written_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    text: Mapped[str] = mapped_column(Text, nullable=False)

    patient: Mapped[Patient] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()


# --------------------------------------------------------------------------- bookkeeping


class AuditEntry(Base):
    """Who changed what, when: one row per inserted, updated or deleted record.

    Written by the flush hook in the same transaction as the change; never updated.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint("action IN ('insert', 'update', 'delete')", name="action"),
        Index("ix_audit_log_table_row", "table_name", "row_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    user_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the log outlives users
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(8), nullable=False)
    table_name: Mapped[str] = mapped_column(String(64), nullable=False)
    row_id: Mapped[str] = mapped_column(String(64), nullable=False)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ImportCommit(Base):
    """One committed import preview (since revision 0003). Not audited (no clinical data).

    The preview's key is unique, so the same preview committed twice (a double click, two tabs,
    two workers at the same moment) stores its rows once: the second commit fails on the
    constraint inside its own write transaction and is answered with a conflict (hazard H35).
    """

    __tablename__ = "import_commits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    preview_key: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False)
    committed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    username: Mapped[str] = mapped_column(String(64), nullable=False)


class Setting(Base):
    """Key/value settings of this database (e.g. a user's interface language). Not audited."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


# The systematic-review tables live in their own module and register on the same metadata.
from pedbone.store import _review_models  # noqa: E402, F401
