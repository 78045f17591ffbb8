"""In a real Chromium: an admin opening a patient whose every text field holds an XSS or HTMX
payload triggers no request, no dialog and no new account; the pages work under the CSP (no
violation reported) and HTMX still does its own, same-origin work."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from .conftest import PASSWORD
from .test_browser import CHROMIUM, browser, server  # noqa: F401 - fixtures
from .test_payloads import _fill_every_form, _import_everything

pytestmark = [pytest.mark.browser]


def _user_count(db: Any) -> int:
    from pedbone.store import User

    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(User)) or 0)


def test_admin_opening_a_poisoned_patient_triggers_nothing(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    app: Any,
    db: Any,
    user_ids: Any,
) -> None:
    from starlette.testclient import TestClient

    from .conftest import sign_in

    _import_everything(db)
    with TestClient(app) as c:
        pid = _fill_every_form(c, sign_in(c, user_ids["doc"]))
    users_before = _user_count(db)

    page = browser.new_page()
    page.set_default_timeout(30_000)
    requests: list[tuple[str, str]] = []
    dialogs: list[str] = []
    console: list[str] = []
    page.on("request", lambda r: requests.append((r.method, r.url)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))

    page.goto(f"{server}/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{server}/patients")
    assert page.evaluate("htmx.config.selfRequestsOnly") is True
    assert page.evaluate("htmx.config.allowEval") is False
    assert page.evaluate("htmx.config.allowScriptTags") is False

    requests.clear()
    visited = []
    for path in (
        "/patients",
        f"/patients/{pid}",
        f"/patients/{pid}/records",
        f"/patients/{pid}/treatment",
        f"/patients/{pid - 1}",
        f"/patients/{pid - 1}/records",
        "/harms",
        "/admin/users",
    ):
        page.goto(f"{server}{path}")
        page.wait_for_load_state("networkidle")
        visited.append(f"{server}{path}")
    page.wait_for_timeout(500)  # hx-trigger="load" would have fired by now

    assert dialogs == []
    assert [m for m, _u in requests if m != "GET"] == []
    own = set(visited) | {
        f"{server}/static/pedbone.css",
        f"{server}/static/vendor/htmx/htmx.min.js",
    }
    assert [u for _m, u in requests if u not in own] == []  # no image "x", no HTMX request
    assert _user_count(db) == users_before
    assert [m for m in console if "Content Security Policy" in m or "pageerror" in m] == []
    assert [m for m in console if m.startswith("error")] == []

    # HTMX still works where the app uses it: the live search on the patient list
    page.goto(f"{server}/patients")
    with page.expect_response(
        lambda r: "/patients?" in r.url and r.request.headers.get("hx-request") == "true"
    ):
        page.fill("#q", "Peet")
    assert [m for m in console if "Content Security Policy" in m] == []
