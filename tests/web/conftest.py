"""Fixtures of the web tests: a fresh SQLite clinic database per test, three users, a client."""

from __future__ import annotations

import base64
import json
import re
import secrets
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)

PASSWORD = "correct horse battery"
USERS = {
    "admin": ("admin", "Ada Admin"),
    "doc": ("clinician", "Dr. Dirk Dokter"),
    "res": ("researcher", "Rita Research"),
}


SECRET = "test-secret-" + "x" * 40


def _cheap_hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters keep the suite fast (same hash format and verification code;
    the store's own tests cover the production parameters)."""
    monkeypatch.setattr("pedbone.store._security._hasher", _cheap_hasher)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A migrated database with the three users, made once per test process (the migrations
    are slow); each test works on its own copy."""
    from pedbone.store import Database, create_user

    path = tmp_path_factory.mktemp("template") / "clinic.sqlite3"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("pedbone.store._security._hasher", _cheap_hasher)
        database = Database(f"sqlite:///{path}")
        ids = {}
        with database.unit_of_work() as session:
            for username, (role, full_name) in USERS.items():
                user = create_user(session, username, PASSWORD, role, full_name=full_name)
                ids[username] = user.id
        database.dispose()
    return path, ids


@pytest.fixture
def db(tmp_path: Path, template_db: tuple[Path, dict[str, int]]) -> Iterator[Any]:
    from pedbone.store import Database

    path = tmp_path / "clinic.sqlite3"
    shutil.copyfile(template_db[0], path)
    database = Database(f"sqlite:///{path}", upgrade=False)
    yield database
    database.dispose()


@pytest.fixture
def user_ids(template_db: tuple[Path, dict[str, int]]) -> dict[str, int]:
    return template_db[1]


@pytest.fixture
def app(db: Any) -> Any:
    from pedbone.web import WebSettings, create_app

    return create_app(WebSettings(secret_key=SECRET), database=db)


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    from starlette.testclient import TestClient

    with TestClient(app) as c:
        yield c


def csrf_of(html: str) -> str:
    """The CSRF token embedded in a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: Any, username: str) -> str:
    """Log in through the form; returns the session's CSRF token."""
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/patients").text)


def sign_in(client: Any, user_id: int) -> str:
    """Start a logged-in session without the (slow, argon2) login form: a server-side session
    in the app's database and the same signed cookie the app's session middleware writes.
    Returns the session's CSRF token."""
    from itsdangerous import TimestampSigner

    from pedbone.store import start_session

    with client.app.state.db.unit_of_work() as session:
        sid = start_session(session, user_id)
    token = secrets.token_urlsafe(32)
    payload = base64.b64encode(json.dumps({"sid": sid, "csrf": token}).encode())
    cookie = TimestampSigner(SECRET).sign(payload).decode()
    client.cookies.clear()
    client.cookies.set("pedbone_session", cookie)
    return token


def new_patient(client: Any, token: str, **fields: str) -> int:
    """Create a patient through the form; returns its id."""
    data = {
        "family_name": "Peeters",
        "given_name": "Lotte",
        "birth_date": "2012-05-02",
        "sex": "F",
        "diagnosis": "phenylketonuria",
        "csrf_token": token,
        **fields,
    }
    r = client.post("/patients/new", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])
