"""``pedbone zscore``: batch Z-scores for a CSV or Parquet file (streamed in chunks)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from pedbone.io import FileFormat
    from pedbone.references._batch import BatchPlan

_HELP = (
    "Add Z-scores, centiles and a per-row status to every row of a CSV or Parquet file.\n\n"
    "Input columns: [bold]sex[/] (M/F or 1/2), [bold]age_years[/] or both "
    "[bold]birth_date[/] and [bold]measurement_date[/] (YYYY-MM-DD), optional "
    "[bold]gestational_age_weeks[/] (corrected age under 2 years) and [bold]group[/] "
    "(population group); measures [bold]height_cm[/], [bold]weight_kg[/], [bold]bmi[/], "
    "[bold]head_circumference_cm[/] and DXA [bold]<site>_abmd[/], [bold]<site>_bmc[/], "
    "[bold]<site>_lean_mass[/], [bold]<site>_fat_mass[/] (e.g. leg_abmd); "
    "[bold]<site>_area[/] with <site>_bmc gives BMAD. Other columns pass through unchanged; "
    "map differently named columns with --column (e.g. --column sex=gender).\n\n"
    "Output adds [bold]<measure>_z[/], [bold]<measure>_centile[/] and "
    '[bold]zscore_status[/] ("ok" or reasons such as '
    '"height_cm:age_out_of_range;sex:sex_unknown"). A malformed file stops with its line '
    "number (exit 2); a bad value only flags its row. See docs/batch.md.\n\n"
    "[bold]--engine dask[/] scores a Parquet file or a folder of Parquet files on Dask "
    "(a local cluster, or a running one with --scheduler) into a folder of Parquet part "
    "files; needs pip install 'pedbone[dask]'."
)


def register(app: typer.Typer) -> None:
    """Add ``zscore`` to the root application."""
    app.command("zscore", help=_HELP)(zscore_command)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def parse_references(values: list[str]) -> dict[str, str]:
    """``--reference`` values -> {family | measure | column: pack id}.

    ``KEY=PACK`` sets one key; a bare ``PACK`` sets the growth family, or the DXA family when
    every measure of the pack is a DXA measure.
    """
    from pedbone.references._batch import GROWTH_COLUMNS, pack_family

    measures = set(GROWTH_COLUMNS.values())
    out: dict[str, str] = {}
    for raw in values:
        key, sep, pack_id = raw.partition("=")
        key, pack_id = key.strip(), pack_id.strip()
        if not sep:
            pack_id, key = key, pack_family(key)
        elif not key or not pack_id:
            raise ValueError(f"--reference {raw!r}: expected PACK or KEY=PACK")
        elif not (
            key in ("growth", "dxa") or key in measures or key in GROWTH_COLUMNS or "_" in key
        ):
            raise ValueError(
                f"--reference {raw!r}: {key!r} is not 'growth', 'dxa', a measure id "
                "(height, weight, bmi, head_circumference, leg_abmd, ...) or a measure column"
            )
        out[key] = pack_id
    return out


def _pairs(option: str, values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in values:
        key, sep, value = (part.strip() for part in raw.partition("="))
        if not (sep and key and value):
            raise ValueError(f"{option} {raw!r}: expected NAME=VALUE")
        out[key] = value
    return out


def zscore_command(
    input_file: Annotated[
        Path, typer.Argument(metavar="INPUT", help="CSV/TSV or Parquet file to score.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Output file (.csv, .tsv or .parquet). Default: INPUT's name + '_scored'.",
        ),
    ] = None,
    reference: Annotated[
        list[str] | None,
        typer.Option(
            "--reference",
            "-r",
            help=(
                "Reference pack: PACK for growth (default cdc2000; head circumference "
                "who2006), or KEY=PACK with KEY growth, dxa (default schafmeyer2022), a "
                "measure id or a column. Chain packs by age with '+', e.g. who2006+who2007. "
                "Repeatable. See `pedbone refs list`."
            ),
        ),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            "-c",
            help=(
                "NAME=YOURS: use your column YOURS as the documented column NAME, e.g. "
                "--column sex=gender --column height_cm=Height. Repeatable."
            ),
        ),
    ] = None,
    chunk_size: Annotated[
        int, typer.Option(min=1, help="Rows per chunk (memory use grows with it).")
    ] = 100_000,
    input_format: Annotated[
        str | None,
        typer.Option("--format", help="Input format: csv or parquet (default: from extension)."),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(help="Output format: csv or parquet (default: from extension)."),
    ] = None,
    sep: Annotated[
        str | None,
        typer.Option(help="Field separator of a text input (default ',', tab for .tsv)."),
    ] = None,
    decimals: Annotated[
        int,
        typer.Option(min=0, max=17, help="Decimals of computed numbers in text output."),
    ] = 4,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace OUTPUT if it exists.")
    ] = False,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress", help="Progress bar (default: only on a terminal)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary line.")] = False,
    engine: Annotated[
        str,
        typer.Option(
            help=(
                "local: this process, streamed in chunks (default). dask: a Dask cluster over "
                "a Parquet file or folder, writing a folder of Parquet parts."
            ),
        ),
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(
            help=(
                "With --engine dask: address of a running Dask scheduler (tcp://host:8786); "
                "input and output must be on storage all workers see. Default: a local "
                "cluster."
            ),
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="With --engine dask and no --scheduler: local worker processes "
            "(default: one per CPU).",
        ),
    ] = None,
    partition_size: Annotated[
        str,
        typer.Option(
            help="With --engine dask: split large files into partitions of about "
            "this size (by row group)."
        ),
    ] = "128MiB",
) -> None:
    """Score a file (see the command help)."""
    if engine not in ("local", "dask"):
        raise _fail(f"--engine must be local or dask, not {engine!r}")
    if engine == "local" and (scheduler or workers):
        raise _fail("--scheduler and --workers need --engine dask")
    if engine == "dask":
        _zscore_dask(
            input_file,
            output,
            reference=reference or [],
            column=column or [],
            scheduler=scheduler,
            workers=workers,
            partition_size=partition_size,
            output_format=output_format,
            input_format=input_format,
            overwrite=overwrite,
            progress=progress,
            quiet=quiet,
        )
        return
    from pedbone.io import MalformedInputError, OutputExistsError, score_file

    if output is None:
        output = input_file.with_name(f"{input_file.stem}_scored{input_file.suffix}")
    formats: dict[str | None, FileFormat | None] = {None: None, "csv": "csv", "parquet": "parquet"}
    for label, fmt in (("--format", input_format), ("--output-format", output_format)):
        if fmt not in formats:
            raise _fail(f"{label} must be csv or parquet, not {fmt!r}")
    if sep is not None:
        sep = "\t" if sep in ("\\t", "tab") else sep
        if len(sep) != 1:
            raise _fail(f"--sep must be one character, not {sep!r}")
    try:
        refs = parse_references(reference or [])
        aliases = _pairs("--column", column or [])
    except (ValueError, LookupError) as exc:
        raise _fail(str(exc)) from None

    show_plan = _plan_printer(quiet)
    show_bar = sys.stderr.isatty() if progress is None else progress
    try:
        with contextlib.ExitStack() as stack:
            callback = stack.enter_context(_progress_bar(input_file.name)) if show_bar else None
            summary = score_file(
                input_file,
                output,
                references=refs,
                aliases=aliases,
                chunk_rows=chunk_size,
                input_format=formats[input_format],
                output_format=formats[output_format],
                sep=sep,
                decimals=decimals,
                overwrite=overwrite,
                progress=callback,
                on_plan=show_plan,
            )
    except (MalformedInputError, OutputExistsError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    except (ValueError, LookupError) as exc:  # unknown pack id, format, same in/out file
        raise _fail(str(exc)) from None
    except OSError as exc:  # e.g. no permission to write the output folder
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if not quiet:
        typer.echo(summary.line(), err=True)
        for line in summary.reason_lines():
            typer.echo(line, err=True)


def _plan_printer(quiet: bool) -> Callable[[BatchPlan], None]:
    def show_plan(plan: BatchPlan) -> None:
        if quiet:
            return
        used = ", ".join(f"{m.column} -> {m.pack_id}" for m in plan.measures)
        typer.echo(f"references: {used}", err=True)
        for column, reason in plan.unscored:
            typer.echo(f"warning: column {column!r} left unscored: {reason}", err=True)
        for key in plan.unused_references:
            typer.echo(f"warning: --reference {key}=... matches no column of the input", err=True)

    return show_plan


def _zscore_dask(
    input_file: Path,
    output: Path | None,
    *,
    reference: list[str],
    column: list[str],
    scheduler: str | None,
    workers: int | None,
    partition_size: str,
    output_format: str | None,
    input_format: str | None,
    overwrite: bool,
    progress: bool | None,
    quiet: bool,
) -> None:
    """``--engine dask``: Parquet file or folder in, folder of Parquet part files out."""
    if input_format not in (None, "parquet") or output_format not in (None, "parquet"):
        raise _fail("--engine dask reads and writes Parquet only")
    if input_file.is_file() and input_file.suffix.lower() not in (".parquet", ".pq"):
        raise _fail(
            f"--engine dask reads Parquet; convert {input_file.name} first (or score it "
            "with the default --engine local)"
        )
    if output is None:
        output = input_file.with_name(f"{input_file.stem}_scored")
    if output.suffix.lower() in (".csv", ".tsv", ".txt"):
        raise _fail("--engine dask writes a folder of Parquet files; -o names that folder")
    try:
        refs = parse_references(reference)
        aliases = _pairs("--column", column)
    except (ValueError, LookupError) as exc:
        raise _fail(str(exc)) from None
    try:
        from pedbone.references.batch import BatchSchemaError, score_dask
    except ImportError as exc:
        raise _fail(str(exc)) from None
    show_bar = sys.stderr.isatty() if progress is None else progress
    try:
        with contextlib.ExitStack() as stack:
            label = f"{input_file.name} on Dask (partitions)"
            callback = stack.enter_context(_progress_bar(label)) if show_bar else None
            summary = score_dask(
                input_file,
                output,
                references=refs,
                aliases=aliases,
                scheduler=scheduler,
                workers=workers,
                blocksize=partition_size,
                overwrite=overwrite,
                progress=callback,
                on_plan=_plan_printer(quiet),
            )
    except BatchSchemaError as exc:
        raise _fail(f"{input_file}: {exc}") from None
    except (FileExistsError, FileNotFoundError, ValueError, LookupError) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:  # e.g. the scheduler cannot be reached, no permission
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if not quiet:
        typer.echo(summary.line(), err=True)
        for line in summary.reason_lines():
            typer.echo(line, err=True)


@contextlib.contextmanager
def _progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr; yields the ``progress(done, total)`` callback."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(f"scoring {label}", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
