"""User accounts in the web application: admin only; deactivation logs the user out."""

from __future__ import annotations

from typing import Any

from .conftest import sign_in


def test_only_admins_manage_users(client: Any, user_ids: dict[str, int]) -> None:
    for name in ("doc", "res"):
        token = sign_in(client, user_ids[name])
        assert client.get("/admin/users").status_code == 403
        r = client.post(
            "/admin/users",
            data={"csrf_token": token, "username": "x", "full_name": "X", "role": "admin",
                  "password": "long enough pw"},
        )  # fmt: skip
        assert r.status_code == 403
    sign_in(client, user_ids["admin"])
    page = client.get("/admin/users").text
    for username in ("admin", "doc", "res"):
        assert f"<td>{username}</td>" in page


def test_admin_adds_a_user_who_can_log_in(client: Any, user_ids: dict[str, int]) -> None:
    from .conftest import csrf_of

    token = sign_in(client, user_ids["admin"])
    r = client.post(
        "/admin/users",
        data={"csrf_token": token, "username": "nurse", "full_name": "Nele Nurse",
              "role": "clinician", "password": "short"},
    )  # fmt: skip
    assert r.status_code == 422
    assert "at least 15 characters" in r.text
    assert 'value="short"' not in r.text  # the password is never echoed
    r = client.post(
        "/admin/users",
        data={"csrf_token": token, "username": "nurse", "full_name": "Nele Nurse",
              "role": "clinician", "password": "a long passphrase"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    r = client.post(
        "/admin/users",
        data={"csrf_token": token, "username": "nurse", "full_name": "Other",
              "role": "clinician", "password": "a long passphrase"},
    )  # fmt: skip
    assert "already exists" in r.text
    client.post("/logout", data={"csrf_token": token})
    login_token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": "nurse", "password": "a long passphrase", "csrf_token": login_token},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_deactivation_ends_the_users_sessions(
    app: Any, client: Any, user_ids: dict[str, int]
) -> None:
    from starlette.testclient import TestClient

    with TestClient(app) as doctor:
        sign_in(doctor, user_ids["doc"])
        assert doctor.get("/patients").status_code == 200
        token = sign_in(client, user_ids["admin"])
        r = client.post(
            f"/admin/users/{user_ids['doc']}/active",
            data={"csrf_token": token, "active": "false"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert doctor.get("/patients", follow_redirects=False).status_code == 303
        # an admin cannot lock themselves out
        r = client.post(
            f"/admin/users/{user_ids['admin']}/active",
            data={"csrf_token": token, "active": "false"},
        )
        assert "You cannot deactivate your own account." in r.text
        r = client.post(
            f"/admin/users/{user_ids['doc']}/active",
            data={"csrf_token": token, "active": "true"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert "deactivated" not in client.get("/admin/users").text
