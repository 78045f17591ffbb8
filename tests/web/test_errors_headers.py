"""Translations treat data as text; malformed URLs and errors answer with the styled page;
every response carries the security headers (CSP without inline script)."""

from __future__ import annotations

from typing import Any

import pytest

from pedbone.web._app import CONTENT_SECURITY_POLICY
from pedbone.web._render import environment

from .conftest import new_patient, sign_in


def _render(source: str, language: str = "en", **context: Any) -> str:
    return environment(language).from_string(source).render(**context)


def test_gettext_escapes_and_formats_only_with_variables() -> None:
    # a % in a message without variables is text, never a format operation (was a 500)
    assert _render("{{ msg(e) }}", e="radius, 50% displaced") == "radius, 50% displaced"
    assert _render("{{ msg(e) }}", e="%s %(x)s 50%") == "%s %(x)s 50%"
    # data given to gettext is escaped, never markup (newstyle gettext marked it safe)
    assert _render("{{ _(e) }}", e="<img src=x onerror=alert(1)>") == (
        "&lt;img src=x onerror=alert(1)&gt;"
    )
    # variables are escaped too
    assert _render('{{ _("page %(page)s of %(pages)s", page=p, pages=2) }}', p="<b>") == (
        "page &lt;b&gt; of 2"
    )
    # Dutch: still translated
    assert _render('{{ _("page %(page)s of %(pages)s", page=1, pages=2) }}', "nl") == (
        "pagina 1 van 2"
    )
    assert _render('{{ ngettext("%(num)s patient", "%(num)s patients", 3) }}') == "3 patients"


def test_data_labels_translate_known_values_and_escape_the_rest() -> None:
    src = '{{ choice_label("fracture", "site", v) }}'
    assert _render(src, "nl", v="<b>radius</b>") == "&lt;b&gt;radius&lt;/b&gt;"
    assert _render("{{ diagnosis_label(v) }}", "nl", v="coeliac_disease") == "coeliakie"
    assert _render("{{ diagnosis_label(v) }}", v="{{7*7}} <i>") == "{{7*7}} &lt;i&gt;"
    assert _render("{{ word(v) }}", "nl", v="researcher") == "onderzoeker"
    assert _render("{{ word(v) }}", v="<s>x</s>") == "&lt;s&gt;x&lt;/s&gt;"


@pytest.mark.parametrize(
    "path",
    [
        "/patients/abc",
        "/patients/99999999999",
        f"/patients/{2**31}",
        "/patients/-1",
        "/patients/0",
        "/patients/1e3",
        "/patients/1/records/dxa/99999999999999999999",
        "/patients/1/records/dxa/x",
        f"/patients/{2**63}/report.pdf",
        "/patients/%00/treatment",
        "/no/such/page",
    ],
)
def test_malformed_and_huge_ids_get_the_styled_404(client: Any, user_ids: Any, path: str) -> None:
    sign_in(client, user_ids["doc"])
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in r.text
    assert "detail" not in r.text  # not FastAPI's JSON


def test_huge_id_in_a_post_is_404_not_500(client: Any, user_ids: Any) -> None:
    token = sign_in(client, user_ids["doc"])
    r = client.post(
        f"/patients/{2**40}/records/lab/{2**40}/delete", data={"csrf_token": token, "version": "1"}
    )
    assert r.status_code == 404


def test_error_pages_are_styled_and_in_the_users_language(
    client: Any, db: Any, user_ids: Any
) -> None:
    token = sign_in(client, user_ids["doc"])
    client.post("/language", data={"language": "nl", "next": "/", "csrf_token": token})
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert "<h1>Niet gevonden</h1>" in r.text
    r = client.put("/patients", headers={"X-CSRF-Token": token})
    assert r.status_code == 405
    assert "<h1>Hier niet mogelijk</h1>" in r.text
    pid = new_patient(client, token)
    # a form without its required fields: styled 422, not JSON
    r = client.post(f"/patients/{pid}/records/lab/1/delete", data={"csrf_token": token})
    assert r.status_code in (404, 422)
    assert r.headers["content-type"].startswith("text/html")


def test_an_unknown_path_speaks_the_language_stored_on_the_account(
    client: Any, user_ids: Any
) -> None:
    token = sign_in(client, user_ids["doc"])
    client.post("/language", data={"language": "nl", "next": "/", "csrf_token": token})
    sign_in(client, user_ids["doc"])  # a fresh cookie: no language in it, only the session
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert "<h1>Niet gevonden</h1>" in r.text


def test_a_crash_answers_with_the_styled_500(app: Any, user_ids: Any) -> None:
    from fastapi import APIRouter
    from starlette.testclient import TestClient

    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("patient data must not show: Peeters")

    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as c:
        sign_in(c, user_ids["doc"])
        r = c.get("/boom")
    assert r.status_code == 500
    assert "<h1>Something went wrong</h1>" in r.text
    assert "Peeters" not in r.text


def test_security_headers_on_every_kind_of_response(client: Any, user_ids: Any) -> None:
    for path in ("/login", "/health", "/static/pedbone.css", "/no/such/page"):
        r = client.get(path, follow_redirects=False)
        csp = r.headers["content-security-policy"]
        assert csp == CONTENT_SECURITY_POLICY
        assert "script-src 'self';" in csp
        assert "unsafe" not in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"


def test_pages_have_no_inline_script_or_style(client: Any, user_ids: Any) -> None:
    import re

    token = sign_in(client, user_ids["admin"])
    pid = new_patient(client, token)
    for path in ("/login", "/patients", f"/patients/{pid}", f"/patients/{pid}/records",
                 f"/patients/{pid}/treatment", "/admin/users", "/import/dxa", "/export",
                 "/harms", f"/patients/{pid}/records/lab"):  # fmt: skip
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert " style=" not in html, path
        assert "<style" not in html, path
        assert 'name="htmx-config"' in html, path
