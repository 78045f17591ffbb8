"""``pedbone sources``: print the bibliography behind every rule, table and method."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``sources`` to the root application."""
    app.command("sources")(sources_command)


def sources_command(
    key: Annotated[
        list[str] | None, typer.Argument(help="Only these keys (e.g. S1 CDC2000).")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Only 'clinical' or 'methods' entries.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the bibliography: clinical sources [Sn] and reference-data / methods sources."""
    from pedbone.bibliography import sources  # reads YAML: only when the command runs

    entries = sources()
    if key:
        unknown = [k for k in key if k not in entries]
        if unknown:
            typer.echo(f"error: unknown citation key(s): {', '.join(unknown)}", err=True)
            raise typer.Exit(2)
        selected = [entries[k] for k in key]
    else:
        selected = list(entries.values())
    if kind is not None:
        if kind not in ("clinical", "methods"):
            typer.echo("error: --kind must be 'clinical' or 'methods'", err=True)
            raise typer.Exit(2)
        selected = [s for s in selected if s.kind == kind]
    if as_json:
        typer.echo(
            json.dumps(
                [{"key": s.key, "kind": s.kind, "text": s.text} for s in selected],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for s in selected:
        typer.echo(f"[{s.key}] {s.text}")
