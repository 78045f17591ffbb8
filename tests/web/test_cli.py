"""``pedbone serve``: options, and a clear error (exit 2) for a bad database URL."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from pedbone.cli._app import app


def test_serve_help_lists_the_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--database-url", "--https"):
        assert option in result.output
    assert "127.0.0.1" in result.output


def test_serve_refuses_an_unsupported_database(monkeypatch: Any) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)  # never start a server here
    result = CliRunner().invoke(app, ["serve", "--database-url", "mysql://x@y/z"])
    assert result.exit_code == 2
    assert "unsupported database 'mysql'" in result.output


def test_serve_starts_uvicorn_on_loopback_by_default(monkeypatch: Any, tmp_path: Any) -> None:
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    result = CliRunner().invoke(app, ["serve", "--database-url", url, "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert calls == [
        {"host": "127.0.0.1", "port": 8123, "log_level": "info", "proxy_headers": False}
    ]
    assert "http://127.0.0.1:8123/" in result.output


def test_report_command_writes_the_pdf(
    client: Any, db: Any, user_ids: dict[str, int], tmp_path: Any
) -> None:
    import shutil
    import subprocess

    from .conftest import new_patient, sign_in

    token = sign_in(client, user_ids["doc"])
    new_patient(client, token, mrn="CLI-1")
    url = db.url
    out = tmp_path / "r.pdf"
    runner = CliRunner()
    args = ["report", "--mrn", "CLI-1", "--language", "nl", "-o", str(out), "--database-url", url]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(out), "-"], check=True, capture_output=True, text=True
        ).stdout
        assert "Verslag botgezondheid" in text
    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert "--overwrite" in again.output
    missing = runner.invoke(
        app, ["report", "--mrn", "NOPE", "-o", str(tmp_path / "x.pdf"), "--database-url", url]
    )
    assert missing.exit_code == 2
    assert "no patient with record number 'NOPE'" in missing.output
    both = runner.invoke(app, ["report", "-o", str(tmp_path / "y.pdf"), "--database-url", url])
    assert both.exit_code == 2
    assert "exactly one of --mrn or --id" in both.output
