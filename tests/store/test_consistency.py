"""Records dated before birth and loosely read numbers are refused by the store itself
(hazard H37), so the API, the CLI, imports and forms refuse them alike."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pedbone.store import Database, ImportRowError, Patient, ValidationError, import_patients
from pedbone.store._consistency import ABMD_CONSISTENCY_TOLERANCE, abmd_inconsistency, parse_decimal

from .conftest import full_patient_data


def _count(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Patient)) or 0)


@pytest.mark.parametrize(
    ("table", "field", "message"),
    [
        ("dxa_scans", "scanned_on", r"dxa_scans\[1\]\.scanned_on: 2012-05-16 is before"),
        ("labs", "sampled_on", r"labs\[1\]\.sampled_on: 2012-05-16 is before the patient's"),
        ("fractures", "occurred_on", r"fractures\[1\]\.occurred_on: 2012-05-16 is before"),
    ],
)
def test_a_record_before_birth_is_refused(
    db: Database, table: str, field: str, message: str
) -> None:
    data = full_patient_data()  # born 2012-05-17
    rows: list[dict[str, object]] = data[table]  # type: ignore[assignment]
    rows[0][field] = "2012-05-16"
    with pytest.raises(ImportRowError, match=message):
        import_patients(db, [data])
    assert _count(db) == 0
    rows[0][field] = "2012-05-17"  # the day of birth itself is fine
    assert import_patients(db, [data]) == 1


def test_moving_the_birth_date_after_a_record_is_refused(db: Database) -> None:
    from pedbone.store import update_record

    import_patients(db, [full_patient_data()])  # first record: diet from 2012-05-30
    with db.session() as s:
        patient = s.scalars(select(Patient)).one()
        pid, stamp = patient.id, patient.row_stamp
    with (
        pytest.raises(ValidationError, match=r"birth_date: 2013-01-01 is after a record"),
        db.unit_of_work() as s,
    ):
        update_record(s, Patient, pid, stamp, birth_date="2013-01-01")
    with db.session() as s:
        assert str(s.get(Patient, pid).birth_date) == "2012-05-17"


@pytest.mark.parametrize("text", ["1_00", "١٢", "0x10", "1e999", "inf", "nan", "1.2.3", "--1"])
def test_loose_numbers_are_refused(db: Database, text: str) -> None:
    data = full_patient_data()
    data["anthropometry"][0]["weight_kg"] = text  # type: ignore[index]
    with pytest.raises(ImportRowError, match=r"weight_kg: .* is not a (finite )?number"):
        import_patients(db, [data])
    assert _count(db) == 0


def test_parse_decimal() -> None:
    assert parse_decimal("0,734") == 0.734
    assert parse_decimal(" -1.5 ") == -1.5
    assert parse_decimal(".5") == 0.5
    assert parse_decimal("2E3") == 2000.0
    with pytest.raises(ValueError, match="not a number"):
        parse_decimal("1 000")


def test_abmd_consistency_tolerance() -> None:
    assert ABMD_CONSISTENCY_TOLERANCE == 0.05
    assert abmd_inconsistency(0.698, 31.5, 45.1) is None  # 31.5 / 45.1 = 0.6984
    # 0.66 vs 31.5 / 45.1 = 0.69845: |0.66 - 0.69845| / 0.66 = 0.0583 > 0.05
    assert abmd_inconsistency(0.66, 31.5, 45.1) == pytest.approx(0.05826, abs=1e-4)
    # 0.67: |0.67 - 0.69845| / 0.67 = 0.0425 <= 0.05
    assert abmd_inconsistency(0.67, 31.5, 45.1) is None
    assert abmd_inconsistency(None, 31.5, 45.1) is None
