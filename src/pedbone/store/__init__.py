"""pedbone.store — the clinic database: models, migrations, users, audit log, integrity.

>>> from pedbone.store import Database, create_user
>>> db = Database("sqlite://")  # in memory here; a file or a PostgreSQL URL in a clinic
>>> with db.unit_of_work(actor=None) as s:  # one transaction, written to the audit log
...     admin = create_user(s, "admin", "lantern orchard quietly 2026", "admin")
>>> admin.username, admin.role
('admin', 'admin')

Every change made through a :class:`StoreSession` is written to the audit log in the same
transaction; concurrent edits raise :class:`ConflictError`; researchers may change nothing.
See ``docs/store.md``.
"""

from __future__ import annotations

from pedbone.store import _audit  # registers the flush hooks
from pedbone.store import _review as review  # systematic reviews: store.review.cast_vote ...
from pedbone.store import _review_part2 as review_synthesis  # part 2; registers its tables
from pedbone.store._audit import Actor, actor_of, row_snapshot
from pedbone.store._backup import RestoreSummary, backup, restore
from pedbone.store._clinical import DxaZ, dxa_zscores, to_clinical
from pedbone.store._demo import create_demo_patients
from pedbone.store._engine import (
    ENV_DATA_DIR,
    ENV_DATABASE_URL,
    Database,
    StoreSession,
    data_dir,
    default_database_url,
    make_engine,
    resolve_database_url,
)
from pedbone.store._errors import (
    ConflictError,
    PermissionDeniedError,
    StoreError,
    ValidationError,
)
from pedbone.store._harms import given_doses, harm_log
from pedbone.store._migrate import current_revision, head_revision, schema_diff
from pedbone.store._models import (
    AdverseEvent,
    AdverseEventCategory,
    Anthropometry,
    AuditEntry,
    Base,
    CalciumIntake,
    Diagnosis,
    Diet,
    DxaMeasurement,
    DxaScan,
    Fracture,
    FractureSite,
    Infusion,
    LabResult,
    Medication,
    MedicationClass,
    MobilityAssessment,
    Note,
    Patient,
    PubertyAssessment,
    Role,
    Setting,
    SunExposure,
    Symptom,
    TraumaLevel,
    Treatment,
    User,
    Vertebra,
    VertebralAssessment,
)
from pedbone.store._pseudo import HIDDEN_FIELDS, pseudonym, pseudonymise, pseudonymised_patients
from pedbone.store._review_cohort import ClinicCohortRow, clinic_cohort_row
from pedbone.store._review_models import (
    ReviewDuplicatePair,
    ReviewMember,
    ReviewRecord,
    ReviewSearch,
    ReviewVote,
    SystematicReview,
)
from pedbone.store._security import (
    Permission,
    authenticate,
    create_user,
    has_permission,
    hash_password,
    require,
    set_password,
    verify_password,
)
from pedbone.store._services import (
    ImportRowError,
    build,
    delete_record,
    history,
    import_patients,
    update_record,
)

del _audit

__all__ = [
    "ENV_DATABASE_URL",
    "ENV_DATA_DIR",
    "HIDDEN_FIELDS",
    "Actor",
    "AdverseEvent",
    "AdverseEventCategory",
    "Anthropometry",
    "AuditEntry",
    "Base",
    "CalciumIntake",
    "ClinicCohortRow",
    "ConflictError",
    "Database",
    "Diagnosis",
    "Diet",
    "DxaMeasurement",
    "DxaScan",
    "DxaZ",
    "Fracture",
    "FractureSite",
    "ImportRowError",
    "Infusion",
    "LabResult",
    "Medication",
    "MedicationClass",
    "MobilityAssessment",
    "Note",
    "Patient",
    "Permission",
    "PermissionDeniedError",
    "PubertyAssessment",
    "RestoreSummary",
    "ReviewDuplicatePair",
    "ReviewMember",
    "ReviewRecord",
    "ReviewSearch",
    "ReviewVote",
    "Role",
    "Setting",
    "StoreError",
    "StoreSession",
    "SunExposure",
    "Symptom",
    "SystematicReview",
    "TraumaLevel",
    "Treatment",
    "User",
    "ValidationError",
    "Vertebra",
    "VertebralAssessment",
    "actor_of",
    "authenticate",
    "backup",
    "build",
    "clinic_cohort_row",
    "create_demo_patients",
    "create_user",
    "current_revision",
    "data_dir",
    "default_database_url",
    "delete_record",
    "dxa_zscores",
    "given_doses",
    "harm_log",
    "has_permission",
    "hash_password",
    "head_revision",
    "history",
    "import_patients",
    "make_engine",
    "pseudonym",
    "pseudonymise",
    "pseudonymised_patients",
    "require",
    "resolve_database_url",
    "restore",
    "review",
    "review_synthesis",
    "row_snapshot",
    "schema_diff",
    "set_password",
    "to_clinical",
    "update_record",
    "verify_password",
]
