"""Users, argon2 passwords and roles."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from pedbone.store import (
    Database,
    Patient,
    Permission,
    PermissionDeniedError,
    Role,
    User,
    ValidationError,
    authenticate,
    create_user,
    has_permission,
    hash_password,
    require,
    verify_password,
)
from pedbone.store._services import update_record


@pytest.mark.real_argon2
def test_argon2_hash_round_trip() -> None:
    hashed = hash_password("correct horse battery")
    # argon2id PHC string with argon2-cffi's RFC 9106 "low memory" profile: 64 MiB, t=3, p=4
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "correct horse" not in hashed
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "correct horse batterY")
    assert not verify_password("not a hash", "x")
    assert hash_password("correct horse battery") != hashed  # random salt


def test_short_password_rejected() -> None:
    with pytest.raises(ValidationError, match="at least 15 characters"):
        hash_password("12345678901234")


def test_authenticate(db: Database) -> None:
    with db.unit_of_work() as session:
        create_user(session, "dr_b", "correct horse battery", Role.CLINICIAN, full_name="Dr B")
    with db.unit_of_work() as session:
        assert authenticate(session, "dr_b", "wrong password") is None
        assert authenticate(session, "nobody", "correct horse battery") is None
        user = authenticate(session, "dr_b", "correct horse battery")
        assert user is not None
        assert user.role == "clinician"
        assert user.last_login_at is not None
        user.active = False
    with db.unit_of_work() as session:
        assert authenticate(session, "dr_b", "correct horse battery") is None


def test_duplicate_username_and_bad_role(db: Database) -> None:
    with db.unit_of_work() as session:
        create_user(session, "x1", "correct horse battery", "admin")
    with pytest.raises(ValidationError, match="'x1' already exists"), db.unit_of_work() as s:
        create_user(s, "x1", "another long one", "admin")
    with (
        pytest.raises(ValidationError, match="role: 'nurse' is not one of"),
        db.unit_of_work() as s,
    ):
        create_user(s, "x2", "another long one", "nurse")
    with pytest.raises(ValidationError, match="without spaces"), db.unit_of_work() as s:
        create_user(s, "two words", "another long one", "admin")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ADMIN, set(Permission)),
        (
            Role.CLINICIAN,
            {
                Permission.READ_IDENTIFIED,
                Permission.READ_PSEUDONYMISED,
                Permission.EDIT,
                Permission.EXPORT,
            },
        ),
        (Role.RESEARCHER, {Permission.READ_PSEUDONYMISED, Permission.EXPORT}),
    ],
)
def test_role_permissions(role: Role, allowed: set[Permission]) -> None:
    assert {p for p in Permission if has_permission(role, p)} == allowed
    user = User(username="u", role=role.value, password_hash="x", active=True)
    for permission in Permission:
        if permission in allowed:
            require(user, permission)
        else:
            with pytest.raises(PermissionDeniedError, match=f"role {role.value}"):
                require(user, permission)
    user.active = False
    assert not any(has_permission(user, p) for p in Permission)


def test_researcher_cannot_change_anything(db: Database) -> None:
    with db.unit_of_work() as session:
        researcher = create_user(session, "res", "correct horse battery", "researcher")
        patient = Patient(
            family_name="Demo", given_name="Patient 01", birth_date=dt.date(2015, 1, 1), sex="M"
        )
        session.add(patient)
    with (
        pytest.raises(PermissionDeniedError, match="researcher role"),
        db.unit_of_work(researcher) as session,
    ):
        update_record(session, Patient, patient.id, 1, given_name="Changed")
    with (
        pytest.raises(PermissionDeniedError, match="researcher role"),
        db.unit_of_work(researcher) as session,
    ):
        session.add(
            Patient(family_name="N", given_name="N", birth_date=dt.date(2015, 1, 1), sex="M")
        )
    with db.unit_of_work(researcher) as session:  # reading is fine
        assert session.get(Patient, patient.id).given_name == "Patient 01"  # type: ignore[union-attr]


def test_clinician_cannot_manage_users_but_can_change_own_password(db: Database) -> None:
    with db.unit_of_work() as session:
        doc = create_user(session, "doc", "correct horse battery", "clinician")
        other = create_user(session, "other", "correct horse battery", "clinician")
    with (
        pytest.raises(PermissionDeniedError, match="only an admin"),
        db.unit_of_work(doc) as session,
    ):
        create_user(session, "new", "correct horse battery", "admin")
    with (
        pytest.raises(PermissionDeniedError, match="only an admin"),
        db.unit_of_work(doc) as session,
    ):
        update_record(session, User, other.id, 1, role="admin")
    with db.unit_of_work(doc) as session:
        me = session.get(User, doc.id)
        assert me is not None
        me.password_hash = hash_password("a new long password")
    with db.unit_of_work() as session:
        assert authenticate(session, "doc", "a new long password") is not None
        assert session.scalars(select(User.username).order_by(User.username)).all() == [
            "doc",
            "other",
        ]


def test_nobody_but_an_admin_raises_their_own_role(db: Database) -> None:
    with db.unit_of_work() as session:
        doc = create_user(session, "doc", "correct horse battery", "clinician")
        res = create_user(session, "res", "correct horse battery", "researcher")
        admin = create_user(session, "boss", "correct horse battery", "admin")
    for user in (doc, res):
        with (
            pytest.raises(PermissionDeniedError, match="only an admin manages user accounts"),
            db.unit_of_work(user) as session,
        ):
            update_record(session, User, user.id, 1, role="admin")
        with db.unit_of_work(user) as session:  # own password and name: allowed
            update_record(
                session,
                User,
                user.id,
                1,
                password_hash=hash_password("my new password"),
                full_name="New Name",
            )
    with db.unit_of_work(admin) as session:  # an admin may change roles
        update_record(session, User, res.id, 2, role="clinician")
    with db.unit_of_work() as session:
        roles = {u.username: u.role for u in session.scalars(select(User))}
        assert roles == {"doc": "clinician", "res": "clinician", "boss": "admin"}
        assert authenticate(session, "res", "my new password") is not None
