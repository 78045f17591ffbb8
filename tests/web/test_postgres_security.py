"""The security controls of issue 9 part A on PostgreSQL: huge and malformed ids, payloads and
``%`` in free text, server-side sessions and throttling, the researcher's exact search."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PASSWORD, csrf_of, sign_in
from .payloads import LITERAL, PAYLOADS, injected
from .test_payloads import _fill_every_form
from .test_postgres import pg_client  # noqa: F401 - fixture

pytestmark = [pytest.mark.postgres]


def test_huge_ids_payloads_sessions_and_search_on_postgresql(
    pg_client: tuple[Any, dict[str, int]],  # noqa: F811
) -> None:
    client, ids = pg_client
    token = sign_in(client, ids["doc"])
    pid = _fill_every_form(client, token)
    # payloads render inert, no 500 from a % in free text
    html = client.get(f"/patients/{pid}").text
    assert LITERAL in html
    assert injected(html) == []
    assert injected(client.get(f"/patients/{pid}/records").text) == []
    # ids beyond PostgreSQL INTEGER and malformed ids: the styled 404, never 500 or JSON
    for path in (f"/patients/{2**31}", f"/patients/{2**63}/records", "/patients/x/treatment",
                 f"/patients/{pid}/records/lab/{2**40}"):  # fmt: skip
        r = client.get(path)
        assert r.status_code == 404, path
        assert "<h1>Not found</h1>" in r.text
    r = client.post(f"/patients/{pid}/records/lab/{2**40}/delete",
                    data={"csrf_token": token, "version": str(2**40)})  # fmt: skip
    assert r.status_code == 404
    assert client.get("/patients", params={"page": str(10**12)}).status_code in (200, 422)
    # a form echoing a payload on refusal
    bad = {"csrf_token": token, "family_name": PAYLOADS[0], "given_name": "", "birth_date": "x"}
    r = client.post("/patients/new", data=bad)
    assert r.status_code in (200, 422)
    assert injected(r.text) == []
    # logout ends the server-side session
    kept = dict(client.cookies)
    client.post("/logout", data={"csrf_token": token})
    for k, v in kept.items():
        client.cookies.set(k, v)
    assert client.get("/patients", follow_redirects=False).status_code == 303
    # throttling: the right password after the free attempts is refused
    client.cookies.clear()
    for i in range(5):
        t = csrf_of(client.get("/login").text)
        client.post("/login", data={"username": "res", "password": f"bad guess {i}",
                                    "csrf_token": t})  # fmt: skip
    t = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"username": "res", "password": PASSWORD, "csrf_token": t})
    assert r.status_code == 429
    # researchers find a patient by the whole pseudonym only
    from pedbone.store import Patient, pseudonym

    db = client.app.state.db
    with db.session() as s:
        uid = s.get(Patient, pid).uid
    sign_in(client, ids["res"])
    code = pseudonym(uid)
    assert f">{code}<" in client.get("/patients", params={"q": code}).text
    assert f">{code}<" not in client.get("/patients", params={"q": code[:6]}).text
