"""The store's command line: db, user, demo, backup, restore (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import pedbone
from pedbone.cli import app
from pedbone.store import (
    Database,
    DxaMeasurement,
    DxaScan,
    Patient,
    User,
    authenticate,
    history,
)
from pedbone.store._demo import PROFILES, create_demo_patients

from .conftest import Backend

runner = CliRunner()


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_db_upgrade_and_status(db_url: str) -> None:
    code, out, _ = _run("db", "upgrade", "--database-url", db_url)
    assert code == 0
    from pedbone.store._migrate import head_revision

    head = head_revision()  # the newest migration (re-chained when branches merge)
    assert f"is at schema revision {head}" in out
    code, out, _ = _run("db", "status", "--database-url", db_url)
    assert code == 0
    assert f"schema revision: {head} (up to date)" in out
    assert re.search(r"patients\s+0\n", out)


def test_user_add_and_list(db_url: str) -> None:
    code, out, _ = _run(
        "user",
        "add",
        "boss",
        "--role",
        "admin",
        "--password-stdin",
        "--database-url",
        db_url,
        stdin="a long passphrase\n",
    )
    assert code == 0, out
    assert "added admin 'boss'" in out
    code, out, _ = _run(
        "user", "add", "doc", "--database-url", db_url, stdin="first password\nfirst password\n"
    )  # hidden prompt, twice
    assert code == 0, out
    code, out, _ = _run("user", "list", "--database-url", db_url)
    assert re.search(r"boss\s+admin\s+last sign-in -", out)
    assert re.search(r"doc\s+clinician", out)
    db = Database(db_url)
    try:
        with db.unit_of_work() as session:
            assert authenticate(session, "boss", "a long passphrase") is not None
            assert authenticate(session, "doc", "first password") is not None
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "nurse", "--password-stdin"], "long enough\n", "'nurse' is not one of"),
        ([], "one password\nanother one\n", "the two passwords differ"),
        (["--password-stdin"], "short\n", "at least 8 characters"),
        (["--password-stdin"], "", "nothing on standard input"),
    ],
)
def test_user_add_errors(tmp_path: Path, args: list[str], stdin: str, message: str) -> None:
    url = f"sqlite:///{tmp_path}/c.sqlite3"
    code, _, err = _run("user", "add", "x", *args, "--database-url", url, stdin=stdin)
    assert code == 2
    assert message in err


def test_bad_database_url_is_exit_2() -> None:
    code, _, err = _run("db", "status", "--database-url", "mysql://nowhere/x")
    assert code == 2
    assert "unsupported database 'mysql'" in err


def test_demo(db_url: str) -> None:
    code, out, _ = _run("demo", "--database-url", db_url)
    assert code == 0, out
    assert "added 8 fictional demo patients" in out
    password = re.search(r"sign in as: demo\s+password: (\S+)", out)
    assert password is not None
    code, out, _ = _run("demo", "--database-url", db_url)
    assert "already has the demo patients" in out
    assert "sign in as" not in out  # a user exists now
    db = Database(db_url)
    try:
        with db.unit_of_work() as session:
            patients = session.scalars(select(Patient).order_by(Patient.mrn)).all()
            assert len(patients) == len(PROFILES) == 8
            assert all(p.demo and p.family_name == "Demo" for p in patients)
            assert [p.given_name for p in patients[:2]] == ["Patient 01", "Patient 02"]
            assert all("FICTIONAL" in p.notes[0].text for p in patients)
            user = authenticate(session, "demo", password.group(1))
            assert isinstance(user, User)
            assert user.role == "clinician"
    finally:
        db.dispose()


def test_demo_values_reproduce_the_intended_z(db: Database) -> None:
    today = dt.date(2026, 1, 15)
    with db.unit_of_work() as session:
        create_demo_patients(session, today=today)
    with db.unit_of_work() as session:
        boy = session.scalars(select(Patient).where(Patient.mrn == "DEMO-0002")).one()
        scan = session.scalars(
            select(DxaScan).where(DxaScan.patient_id == boy.id, DxaScan.scanned_on == today)
        ).one()
        leg = session.scalars(
            select(DxaMeasurement).where(
                DxaMeasurement.scan_id == scan.id, DxaMeasurement.site == "leg"
            )
        ).one()
        pack = pedbone.reference(leg.reference_pack or "")
        z = pack.zscore(
            "leg_abmd",
            sex=[boy.sex],
            age_years=[boy.age_years(today)],
            value=[leg.abmd_g_cm2],
            group=leg.reference_group,
        )
        # generated at Z = -2.7 (profile 2, today) and rounded to 0.001 g/cm2
        assert float(z[0]) == pytest.approx(PROFILES[1].leg_z[2], abs=0.02)
        assert len(boy.treatments[0].infusions) >= 2  # zoledronate every 6 months for a year
        assert boy.treatments[0].infusions[0].dose_mg_per_kg == 0.05  # [S35]


def test_backup_restore_cli(db: Database, backend: Backend, tmp_path: Path) -> None:
    with db.unit_of_work() as session:
        create_demo_patients(session)
    name = "b.sqlite3" if backend.name == "sqlite" else "b.json.gz"
    code, out, err = _run("backup", str(tmp_path / name), "--database-url", db.url)
    assert code == 0, err
    target = backend.new_url(migrated=True)
    code, out, err = _run("restore", str(tmp_path / name), "--database-url", target)
    assert code == 0, err
    assert re.search(r"restored \d+ rows", out)
    code, out, err = _run("restore", str(tmp_path / name), "--database-url", target)
    assert code == 2
    assert "not empty" in err
    code, out, err = _run("restore", str(tmp_path / name), "--replace", "--database-url", target)
    assert code == 0, err


def test_user_passwd_and_disable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.sqlite3"
    _run("user", "add", "doc", "--password-stdin", "--database-url", url, stdin="old password\n")
    code, out, _ = _run(
        "user", "passwd", "doc", "--password-stdin", "--database-url", url, stdin="new password\n"
    )
    assert code == 0, out
    code, _, err = _run(
        "user",
        "passwd",
        "nobody",
        "--password-stdin",
        "--database-url",
        url,
        stdin="new password\n",
    )
    assert code == 2
    assert "no user 'nobody'" in err
    db = Database(url)
    try:
        with db.unit_of_work() as session:
            assert authenticate(session, "doc", "old password") is None
            assert authenticate(session, "doc", "new password") is not None
        assert _run("user", "disable", "doc", "--database-url", url)[0] == 0
        with db.unit_of_work() as session:
            assert authenticate(session, "doc", "new password") is None
        code, out, _ = _run("user", "list", "--database-url", url)
        assert "(disabled)" in out
        with db.unit_of_work() as session:
            user = session.scalars(select(User)).one()
            trail = history(session, User, user.id)
        # add; password change; sign-in with the new password (last_login_at); disable.
        # The failed sign-ins changed nothing, so they left no entry.
        assert [e.action for e in trail] == ["insert", "update", "update", "update"]
        assert trail[1].before is not None
        assert trail[1].after is not None
        assert trail[1].before["password_hash"] == "<redacted>"
        assert trail[1].after["password_hash"] == "<redacted: changed>"
        assert (trail[3].after or {})["password_hash"] == "<redacted>"  # unchanged here
        assert trail[1].after["version"] == 2
        assert (trail[3].before or {})["active"] is True
        assert (trail[3].after or {})["active"] is False
    finally:
        db.dispose()
