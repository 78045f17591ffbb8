"""All database access of the web layer, through :mod:`pedbone.store`.

Views call these functions and get plain values back; no ORM object leaves a session.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, false, func, or_, select, text

from pedbone.web._i18n import LANGUAGES
from pedbone.web._security import WebUser
from pedbone.web._zscores import assess_options_for, dxa_pack_for

__all__ = [
    "PatientFilter",
    "PatientRow",
    "add_record",
    "authenticate",
    "create_patient",
    "diagnosis_codes",
    "list_patients",
    "load_user",
    "low_bmd_patient_ids",
    "ping",
    "pseudonym",
    "set_user_language",
]

_LANG_KEY = "ui_language:user:{}"


def ping(db: Any) -> bool:
    """True if the database answers."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def _language(session: Any, user_id: int) -> str:
    from pedbone.store import Setting

    row = session.get(Setting, _LANG_KEY.format(user_id))
    return row.value if row is not None and row.value in LANGUAGES else ""


def _web_user(session: Any, user: Any) -> WebUser:
    return WebUser(
        id=int(user.id),
        username=str(user.username),
        full_name=str(user.full_name or user.username),
        role=str(user.role),
        language=_language(session, int(user.id)),
    )


def load_user(db: Any, user_id: int) -> WebUser | None:
    """The active user with this id, or ``None``."""
    from pedbone.store import Setting, User

    with db.engine.connect() as conn:  # one round trip per request: user and language
        row = conn.execute(
            select(User.id, User.username, User.full_name, User.role, User.active, Setting.value)
            .outerjoin(Setting, Setting.key == _LANG_KEY.format(user_id))
            .where(User.id == user_id)
        ).one_or_none()
    if row is None or not row.active:
        return None
    return WebUser(
        id=int(row.id),
        username=str(row.username),
        full_name=str(row.full_name or row.username),
        role=str(row.role),
        language=row.value if row.value in LANGUAGES else "",
    )


def authenticate(db: Any, username: str, password: str) -> WebUser | None:
    """Check a login; records the sign-in time on success."""
    from pedbone.store import authenticate as store_authenticate

    if not username or not password:
        return None
    with db.unit_of_work() as session:
        user = store_authenticate(session, username, password)
        if user is None:
            return None
        return _web_user(session, user)


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A login attempt: the user and session token, or why not (``retry_after`` seconds)."""

    user: WebUser | None = None
    token: str = ""
    retry_after: int = 0


def _retrying(work: Callable[[], LoginResult], attempts: int = 6) -> LoginResult:
    """Run ``work()`` again when SQLite was busy with another writer (many logins at once)."""
    import time

    from pedbone.store import ConflictError

    for attempt in range(attempts):
        try:
            return work()
        except ConflictError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.02 * 2**attempt)
    raise AssertionError  # pragma: no cover


def login(db: Any, username: str, password: str, address: str | None) -> LoginResult:
    """Throttled login: while the account name or the address is locked the password is not
    checked; a failure counts against both; a success starts a server-side session."""
    from pedbone.store import (
        authenticate as store_authenticate,
    )
    from pedbone.store import (
        clear_throttle,
        record_login_failure,
        start_session,
        throttle_state,
    )
    from pedbone.store._models import utcnow

    now = utcnow()
    with db.session() as session:
        state = throttle_state(session, username, address, now)
    if state.retry_after(now):
        return LoginResult(retry_after=state.retry_after(now))
    found_id: int | None = None
    new_hash = ""
    if username and password:
        with db.session() as session:  # argon2 here: read-only, no write lock held meanwhile
            found = store_authenticate(session, username, password)
            if found is not None:  # (a re-hash with raised argon2 parameters is kept below)
                found_id, new_hash = found.id, found.password_hash
            session.rollback()

    def succeed() -> LoginResult:
        from pedbone.store import User

        with db.unit_of_work() as session:
            user = session.get(User, found_id)
            assert user is not None
            user.last_login_at = now
            if new_hash and new_hash != user.password_hash:
                user.password_hash = new_hash
            clear_throttle(session, username)
            token = start_session(session, user.id, now)
            return LoginResult(user=_web_user(session, user), token=token)

    def fail() -> LoginResult:
        with db.unit_of_work() as session:
            state = record_login_failure(session, username, address, now)
        return LoginResult(retry_after=state.retry_after(now))

    return _retrying(succeed if found_id is not None else fail)


def session_user(db: Any, token: str) -> WebUser | None:
    """The user of a live server-side session, or ``None`` (ended, expired, deactivated)."""
    from pedbone.store import resolve_session

    with db.unit_of_work() as session:
        uid = resolve_session(session, token)
    return None if uid is None else load_user(db, uid)


def end_session(db: Any, token: str) -> None:
    """Log out on the server: the session token is revoked."""
    from pedbone.store import end_session as store_end_session

    with db.unit_of_work() as session:
        store_end_session(session, token)


def set_user_language(db: Any, user: WebUser, language: str) -> None:
    """Remember the user's interface language (a per-database setting, not audited)."""
    from pedbone.store import Setting

    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    with db.unit_of_work() as session:
        key = _LANG_KEY.format(user.id)
        row = session.get(Setting, key)
        if row is None:
            session.add(Setting(key=key, value=language))
        else:
            row.value = language


# --------------------------------------------------------------------------- patients


@dataclass(frozen=True, slots=True)
class PatientRow:
    """One line of the patient list."""

    id: int
    label: str  # name, or pseudonym for researchers
    mrn: str | None
    birth_date: dt.date | None
    age_years: float
    sex: str
    diagnoses: tuple[str, ...]
    last_dxa: dt.date | None
    on_treatment: bool
    demo: bool


@dataclass(frozen=True, slots=True)
class PatientFilter:
    """Search and filters of the patient list."""

    q: str = ""
    diagnosis: str = ""
    low_bmd: bool = False
    on_treatment: bool = False
    overdue_dxa: bool = False
    page: int = 1


def pseudonym(uid: str) -> str:
    """The pseudonym researchers see (the store's: from the random patient UID)."""
    from pedbone.store import pseudonym as store_pseudonym

    return str(store_pseudonym(uid))


def _label(patient: Any, user: WebUser) -> str:
    return pseudonym(patient.uid) if user.pseudonymised else patient.display_name


def _overdue_cutoff(today: dt.date, months: int) -> dt.date:
    return today - dt.timedelta(days=round(months * 30.4375))


def diagnosis_codes(db: Any) -> list[str]:
    """Distinct diagnosis codes in use, for the filter menu."""
    from pedbone.store import Diagnosis

    with db.session() as session:
        return list(session.scalars(select(Diagnosis.code).distinct().order_by(Diagnosis.code)))


def _latest_dxa_subquery() -> Any:
    from pedbone.store import DxaScan

    return (
        select(DxaScan.patient_id, func.max(DxaScan.scanned_on).label("last_dxa"))
        .group_by(DxaScan.patient_id)
        .subquery()
    )


def low_bmd_patient_ids(session: Any, ids: Sequence[int] | None = None) -> set[int]:
    """Patients whose latest DXA has a classification Z at or below LOW_Z [S1][S3].

    The Z is the domain's choice (``pedbone.clinical.classification_z``): the one the
    overview, the chart, the report and the assessment show, so a child the overview calls
    low is in this list and no other.
    """
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy.orm import selectinload
    from sqlalchemy.orm.attributes import set_committed_value

    from pedbone.clinical import classification_z
    from pedbone.store import DxaScan, Patient, to_clinical

    # The classification Z reads only the demographics, the diagnoses (short or late-maturing),
    # the heights (HAZ) and the scans: those are loaded in bulk, the other collections are set
    # empty so that nothing is lazy-loaded (the same Z as the full record, far fewer queries).
    needed = ("diagnoses", "anthropometry", "dxa_scans")
    others = [r.key for r in sa_inspect(Patient).relationships if r.key not in needed]
    stmt = (
        select(Patient)
        .where(Patient.id.in_(select(DxaScan.patient_id)))
        .options(
            selectinload(Patient.diagnoses),
            selectinload(Patient.anthropometry),
            selectinload(Patient.dxa_scans).selectinload(DxaScan.measurements),
        )
    )
    if ids is not None:
        stmt = stmt.where(Patient.id.in_(list(ids)))
    low: set[int] = set()
    for patient in session.scalars(stmt).all():
        for name in others:
            set_committed_value(patient, name, [])
        try:
            record, _skipped = to_clinical(patient)
            series = classification_z(record, options=assess_options_for(patient), latest_only=True)
        except Exception:  # a record the engine cannot read marks nobody (the page says why)
            continue
        if series and series[-1].low:
            low.add(int(patient.id))
    return low


_PSEUDONYM_CODE = re.compile(r"[0-9A-F]{8}")


def list_patients(
    db: Any, user: WebUser, flt: PatientFilter, *, page_size: int, dxa_due_months: int
) -> tuple[list[PatientRow], int]:
    """One page of the patient list and the total count, with search and filters.

    Filters are correlated EXISTS subqueries on indexed ``patient_id`` columns; the last DXA
    date and the treatment flag are looked up for the shown page only.
    """
    from pedbone.store import Diagnosis, DxaScan, Patient, Treatment

    today = dt.date.today()
    with db.session() as session:
        conditions: list[Any] = []
        q = flt.q.strip()
        if q:
            if user.pseudonymised:
                # the whole pseudonym (P-XXXXXXXX, "P-" optional) and nothing else: no prefix
                # search, and never the hidden UID behind it
                code = q.upper().removeprefix("P-")
                if not _PSEUDONYM_CODE.fullmatch(code):
                    code = "-"  # matches no patient
                conditions.append(
                    func.upper(func.substr(func.replace(Patient.uid, "-", ""), 1, 8)) == code
                )
            else:
                like = f"%{q.lower()}%"
                conditions.append(
                    or_(
                        func.lower(Patient.family_name).like(like),
                        func.lower(Patient.given_name).like(like),
                        func.lower(func.coalesce(Patient.mrn, "")).like(like),
                    )
                )
        if flt.diagnosis:
            conditions.append(
                exists().where(
                    (Diagnosis.patient_id == Patient.id) & (Diagnosis.code == flt.diagnosis)
                )
            )
        if flt.on_treatment:
            conditions.append(
                exists().where(
                    (Treatment.patient_id == Patient.id) & (Treatment.status == "active")
                )
            )
        if flt.overdue_dxa:
            cutoff = _overdue_cutoff(today, dxa_due_months)
            conditions.append(
                ~exists().where((DxaScan.patient_id == Patient.id) & (DxaScan.scanned_on >= cutoff))
            )
        if flt.low_bmd:
            ids = low_bmd_ids_cached(db, session)
            conditions.append(Patient.id.in_(sorted(ids)) if ids else false())
        total = session.scalar(select(func.count(Patient.id)).where(*conditions)) or 0
        patients = list(
            session.scalars(
                select(Patient)
                .where(*conditions)
                .order_by(Patient.family_name, Patient.given_name, Patient.id)
                .limit(page_size)
                .offset(max(flt.page - 1, 0) * page_size)
            )
        )
        pids = [p.id for p in patients]
        diags: dict[int, list[str]] = {}
        last: dict[int, dt.date] = {}
        treated: set[int] = set()
        if pids:
            for pid, code in session.execute(
                select(Diagnosis.patient_id, Diagnosis.code)
                .where(Diagnosis.patient_id.in_(pids))
                .order_by(Diagnosis.primary.desc(), Diagnosis.id)
            ):
                diags.setdefault(pid, []).append(code)
            last = dict(
                session.execute(
                    select(DxaScan.patient_id, func.max(DxaScan.scanned_on))
                    .where(DxaScan.patient_id.in_(pids))
                    .group_by(DxaScan.patient_id)
                ).all()
            )
            treated = set(
                session.scalars(
                    select(Treatment.patient_id).where(
                        Treatment.patient_id.in_(pids), Treatment.status == "active"
                    )
                )
            )
        out = [
            PatientRow(
                id=p.id,
                label=_label(p, user),
                mrn=None if user.pseudonymised else p.mrn,
                birth_date=None if user.pseudonymised else p.birth_date,
                age_years=p.age_years(today),
                sex=p.sex,
                diagnoses=tuple(diags.get(p.id, ())),
                last_dxa=last.get(p.id),
                on_treatment=p.id in treated,
                demo=bool(p.demo),
            )
            for p in patients
        ]
        return out, int(total)


_LOW_BMD_CACHE: dict[tuple[str, Any], frozenset[int]] = {}


def low_bmd_ids_cached(db: Any, session: Any) -> frozenset[int]:
    """:func:`low_bmd_patient_ids`, recomputed only when DXA data changed.

    The key is the newest audit-log entry (every change made through the store writes one)
    and the newest scan and measurement ids; all three are primary-key lookups.
    """
    from pedbone.store import AuditEntry, DxaMeasurement, DxaScan

    key = (
        db.url,
        session.execute(
            select(
                select(func.max(AuditEntry.id)).scalar_subquery(),
                select(func.max(DxaScan.id)).scalar_subquery(),
                select(func.max(DxaMeasurement.id)).scalar_subquery(),
            )
        ).one()[:],
    )
    cached = _LOW_BMD_CACHE.get(key)
    if cached is None:
        cached = frozenset(low_bmd_patient_ids(session))
        _LOW_BMD_CACHE.clear()  # one database state at a time
        _LOW_BMD_CACHE[key] = cached
    return cached


def create_patient(db: Any, user: WebUser, values: dict[str, Any]) -> int:
    """Add a patient (and the main diagnosis, if given); returns the new id."""
    from pedbone.store import Diagnosis, Patient

    with db.unit_of_work(actor=_actor(db, user)) as session:
        patient = Patient(
            family_name=values["family_name"],
            given_name=values["given_name"],
            birth_date=values["birth_date"],
            sex=values["sex"],
            mrn=values.get("mrn") or None,
            ssin=values.get("ssin") or None,
            administrative_gender=values.get("administrative_gender") or None,
        )
        if values.get("diagnosis") or values.get("diagnosis_text"):
            patient.diagnoses.append(
                Diagnosis(
                    code=values.get("diagnosis") or "other",
                    text=values.get("diagnosis_text"),
                    primary=True,
                )
            )
        session.add(patient)
        session.flush()
        return int(patient.id)


def _actor(db: Any, user: WebUser) -> Any:
    """The store's User row for the acting web user (the audit log records it)."""
    from pedbone.store import User

    with db.session() as session:
        row = session.get(User, user.id)
        if row is None:
            raise LookupError("user no longer exists")
        session.expunge(row)
        return row


def add_record(db: Any, user: WebUser, patient_id: int, kind: str, values: dict[str, Any]) -> int:
    """Add one record of ``kind`` (a key of FORMS) to a patient; returns its id."""
    import pedbone.store as store
    from pedbone.web._forms import FORMS

    spec = FORMS[kind]
    with db.unit_of_work(actor=_actor(db, user)) as session:
        patient = session.get(store.Patient, patient_id)
        if patient is None:
            raise LookupError(f"patient {patient_id} not found")
        if kind == "dxa":
            record = _dxa_scan(values)
        elif kind == "vertebral":
            record = store.VertebralAssessment(
                **{k: v for k, v in values.items() if v is not None and not k.startswith("grade_")}
            )
            for name, grade in values.items():
                if name.startswith("grade_") and grade is not None:
                    record.vertebrae.append(
                        store.Vertebra(level=name.removeprefix("grade_"), genant_grade=float(grade))
                    )
        elif kind == "infusion":
            treatment = session.get(store.Treatment, int(values["treatment_id"]))
            if treatment is None or treatment.patient_id != patient.id:
                raise LookupError("treatment not found")
            data = {k: v for k, v in values.items() if v is not None and k != "treatment_id"}
            record = store.Infusion(**data)
            treatment.infusions.append(record)
            session.flush()
            return int(record.id)
        elif kind == "note":
            record = store.Note(text=values["text"], author_id=user.id)
        else:
            model = getattr(store, spec.model)
            data = {k: v for k, v in values.items() if v is not None}
            if kind == "fracture" and "genant_grade" in data:
                data["genant_grade"] = float(data["genant_grade"])
            record = model(**data)
        record.patient_id = patient.id
        session.add(record)
        session.flush()
        return int(record.id)


_DXA_SITE_FIELDS: dict[str, dict[str, str]] = {
    "spine": {
        "spine_abmd": "abmd_g_cm2",
        "spine_bmc": "bmc_g",
        "spine_area": "area_cm2",
        "spine_vendor_z": "vendor_z_abmd",
    },
    "tblh": {"tblh_abmd": "abmd_g_cm2", "tblh_bmc": "bmc_g", "tblh_vendor_z": "vendor_z_abmd"},
    "leg": {
        "leg_abmd": "abmd_g_cm2",
        "leg_bmc": "bmc_g",
        "leg_lean_mass": "lean_mass_g",
        "leg_fat_mass": "fat_mass_g",
    },
}


def _dxa_scan(values: dict[str, Any]) -> Any:
    from pedbone.store import DxaMeasurement, DxaScan

    scan = DxaScan(
        scanned_on=values["scanned_on"],
        manufacturer=values["manufacturer"],
        model=values.get("model"),
        software_version=values.get("software_version"),
        analysis_mode=values.get("analysis_mode"),
        precision_rms_sd=(
            {"spine_abmd": values["precision_spine"]} if values.get("precision_spine") else None
        ),
        height_cm=values.get("height_cm"),
        weight_kg=values.get("weight_kg"),
        comment=values.get("comment"),
    )
    for site, mapping in _DXA_SITE_FIELDS.items():
        data = {col: values.get(name) for name, col in mapping.items()}
        if all(v is None for v in data.values()):
            continue
        measurement = DxaMeasurement(
            site=site,
            region="L1-L4" if site == "spine" else None,
            **{k: v for k, v in data.items() if v is not None},
        )
        if site == "leg":
            measurement.reference_pack = dxa_pack_for("leg_abmd")
            measurement.reference_group = values.get("reference_group")
        scan.measurements.append(measurement)
    return scan


def dxa_has_values(values: dict[str, Any]) -> bool:
    """At least one measured value was entered on a DXA form."""
    return any(values.get(name) is not None for m in _DXA_SITE_FIELDS.values() for name in m)
