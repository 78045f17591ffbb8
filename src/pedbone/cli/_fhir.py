"""``pedbone fhir export`` and ``pedbone fhir import``: one patient as a FHIR R4 Bundle.

Export finds the patient by record number (``--mrn``) or database id (``--id``) and writes
the Bundle to a file (atomically; ``--overwrite`` to replace) or to standard output. Import
checks the whole Bundle first and prints a per-resource report; it writes only a Bundle
without errors, in one transaction (``--dry-run`` only checks).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pedbone.cli._store import DatabaseUrl, _database, _describe, _fail

fhir_app = typer.Typer(
    help="FHIR R4 in and out: one patient as a Bundle (fhir.resources R4B models).",
    no_args_is_help=True,
)


@fhir_app.command("export")
def fhir_export(
    mrn: Annotated[str | None, typer.Option("--mrn", help="The patient's record number.")] = None,
    patient_id: Annotated[
        int | None, typer.Option("--id", help="The patient's database id.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --output.")] = False,
    mrn_system: Annotated[
        str,
        typer.Option("--mrn-system", help="Identifier system URI of the clinic's record numbers."),
    ] = "urn:pedbone:mrn",
    database_url: DatabaseUrl = None,
) -> None:
    """Write one patient as a FHIR R4 Bundle (JSON), every resource validated."""
    from sqlalchemy import select

    from pedbone.io import OutputExistsError, atomic_path, fhir_bundle
    from pedbone.store import Patient

    if (mrn is None) == (patient_id is None):
        raise _fail("name the patient with exactly one of --mrn or --id")
    with _database(database_url) as db, db.session() as session:
        if mrn is not None:
            patient = session.scalar(select(Patient).where(Patient.mrn == mrn))
        else:
            patient = session.get(Patient, patient_id)
        if patient is None:
            raise _fail(
                f"no patient with {'record number ' + repr(mrn) if mrn else f'id {patient_id}'}"
            )
        bundle = fhir_bundle(patient, mrn_system=mrn_system)
    text = json.dumps(bundle, ensure_ascii=False, indent=1) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        with atomic_path(output, overwrite=overwrite) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except (OutputExistsError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"wrote {len(bundle['entry'])} resources to {output}", err=True)


@fhir_app.command("import")
def fhir_import(
    file: Annotated[Path, typer.Argument(help="A FHIR R4 Bundle (JSON) of one patient.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report only; write nothing.")
    ] = False,
    mrn_system: Annotated[
        str | None,
        typer.Option(
            "--mrn-system",
            help="Identifier system URI of the clinic's record numbers (if several).",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Check a Bundle resource by resource, then store the patient (all or nothing)."""
    from pedbone.io import import_fhir_preview, read_fhir_bundle

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from exc
    preview = read_fhir_bundle(data, mrn_system=mrn_system)
    for issue in preview.errors:
        typer.echo(f"error: {issue.line()}", err=True)
    for issue in preview.notes:
        typer.echo(f"note: {issue.line()}", err=True)
    if not preview.ok:
        typer.echo(f"{len(preview.errors)} error(s): nothing was imported", err=True)
        raise typer.Exit(1)
    typer.echo(f"would import: {preview.summary()}")
    if dry_run:
        typer.echo("dry run: nothing was written")
        return
    with _database(database_url) as db:
        patient_id = import_fhir_preview(db, preview)
        typer.echo(f"imported patient id {patient_id} into {_describe(db)}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root application."""
    app.add_typer(fhir_app, name="fhir")
