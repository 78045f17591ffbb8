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
    """Add ``serve`` and ``report`` to the root application."""
    app.command("serve", help=_HELP)(serve_command)
    app.command("report", help=_REPORT_HELP)(report_command)


_REPORT_HELP = (
    "Write the PDF bone-health report of one patient visit (the same report as the web "
    "application's button).\n\n"
    "The patient is given by record number ([bold]--mrn[/]) or database id ([bold]--id[/]); "
    "[bold]--on[/] picks the visit date (default: the latest date with a measurement). "
    "The report is written as the clinician sees it (identified)."
)


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


def report_command(
    output: Annotated[str, typer.Option("--output", "-o", help="PDF file to write.")],
    mrn: Annotated[str | None, typer.Option("--mrn", help="Patient record number.")] = None,
    patient_id: Annotated[int | None, typer.Option("--id", help="Patient database id.")] = None,
    on: Annotated[str | None, typer.Option("--on", help="Visit date, YYYY-MM-DD.")] = None,
    language: Annotated[str, typer.Option(help="Report language: en or nl.")] = "en",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="SQLAlchemy URL of the clinic database.")
    ] = None,
) -> None:
    """Write one visit report as PDF."""
    import datetime as dt
    from pathlib import Path

    from sqlalchemy import select

    from pedbone.store import Database, Patient, StoreError
    from pedbone.web._i18n import LANGUAGES
    from pedbone.web._security import WebUser

    def fail(message: str) -> typer.Exit:
        typer.echo(f"error: {message}", err=True)
        return typer.Exit(2)

    if (mrn is None) == (patient_id is None):
        raise fail("give exactly one of --mrn or --id")
    if language not in LANGUAGES:
        raise fail(f"--language must be one of {', '.join(LANGUAGES)}")
    try:
        visit = dt.date.fromisoformat(on) if on else None
    except ValueError:
        raise fail(f"--on {on!r} is not a date (YYYY-MM-DD)") from None
    target = Path(output)
    if target.exists() and not overwrite:
        raise fail(f"{target} exists; pass --overwrite to replace it")
    try:
        db = Database(database_url)
    except StoreError as exc:
        raise fail(str(exc)) from exc
    try:
        with db.session() as session:
            if mrn is not None:
                patient_id = session.scalar(select(Patient.id).where(Patient.mrn == mrn))
                if patient_id is None:
                    raise fail(f"no patient with record number {mrn!r}")
            elif session.get(Patient, patient_id) is None:
                raise fail(f"no patient with id {patient_id}")
        from pedbone.report import visit_report_pdf

        system = WebUser(id=0, username="cli", full_name="pedbone report", role="clinician",
                         language=language)  # fmt: skip
        assert patient_id is not None
        pdf = visit_report_pdf(db, system, patient_id, on=visit, language=language)
    finally:
        db.dispose()
    if pdf is None:  # pragma: no cover - checked above
        raise fail("patient not found")
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(pdf)
    tmp.replace(target)
    typer.echo(f"wrote {target} ({len(pdf) // 1024} KiB)")
