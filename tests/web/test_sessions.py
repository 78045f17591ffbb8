"""Server-side sessions, login throttling with backoff, the password policy (NIST SP 800-63B-4,
OWASP ASVS L2), on every path that sets a password."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from pedbone.store import (
    MIN_PASSWORD_LENGTH,
    ValidationError,
    check_password,
    end_user_sessions,
    record_login_failure,
    resolve_session,
    set_password,
    start_session,
    throttle_state,
)
from pedbone.store._sessions import (
    ABSOLUTE_LIFETIME,
    FREE_ATTEMPTS_ACCOUNT,
    FREE_ATTEMPTS_ADDRESS,
    IDLE_TIMEOUT,
    MAX_LOCK,
)

from .conftest import PASSWORD, SECRET, csrf_of, login, sign_in

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _post_login(client: Any, username: str, password: str) -> Any:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


# ----------------------------------------------------------------------------- sessions


def test_logout_ends_the_session_on_the_server(client: Any) -> None:
    token = login(client, "doc")
    stolen = dict(client.cookies)  # a copy of the cookie, e.g. left in another browser
    assert client.get("/patients", follow_redirects=False).status_code == 200
    client.post("/logout", data={"csrf_token": token})
    client.cookies.clear()
    for k, v in stolen.items():
        client.cookies.set(k, v)
    r = client.get("/patients", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


def test_a_password_change_ends_every_session_of_the_user(app: Any, db: Any, user_ids: Any) -> None:
    from starlette.testclient import TestClient

    from pedbone.store import User

    with TestClient(app) as a, TestClient(app) as b, TestClient(app) as other:
        sign_in(a, user_ids["doc"])
        sign_in(b, user_ids["doc"])
        sign_in(other, user_ids["res"])
        assert a.get("/patients", follow_redirects=False).status_code == 200
        with db.unit_of_work() as s:
            set_password(s.get(User, user_ids["doc"]), "orange tractor mountain")
        for c in (a, b):
            assert c.get("/patients", follow_redirects=False).status_code == 303
        assert other.get("/patients", follow_redirects=False).status_code == 200


def test_deactivating_an_account_revokes_its_sessions(db: Any, user_ids: Any) -> None:
    with db.unit_of_work() as s:
        t1 = start_session(s, user_ids["doc"], T0)
        start_session(s, user_ids["doc"], T0)
        assert end_user_sessions(s, user_ids["doc"], T0) == 2
        assert resolve_session(s, t1, T0) is None


def test_sessions_end_when_idle_and_at_their_absolute_lifetime(db: Any, user_ids: Any) -> None:
    uid = user_ids["doc"]
    with db.unit_of_work() as s:
        token = start_session(s, uid, T0)
        assert resolve_session(s, token, T0 + IDLE_TIMEOUT - dt.timedelta(seconds=1)) == uid
        # used again just now: the idle clock restarted at the previous use
        t = T0 + IDLE_TIMEOUT - dt.timedelta(seconds=1)
        assert resolve_session(s, token, t + IDLE_TIMEOUT) is None  # idle 1 h: ended
        assert resolve_session(s, token, t) is None  # and stays ended
        busy = start_session(s, uid, T0)
        now = T0
        while now + dt.timedelta(minutes=30) < T0 + ABSOLUTE_LIFETIME:
            now += dt.timedelta(minutes=30)
            assert resolve_session(s, busy, now) == uid
        assert resolve_session(s, busy, T0 + ABSOLUTE_LIFETIME) is None  # 12 h: sign in again
    assert dt.timedelta(hours=1) == IDLE_TIMEOUT
    assert dt.timedelta(hours=12) == ABSOLUTE_LIFETIME


def test_the_token_is_stored_only_as_its_digest(db: Any, user_ids: Any) -> None:
    import hashlib

    from sqlalchemy import select

    from pedbone.store import WebSession

    with db.unit_of_work() as s:
        token = start_session(s, user_ids["doc"], T0)
    with db.session() as s:
        stored = s.scalars(select(WebSession.token_hash)).all()
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_an_old_style_cookie_naming_a_user_id_is_not_trusted(client: Any, user_ids: Any) -> None:
    from itsdangerous import TimestampSigner

    payload = base64.b64encode(json.dumps({"uid": user_ids["admin"], "csrf": "x" * 40}).encode())
    client.cookies.set("pedbone_session", TimestampSigner(SECRET).sign(payload).decode())
    r = client.get("/admin/users", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


# ----------------------------------------------------------------------------- throttling


def test_backoff_doubles_from_30_seconds_to_an_hour(db: Any) -> None:
    # hand-computed: no lock for the first 4 failures; the 5th locks 30 s, then 60, 120, ...
    # 30 * 2**7 = 3840 s > 3600: the 12th failure and later are capped at one hour.
    expected = [0, 0, 0, 0, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    got = []
    with db.unit_of_work() as s:
        for i in range(len(expected)):
            now = T0 + dt.timedelta(hours=2 * i)  # each attempt after the previous lock
            state = record_login_failure(s, "doc", None, now)
            got.append(0 if state.locked_until is None else (state.locked_until - now).seconds)
    assert got == expected
    assert FREE_ATTEMPTS_ACCOUNT == 5
    assert dt.timedelta(seconds=expected[-1]) == MAX_LOCK


def test_forty_wrong_passwords_then_the_right_one_is_refused(client: Any, db: Any) -> None:
    statuses = [_post_login(client, "doc", f"wrong guess {i}").status_code for i in range(40)]
    assert statuses[: FREE_ATTEMPTS_ACCOUNT - 1] == [401] * (FREE_ATTEMPTS_ACCOUNT - 1)
    assert set(statuses[FREE_ATTEMPTS_ACCOUNT:]) == {429}
    r = _post_login(client, "doc", PASSWORD)
    assert r.status_code == 429  # the right password does not get through a lock
    assert "Too many failed attempts" in r.text
    assert int(r.headers["retry-after"]) > 0
    assert "minute" in r.text


def test_the_lock_passes_and_the_right_password_then_works(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [T0]
    monkeypatch.setattr("pedbone.store._models.utcnow", lambda: clock[0])
    for i in range(FREE_ATTEMPTS_ACCOUNT):
        _post_login(client, "doc", f"wrong guess {i}")
    assert _post_login(client, "doc", PASSWORD).status_code == 429
    clock[0] = T0 + dt.timedelta(seconds=31)  # the first lock is 30 s
    assert _post_login(client, "doc", PASSWORD).status_code == 303


def test_one_address_guessing_many_accounts_is_locked(db: Any) -> None:
    with db.unit_of_work() as s:
        for i in range(FREE_ATTEMPTS_ADDRESS):
            record_login_failure(s, f"user{i}", "10.0.0.7", T0)  # one failure per account
        assert throttle_state(s, "someone-else", "10.0.0.7", T0).locked_until is not None
        assert throttle_state(s, "someone-else", "10.0.0.8", T0).locked_until is None


def test_signing_in_to_ones_own_account_does_not_reset_the_address_count(
    client: Any, db: Any
) -> None:
    for i in range(FREE_ATTEMPTS_ADDRESS - 1):
        _post_login(client, f"nobody{i}", "wrong guess")
    assert _post_login(client, "res", PASSWORD).status_code == 303
    client.cookies.clear()
    r = _post_login(client, "nobody-else", "wrong guess")
    assert r.status_code == 429  # the 20th failure from this address locks it


# ----------------------------------------------------------------------------- passwords


def test_the_blocklist_is_the_shipped_zxcvbn_list() -> None:
    from importlib import resources

    text = (resources.files("pedbone") / "data/passwords/common-passwords.txt").read_text()
    words = [w for w in text.splitlines() if not w.startswith("#")]
    assert len(words) == 30_000
    assert words[:4] == ["123456", "password", "12345678", "qwerty"]
    prov = (resources.files("pedbone") / "data/passwords/PROVENANCE.md").read_text()
    assert "MIT" in prov
    assert "zxcvbn" in prov


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("12345678", "at least 15 characters"),
        ("correct horse", "at least 15 characters"),
        ("password", "at least 15 characters"),
        ("passwordpassword", "commonly used"),
        ("password1234567890", "commonly used"),
        ("iloveyouiloveyou", "commonly used"),
        ("aaaaaaaaaaaaaaaaaaaa", "repeated or sequential"),
        ("abcdefghijklmnopqrst", "repeated or sequential"),
        ("abcabcabcabcabcabc", "repeated or sequential"),
        ("dirkdokter rules ok", "user name"),
        ("my pedbone password!", "service name"),
        ("Dokter Dirk forever", "person's name"),
        ("tab\there is a control", "control characters"),
        ("x" * 257, "at most 256"),
    ],
)
def test_the_policy_refuses(password: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        check_password(password, username="dirkdokter", full_name="Dr. Dirk Dokter")


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery",
        "tram violet seventeen",
        "ééé ünïcødé wörds ok",
        "x" * 5 + "y" * 5 + "z" * 5 + "w",
    ],
)
def test_the_policy_accepts_long_unusual_phrases(password: str) -> None:
    check_password(password, username="dirkdokter", full_name="Dr. Dirk Dokter")
    assert len(password) >= MIN_PASSWORD_LENGTH


def test_the_admin_page_and_the_cli_apply_the_same_policy(
    client: Any, user_ids: Any, db: Any, tmp_path: Any
) -> None:
    from typer.testing import CliRunner

    from pedbone.cli import app as cli

    token = sign_in(client, user_ids["admin"])
    r = client.post(
        "/admin/users",
        data={"csrf_token": token, "username": "nurse", "full_name": "Nele Nurse",
              "role": "clinician", "password": "nurse1234567890xyz"},
    )  # fmt: skip
    assert r.status_code == 422
    assert "must not contain the user name" in r.text
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["user", "add", "nurse", "--password-stdin", "--database-url", url],
        input="passwordpassword\n",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "commonly used" in result.output
    ok = runner.invoke(
        cli, ["user", "add", "nurse", "--password-stdin", "--database-url", url],
        input="violet tram seventeen\n",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(
        cli, ["user", "passwd", "nurse", "--password-stdin", "--database-url", url],
        input="nurse nurse nurse nurse\n",
    )  # fmt: skip
    assert bad.exit_code != 0
    assert "user name" in bad.output


def test_an_admin_lifts_a_lock_from_the_cli(client: Any, db: Any, tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from pedbone.cli import app as cli

    for i in range(FREE_ATTEMPTS_ACCOUNT):
        _post_login(client, "doc", f"wrong guess {i}")
    assert _post_login(client, "doc", PASSWORD).status_code == 429
    url = str(db.engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(
        cli, ["user", "unlock", "doc", "--address", "testclient", "--database-url", url]
    )
    assert result.exit_code == 0, result.output
    assert "lifted" in result.output
    assert _post_login(client, "doc", PASSWORD).status_code == 303
