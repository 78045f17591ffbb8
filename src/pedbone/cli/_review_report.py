"""``pedbone review report``: the review report (HTML or PDF) from a review file.

The review file is the portable JSON that ``pedbone review export`` writes (protocol, searches,
screening). Part 2 (characteristics, effects, risk of bias, harms, GRADE) comes from a synthesis
file (``--synthesis FILE.yaml``, format ``pedbone-review-synthesis``), from the review file's
own ``extensions["pedbone-synthesis"]``, or, for the bundled example, ``--synthesis example``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pedbone.cli._store import _fail

__all__ = ["register"]

#: Key under ReviewDocument.extensions that may carry the synthesis inline.
EXTENSION_KEY = "pedbone-synthesis"


def report_command(
    review_file: Annotated[
        Path, typer.Argument(help="A review file written by 'pedbone review export'.")
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write: ending .pdf or .html.")
    ],
    synthesis: Annotated[
        str | None,
        typer.Option(
            "--synthesis",
            help="Part-2 data: a synthesis YAML file, or 'example' for the bundled example.",
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the output.")] = False,
) -> None:
    """Write the review report: methods, PRISMA, studies, risk of bias, synthesis, harms, GRADE."""
    from pedbone.report import (
        SynthesisFileError,
        example_synthesis,
        load_synthesis,
        review_report_html,
        review_report_pdf,
        synthesis_from_mapping,
    )
    from pedbone.review import DocumentError, document_from_json

    suffix = output.suffix.lower()
    if suffix not in (".pdf", ".html", ".htm"):
        raise _fail(f"{output.name}: the output must end in .pdf or .html")
    if output.exists() and not overwrite:
        raise _fail(f"{output} exists (use --overwrite to replace it)")
    try:
        doc = document_from_json(review_file.read_bytes())
    except OSError as exc:
        raise _fail(f"{review_file}: {exc.strerror}") from exc
    except DocumentError as exc:
        raise _fail(f"{review_file}: {exc}") from exc
    try:
        if synthesis == "example":
            syn = example_synthesis()
        elif synthesis is not None:
            syn = load_synthesis(Path(synthesis))
        elif EXTENSION_KEY in doc.extensions:
            syn = synthesis_from_mapping(
                doc.extensions[EXTENSION_KEY], f"{review_file.name} extensions"
            )
        else:
            raise _fail(
                f"{review_file.name} holds no synthesis: give --synthesis FILE.yaml "
                "(or --synthesis example for the bundled example review)"
            )
    except SynthesisFileError as exc:
        raise _fail(str(exc)) from exc
    if suffix == ".pdf":
        output.write_bytes(review_report_pdf(doc, syn))
    else:
        output.write_text(review_report_html(doc, syn), encoding="utf-8")
    typer.echo(f"wrote {output}")


def register(review_app: typer.Typer) -> None:
    """Add ``report`` to the ``pedbone review`` group."""
    review_app.command("report")(report_command)
