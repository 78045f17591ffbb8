"""Races and large imports (hazards H34, H35): the same import committed twice, also at the same
moment, stores its scans once; a course started twice at the same moment stores one series of
infusions; a previewed file over the form-field limit commits (it stays on the server)."""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from .conftest import PASSWORD, SECRET, USERS, new_patient, sign_in
from .test_treatment import HENDERSON, _patient_with_weight

PG_ENV = "PEDBONE_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_app(request: pytest.FixtureRequest, db: Any, user_ids: dict[str, int]) -> Iterator[Any]:
    """(app, database, user ids) on SQLite (the web suite's copy) and on PostgreSQL."""
    from pedbone.web import WebSettings, create_app

    if request.param == "sqlite":
        yield create_app(WebSettings(secret_key=SECRET), database=db), db, user_ids
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"POSTGRESQL NOT AVAILABLE: {PG_ENV} is not set (use tools/test-postgres.sh)")
    from sqlalchemy import create_engine, make_url, text

    from pedbone.store import Database, create_user

    admin = create_engine(make_url(base).set(drivername="postgresql+psycopg"),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    name = f"pedbone_race_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    pg = Database(make_url(base).set(database=name).render_as_string(hide_password=False))
    ids = {}
    with pg.unit_of_work() as session:
        for username, (role, full_name) in USERS.items():
            ids[username] = create_user(session, username, PASSWORD, role, full_name=full_name).id
    try:
        yield create_app(WebSettings(secret_key=SECRET), database=pg), pg, ids
    finally:
        pg.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _client(app: Any) -> Any:
    from starlette.testclient import TestClient

    return TestClient(app)


def _count(db: Any, model: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _preview(client: Any, token: str, csv: bytes) -> dict[str, str]:
    r = client.post(
        "/import/dxa", data={"csrf_token": token}, files={"file": ("d.csv", csv, "text/csv")}
    )
    assert r.status_code == 200, r.text[-800:]
    assert "ready to import" in r.text, re.findall(r"(?:alert|error-text)[^<]*<?[^<]*", r.text)[:6]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', r.text))
    assert "payload" not in fields  # the file is not sent back to the browser
    assert len(fields["preview"]) == 64 + 1 + 16
    return fields


def test_a_large_preview_commits_and_only_once(any_app: Any) -> None:
    from pedbone.store import DxaScan, ImportCommit

    app, db, ids = any_app
    with _client(app) as client:
        token = sign_in(client, ids["doc"])
        for n in range(5):
            new_patient(client, token, mrn=f"BIG-{n}")
        # 0.99 MB: well over the 768 KB the form-field limit allowed for the old payload
        note = "lang verslag " * 150  # 1950 characters: the longest comment a form takes
        first = dt.date(2015, 1, 1)
        rows = "".join(
            f"BIG-{n};{first + dt.timedelta(days=7 * m)};Hologic;0,61{n};{note}\n"
            for n in range(5)
            for m in range(100)
        )
        csv = ("mrn;scan_date;manufacturer;spine_abmd;comment\n" + rows).encode()
        assert len(csv) > 900_000
        fields = _preview(client, token, csv)
        done = client.post("/import/dxa/commit", data=fields)
        assert done.status_code == 200, done.text[-800:]
        assert "500 scans were imported." in done.text
        again = client.post("/import/dxa/commit", data=fields)  # a second click, a second tab
        assert again.status_code == 409
        assert "already imported" in again.text
    assert _count(db, DxaScan) == 500
    with db.session() as s:
        commit = s.scalars(select(ImportCommit)).one()
        assert (commit.preview_key, commit.rows, commit.username) == (fields["preview"], 500, "doc")


def test_the_same_file_committed_at_the_same_moment_is_stored_once(any_app: Any) -> None:
    """Two requests (two previews of one file, or one preview twice) pass the preview's checks
    together; the checks in the write transaction and the unique key let one through."""
    from pedbone.store import ConflictError, DxaScan
    from pedbone.web._import import commit_rows, read_dxa_csv
    from pedbone.web._security import WebUser

    app, db, ids = any_app
    with _client(app) as client:
        token = sign_in(client, ids["doc"])
        for n in range(4):
            new_patient(client, token, mrn=f"RACE-{n}")
    csv = "mrn;scan_date;manufacturer;spine_abmd\n" + "".join(
        f"RACE-{n};2025-02-0{n + 1};Hologic;0,6{n}\n" for n in range(4)
    )
    user = WebUser(id=ids["doc"], username="doc", full_name="", role="clinician", language="en")
    for round_, keys in enumerate((["k" * 64 + ".0000000000000001"] * 2, ["a", "b"])):
        rows = read_dxa_csv(db, user, csv.replace("2025", str(2023 + round_)).encode(), "en")
        assert all(r.ok for r in rows)
        keys = [k if len(k) > 1 else (k * 64 + f".{round_:016d}") for k in keys]
        barrier = threading.Barrier(2)
        outcome: list[str] = []

        def commit(
            key: str,
            rows: list[Any] = rows,
            barrier: threading.Barrier = barrier,
            outcome: list[str] = outcome,
        ) -> None:
            barrier.wait()
            try:
                commit_rows(db, user, rows, key)
                outcome.append("stored")
            except ConflictError as exc:
                outcome.append(f"conflict: {exc}")

        threads = [threading.Thread(target=commit, args=(k,)) for k in keys]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(o.split(":")[0] for o in outcome) == ["conflict", "stored"], outcome
    assert _count(db, DxaScan) == 8  # 4 per file, once each


def test_a_course_started_twice_at_the_same_moment_is_stored_once(
    any_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pedbone.store import Infusion, Treatment
    from pedbone.web import _views_treatment

    app, db, ids = any_app
    with _client(app) as client:
        token = sign_in(client, ids["doc"])
        pid = _patient_with_weight(client, token)
    barrier = threading.Barrier(2)
    plan = _views_treatment._plan

    calls: list[int] = []

    def plan_together(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= 2:  # both requests have passed the "already started?" look-up
            barrier.wait(timeout=30)
        return plan(*args, **kwargs)

    monkeypatch.setattr(_views_treatment, "_plan", plan_together)
    start = dt.date.today().isoformat()
    statuses: list[int] = []
    texts: list[str] = []

    def post() -> None:
        with _client(app) as c:
            sign_in(c, ids["doc"])
            c.cookies.update(client.cookies)
            r = c.post(
                f"/patients/{pid}/treatment/start",
                data={
                    "protocol": HENDERSON,
                    "start": start,
                    "csrf_token": token,
                    # the checklist holds (no labs recorded): the race is about the start itself
                    "override_reason": "race test: labs checked on paper",
                },
                follow_redirects=False,
            )
            statuses.append(r.status_code)
            texts.append(r.text)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses) == [303, 409], texts
    assert any("already started" in t for t in texts)
    assert _count(db, Treatment) == 1
    with db.session() as s:
        planned = s.scalars(select(Infusion)).all()
        assert len(planned) == len({(i.cycle_number, i.day_number) for i in planned}) > 0


def test_a_database_busy_for_too_long_is_a_503_and_nothing_is_lost(
    db: Any, user_ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer holds SQLite's lock beyond the wait and the retries: the save is refused
    with "try again" (503), not a 500; once the lock is gone the same save goes through."""
    import sqlite3

    from sqlalchemy import make_url

    from pedbone.store import BusyError, Database, Patient
    from pedbone.web import WebSettings, create_app

    monkeypatch.setattr("pedbone.store._engine.SQLITE_BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr("pedbone.store._engine.SQLITE_BEGIN_ATTEMPTS", 2)
    quick = Database(db.url, upgrade=False)  # new connections: the short busy timeout
    try:
        app = create_app(WebSettings(secret_key=SECRET), database=quick)
        with _client(app) as client:
            token = sign_in(client, user_ids["doc"])
            pid = new_patient(client, token, family_name="Pieters")
            form = client.get(f"/patients/{pid}/edit").text
            stamp = re.search(r'name="version" value="([\d:]+)"', form)
            assert stamp
            data = {"csrf_token": token, "version": stamp[1], "family_name": "Peeters",
                    "given_name": "Lotte", "birth_date": "2012-05-02", "sex": "F"}  # fmt: skip
            path = make_url(db.url).database
            assert path
            holder = sqlite3.connect(path, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # another writer, holding the lock
            try:
                with pytest.raises(BusyError), quick.unit_of_work():
                    pass
                r = client.post(f"/patients/{pid}/edit", data=data)
                assert r.status_code == 503
                assert r.headers["Retry-After"] == "5"
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            r = client.post(f"/patients/{pid}/edit", data=data, follow_redirects=False)
            assert r.status_code == 303
        with quick.session() as s:
            patient = s.get(Patient, pid)
            assert patient is not None
            assert patient.family_name == "Peeters"
    finally:
        quick.dispose()
