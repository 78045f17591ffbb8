"""Every model survives a round trip through SQLite and PostgreSQL unchanged."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, inspect, select

from pedbone.store import (
    AuditEntry,
    Base,
    Database,
    Patient,
    Setting,
    User,
    ValidationError,
    create_user,
    row_snapshot,
)
from pedbone.store._services import build

from .conftest import full_patient_data

CLINICAL_TABLES = sorted(
    name
    for name, table in Base.metadata.tables.items()
    if name not in {"users", "audit_log", "settings", "import_commits"}
    and not table.info.get("ephemeral")
    and not name.startswith("review_")
    and name != "systematic_reviews"  # tests/store/test_review_store
)


def _tree(obj: Base) -> dict[str, object]:
    """Column values plus nested relationships, without ids/timestamps (compared by content)."""
    out: dict[str, object] = {
        k: v
        for k, v in row_snapshot(obj).items()
        if k not in {"id", "created_at", "updated_at"} and not k.endswith("_id")
    }
    mapper = inspect(type(obj))
    for rel in mapper.relationships:
        if rel.direction.name == "ONETOMANY":
            out[rel.key] = [_tree(child) for child in getattr(obj, rel.key)]
    return out


def test_every_clinical_table_round_trips(db: Database) -> None:
    original = build(Patient, full_patient_data())
    with db.unit_of_work() as session:
        session.add(original)
    expected = _tree(original)  # after the flush: defaults filled in, as Python values
    with db.unit_of_work() as session:
        counts = {
            t: session.scalar(select(func.count()).select_from(Base.metadata.tables[t]))
            for t in CLINICAL_TABLES
        }
        assert all(n >= 1 for n in counts.values()), counts  # the fixture fills every table
        loaded = session.scalars(select(Patient)).one()
        assert _tree(loaded) == expected
        # a few values typed as stored, checked explicitly
        assert loaded.birth_date == dt.date(2012, 5, 17)
        assert loaded.dxa_scans[0].precision_rms_sd == {"spine_abmd": 0.012}
        assert loaded.dxa_scans[0].measurements[0].abmd_g_cm2 == pytest.approx(0.698)
        assert loaded.vertebral_assessments[0].vertebrae[0].genant_grade == 1.0
        assert loaded.treatments[0].infusions[0].first_dose is True
        assert loaded.version == 1
        # one audit entry per inserted row: 1 patient + the rows counted above
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == sum(counts.values())


def test_age_and_display_name() -> None:
    patient = build(Patient, full_patient_data())
    assert patient.display_name == "Testpatient, Anna"
    # 2012-05-17 -> 2024-05-17 is 4383 days (3 leap days: 2016, 2020, 2024); 4383/365.25 = 12.0
    assert patient.age_years(dt.date(2024, 5, 17)) == pytest.approx(12.0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sex", "X", "sex: 'X' is not one of M, F"),
        ("family_name", "  ", "family_name: must not be empty"),
        ("birth_date", "17.05.2012", "birth_date: '17.05.2012' is not an ISO date"),
        ("shoe_size", 3, "shoe_size: patients has no such field"),
        ("version", 7, "version: is managed by the store"),
    ],
)
def test_bad_fields_are_named(field: str, value: object, message: str) -> None:
    data = full_patient_data()
    data[field] = value
    with pytest.raises(ValidationError, match=message):
        build(Patient, data)


def test_nested_bad_field_names_the_path() -> None:
    data = full_patient_data()
    data["fractures"] = [{"occurred_on": "2023-01-01", "site": "skull?"}]
    with pytest.raises(ValidationError, match=r"fractures\[1\]\.site: 'skull\?' is not one of"):
        build(Patient, data)


def test_sex_codes_are_normalised() -> None:
    data = full_patient_data()
    data["sex"] = 2
    assert build(Patient, data).sex == "F"


def test_user_and_setting_round_trip(db: Database) -> None:
    with db.unit_of_work() as session:
        user = create_user(
            session, "röntgen", "correct horse battery", "researcher", full_name="Wilhelm Röntgen"
        )
        session.add(Setting(key="ui_language:user:1", value="nl"))
    with db.unit_of_work() as session:
        loaded = session.get(User, user.id)
        assert loaded is not None
        assert (loaded.username, loaded.full_name, loaded.role, loaded.active) == (
            "röntgen",
            "Wilhelm Röntgen",
            "researcher",
            True,
        )
        assert loaded.password_hash == user.password_hash
        assert loaded.created_at == user.created_at  # UTC-aware on both backends
        assert loaded.created_at.utcoffset() == dt.timedelta(0)
        setting = session.get(Setting, "ui_language:user:1")
        assert setting is not None
        assert setting.value == "nl"


def test_text_values_are_converted_by_column_type() -> None:
    data = full_patient_data()
    data["gestational_age_weeks"] = " 38.5 "
    data["demo"] = "no"
    data["mrn"] = "007"  # text columns keep text
    data["puberty"] = [{"assessed_on": "2024-01-01", "tanner_stage": "3", "menarche": ""}]
    patient = build(Patient, data)
    assert patient.gestational_age_weeks == 38.5
    assert patient.demo is False
    assert patient.mrn == "007"
    assert patient.puberty[0].tanner_stage == 3
    assert patient.puberty[0].menarche is None  # empty = no value


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("gestational_age_weeks", "38,5", "gestational_age_weeks: '38,5' is not a number"),
        ("demo", "maybe", "demo: 'maybe' is not yes/no"),
    ],
)
def test_bad_text_values_name_the_field(field: str, value: str, message: str) -> None:
    data = full_patient_data()
    data[field] = value
    with pytest.raises(ValidationError, match=message):
        build(Patient, data)


def test_whole_numbers_only_where_whole_numbers_belong() -> None:
    data = full_patient_data()
    data["puberty"] = [{"assessed_on": "2024-01-01", "tanner_stage": "2.5"}]
    with pytest.raises(ValidationError, match=r"puberty\[1\]\.tanner_stage: '2.5' is not a whole"):
        build(Patient, data)
