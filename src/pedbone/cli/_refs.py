"""``pedbone refs``: list, show, validate and install reference packs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

refs_app = typer.Typer(
    name="refs",
    help=(
        "Reference packs (LMS tables): list the built-in and installed ones, show one, "
        "validate or install your own (e.g. BMDCS tables a clinic is licensed to use)."
    ),
    no_args_is_help=True,
)


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code=2)


@refs_app.command("list")
def list_packs(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List packs with their measures and age coverage (years)."""
    from pedbone.references import available, data_dir

    packs = available()
    listed = {p.id for p in packs}
    root = data_dir() / "packs"
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if (folder / "pack.yaml").is_file() and folder.name not in listed:
                typer.echo(
                    f"warning: installed pack {folder.name!r} is unreadable; "
                    f"run: pedbone refs validate {folder}",
                    err=True,
                )
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": p.id,
                        "title": p.title,
                        "builtin": p.builtin,
                        "synthetic": p.synthetic,
                        "groups": list(p.groups),
                        "coverage_years": {m: list(c) for m, c in p.coverage.items()},
                    }
                    for p in packs
                ],
                indent=2,
            )
        )
        return
    for p in packs:
        kind = "built-in" if p.builtin else "installed"
        if p.synthetic:
            kind += ", SYNTHETIC"
        typer.echo(f"{p.id}  ({kind})  {p.title}")
        for m, (lo, hi) in p.coverage.items():
            typer.echo(f"    {m:<22} {lo:g}-{hi:g} y")
        if p.groups:
            typer.echo(f"    groups: {', '.join(p.groups)}")


@refs_app.command("show")
def show(
    pack_id: str = typer.Argument(..., metavar="ID", help="Pack id, e.g. cdc2000."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show a pack's metadata: citation, licence, population, measures, interpolation."""
    from pedbone.references import PackError, UnknownReferenceError, reference

    try:
        ref = reference(pack_id)
    except (UnknownReferenceError, PackError) as exc:
        raise _fail(str(exc)) from None
    info = ref.describe()
    if as_json:
        typer.echo(json.dumps(info, indent=2, default=str))
        return
    cit = info["citation"]
    typer.echo(f"{info['id']}: {info['title']}")
    if info["synthetic"]:
        typer.echo("  SYNTHETIC pack: invented numbers, for testing only")
    typer.echo(f"  citation:   {cit.get('text')}")
    if cit.get("doi"):
        typer.echo(f"  doi:        {cit['doi']}")
    typer.echo(f"  licence:    {info['licence']}")
    typer.echo(f"  population: {info['population']}")
    if info["manufacturer"]:
        typer.echo(f"  maker:      {info['manufacturer']}")
    if info["scanner"]:
        typer.echo(f"  scanner:    {info['scanner']}")
    if info["notes"]:
        typer.echo(f"  notes:      {info['notes']}")
    if info["groups"]:
        typer.echo(f"  groups:     {', '.join(info['groups'])}")
    typer.echo(f"  table:      age in {info['age_unit']}, {info['checksum']}")
    for m, d in info["measures"].items():
        lo, hi = d["age_years"]
        end = "]" if d["age_max_inclusive"] else ")"
        typer.echo(f"  {m} ({d['unit']}): {d['title']}; ages [{lo:g}, {hi:g}{end} y")
        extra = ", restricted tails beyond |z| > 3" if d["restricted_tails"] else ""
        typer.echo(f"      interpolation: {d['interpolation']}{extra}")
        if d["interpolation_source"]:
            typer.echo(f"      per: {d['interpolation_source']}")
    if info["haz_adjustment"]:
        h = info["haz_adjustment"]
        typer.echo(
            f"  HAZ adjustment: {h['equations']} equations, HAZ reference {h['haz_reference']}"
            f" ({h['source']})"
        )


@refs_app.command("validate")
def validate_cmd(
    path: Annotated[Path, typer.Argument(help="Pack folder (or its pack.yaml).")],
) -> None:
    """Check a pack; print every problem with file and line. Exit 2 if any."""
    from pedbone.references import validate

    if not path.exists():
        raise _fail(f"{path}: no such file or folder")
    problems = validate(path)
    if problems:
        for p in problems:
            typer.echo(str(p), err=True)
        raise _fail(f"{path}: {len(problems)} problem(s); the pack is not valid")
    typer.echo(f"{path}: valid")


@refs_app.command("install")
def install_cmd(
    path: Annotated[Path, typer.Argument(help="Pack folder (or its pack.yaml).")],
    force: bool = typer.Option(False, "--force", help="Replace an installed pack of that id."),
) -> None:
    """Validate a pack and install it into the per-user data folder
    ($PEDBONE_DATA_DIR overrides)."""
    from pedbone.references import PackError, install

    if not path.exists():
        raise _fail(f"{path}: no such file or folder")
    try:
        target = install(path, force=force)
    except PackError as exc:
        for p in exc.problems:
            typer.echo(str(p), err=True)
        raise _fail(f"{path}: {len(exc.problems)} problem(s); not installed") from None
    except FileExistsError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"installed {target.name} -> {target}")


@refs_app.command("remove")
def remove_cmd(
    pack_id: str = typer.Argument(..., metavar="ID", help="Installed pack id."),
) -> None:
    """Remove an installed pack from the per-user data folder (built-in packs stay)."""
    from pedbone.references import UnknownReferenceError, uninstall

    try:
        target = uninstall(pack_id)
    except (UnknownReferenceError, PermissionError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"removed {pack_id} ({target})")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root application."""
    app.add_typer(refs_app, name="refs")
