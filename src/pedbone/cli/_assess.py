"""``pedbone assess`` and ``pedbone schema``: the clinical assessment from a patient JSON file."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

if TYPE_CHECKING:
    from pydantic import ValidationError


class OutputFormat(StrEnum):
    """Output formats of ``assess``."""

    text = "text"
    md = "md"
    json = "json"


class Language(StrEnum):
    """Languages of ``assess``."""

    en = "en"
    nl = "nl"


_FORMATS: dict[OutputFormat, Literal["text", "md", "json"]] = {
    OutputFormat.text: "text",
    OutputFormat.md: "md",
    OutputFormat.json: "json",
}
_LANGS: dict[Language, Literal["en", "nl"]] = {Language.en: "en", Language.nl: "nl"}


class SchemaName(StrEnum):
    """Schemas ``schema`` can print."""

    patient = "patient"
    assessment = "assessment"


_ASSESS_HELP = """Assess a child's bone health from a patient record (JSON).

The record follows [bold]pedbone schema patient[/]; see examples/patients/ and
docs/clinical.md. The report gives the ISCD classification, vertebral fractures, the risk
profile, whether DXA is indicated and when to repeat it, vitamin D and calcium, laboratory and
renal function, and the change since the baseline scan; every finding cites its source
([bold]pedbone sources[/]). Implausible values become data-quality findings naming the field;
a file that is not valid JSON or breaks the schema stops with the field path (exit 2).
"""


def register(app: typer.Typer) -> None:
    """Add ``assess`` and ``schema`` to the root application."""
    app.command("assess", help=_ASSESS_HELP)(assess_command)
    app.command("schema")(schema_command)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def format_validation_error(source: str, exc: ValidationError) -> str:
    """One line per schema violation: ``file: field.path: message (got value)``."""
    lines = []
    for err in exc.errors():
        got = err.get("input")
        shown = json.dumps(got, default=str, ensure_ascii=False) if got is not None else None
        if shown is not None and len(shown) > 60:
            shown = shown[:57] + "..."
        suffix = f" (got {shown})" if shown is not None and err["type"] != "missing" else ""
        lines.append(f"{source}: {_loc(tuple(err['loc']))}: {err['msg']}{suffix}")
    return "\n".join(lines)


def load_patient(path: Path) -> Any:
    """Read and validate a patient JSON file; exit 2 with a clear message when it is bad."""
    from pydantic import ValidationError

    from pedbone.clinical import Patient

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise _fail(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise _fail(f"{path}: {exc.strerror}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(f"{path}: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    try:
        return Patient.model_validate(raw)
    except ValidationError as exc:
        n = exc.error_count()
        head = f"{path}: {n} schema violation{'s' if n != 1 else ''}"
        raise _fail(f"{head}\n{format_validation_error(str(path), exc)}") from None


def _known_pack(pack_id: str) -> str:
    from pedbone.references import available

    known = {p.id for p in available()}
    if pack_id not in known:
        raise _fail(
            f"unknown reference pack {pack_id!r}; installed: {', '.join(sorted(known))} "
            "(see `pedbone refs list`)"
        )
    return pack_id


def _dxa_packs(specs: list[str], patient: Any) -> dict[str, str]:
    """``PACK`` (every site of the record the pack has aBMD or BMC for) or ``SITE=PACK``."""
    from pedbone.references import available

    coverage = {p.id: set(p.coverage) for p in available()}
    sites = {r.site.value for s in patient.dxa_scans for r in s.sites}
    out: dict[str, str] = {}
    for spec in specs:
        site, sep, pack_id = spec.partition("=")
        if not sep:
            site, pack_id = "", spec
        _known_pack(pack_id)
        if site:
            out[site] = pack_id
            continue
        covered = {s for s in sites if {f"{s}_abmd", f"{s}_bmc"} & coverage.get(pack_id, set())}
        if not covered:
            raise _fail(
                f"--dxa-pack {pack_id}: the pack has no aBMD or BMC for any site in the record "
                f"({', '.join(sorted(sites)) or 'no DXA sites'}); use SITE=PACK to force one"
            )
        for s in covered:
            out.setdefault(s, pack_id)
    return out


def assess_command(
    patient_file: Annotated[
        Path, typer.Argument(help="Patient record (JSON, see 'pedbone schema patient').")
    ],
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.text,
    lang: Annotated[Language, typer.Option("--lang", "-l", help="Report language.")] = Language.en,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Assess as of this date (YYYY-MM-DD); default: the latest date in the record.",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here instead.")
    ] = None,
    dxa_pack: Annotated[
        list[str] | None,
        typer.Option(
            "--dxa-pack",
            help=(
                "Installed DXA reference pack used to score raw aBMD/BMC: PACK (every site "
                "the pack covers) or SITE=PACK (e.g. leg=schafmeyer2022). Repeatable."
            ),
        ),
    ] = None,
    dxa_group: Annotated[
        str | None,
        typer.Option(
            "--dxa-group",
            help="Population group for DXA packs that have groups (e.g. white for schafmeyer2022).",
        ),
    ] = None,
    growth_pack: Annotated[
        str | None,
        typer.Option("--growth-pack", help="Growth reference from 2 years (default cdc2000)."),
    ] = None,
    short_stature_haz: Annotated[
        float | None,
        typer.Option(
            "--short-stature-haz",
            help=(
                "Clinic setting: a height-for-age Z at or below which the child counts as short "
                "for size adjustment (the sources give no cut-off; no default)."
            ),
        ),
    ] = None,
) -> None:
    """Assess a child's bone health from a patient record (JSON)."""
    from pedbone.clinical import AssessOptions, assess

    when: dt.date | None = None
    if as_of is not None:
        try:
            when = dt.date.fromisoformat(as_of)
        except ValueError:
            raise _fail(f"--as-of: {as_of!r} is not a date (YYYY-MM-DD)") from None
    patient = load_patient(patient_file)
    packs = _dxa_packs(dxa_pack or [], patient)
    options = AssessOptions(
        dxa_packs=packs,
        dxa_groups=dict.fromkeys(packs, dxa_group) if dxa_group else {},
        short_stature_haz=short_stature_haz,
        growth_pack=_known_pack(growth_pack) if growth_pack else AssessOptions().growth_pack,
    )
    result = assess(patient, as_of=when, options=options)
    text = result.render(_FORMATS[fmt], _LANGS[lang])
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


def schema_command(
    name: Annotated[SchemaName, typer.Argument(help="'patient' (input) or 'assessment' (output).")],
) -> None:
    """Print the JSON Schema of the patient record or of the assessment."""
    from pedbone.clinical import Assessment, Patient

    model = Patient if name == SchemaName.patient else Assessment
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    typer.echo(json.dumps(schema, ensure_ascii=False, indent=2))
