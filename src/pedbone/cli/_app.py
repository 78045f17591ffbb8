"""Root Typer application; each area registers its commands from its own module.

Command modules import heavy libraries inside the command functions, so that
``pedbone --help`` stays fast.
"""

from __future__ import annotations

import typer

from pedbone._version import __version__

app = typer.Typer(
    name="pedbone",
    help=(
        "Bone health of children with chronic illness: growth and DXA Z-scores, clinical "
        "assessment, treatment planning and evidence synthesis.\n\n"
        "pedbone supports, and does not replace, clinical judgement."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"pedbone {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        help="Show the version and exit.",
        callback=_version_callback,
        is_eager=True,
    ),
) -> None:
    """pedbone command line."""


def _register() -> None:
    # One module per area; each exposes register(app). Order = order in --help.
    from pedbone.cli import (
        _assess,
        _dxa_import,
        _fhir,
        _meta,
        _refs,
        _review,
        _review_report,
        _sources,
        _store,
        _treatment,
        _web,
        _zscore,
    )

    for module in (
        _web,
        _store,
        _zscore,
        _refs,
        _assess,
        _treatment,
        _meta,
        _sources,
        _fhir,
        _dxa_import,
    ):
        module.register(app)
    _review.register(app)
    _review_report.register(_review.review_app)


_register()


def main() -> None:
    """Console-script entry point."""
    app()
