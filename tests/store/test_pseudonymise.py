"""The researcher's pseudonymised view hides identity and exact dates."""

from __future__ import annotations

import json

import pytest

from pedbone.store import Database, Patient, PermissionDeniedError, User, create_user
from pedbone.store._pseudo import pseudonym, pseudonymise, pseudonymised_patients
from pedbone.store._services import build, import_patients

from .conftest import full_patient_data


def test_pseudonym_is_stable_and_from_the_uid_only() -> None:
    assert pseudonym("3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b") == "P-3F2A9C1E"
    data = full_patient_data()
    a, b = build(Patient, data), build(Patient, data)
    a.uid, b.uid = "00000000-0000-4000-8000-000000000001", "ffffffff-0000-4000-8000-000000000001"
    assert pseudonym(a.uid) != pseudonym(b.uid)  # same person data, different random uid


def test_nothing_identifying_leaks() -> None:
    patient = build(Patient, full_patient_data())
    patient.uid = "abcdef12-0000-4000-8000-000000000000"
    view = pseudonymise(patient)
    text = json.dumps(view)
    for secret in ("Testpatient", "Anna", "TEST-0001", "2012-05-17", "abcdef12-0000", "PKU"):
        assert secret not in text
    assert "Fictional test note" not in text
    assert "notes" not in view
    assert view["pseudonym"] == "P-ABCDEF12"
    assert view["birth_year"] == 2012
    assert view["sex"] == "F"
    # 2012-05-17 -> 2024-02-03: 4279 days; 4279 / 365.25 = 11.715... -> 11.72
    assert view["anthropometry"][1]["age_years"] == 11.72
    assert view["anthropometry"][1]["height_cm"] == 147.9
    # medication stop 2023-09-01: 4124 days / 365.25 = 11.2909 -> 11.29
    assert view["medications"][0]["stop_date_age_years"] == 11.29
    scan = view["dxa_scans"][0]
    assert scan["manufacturer"] == "Hologic"
    assert "facility" not in scan
    assert scan["measurements"][0]["abmd_g_cm2"] == 0.698
    assert view["diagnoses"] == [
        {
            "code": "phenylketonuria",
            "icd10": "E70.0",
            "age_years": None,
            "resolved_date_age_years": None,
            "primary": True,
        }
    ]


@pytest.fixture
def researcher(db: Database) -> User:
    with db.unit_of_work() as session:
        return create_user(session, "res", "correct horse battery", "researcher")


def test_researcher_dataset_from_the_database(db: Database, researcher: User) -> None:
    import_patients(db, [full_patient_data("A-1"), full_patient_data("A-2")])
    with db.unit_of_work(researcher) as session:
        rows = pseudonymised_patients(session, researcher)
    assert len(rows) == 2
    assert rows[0]["pseudonym"] < rows[1]["pseudonym"]
    assert all("mrn" not in row and "family_name" not in row for row in rows)
    with db.unit_of_work(researcher) as session:
        assert pseudonymised_patients(session, researcher, include_demo=False) == []


def test_inactive_user_gets_nothing(db: Database, researcher: User) -> None:
    researcher.active = False
    with db.unit_of_work() as session, pytest.raises(PermissionDeniedError):
        pseudonymised_patients(session, researcher)
