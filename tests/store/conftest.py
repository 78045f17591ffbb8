"""Store tests run on SQLite and on PostgreSQL.

PostgreSQL comes from ``PEDBONE_TEST_POSTGRES_URL`` (``tools/test-postgres.sh`` starts a
throwaway server; ``make unit`` uses it). Each test gets its own fresh database. Without a
server the PostgreSQL variants skip loudly — except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from pedbone.store import Database

PG_ENV = "PEDBONE_TEST_POSTGRES_URL"
NO_PG = (
    f"POSTGRESQL NOT AVAILABLE: {PG_ENV} is not set — run the tests through "
    "tools/test-postgres.sh (as `make unit` does) to cover PostgreSQL"
)


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


@pytest.fixture(autouse=True)
def fast_argon2(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters so the suite stays fast; tests marked ``real_argon2`` keep the
    production parameters (the hash format and verification are the same code)."""
    if request.node.get_closest_marker("real_argon2"):
        return
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr("pedbone.store._security._hasher", lambda: cheap)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_argon2: use pedbone's production argon2 parameters")


class _Templates:
    """One migrated template database per backend and test process, copied for each test
    (a file copy for SQLite, ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL): the migrations
    run once instead of once per test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sqlite: Path | None = None
        self.postgres: str | None = None
        self.admin: Engine | None = None

    def sqlite_template(self) -> Path:
        if self.sqlite is None:
            path = self.folder / "template.sqlite3"
            database = Database(f"sqlite:///{path}")
            database.dispose()  # last connection closed: the write-ahead log is checkpointed
            self.sqlite = path
        return self.sqlite

    def postgres_template(self, base: str) -> str:
        if self.postgres is None:
            self.admin = create_engine(base, isolation_level="AUTOCOMMIT")
            name = f"pedbone_tpl_{uuid.uuid4().hex[:16]}"
            with self.admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            database = Database(make_url(base).set(database=name).render_as_string(False))
            database.dispose()  # a template must have no open connections
            self.postgres = name
        return self.postgres

    def close(self) -> None:
        if self.admin is not None and self.postgres is not None:
            with self.admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.postgres}" WITH (FORCE)'))
            self.admin.dispose()


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Templates]:
    templates = _Templates(tmp_path_factory.mktemp("templates"))
    try:
        yield templates
    finally:
        templates.close()


class Backend:
    """Hands out fresh databases of one backend and drops them afterwards."""

    def __init__(self, name: str, tmp_path: Path, templates: _Templates) -> None:
        self.name = name
        self._tmp = tmp_path
        self._templates = templates
        self._created: list[str] = []
        self._admin: Engine | None = None
        if name == "postgresql":
            base = os.environ.get(PG_ENV)
            if not base:
                if _ci():
                    pytest.fail(f"{NO_PG} (CI=true: PostgreSQL tests must run)")
                pytest.skip(NO_PG)
            self._base = base
            self._admin = create_engine(base, isolation_level="AUTOCOMMIT")

    def new_url(self, *, migrated: bool = False) -> str:
        """URL of a new database: empty, or (``migrated=True``) at the newest schema."""
        if self._admin is None:
            path = self._tmp / f"store{len(self._created)}.sqlite3"
            if migrated:
                shutil.copyfile(self._templates.sqlite_template(), path)
            self._created.append(str(path))
            return f"sqlite:///{path}"
        name = f"pedbone_t_{uuid.uuid4().hex[:16]}"
        template = (
            f' TEMPLATE "{self._templates.postgres_template(self._base)}"' if migrated else ""
        )
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{template}'))
        self._created.append(name)
        return make_url(self._base).set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        if self._admin is None:
            return
        with self._admin.connect() as connection:
            for name in self._created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, _templates: _Templates
) -> Iterator[Backend]:
    """Each store test runs once on SQLite and once on PostgreSQL."""
    helper = Backend(request.param, tmp_path, _templates)
    try:
        yield helper
    finally:
        helper.close()


@pytest.fixture
def db_url(backend: Backend) -> str:
    """URL of an empty database of each backend."""
    return backend.new_url()


@pytest.fixture
def db(backend: Backend) -> Iterator[Database]:
    """A migrated, empty clinic database on each backend (a copy of a migrated template)."""
    database = Database(backend.new_url(migrated=True))
    try:
        yield database
    finally:
        database.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if any(NO_PG in str(getattr(report, "longrepr", "")) for report in skipped):
        terminalreporter.write_sep("!", "PostgreSQL store tests were SKIPPED", red=True, bold=True)
        terminalreporter.write_line(NO_PG, red=True)


def full_patient_data(mrn: str = "TEST-0001") -> dict[str, object]:
    """A fictional patient with at least one row in every clinical table."""
    return {
        "mrn": mrn,
        "family_name": "Testpatient",
        "given_name": "Anna",
        "birth_date": "2012-05-17",
        "sex": "F",
        "gestational_age_weeks": 39.0,
        "demo": True,
        "diagnoses": [
            {"code": "phenylketonuria", "text": "PKU, classic", "icd10": "E70.0", "primary": True}
        ],
        "anthropometry": [
            {"measured_on": "2023-02-01", "height_cm": 141.2, "weight_kg": 33.4},
            {"measured_on": "2024-02-03", "height_cm": 147.9, "weight_kg": 38.0},
        ],
        "puberty": [{"assessed_on": "2024-02-03", "tanner_stage": 2, "tanner_pubic_hair": 2}],
        "medications": [
            {
                "name": "prednisolone",
                "drug_class": "glucocorticoid",
                "dose": "10 mg once daily",
                "prednisone_eq_mg_per_kg_day": 0.3,
                "start_date": "2023-03-01",
                "stop_date": "2023-09-01",
            }
        ],
        "diets": [{"kind": "protein_restricted", "start_date": "2012-05-30"}],
        "calcium_intakes": [{"assessed_on": "2024-02-03", "mg_per_day": 650.0}],
        "sun_exposures": [{"assessed_on": "2024-02-03", "level": "limited"}],
        "symptoms": [{"noted_on": "2024-01-20", "kind": "back_pain"}],
        "mobility": [{"assessed_on": "2024-02-03", "status": "ambulatory"}],
        "labs": [
            {"sampled_on": "2024-02-03", "analyte": "25ohd", "value": 41.0, "unit": "nmol/L"},
            {
                "sampled_on": "2024-02-03",
                "analyte": "creatinine",
                "value": 48.0,
                "unit": "umol/L",
                "assay": "enzymatic",
            },
        ],
        "fractures": [
            {
                "occurred_on": "2023-11-11",
                "site": "long_bone_upper",
                "bone": "radius",
                "trauma": "low",
            }
        ],
        "vertebral_assessments": [
            {
                "assessed_on": "2024-02-03",
                "method": "vfa",
                "vertebrae": [{"level": "T7", "genant_grade": 1.0, "deformity_type": "wedge"}],
            }
        ],
        "dxa_scans": [
            {
                "scanned_on": "2024-02-03",
                "manufacturer": "Hologic",
                "model": "Horizon A",
                "software_version": "13.6",
                "analysis_mode": "pediatric",
                "precision_rms_sd": {"spine_abmd": 0.012},
                "height_cm": 147.9,
                "vendor_reference": "vendor pediatric database",
                "measurements": [
                    {
                        "site": "spine",
                        "region": "L1-L4",
                        "bmc_g": 31.5,
                        "area_cm2": 45.1,
                        "abmd_g_cm2": 0.698,
                        "reference_pack": "schafmeyer2022",
                        "vendor_z_abmd": -1.4,
                    },
                    {"site": "tblh", "bmc_g": 905.0, "area_cm2": 1150.0, "abmd_g_cm2": 0.787},
                ],
            }
        ],
        "treatments": [
            {
                "drug": "zoledronate",
                "route": "iv",
                "start_date": "2024-03-01",
                "status": "active",
                "infusions": [
                    {
                        "given_on": "2024-03-01",
                        "cycle_number": 1,
                        "weight_kg": 38.0,
                        "first_dose": True,
                    }
                ],
            }
        ],
        "adverse_events": [
            {"occurred_on": "2024-03-02", "category": "acute_phase_reaction", "severity": "mild"}
        ],
        "notes": [{"text": "Fictional test note."}],
    }
