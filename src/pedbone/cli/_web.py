"""``pedbone serve``: run the clinic web application."""

from __future__ import annotations

from typing import Annotated

import typer

_HELP = (
    "Run the clinic web application (login required; Dutch and English).\n\n"
    "The database is chosen by [bold]--database-url[/], else [bold]PEDBONE_DATABASE_URL[/], "
    "else an SQLite file in the per-user data folder; its schema is upgraded on start.\n\n"
    "Sessions are signed with [bold]PEDBONE_SECRET_KEY[/] (a random key per start if unset: "
    "everyone logs in again after a restart).\n\n"
    "The server listens on 127.0.0.1 unless told otherwise; put it behind a TLS proxy and pass "
    "[bold]--https[/] to mark the session cookie Secure. See docs/web.md."
)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the root application."""
    app.command("serve", help=_HELP)(serve_command)


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="SQLAlchemy URL: sqlite:///file or postgresql://..."),
    ] = None,
    https: Annotated[
        bool, typer.Option("--https", help="Served over https (behind a proxy): Secure cookies.")
    ] = False,
) -> None:
    """Run the web application with uvicorn."""
    import uvicorn

    from pedbone.store import StoreError
    from pedbone.web import WebSettings, create_app

    try:
        app = create_app(WebSettings(database_url=database_url, https_only=https))
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if host not in ("127.0.0.1", "localhost", "::1") and not https:
        typer.echo(
            "warning: listening beyond this computer without --https; use a TLS proxy",
            err=True,
        )
    typer.echo(f"pedbone web application on http://{host}:{port}/  (Ctrl+C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=https)
