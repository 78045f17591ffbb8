"""The web application on PostgreSQL: list filters, forms, overview, import and report.

PostgreSQL comes from ``PEDBONE_TEST_POSTGRES_URL`` (``tools/test-postgres.sh``, as ``make
unit`` runs the suite). Without it the test skips loudly, and fails under ``CI=true``.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import PASSWORD, SECRET, USERS, sign_in

PG_ENV = "PEDBONE_TEST_POSTGRES_URL"


@pytest.fixture
def pg_client() -> Iterator[tuple[Any, dict[str, int]]]:
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}:
            pytest.fail(f"{PG_ENV} is not set (CI=true: the PostgreSQL tests must run)")
        pytest.skip(f"POSTGRESQL NOT AVAILABLE: {PG_ENV} is not set (use tools/test-postgres.sh)")
    from sqlalchemy import create_engine, make_url, text
    from starlette.testclient import TestClient

    from pedbone.store import Database, create_user
    from pedbone.web import WebSettings, create_app

    admin = create_engine(make_url(base).set(drivername="postgresql+psycopg"),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    name = f"pedbone_web_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(make_url(base).set(database=name).render_as_string(hide_password=False))
    ids = {}
    with db.unit_of_work() as session:
        for username, (role, full_name) in USERS.items():
            ids[username] = create_user(session, username, PASSWORD, role, full_name=full_name).id
    try:
        with TestClient(create_app(WebSettings(secret_key=SECRET), database=db)) as client:
            yield client, ids
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_web_workflow_on_postgresql(pg_client: tuple[Any, dict[str, int]]) -> None:
    client, ids = pg_client
    token = sign_in(client, ids["doc"])
    r = client.post(
        "/patients/new",
        data={"csrf_token": token, "family_name": "Claes", "given_name": "Mila",
              "birth_date": "2010-01-01", "sex": "F", "diagnosis": "epilepsy", "mrn": "PG-1"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    pid = int(r.headers["location"].rsplit("/", 1)[1])
    r = client.post(
        f"/patients/{pid}/records/dxa",
        data={"csrf_token": token, "scanned_on": "2025-01-01", "manufacturer": "Hologic",
              "leg_abmd": "0,600", "reference_group": "white", "spine_abmd": "0.612"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    page = client.get(f"/patients/{pid}").text
    assert "schafmeyer2022 (white)" in page
    assert "0.612 g/cm²" in page
    for query, expected in (
        ("q=clae", True), ("q=PG-1", True), ("q=nobody", False), ("diagnosis=epilepsy", True),
        ("diagnosis=burns", False), ("on_treatment=true", False), ("overdue_dxa=true", True),
    ):  # fmt: skip
        assert ("Claes, Mila" in client.get(f"/patients?{query}").text) is expected, query
    # CSV import preview and commit
    csv = b"mrn;scan_date;manufacturer;spine_abmd\nPG-1;2026-01-02;Hologic;0,650\n"
    preview = client.post(
        "/import/dxa", data={"csrf_token": token}, files={"file": ("d.csv", csv, "text/csv")}
    ).text
    assert "1 row is ready to import." in preview
    payload = re.search(r'name="preview" value="([^"]*)"', preview)
    signature = re.search(r'name="signature" value="([^"]*)"', preview)
    assert payload
    assert signature
    done = client.post(
        "/import/dxa/commit",
        data={"csrf_token": token, "preview": payload[1], "signature": signature[1]},
    )
    assert "1 scan was imported." in done.text
    assert "0.650 g/cm²" in client.get(f"/patients/{pid}").text
    report = client.get(f"/patients/{pid}/report.pdf")
    assert report.content.startswith(b"%PDF")
    # researchers find the patient by pseudonym only
    sign_in(client, ids["res"])
    listing = client.get("/patients").text
    pseudo = re.search(r"P-[0-9A-F]{8}", listing)
    assert pseudo
    assert "Claes" not in listing
    assert pseudo[0] in client.get(f"/patients?q={pseudo[0].lower()}").text
