"""Every route needs a login except the public ones; every state-changing route needs CSRF."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute

from pedbone.web._security import PUBLIC_ROUTES, STATE_CHANGING

from .conftest import PASSWORD, csrf_of, login, new_patient, sign_in


def _walk(routes: Any) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):  # FastAPI's lazily included routers
            found.extend(_walk(route.original_router.routes))
    return found


def _routes(app: Any) -> list[tuple[str, str]]:
    return [(m, r.path) for r in _walk(app.routes) for m in sorted(r.methods)]


def _concrete(path: str) -> str:
    # path parameters get plausible values; the guard must refuse before any lookup
    return re.sub(r"\{[^}]+\}", lambda m: "dxa" if m.group(0) == "{kind}" else "1", path)


def test_the_app_has_the_expected_routes(app: Any) -> None:
    routes = _routes(app)
    assert ("GET", "/patients") in routes
    assert ("POST", "/patients/new") in routes
    assert ("GET", "/patients/{patient_id}/report.pdf") in routes
    assert ("GET", "/export/pseudonymised.json") in routes
    assert len(routes) >= 17  # login, list, forms, import, report, export, ...
    assert set(routes) >= PUBLIC_ROUTES  # every public route exists


def test_every_non_public_route_refuses_an_anonymous_request(app: Any, client: Any) -> None:
    checked = 0
    for method, path in _routes(app):
        if (method, path) in PUBLIC_ROUTES:
            continue
        r = client.request(method, _concrete(path), follow_redirects=False)
        if method == "GET":
            assert r.status_code == 303, (method, path, r.status_code)
            assert r.headers["location"].startswith("/login"), (method, path)
        else:
            assert r.status_code == 401, (method, path, r.status_code)
        checked += 1
    assert checked >= 12


def test_htmx_requests_without_login_are_told_to_redirect(client: Any) -> None:
    r = client.get("/patients", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 401
    assert r.headers["HX-Redirect"].startswith("/login")


def test_public_routes_and_static_files_need_no_login(client: Any) -> None:
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/login").status_code == 200
    js = client.get("/static/vendor/htmx/htmx.min.js")
    assert js.status_code == 200
    assert "htmx" in js.text[:2000]


def test_every_state_changing_route_refuses_a_request_without_csrf(
    app: Any, client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["admin"])
    pid = new_patient(client, token)
    checked = 0
    for method, path in _routes(app):
        if method not in STATE_CHANGING:
            continue
        url = _concrete(path).replace("/patients/1", f"/patients/{pid}")
        for data in ({}, {"csrf_token": "forged-" + token[7:]}):
            r = client.request(method, url, data=data, follow_redirects=False)
            assert r.status_code == 403, (method, path, data, r.status_code)
        r = client.request(method, url, headers={"X-CSRF-Token": "wrong"}, follow_redirects=False)
        assert r.status_code == 403, (method, path)
        checked += 1
    assert checked >= 5
    # and the header form of the token (as HTMX sends it) is accepted
    r = client.post("/language", data={"language": "nl"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    assert 'lang="nl"' in r.text


def test_login_form_itself_needs_the_csrf_token(client: Any) -> None:
    r = client.post("/login", data={"username": "doc", "password": PASSWORD})
    assert r.status_code == 403
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_wrong_password_gives_one_generic_message(client: Any) -> None:
    token = csrf_of(client.get("/login").text)
    wrong = client.post(
        "/login", data={"username": "doc", "password": "nope-nope", "csrf_token": token}
    )
    unknown = client.post(
        "/login", data={"username": "nobody", "password": "nope-nope", "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "Unknown user name or wrong password." in wrong.text
    assert "Unknown user name or wrong password." in unknown.text


def test_session_cookie_is_httponly_and_samesite(client: Any) -> None:
    r = client.get("/login")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http in this test


def test_session_cookie_is_secure_when_served_over_https(db: Any) -> None:
    from starlette.testclient import TestClient

    from pedbone.web import WebSettings, create_app

    app = create_app(WebSettings(secret_key="k" * 48, https_only=True), database=db)
    with TestClient(app, base_url="https://testserver") as c:
        cookie = c.get("/login").headers["set-cookie"].lower()
    assert "secure" in cookie
    assert "httponly" in cookie


def test_session_is_renewed_at_login(client: Any) -> None:
    before = csrf_of(client.get("/login").text)
    after = login(client, "doc")
    assert before != after  # a new CSRF token: no session fixation


def test_logout_ends_the_session(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_login_never_redirects_off_site(client: Any) -> None:
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={
            "username": "doc",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/patients"


@pytest.mark.parametrize("path", ["/patients/new", "/patients/{pid}/records/dxa", "/import/dxa"])
def test_researchers_may_not_open_edit_forms(
    client: Any, path: str, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    client.post("/logout", data={"csrf_token": token})
    sign_in(client, user_ids["res"])
    r = client.get(path.format(pid=pid))
    assert r.status_code == 403
    assert "Your role does not allow this action." in r.text


def test_researchers_may_not_write_even_with_a_valid_token(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["res"])
    r = client.post(
        "/patients/new",
        data={
            "family_name": "X",
            "given_name": "Y",
            "birth_date": "2015-01-01",
            "sex": "M",
            "csrf_token": token,
        },
    )
    assert r.status_code == 403
    assert "1 patient" not in client.get("/patients").text


def test_researchers_see_pseudonyms_not_names(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token, mrn="MRN-778899", diagnosis_text="PKU, Dr. Janssens")
    client.post("/logout", data={"csrf_token": token})
    sign_in(client, user_ids["res"])
    listing = client.get("/patients").text
    page = client.get(f"/patients/{pid}").text
    for text in (listing, page):
        assert "Peeters" not in text
        assert "Lotte" not in text
        assert "MRN-778899" not in text
        assert "02/05/2012" not in text
        assert "Dr. Janssens" not in text  # free text is never shown to researchers
    assert "phenylketonuria" in page  # the coded diagnosis is
    assert re.search(r"P-[0-9A-F]{8}", listing)


def test_researchers_see_ages_instead_of_dates(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token, birth_date="2012-05-02")
    client.post(
        f"/patients/{pid}/records/dxa",
        data={"csrf_token": token, "scanned_on": "2024-03-05", "manufacturer": "Hologic",
              "spine_abmd": "0.6", "spine_vendor_z": "-2.4"},
    )  # fmt: skip
    assert "05/03/2024" in client.get(f"/patients/{pid}").text
    sign_in(client, user_ids["res"])
    page = client.get(f"/patients/{pid}").text
    # no calendar date anywhere on the page (the findings' ISO dates are replaced too);
    # (2024-03-05 - 2012-05-02) = 4325 days / 365.25 = 11.84 years
    assert not re.search(r"\d{1,2}/\d{2}/\d{4}", page)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", page.split("<option")[0])
    assert "11.84 y" in page


def test_pseudonymised_export(client: Any, user_ids: dict[str, int]) -> None:
    import json

    token = sign_in(client, user_ids["doc"])
    new_patient(client, token, mrn="MRN-55", birth_date="2012-05-02")
    sign_in(client, user_ids["res"])
    r = client.get("/export/pseudonymised.json")
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    data = json.loads(r.text)
    assert data["format"] == "pedbone-pseudonymised/1"
    [patient] = data["patients"]
    assert re.fullmatch(r"P-[0-9A-F]{8}", patient["pseudonym"])
    assert patient["birth_year"] == 2012
    assert "Peeters" not in r.text
    assert "MRN-55" not in r.text
    assert "2012-05-02" not in r.text


def test_security_headers(client: Any) -> None:
    r = client.get("/login")
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-store"
