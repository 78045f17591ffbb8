"""Treatment CLI: ``pedbone protocols list|show|validate``, ``pedbone plan``,
``pedbone checklist``, ``pedbone harms`` and ``pedbone supplements``.

No clinical logic lives here; everything is in :mod:`pedbone.treatment`.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer

PROTOCOLS_DIR_HELP = (
    "Clinic protocol folder (overrides shipped protocols by id). Default: $PEDBONE_PROTOCOLS_DIR "
    "or the user data folder."
)


def _fail(msg: str) -> NoReturn:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(2)


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"{name}: {value!r} is not a date (use YYYY-MM-DD)")


def _echo_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def register(app: typer.Typer) -> None:
    """Add the treatment commands to the root application."""
    protocols = typer.Typer(
        help="Bisphosphonate protocols: list, show, validate a clinic file.",
        no_args_is_help=True,
    )
    protocols.command("list")(protocols_list)
    protocols.command("show")(protocols_show)
    protocols.command("validate")(protocols_validate)
    protocols.command("schema")(protocols_schema)
    app.add_typer(protocols, name="protocols")
    app.command("plan")(plan_command)
    app.command("checklist")(checklist_command)
    app.command("harms")(harms_command)
    app.command("supplements")(supplements_command)


# ------------------------------------------------------------------------------------------------
# protocols


def protocols_list(
    protocols_dir: Annotated[
        Path | None, typer.Option("--protocols-dir", help=PROTOCOLS_DIR_HELP)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the available protocols (shipped and clinic)."""
    from pedbone.treatment import ProtocolError, available_protocols

    try:
        infos = available_protocols(protocols_dir)
    except ProtocolError as exc:
        _fail(str(exc))
    if as_json:
        _echo_json(
            [
                {
                    "id": i.protocol.id,
                    "version": i.protocol.version,
                    "title": i.protocol.title,
                    "drug": i.protocol.drug,
                    "route": i.protocol.route,
                    "origin": i.origin,
                    "overrides_shipped": i.overrides_shipped,
                    "sources": list(i.protocol.all_source_keys()),
                }
                for i in infos
            ]
        )
        return
    for i in infos:
        p = i.protocol
        origin = "shipped" if i.origin == "shipped" else f"clinic: {i.origin}"
        if i.overrides_shipped:
            origin += " (overrides shipped)"
        src = "".join(f"[{k}]" for k in p.sources)
        typer.echo(f"{p.id:30s} v{p.version:4s} {p.title} {src}  ({origin})")


def protocols_show(
    protocol_id: Annotated[str, typer.Argument(help="Protocol id (see `protocols list`).")],
    protocols_dir: Annotated[
        Path | None, typer.Option("--protocols-dir", help=PROTOCOLS_DIR_HELP)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show one protocol: regimen, caps, course, checks, notes and full sources."""
    from pedbone.treatment import INTENDED_USE, ProtocolError, get_protocol

    try:
        p = get_protocol(protocol_id, protocols_dir)
    except ProtocolError as exc:
        _fail(str(exc))
    if as_json:
        _echo_json(p.to_dict())
        return
    typer.echo(f"{p.title}\nid {p.id}, version {p.version}; {p.drug}, {p.route.upper()}")
    if p.population:
        typer.echo(f"Population: {p.population}")
    typer.echo("Regimen:")
    for line in p.describe():
        typer.echo(f"  {line}")
    if p.notes:
        typer.echo("Notes:")
        for n in p.notes:
            typer.echo(f"  - {n}")
    typer.echo("Sources:")
    for k in p.all_source_keys():
        typer.echo(f"  [{k}] {p.source_text(k)}")
    typer.echo(INTENDED_USE)


def protocols_validate(
    paths: Annotated[list[Path], typer.Argument(help="Protocol YAML file(s) to check.")],
) -> None:
    """Validate protocol files (schema, units, source keys); exit 2 on the first broken one."""
    from pedbone.treatment import ProtocolError, load_protocol_file

    bad = 0
    for path in paths:
        try:
            p = load_protocol_file(path)
        except ProtocolError as exc:
            typer.echo(str(exc), err=True)
            bad += 1
            continue
        typer.echo(f"{path}: ok ({p.id} v{p.version}, sources {', '.join(p.all_source_keys())})")
    if bad:
        raise typer.Exit(2)


def protocols_schema() -> None:
    """Print the JSON Schema of a protocol file (for editors and clinic tooling)."""
    from pedbone.treatment import Protocol

    _echo_json(Protocol.model_json_schema())


# ------------------------------------------------------------------------------------------------
# plan


def _settings(
    settings_path: Path | None,
    protocols_dir: Path | None,
    rounding_step_mg: float | None,
    max_weight_age_days: int | None,
) -> Any:
    from pedbone.treatment import ClinicSettings, ProtocolError, load_clinic_settings

    try:
        if settings_path is not None:
            s = load_clinic_settings(settings_path)
        elif protocols_dir is not None:
            s = (
                load_clinic_settings(protocols_dir / "clinic.yaml")
                if (protocols_dir / "clinic.yaml").is_file()
                else ClinicSettings()
            )
        else:
            s = load_clinic_settings()
    except ProtocolError as exc:
        _fail(str(exc))
    update: dict[str, Any] = {}
    if rounding_step_mg is not None:
        if rounding_step_mg <= 0:
            _fail("--rounding-step-mg must be positive")
        update["rounding_step_mg"] = rounding_step_mg
        update["rounding_step_mg_by_drug"] = {}
    if max_weight_age_days is not None:
        if max_weight_age_days <= 0:
            _fail("--max-weight-age-days must be positive")
        update["max_weight_age_days"] = max_weight_age_days
    if update:
        update["origin"] = f"{s.origin} + command-line options"
        s = s.model_copy(update=update)
    return s


def plan_command(
    protocol: Annotated[str, typer.Option("--protocol", "-p", help="Protocol id.")],
    weight_kg: Annotated[
        float | None, typer.Option("--weight-kg", help="Current weight (kg).")
    ] = None,
    weight_date: Annotated[
        str | None, typer.Option("--weight-date", help="Date the weight was measured.")
    ] = None,
    start: Annotated[str | None, typer.Option("--start", help="First dose date.")] = None,
    birth_date: Annotated[
        str | None, typer.Option("--birth-date", help="For age-banded protocols.")
    ] = None,
    age_years: Annotated[
        float | None, typer.Option("--age-years", help="Age at the start (if no birth date).")
    ] = None,
    height_cm: Annotated[
        float | None, typer.Option("--height-cm", help="For mg/m² protocols (Mosteller BSA).")
    ] = None,
    bsa_m2: Annotated[float | None, typer.Option("--bsa-m2", help="Body surface area.")] = None,
    cycles: Annotated[
        int | None, typer.Option("--cycles", help="Override the course length (cycles).")
    ] = None,
    cycles_per_year: Annotated[
        int | None,
        typer.Option("--cycles-per-year", help="Split of an annual dose (clinic choice)."),
    ] = None,
    days_per_cycle: Annotated[
        int | None, typer.Option("--days-per-cycle", help="Days per cycle of an annual split.")
    ] = None,
    prior_mg: Annotated[
        float, typer.Option("--prior-mg", help="Cumulative dose given before this course.")
    ] = 0.0,
    not_naive: Annotated[
        bool, typer.Option("--not-naive", help="Has had a bisphosphonate before.")
    ] = False,
    on_glucocorticoids: Annotated[
        bool, typer.Option("--on-glucocorticoids", help="Adds the sick-day steroid advice.")
    ] = False,
    rounding_step_mg: Annotated[
        float | None, typer.Option("--rounding-step-mg", help="Round doses to this step (mg).")
    ] = None,
    max_weight_age_days: Annotated[
        int | None, typer.Option("--max-weight-age-days", help="Oldest usable weight (days).")
    ] = None,
    settings_path: Annotated[
        Path | None, typer.Option("--settings", help="Clinic settings YAML (clinic.yaml).")
    ] = None,
    protocols_dir: Annotated[
        Path | None, typer.Option("--protocols-dir", help=PROTOCOLS_DIR_HELP)
    ] = None,
    ics: Annotated[
        Path | None, typer.Option("--ics", help="Also write the course as iCalendar.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Plan a bisphosphonate course: doses, caps, rounding, cumulative dose, review, advice."""
    from pedbone.treatment import PlanError, ProtocolError, get_protocol, plan_course, plan_to_ical

    if start is None:
        _fail("--start is required (first dose date, YYYY-MM-DD)")
    if weight_kg is None or weight_date is None:
        _fail("no dose is computed without a weight: give --weight-kg and --weight-date")
    settings = _settings(settings_path, protocols_dir, rounding_step_mg, max_weight_age_days)
    try:
        proto = get_protocol(protocol, protocols_dir)
        plan = plan_course(
            proto,
            weight_kg=weight_kg,
            weight_date=_date(weight_date, "--weight-date"),
            start=_date(start, "--start") or date.today(),
            birth_date=_date(birth_date, "--birth-date"),
            age_years=age_years,
            height_cm=height_cm,
            bsa_m2=bsa_m2,
            settings=settings,
            cycles=cycles,
            cycles_per_year=cycles_per_year,
            days_per_cycle=days_per_cycle,
            prior_cumulative_mg=prior_mg,
            bisphosphonate_naive=not not_naive,
            on_glucocorticoids=on_glucocorticoids,
        )
    except (ProtocolError, PlanError, ValueError) as exc:
        _fail(str(exc))
    if ics is not None:
        try:
            ics.write_bytes(plan_to_ical(plan))
        except OSError as exc:
            _fail(f"cannot write {ics}: {exc.strerror}")
    if as_json:
        _echo_json(plan.to_dict())
    else:
        typer.echo(plan.to_text())
        if ics is not None:
            typer.echo(f"Calendar written to {ics}")


# ------------------------------------------------------------------------------------------------
# checklist


def _lab(value: float | None, when: str | None, name: str, default: date | None) -> Any:
    from pedbone.treatment import LabResult

    if value is None:
        return None
    d = _date(when, f"{name}-date") or default
    if d is None:
        _fail(f"{name}: give --{name}-date (the date of the result)")
    return LabResult(value, d)


def _tri(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("yes", "y", "true", "1"):
        return True
    if v in ("no", "n", "false", "0"):
        return False
    _fail(f"{name}: use yes or no (got {value!r})")


def checklist_command(
    protocol: Annotated[str, typer.Option("--protocol", "-p", help="Protocol id.")],
    dose_date: Annotated[str, typer.Option("--dose-date", help="Planned dose date.")],
    sex: Annotated[str, typer.Option("--sex", help="M or F.")],
    birth_date: Annotated[str | None, typer.Option("--birth-date")] = None,
    age_years: Annotated[float | None, typer.Option("--age-years")] = None,
    later_cycle: Annotated[
        bool, typer.Option("--later-cycle", help="Not the first cycle of treatment.")
    ] = False,
    weight_date: Annotated[str | None, typer.Option("--weight-date")] = None,
    height_cm: Annotated[float | None, typer.Option("--height-cm")] = None,
    calcium: Annotated[
        float | None, typer.Option("--calcium", help="Albumin-corrected calcium, mmol/L.")
    ] = None,
    calcium_date: Annotated[str | None, typer.Option("--calcium-date")] = None,
    phosphate: Annotated[float | None, typer.Option("--phosphate", help="mmol/L.")] = None,
    phosphate_date: Annotated[str | None, typer.Option("--phosphate-date")] = None,
    ohd: Annotated[float | None, typer.Option("--ohd", help="25-OH vitamin D, nmol/L.")] = None,
    ohd_date: Annotated[str | None, typer.Option("--ohd-date")] = None,
    creatinine: Annotated[
        float | None, typer.Option("--creatinine", help="Enzymatic creatinine, µmol/L.")
    ] = None,
    creatinine_date: Annotated[str | None, typer.Option("--creatinine-date")] = None,
    labs_date: Annotated[
        str | None, typer.Option("--labs-date", help="Date of all labs without their own date.")
    ] = None,
    dental_review: Annotated[str | None, typer.Option("--dental-review", help="yes/no")] = None,
    dental_disease: Annotated[str | None, typer.Option("--dental-disease", help="yes/no")] = None,
    pregnancy_possible: Annotated[
        str | None, typer.Option("--pregnancy-possible", help="yes/no")
    ] = None,
    pregnancy_test: Annotated[
        str | None, typer.Option("--pregnancy-test", help="negative/positive/not done")
    ] = None,
    allergy: Annotated[
        str | None, typer.Option("--allergy", help="Bisphosphonate allergy yes/no")
    ] = None,
    previous_apr: Annotated[
        str | None, typer.Option("--previous-apr", help="Previous acute-phase reaction yes/no")
    ] = None,
    dehydrated: Annotated[str | None, typer.Option("--dehydrated", help="yes/no")] = None,
    max_weight_age_days: Annotated[int | None, typer.Option("--max-weight-age-days")] = None,
    settings_path: Annotated[Path | None, typer.Option("--settings")] = None,
    protocols_dir: Annotated[
        Path | None, typer.Option("--protocols-dir", help=PROTOCOLS_DIR_HELP)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Pre-infusion checklist with a go / hold decision (exit 0 go, 1 hold, 2 bad input)."""
    from pedbone.treatment import PreInfusionInput, ProtocolError, get_protocol, run_checklist

    if sex not in ("M", "F"):
        _fail("--sex must be M or F")
    if pregnancy_test is not None and pregnancy_test not in ("negative", "positive", "not done"):
        _fail("--pregnancy-test must be negative, positive or 'not done'")
    settings = _settings(settings_path, protocols_dir, None, max_weight_age_days)
    labs = _date(labs_date, "--labs-date")
    try:
        proto = get_protocol(protocol, protocols_dir)
        inp = PreInfusionInput(
            dose_date=_date(dose_date, "--dose-date") or date.today(),
            sex="M" if sex == "M" else "F",
            first_cycle=not later_cycle,
            birth_date=_date(birth_date, "--birth-date"),
            age_years=age_years,
            weight_date=_date(weight_date, "--weight-date"),
            height_cm=height_cm,
            corrected_calcium_mmol_l=_lab(calcium, calcium_date, "calcium", labs),
            phosphate_mmol_l=_lab(phosphate, phosphate_date, "phosphate", labs),
            ohd_nmol_l=_lab(ohd, ohd_date, "ohd", labs),
            creatinine_umol_l=_lab(creatinine, creatinine_date, "creatinine", labs),
            dental_review_done=_tri(dental_review, "--dental-review"),
            known_dental_disease=_tri(dental_disease, "--dental-disease"),
            pregnancy_possible=_tri(pregnancy_possible, "--pregnancy-possible"),
            pregnancy_test=pregnancy_test,  # type: ignore[arg-type]
            bisphosphonate_allergy=_tri(allergy, "--allergy"),
            previous_acute_phase_reaction=_tri(previous_apr, "--previous-apr"),
            dehydrated=_tri(dehydrated, "--dehydrated"),
        )
        result = run_checklist(proto, inp, settings)
    except (ProtocolError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        _echo_json(result.to_dict())
    else:
        typer.echo(result.to_text())
    if result.decision == "hold":
        raise typer.Exit(1)


# ------------------------------------------------------------------------------------------------
# harms


def _read_csv(path: Path) -> list[dict[str, str]]:
    import csv

    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")


def harms_command(
    infusions: Annotated[
        Path, typer.Argument(help="CSV: patient_id,dose_number,date,protocol_id,dose_mg")
    ],
    harms: Annotated[
        Path,
        typer.Argument(
            help="CSV: patient_id,dose_number,type,grade,onset_days,relatedness[,description]"
        ),
    ],
    patient: Annotated[
        str | None, typer.Option("--patient", help="Summarise one patient only.")
    ] = None,
    method: Annotated[
        str, typer.Option("--method", help="CI method: wilson or clopper-pearson.")
    ] = "wilson",
    min_relatedness: Annotated[
        str, typer.Option("--min-relatedness", help="Count harms at least this related.")
    ] = "unrelated",
    by: Annotated[
        str, typer.Option("--by", help="Rates per 'dose' or per 'cycle' (needs a cycle column).")
    ] = "dose",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Summarise recorded harms: per patient, or across the clinic (first vs later doses)."""
    from pedbone.treatment import Harm, HarmLog, HarmType, Infusion, Relatedness

    if method not in ("wilson", "clopper-pearson"):
        _fail("--method must be wilson or clopper-pearson")
    meth: Literal["wilson", "clopper-pearson"] = (
        "wilson" if method == "wilson" else "clopper-pearson"
    )
    if by not in ("dose", "cycle"):
        _fail("--by must be dose or cycle")
    unit: Literal["dose", "cycle"] = "dose" if by == "dose" else "cycle"
    try:
        rel = Relatedness(min_relatedness)
    except ValueError:
        _fail(f"--min-relatedness must be one of {', '.join(r.value for r in Relatedness)}")
    log = HarmLog()
    for n, row in enumerate(_read_csv(infusions), start=2):
        try:
            log.add_infusion(
                Infusion(
                    patient_id=row["patient_id"],
                    dose_number=int(row["dose_number"]),
                    date=date.fromisoformat(row["date"]),
                    protocol_id=row["protocol_id"],
                    dose_mg=float(row["dose_mg"]),
                    cycle=int(row["cycle"]) if (row.get("cycle") or "").strip() else None,
                )
            )
        except KeyError as exc:
            _fail(f"{infusions}: missing column {exc}")
        except (ValueError, TypeError) as exc:
            _fail(f"{infusions} line {n}: {exc}")
    for n, row in enumerate(_read_csv(harms), start=2):
        try:
            log.add_harm(
                Harm(
                    patient_id=row["patient_id"],
                    dose_number=int(row["dose_number"]),
                    type=row["type"],  # type: ignore[arg-type]  # checked by Harm
                    grade=int(row["grade"]),
                    onset_days=float(row["onset_days"]),
                    relatedness=row["relatedness"],  # type: ignore[arg-type]  # checked by Harm
                    description=row.get("description") or "",
                )
            )
        except KeyError as exc:
            _fail(f"{harms}: missing column {exc}")
        except (ValueError, TypeError) as exc:
            _fail(f"{harms} line {n}: {exc}")
    if patient is not None:
        summary = log.patient_summary(patient, min_relatedness=rel)
        if summary["doses"] == 0:
            _fail(f"no doses recorded for patient {patient!r}")
        if as_json:
            _echo_json(summary)
            return
        typer.echo(
            f"Patient {patient}: {summary['doses']} doses, {summary['cumulative_mg']:g} mg, "
            f"{summary['harms']} harms"
        )
        for t, info in summary["by_type"].items():
            typer.echo(
                f"  {t}: {info['count']} (worst CTCAE grade {info['worst_grade']}, median onset "
                f"{info['median_onset_days']:g} days; {info['after_first_dose']} after dose 1)"
            )
        return
    try:
        summary = log.clinic_summary(method=meth, min_relatedness=rel, unit=unit)
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        _echo_json(summary)
        return
    typer.echo(
        f"{summary['patients']} patients, {summary['doses']} doses "
        f"({summary['first_doses']} first doses), {summary['harms']} harms"
    )
    for t in HarmType:
        rates = log.rate_by_dose(t, method=meth, min_relatedness=rel, unit=unit)
        first, later = rates["first"], rates["later"]
        typer.echo(f"  {t.value}:")
        typer.echo(f"    first {unit}: {first if first is not None else 'none'}")
        typer.echo(f"    later {unit}s: {later if later is not None else 'none'}")


# ------------------------------------------------------------------------------------------------
# supplements


def supplements_command(
    age_years: Annotated[float, typer.Option("--age-years", help="Age in years.")],
    ohd: Annotated[float | None, typer.Option("--ohd", help="25-OH vitamin D level.")] = None,
    ohd_unit: Annotated[str, typer.Option("--ohd-unit", help="nmol/L or ng/mL.")] = "nmol/L",
    body: Annotated[str, typer.Option("--body", help="Intake tables: iom or efsa.")] = "iom",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Calcium and vitamin D for a child on (or starting) a bisphosphonate, from the sources."""
    from pedbone.treatment import supplementation_plan

    if body not in ("iom", "efsa"):
        _fail("--body must be iom or efsa")
    try:
        sp = supplementation_plan(age_years, ohd, ohd_unit, body="iom" if body == "iom" else "efsa")
    except ValueError as exc:
        _fail(str(exc))
    d = sp.to_dict()
    if as_json:
        _echo_json(d)
        return
    for line in sp.lines():
        typer.echo(line)
    typer.echo(d["intended_use"])
