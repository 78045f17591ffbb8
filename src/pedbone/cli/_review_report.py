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

from pedbone.cli._store import DatabaseUrl, _database, _fail

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
    clinic_cohort: Annotated[
        bool,
        typer.Option(
            "--clinic-cohort",
            help="Add this clinic's treated cohort (pseudonymised practice data) from the "
            "database, beside the trials.",
        ),
    ] = False,
    follow_up_months: Annotated[
        float, typer.Option("--follow-up-months", help="Cohort follow-up for the Z change.")
    ] = 12.0,
    include_demo: Annotated[
        bool, typer.Option("--include-demo", help="Count demo patients in the clinic cohort.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Write the review report: methods, PRISMA, studies, risk of bias, synthesis, harms, GRADE."""
    import yaml

    from pedbone.report import (
        SynthesisFileError,
        example_synthesis_data,
        review_report_html,
        review_report_pdf,
        synthesis_from_mapping,
        with_practice_data,
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
    where = "example"
    if synthesis == "example":
        data = example_synthesis_data()
    elif synthesis is not None:
        where = Path(synthesis).name
        try:
            data = yaml.safe_load(Path(synthesis).read_text(encoding="utf-8"))
        except OSError as exc:
            raise _fail(f"{synthesis}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise _fail(f"{where}: not valid YAML") from exc
    elif EXTENSION_KEY in doc.extensions:
        data, where = doc.extensions[EXTENSION_KEY], f"{review_file.name} extensions"
    else:
        raise _fail(
            f"{review_file.name} holds no synthesis: give --synthesis FILE.yaml "
            "(or --synthesis example for the bundled example review)"
        )
    if clinic_cohort:
        if not isinstance(data, dict):
            raise _fail(f"{where}: expected a mapping with format: pedbone-review-synthesis")
        from pedbone.store import clinic_cohort_row

        with _database(database_url) as db, db.session() as s:
            try:
                cohort = clinic_cohort_row(
                    s, None, follow_up_months=follow_up_months, include_demo=include_demo
                )
            except ValueError as exc:
                raise _fail(str(exc)) from exc
        data = with_practice_data(data, cohort)
    try:
        syn = synthesis_from_mapping(data, where)
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
