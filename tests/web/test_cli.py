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
