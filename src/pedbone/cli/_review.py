"""``pedbone review``: systematic reviews (protocol, imports, dedupe, screening, PRISMA, exchange).

The command line acts as the system (full rights, audited as "system"), except
``review screen``, which signs in a reviewer: votes are always cast by a person.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pedbone.cli._store import DatabaseUrl, _database, _fail

if TYPE_CHECKING:
    from pedbone.review import ReviewDocument

review_app = typer.Typer(
    help="Systematic reviews: protocol, record imports, deduplication, dual screening, "
    "PRISMA 2020 and exchange files.",
    no_args_is_help=True,
)

ReviewKey = Annotated[str, typer.Argument(help="The review's id (from its protocol) or number.")]


Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace existing output files.")]


def _write(overwrite: bool, path: Path, data: bytes) -> None:
    from pedbone.io._atomic import OutputExistsError, atomic_path

    try:
        with atomic_path(path, overwrite=overwrite) as tmp:
            tmp.write_bytes(data)
    except (OutputExistsError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from exc


def _doc(session: Any, key: str) -> tuple[Any, ReviewDocument]:
    from pedbone.store import review

    r = review.find_review(session, key)
    return r, review.review_document(session, r)


@review_app.command("init")
def init_command(
    protocol: Annotated[
        Path | None,
        typer.Option("--protocol", "-p", help="Start a review from this protocol file (YAML)."),
    ] = None,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Where to write the commented template."),
    ] = Path("protocol.yaml"),
    database_url: DatabaseUrl = None,
) -> None:
    """Write a commented protocol template, or (with --protocol) start a review from one."""
    from pedbone.review import ProtocolError, parse_protocol, protocol_template

    if protocol is None:
        if output.exists():
            raise _fail(f"{output}: already exists; choose another file with --output")
        output.write_text(protocol_template(), encoding="utf-8")
        typer.echo(
            f"wrote the protocol template to {output}; edit it, then run: "
            f"pedbone review init --protocol {output}"
        )
        return
    try:
        parsed = parse_protocol(protocol.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(f"{protocol}: {exc.strerror}") from exc
    except ProtocolError as exc:
        raise _fail(f"{protocol}: {exc}") from exc
    from pedbone.store import review

    with _database(database_url) as db, db.unit_of_work() as s:
        r = review.create_review(s, parsed)
        typer.echo(f"started review {r.slug!r} ({parsed.title}), protocol version 1")
        typer.echo("team: " + ", ".join(f"{m.username} ({m.role.value})" for m in parsed.team))


@review_app.command("amend")
def amend_command(
    key: ReviewKey,
    protocol: Annotated[Path, typer.Option("--protocol", "-p", help="The changed protocol.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the protocol changes.")],
    author: Annotated[str, typer.Option("--author", help="Who decided the change.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Amend a review's protocol: a new version, with the reason recorded."""
    from pedbone.review import ProtocolError, amend, parse_protocol
    from pedbone.store import review

    try:
        changed = parse_protocol(protocol.read_text(encoding="utf-8"))
    except (OSError, ProtocolError) as exc:
        raise _fail(f"{protocol}: {exc}") from exc
    with _database(database_url) as db, db.unit_of_work() as s:
        r = review.find_review(s, key)
        current = parse_protocol(r.protocol)
        changes = {
            k: v
            for k, v in changed.model_dump(mode="json").items()
            if k not in ("id", "version", "amendments")
        }
        try:
            new = amend(current, changes, reason=reason, author=author, on=dt.date.today())
        except ProtocolError as exc:
            raise _fail(str(exc)) from exc
        review.amend_protocol(s, r, new)
        typer.echo(f"review {r.slug!r}: protocol version {new.version} ({reason})")


@review_app.command("import")
def import_command(
    key: ReviewKey,
    files: Annotated[list[Path], typer.Argument(help="RIS, .nbib, EndNote XML or CSV files.")],
    source: Annotated[
        str, typer.Option("--source", "-s", help="Database or source searched, e.g. MEDLINE.")
    ],
    searched_on: Annotated[
        str, typer.Option("--date", help="Date the search was run (YYYY-MM-DD).")
    ],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="database, register, website, organisation or citations (PRISMA boxes).",
        ),
    ] = "database",
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="ris, nbib, endnote_xml or csv (default: detect)."),
    ] = None,
    strategy: Annotated[
        str | None, typer.Option("--strategy", help="The search strategy, for the methods.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import search results; each file is one search. Bad records are listed with their line."""
    from pedbone.review import Format, SourceKind
    from pedbone.store import StoreError, review

    try:
        day = dt.date.fromisoformat(searched_on)
        chosen_kind = SourceKind(kind)
        chosen_fmt = Format(fmt) if fmt else None
    except ValueError as exc:
        raise _fail(f"{exc}") from exc
    failed = False
    with _database(database_url) as db:
        for path in files:
            try:
                data = path.read_bytes()
            except OSError as exc:
                typer.echo(f"error: {path}: {exc.strerror}", err=True)
                failed = True
                continue
            try:
                with db.unit_of_work() as s:
                    r = review.find_review(s, key)
                    result = review.import_search(
                        s,
                        r,
                        data,
                        source=source,
                        searched_on=day,
                        filename=path.name,
                        kind=chosen_kind,
                        fmt=chosen_fmt,
                        strategy=strategy,
                    )
            except StoreError as exc:
                typer.echo(f"error: {path}: {exc}", err=True)
                failed = True
                continue
            typer.echo(
                f"{path}: {result.imported} records imported as search {result.search_id} "
                f"({source}, {day.isoformat()})"
            )
            for err in result.errors:
                typer.echo(f"  skipped {err}", err=True)
    if failed:
        raise typer.Exit(2)


@review_app.command("dedupe")
def dedupe_command(
    key: ReviewKey,
    merge: Annotated[
        list[int] | None, typer.Option("--merge", help="Queued pair number to merge.")
    ] = None,
    distinct: Annotated[
        list[int] | None, typer.Option("--distinct", help="Queued pair number to keep apart.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Find duplicates (certain ones merged, both records kept) and list the queue to decide."""
    from sqlalchemy import select

    from pedbone.store import ReviewDuplicatePair, ReviewRecord, review

    with _database(database_url) as db, db.unit_of_work() as s:
        r = review.find_review(s, key)
        for pid in merge or []:
            review.decide_pair(s, pid, duplicate=True)
        for pid in distinct or []:
            review.decide_pair(s, pid, duplicate=False)
        report = review.run_dedupe(s, r)
        typer.echo(f"merged {report.merged} certain duplicate pair(s); queued {report.queued}")
        queue = s.scalars(
            select(ReviewDuplicatePair).where(
                ReviewDuplicatePair.review_id == r.id, ReviewDuplicatePair.status == "pending"
            )
        ).all()
        for p in queue:
            a, b = s.get(ReviewRecord, p.record_a_id), s.get(ReviewRecord, p.record_b_id)
            assert a is not None
            assert b is not None
            typer.echo(f"pair {p.id}: {p.reason}")
            typer.echo(f"  [{a.id}] {a.title[:90]} ({a.year})")
            typer.echo(f"  [{b.id}] {b.title[:90]} ({b.year})")
        if queue:
            typer.echo("decide with --merge N or --distinct N")


@review_app.command("screen")
def screen_command(
    key: ReviewKey,
    username: Annotated[str, typer.Option("--user", "-u", help="Your pedbone username.")],
    stage: Annotated[
        str, typer.Option("--stage", help="title_abstract or full_text.")
    ] = "title_abstract",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Screen in the terminal: i include, e exclude, m maybe, s skip, q quit."""
    from pedbone.review import Stage, Status
    from pedbone.store import StoreError, authenticate, review

    chosen = Stage(stage)
    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt("password", hide_input=True)
    )
    with _database(database_url) as db:
        with db.unit_of_work() as s:
            user = authenticate(s, username, password)
            if user is None:
                raise _fail("unknown user or wrong password")
        with db.session() as s:
            _r, doc = _doc(s, key)
            reasons = [x.code for x in doc.protocol.exclusion_reasons]
            todo = [
                e
                for e in doc.unique_records()
                if (o := doc.outcome(e, chosen)) is not None
                and o.status in (Status.AWAITING,)
                and not any(v.reviewer == username for v in doc.votes_for(e.id, chosen))
            ]
        typer.echo(f"{len(todo)} record(s) to screen at {chosen.value}")
        for n, entry in enumerate(todo, 1):
            rec = entry.record
            typer.echo(f"\n[{n}/{len(todo)}] {rec.title}\n  {rec.citation()}")
            if rec.abstract:
                typer.echo("  " + rec.abstract[:1200])
            answer = typer.prompt("i/e/m/s/q", default="s").strip().lower()
            if answer == "q":
                break
            if answer not in ("i", "e", "m"):
                continue
            decision = {"i": "include", "e": "exclude", "m": "maybe"}[answer]
            reason = None
            if decision == "exclude" and chosen is Stage.FULL_TEXT:
                reason = typer.prompt("reason (" + ", ".join(reasons) + ")")
            try:
                with db.unit_of_work(actor=user) as s:
                    review.cast_vote(s, entry.id, chosen, decision, reason=reason)
            except StoreError as exc:
                typer.echo(f"not saved: {exc}", err=True)


@review_app.command("status")
def status_command(key: ReviewKey, database_url: DatabaseUrl = None) -> None:
    """Where the review stands: records, screening progress, conflicts, agreement, PRISMA."""
    from pedbone.review import PairStatus, Stage, agreement, prisma_counts

    with _database(database_url) as db, db.session() as s:
        _r, doc = _doc(s, key)
    c = prisma_counts(doc)
    p = doc.protocol
    typer.echo(f"{p.title}  [{p.id}, protocol v{p.version}]")
    if any(v.simulated for v in doc.votes):
        typer.echo("note: this review's votes are SIMULATED (example data)")
    typer.echo(f"searches: {len(doc.searches)}")
    for sr in doc.searches:
        typer.echo(
            f"  {sr.id}: {sr.source} ({sr.kind.value}, {sr.searched_on.isoformat()}): "
            f"{sr.records_found} records" + (f", {len(sr.errors)} skipped" if sr.errors else "")
        )
    pending = sum(1 for x in doc.duplicate_pairs if x.status is PairStatus.PENDING)
    typer.echo(f"records: {len(doc.records)}; duplicates {c.duplicates}; pairs to decide {pending}")
    typer.echo(
        f"title/abstract: {c.records_screened} screened, {c.records_excluded} excluded, "
        f"{c.awaiting_title_abstract} awaiting votes"
    )
    typer.echo(
        f"full text: {c.dbr_sought_reports + c.other_sought_reports} sought, "
        f"{c.dbr_notretrieved_reports + c.other_notretrieved_reports} not retrieved, "
        f"{c.dbr_assessed + c.other_assessed} assessed, {c.awaiting_full_text} awaiting votes"
    )
    typer.echo(f"open conflicts: {c.conflicts}")
    typer.echo(f"included: {c.total_studies} studies in {c.total_reports} reports")
    for stage in Stage:
        for a in agreement(doc.votes, stage):
            typer.echo(
                f"agreement {stage.value} {a.reviewer_a} vs {a.reviewer_b}: n = {a.n}, "
                f"{a.percent_agreement:.1f} % agree, kappa {a.kappa:.2f} "
                f"(95 % CI {a.ci_low:.2f} to {a.ci_high:.2f})"
            )
    if c.provisional:
        typer.echo("PRISMA counts are provisional until every record is decided")


@review_app.command("prisma")
def prisma_command(
    key: ReviewKey,
    output: Annotated[
        list[Path], typer.Option("--output", "-o", help="File(s): .svg, .pdf or .csv.")
    ],
    overwrite: Overwrite = False,
    database_url: DatabaseUrl = None,
) -> None:
    """The PRISMA 2020 flow diagram (SVG, PDF) or counts (CSV, PRISMA2020 package fields)."""
    from pedbone.review import prisma_counts, prisma_csv, prisma_pdf, prisma_svg

    with _database(database_url) as db, db.session() as s:
        _r, doc = _doc(s, key)
    counts = prisma_counts(doc)
    for path in output:
        suffix = path.suffix.lower()
        if suffix == ".svg":
            data = prisma_svg(counts, title=doc.protocol.title).encode()
        elif suffix == ".pdf":
            data = prisma_pdf(counts, title=doc.protocol.title)
        elif suffix == ".csv":
            data = prisma_csv(counts).encode()
        else:
            raise _fail(f"{path}: use .svg, .pdf or .csv")
        _write(overwrite, path, data)
        typer.echo(f"wrote {path}")
    if counts.provisional:
        typer.echo("note: provisional — some records still await decisions", err=True)


@review_app.command("export")
def export_command(
    key: ReviewKey,
    output: Annotated[Path, typer.Option("--output", "-o", help="Review file (.json).")],
    included_csv: Annotated[
        Path | None, typer.Option("--included-csv", help="Also write the included reports as CSV.")
    ] = None,
    included_ris: Annotated[
        Path | None, typer.Option("--included-ris", help="Also write the included reports as RIS.")
    ] = None,
    schema: Annotated[
        Path | None, typer.Option("--schema", help="Also write the file's JSON Schema.")
    ] = None,
    overwrite: Overwrite = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Export the whole review as one portable JSON file (and the included studies)."""
    import json

    from pedbone.review import records_to_ris, review_json_schema

    with _database(database_url) as db, db.session() as s:
        _r, doc = _doc(s, key)
    doc = doc.model_copy(update={"exported_at": dt.datetime.now(dt.UTC)})
    _write(overwrite, output, doc.to_json().encode())
    typer.echo(f"wrote {output} ({len(doc.records)} records, {len(doc.votes)} votes)")
    included = doc.included()
    if included_csv:
        _write(overwrite, included_csv, _included_csv(included).encode())
        typer.echo(f"wrote {included_csv} ({len(included)} reports)")
    if included_ris:
        notes = [
            f"pedbone review {doc.protocol.id}: included; study {e.study or e.id}" for e in included
        ]
        _write(
            overwrite, included_ris, records_to_ris([e.record for e in included], notes).encode()
        )
        typer.echo(f"wrote {included_ris} ({len(included)} reports)")
    if schema:
        _write(overwrite, schema, json.dumps(review_json_schema(), indent=2).encode())
        typer.echo(f"wrote {schema}")


def _included_csv(entries: list[Any]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "record",
            "study",
            "title",
            "authors",
            "year",
            "journal",
            "volume",
            "issue",
            "pages",
            "doi",
            "pmid",
        ]
    )
    for e in entries:
        r = e.record
        row = [
            e.id,
            e.study or f"record-{e.id}",
            r.title,
            "; ".join(r.authors),
            r.year or "",
            r.journal or "",
            r.volume or "",
            r.issue or "",
            r.pages or "",
            r.doi or "",
            r.pmid or "",
        ]
        # a cell starting with = + - @ would run as a formula in a spreadsheet
        writer.writerow(
            ["'" + c if isinstance(c, str) and c and c[0] in "=+-@\t\r" else c for c in row]
        )
    return out.getvalue()


@review_app.command("import-review")
def import_review_command(
    path: Annotated[Path, typer.Argument(help="A review file written by 'review export'.")],
    new_id: Annotated[
        str | None, typer.Option("--id", help="Store it under this id (default: its own).")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import a whole review from its portable JSON file (team usernames must exist here)."""
    from pedbone.review import DocumentError, document_from_json
    from pedbone.store import review

    try:
        doc = document_from_json(path.read_bytes())
    except OSError as exc:
        raise _fail(f"{path}: {exc.strerror}") from exc
    except DocumentError as exc:
        raise _fail(f"{path}: {exc}") from exc
    with _database(database_url) as db, db.unit_of_work() as s:
        r = review.import_review_document(s, doc, slug=new_id)
        typer.echo(
            f"imported review {r.slug!r}: {len(doc.records)} records, {len(doc.votes)} votes"
        )


@review_app.command("demo")
def demo_command(database_url: DatabaseUrl = None) -> None:
    """Add the example review (real records of the digest's studies, SIMULATED reviewers)."""
    from pedbone.store._review_demo import DEMO_REVIEW, create_review_demo

    with _database(database_url) as db, db.unit_of_work() as s:
        made = create_review_demo(s)
    if not made.created:
        typer.echo(f"the example review {DEMO_REVIEW!r} already exists")
        return
    typer.echo(f"added the example review {DEMO_REVIEW!r} (simulated screening)")
    for name, password in made.passwords.items():
        typer.echo(f"sign in as: {name}   password: {password}   (shown once)")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root application."""
    app.add_typer(review_app, name="review")
