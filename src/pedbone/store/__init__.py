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
from pedbone.store import _consistency as _consistency  # registers the date check on flush
from pedbone.store import _limits as _limits  # registers the length/character check on flush
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
    BusyError,
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
    ImportCommit,
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
from pedbone.store._passwords import MIN_PASSWORD_LENGTH, check_password
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
    HASH_CONCURRENCY,
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
    stamp_version,
    update_record,
    was_deleted,
)
from pedbone.store._sessions import (
    LoginThrottle,
    ThrottleState,
    WebSession,
    clear_throttle,
    end_session,
    end_user_sessions,
    record_login_failure,
    resolve_session,
    start_session,
    throttle_state,
)

del _audit

__all__ = [
    "ENV_DATABASE_URL",
    "ENV_DATA_DIR",
    "HASH_CONCURRENCY",
    "HIDDEN_FIELDS",
    "MIN_PASSWORD_LENGTH",
    "Actor",
    "AdverseEvent",
    "AdverseEventCategory",
    "Anthropometry",
    "AuditEntry",
    "Base",
    "BusyError",
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
    "ImportCommit",
    "ImportRowError",
    "Infusion",
    "LabResult",
    "LoginThrottle",
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
    "ThrottleState",
    "TraumaLevel",
    "Treatment",
    "User",
    "ValidationError",
    "Vertebra",
    "VertebralAssessment",
    "WebSession",
    "actor_of",
    "authenticate",
    "backup",
    "build",
    "check_password",
    "clear_throttle",
    "clinic_cohort_row",
    "create_demo_patients",
    "create_user",
    "current_revision",
    "data_dir",
    "default_database_url",
    "delete_record",
    "dxa_zscores",
    "end_session",
    "end_user_sessions",
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
    "record_login_failure",
    "require",
    "resolve_database_url",
    "resolve_session",
    "restore",
    "review",
    "review_synthesis",
    "row_snapshot",
    "schema_diff",
    "set_password",
    "stamp_version",
    "start_session",
    "throttle_state",
    "to_clinical",
    "update_record",
    "verify_password",
    "was_deleted",
]
