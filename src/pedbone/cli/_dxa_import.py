"""``pedbone import dxa FILE``: DXA results from a scanner export or an extraction tool.

``--layout`` names a built-in layout (``dxa2-merged``, ``dxa2-region``, ``nhanes``) or
``--mapping`` a clinic's mapping file. Every row is checked (patient by record number, date,
plausible values, duplicates) before anything is written; a file with any error writes
nothing. ``--dry-run`` only checks. Z-scores are recomputed by pedbone from the raw values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pedbone.cli._store import DatabaseUrl, _database, _describe, _fail

import_app = typer.Typer(
    help="Import results from files other systems write.", no_args_is_help=True
)


@import_app.command("dxa")
def import_dxa(
    file: Annotated[Path, typer.Argument(help="The export (CSV or tab-separated text).")],
    layout: Annotated[
        str | None,
        typer.Option("--layout", help="dxa2-merged, dxa2-region or nhanes.", show_default=False),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="The clinic's mapping file (YAML).", show_default=False),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="utf-8, utf-16, latin-1 or cp1252.")
    ] = None,
    delimiter: Annotated[str | None, typer.Option("--delimiter", help="';', ',' or tab.")] = None,
    decimal: Annotated[str | None, typer.Option("--decimal", help="',' or '.'.")] = None,
    date_format: Annotated[
        str | None,
        typer.Option("--date-format", help="yyyy-mm-dd, dd/mm/yyyy or mm/dd/yyyy."),
    ] = None,
    manufacturer: Annotated[
        str | None, typer.Option("--manufacturer", help="Scanner make (Hologic, GE Lunar, ...).")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Scanner model.")] = None,
    software: Annotated[str | None, typer.Option("--software", help="Software version.")] = None,
    analysis_mode: Annotated[
        str | None, typer.Option("--analysis-mode", help="For example: pediatric.")
    ] = None,
    scan_type: Annotated[
        str | None,
        typer.Option("--scan-type", help="dxa2-region only: spine, hip, total_body or radius."),
    ] = None,
    reference_group: Annotated[
        str | None,
        typer.Option(
            "--reference-group", help="Population group of the reference (if it has groups)."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Check a DXA export row by row, then store every scan (all or nothing)."""
    from pedbone.io import DxaFileError, check_export, read_dxa_export, store_scans

    if (layout is None) == (mapping is None):
        raise _fail("give exactly one of --layout or --mapping")
    try:
        data = file.read_bytes()
        mapping_text = mapping.read_text(encoding="utf-8") if mapping else None
    except OSError as exc:
        raise _fail(f"cannot read {exc.filename}: {exc.strerror}") from exc
    scanner = {
        "manufacturer": manufacturer,
        "model": model,
        "software_version": software,
        "analysis_mode": analysis_mode,
    }
    try:
        export = read_dxa_export(
            data,
            layout=layout,
            mapping=mapping_text,
            encoding=encoding,
            delimiter=delimiter,
            decimal=decimal,
            date_format=date_format,
            scanner=scanner,
            scan_type=scan_type,
            reference_group=reference_group,
        )
    except DxaFileError as exc:
        raise _fail(f"{file}: {exc}; nothing was imported") from exc
    typer.echo(f"read {file} as {export.layout}: {export.format.describe()}")
    if export.ignored:
        typer.echo(f"not stored (recognised): {', '.join(export.ignored)}")
    if export.unknown:
        typer.echo(f"not imported (unknown columns): {', '.join(export.unknown)}")
    with _database(database_url) as db:
        with db.session() as session:
            rows = check_export(session, export)
        bad = 0
        for row in rows:
            errors = row.record.errors + row.errors
            scan = row.record.scan
            sites = ", ".join(
                f"{m['site']}{' ' + m['region'] if m.get('region') else ''}"
                for m in scan.get("measurements", [])
            )
            day = scan.get("scanned_on", "?")
            if errors:
                bad += 1
                for column, message in errors:
                    where = f" {column}:" if column else ""
                    typer.echo(f"line {row.record.line}:{where} {message}", err=True)
            else:
                typer.echo(f"line {row.record.line}: {row.record.patient} {day}: {sites}")
        if bad:
            raise _fail(f"{bad} of {len(rows)} scan(s) have errors; nothing was imported")
        if not rows:
            raise _fail("the file has no data rows")
        if dry_run:
            typer.echo(f"dry run: {len(rows)} scan(s) would be imported; nothing was written")
            return
        count = store_scans(db, rows)
        typer.echo(
            f"imported {count} scan(s) into {_describe(db)}; pedbone recomputes the Z-scores"
        )


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root application."""
    app.add_typer(import_app, name="import")
