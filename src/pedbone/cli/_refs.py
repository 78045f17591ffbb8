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


def _edf_option(text: str | None) -> tuple[float, float, float] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3:
        raise _fail(f"--edf {text!r}: expected three numbers L,M,S, e.g. --edf 2,6,3")
    return values[0], values[1], values[2]


def _criterion(text: str) -> float | None:
    """--criterion bic | aic | gaic=K -> the GAIC penalty k (None = log n)."""
    low = text.strip().lower()
    if low == "bic":
        return None
    if low == "aic":
        return 2.0
    name, sep, value = low.partition("=")
    if name == "gaic" and sep:
        try:
            k = float(value)
        except ValueError:
            k = -1.0
        if k > 0:
            return k
    raise _fail(f"--criterion {text!r}: use bic, aic or gaic=K (K > 0), e.g. gaic=3")


@refs_app.command("build")
def build_cmd(
    data: Annotated[Path, typer.Argument(metavar="DATA.csv", help="Measurements, one per row.")],
    measure: Annotated[
        str, typer.Option(help="Measure id of the pack, e.g. spine_abmd, tblh_bmc, height.")
    ],
    population: Annotated[
        str,
        typer.Option(help="Who the data describe (country, recruitment, ethnicity, years)."),
    ],
    pack_id: Annotated[
        str | None, typer.Option("--id", help="Pack id (default: local_<measure>).")
    ] = None,
    by: Annotated[str, typer.Option(help="Fit separately by: sex (the only choice).")] = "sex",
    group: Annotated[
        str | None,
        typer.Option(help="Column with a population group: curves per sex and group."),
    ] = None,
    value: Annotated[
        str | None, typer.Option(help="Column of the measurement (default: the measure id).")
    ] = None,
    age_column: Annotated[str, typer.Option(help="Column of decimal age in years.")] = "age_years",
    sex_column: Annotated[str, typer.Option(help="Column of sex (M/F or 1/2).")] = "sex",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Pack folder to write (default: ./<id>)."),
    ] = None,
    edf: Annotated[
        str | None,
        typer.Option(
            help="Effective degrees of freedom L,M,S (1 = constant, 2 = line), e.g. 2,6,3. "
            "Default: chosen by --criterion."
        ),
    ] = None,
    criterion: Annotated[
        str,
        typer.Option(
            help="Smoothness criterion: gaic=K (default k = 3), aic (k = 2) or bic (k = log n)."
        ),
    ] = "gaic=3",
    segments: Annotated[
        int, typer.Option(min=4, max=60, help="B-spline segments over the age range.")
    ] = 20,
    title: Annotated[str | None, typer.Option(help="Pack title.")] = None,
    description: Annotated[
        str, typer.Option(help="Data description for the provenance (study, dates, scanner).")
    ] = "",
    citation: Annotated[
        str | None, typer.Option(help="Citation text (default: a local, unpublished build).")
    ] = None,
    licence: Annotated[
        str, typer.Option(help="Terms of use of the pack.")
    ] = "local use only (data owner's terms)",
    manufacturer: Annotated[str | None, typer.Option(help="DXA manufacturer.")] = None,
    scanner: Annotated[str | None, typer.Option(help="DXA scanner model.")] = None,
    synthetic: Annotated[
        bool, typer.Option("--synthetic", help="Mark the pack as built from invented data.")
    ] = False,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Leave out rows that cannot be used (counted in the provenance) instead of "
            "stopping.",
        ),
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT.")] = False,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write the diagnostics report.")
    ] = True,
) -> None:
    """Build a reference pack from healthy-control data: LMS curves over age by penalised
    likelihood (Cole & Green), per sex; pack + provenance + diagnostics report."""
    from pedbone.references import BuildError, build_reference, write_diagnostics

    if by != "sex":
        raise _fail(f"--by {by!r}: curves are fitted by sex (use --group for groups)")
    edf_values = _edf_option(edf)
    k = _criterion(criterion)
    pack_id = pack_id or f"local_{measure}"
    folder = output or Path(pack_id)
    try:
        result = build_reference(
            data,
            folder,
            measure=measure,
            pack_id=pack_id,
            population=population,
            title=title,
            value_column=value,
            age_column=age_column,
            sex_column=sex_column,
            group_column=group,
            description=description,
            citation=citation,
            licence=licence,
            manufacturer=manufacturer,
            scanner=scanner,
            synthetic=synthetic,
            edf=edf_values,
            gaic_k=k,
            segments=segments,
            skip_invalid=skip_invalid,
            overwrite=overwrite,
        )
    except (BuildError, FileExistsError, FileNotFoundError) as exc:
        raise _fail(f"error: {exc}") from None
    unit = result.unit
    for label, fit in result.fits.items():
        e = fit.edf
        mid = 0.5 * (fit.age_min + fit.age_max)
        median = float(fit.lms(mid)[1][0])
        typer.echo(
            f"{label}: n = {fit.n}, ages {fit.age_min:.2f}-{fit.age_max:.2f} y, "
            f"edf L {e[0]:.2f} M {e[1]:.2f} S {e[2]:.2f}; median {median:.4g} {unit} at "
            f"{mid:.1f} y (values are read as {unit})"
        )
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"pack {pack_id} -> {folder}")
    if report:
        page = write_diagnostics(result, folder / "diagnostics")
        typer.echo(f"diagnostics -> {page}")
    typer.echo(f"check it, then: pedbone refs install {folder}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root application."""
    app.add_typer(refs_app, name="refs")
