"""``pedbone meta``: meta-analysis of a CSV file with metafor's vocabulary.

Column options follow metafor's argument names (``--ai COL --bi COL ...``, ``--yi COL --vi
COL``, ``--m1i ...``); the command computes effect sizes (escalc), fits the model (rma,
rma_mh or rma_peto), prints the summary and the heterogeneity read-out, and optionally writes
forest and funnel plots, small-study-effect tests and a leave-one-out table.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import polars as pl

_HELP = (
    "Meta-analysis of a CSV file (one row per study), numbers as R metafor.\n\n"
    "Name the columns with metafor's argument names, e.g. two-group binary data "
    "[bold]--measure RR --ai tpos --bi tneg --ci cpos --di cneg[/], continuous data "
    "[bold]--measure SMD --m1i .. --sd1i .. --n1i .. --m2i .. --sd2i .. --n2i ..[/], or "
    "precomputed estimates [bold]--yi est --vi var[/] (or [bold]--sei se[/], or "
    "[bold]--ci-lb/--ci-ub[/]). Per-arm standard errors: [bold]--se1i/--se2i[/] (SD = SE·√n). "
    "With arm data and [bold]--yi[/] both given, a row without arm data uses its reported "
    "estimate (same scale). [bold]--where COL=VALUE[/] keeps matching rows; "
    "[bold]--mods '~ x + factor(g)'[/] fits a meta-regression.\n\n"
    "[bold]--method[/] is a tau² estimator (REML, DL, PM, ...), EE/FE, or MH / PETO for "
    "Mantel-Haenszel / Peto pooling of 2x2 tables. The summary is followed by a heterogeneity "
    "read-out that says whether pooling looks defensible; name clinical-diversity columns "
    "with [bold]--diversity[/] (repeatable).\n\n"
    "Bad input stops with the file, line and column (exit 2). See docs/evidence.md."
)

_COLUMN_ARGS = (
    "ai",
    "bi",
    "ci",
    "di",
    "n1i",
    "n2i",
    "m1i",
    "m2i",
    "sd1i",
    "sd2i",
    "se1i",
    "se2i",
    "xi",
    "mi",
    "ni",
    "ri",
    "yi",
    "vi",
    "sei",
    "ci_lb",
    "ci_ub",
)
_TABLE_ARGS = ("ai", "bi", "ci", "di", "n1i", "n2i")
_ARM_SE = {"se1i": ("sd1i", "n1i"), "se2i": ("sd2i", "n2i")}
_SINGLE_GROUP = ("MC", "SMCC", "SMCR", "SMCRH")
_REPORTED = ("yi", "vi", "sei", "ci_lb", "ci_ub")
_PI_TYPES = ("default", "riley", "t", "simple")
_MISSING = {"", "NA", "na", "NaN", "nan", "."}


class MetaInputError(Exception):
    """Bad command-line input; the message names the file, line and column."""


def register(app: typer.Typer) -> None:
    """Add ``meta`` to the root application."""
    app.command("meta", help=_HELP)(meta_command)


def _col_opt(name: str) -> Any:
    flag = "--" + name.replace("_", "-")
    return typer.Option(flag, metavar="COL", help=f"Column with metafor's '{name}'.")


def read_table(
    path: Path, numeric: dict[str, str], text: dict[str, str]
) -> tuple[pl.DataFrame, list[int]]:
    """Read ``path`` (CSV, or TSV by suffix) keeping the line number of every row.

    ``numeric``/``text`` map option names to column names. Returns a DataFrame with the
    numeric columns as Float64 (missing cells as null) and the text columns as strings, plus
    the file line of each row. Raises :class:`MetaInputError` naming the line and column.
    """
    import polars as pl

    if not path.exists():
        raise MetaInputError(f"{path}: file not found")
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as err:
        raise MetaInputError(f"{path}: cannot open ({err.strerror})") from None
    with handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise MetaInputError(f"{path}: the file is empty") from None
        except (csv.Error, UnicodeDecodeError) as err:
            raise MetaInputError(f"{path} line 1: {err}") from None
        header = [h.strip() for h in header]
        wanted = {**numeric, **text}
        for opt, col in wanted.items():
            if col not in header:
                raise MetaInputError(
                    f"{path}: column {col!r} (given to --{_option_name(opt)}) not found; "
                    f"columns are: {', '.join(header)}"
                )
        index = {c: header.index(c) for c in set(wanted.values())}
        values: dict[str, list[Any]] = {c: [] for c in index}
        lines: list[int] = []
        try:
            for row in reader:
                line = reader.line_num
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise MetaInputError(
                        f"{path} line {line}: expected {len(header)} fields, found {len(row)}"
                    )
                lines.append(line)
                for col, j in index.items():
                    cell = row[j].strip()
                    if col in numeric.values():
                        if cell in _MISSING:
                            values[col].append(None)
                            continue
                        try:
                            number = float(cell)
                        except ValueError:
                            raise MetaInputError(
                                f"{path} line {line}, column {col!r}: {cell!r} is not a number"
                            ) from None
                        if math.isinf(number):
                            raise MetaInputError(
                                f"{path} line {line}, column {col!r}: infinite value"
                            )
                        values[col].append(number)
                    else:
                        values[col].append(cell if cell not in _MISSING else None)
        except (csv.Error, UnicodeDecodeError) as err:
            raise MetaInputError(f"{path} line {reader.line_num}: {err}") from None
    if not lines:
        raise MetaInputError(f"{path}: no data rows")
    frame = pl.DataFrame(
        {
            c: pl.Series(c, v, dtype=pl.Float64 if c in numeric.values() else pl.String)
            for c, v in values.items()
        }
    )
    return frame, lines


def _clean(obj: Any) -> Any:
    """Make ``obj`` strict JSON: NaN/inf -> None, numpy scalars/arrays -> Python."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_clean(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _check_labels(frame: pl.DataFrame, col: str, lines: list[int], path: Path, opt: str) -> None:
    for value, line in zip(frame[col].to_list(), lines, strict=True):
        if value is None:
            raise MetaInputError(f"{path} line {line}, column {col!r} (--{opt}): empty value")


def meta_command(
    data_file: Annotated[
        Path, typer.Argument(metavar="DATA.csv", help="CSV (or .tsv) file, one row per study.")
    ],
    measure: Annotated[
        str | None,
        typer.Option(
            "--measure",
            help="Effect measure: RR, OR, RD, MD, SMD, ROM, MC, SMCC, SMCR, PR, PLN, PLO, PAS, "
            "PFT or GEN (default GEN with --yi).",
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            "--method", help="REML, DL, HE, HS, SJ, ML, EB, PM, EE/FE, or MH / PETO (2x2 data)."
        ),
    ] = "REML",
    test: Annotated[str, typer.Option("--test", help="z, knha (Hartung-Knapp), adhoc or t.")] = "z",
    level: Annotated[float, typer.Option("--level", help="Confidence level (%).")] = 95.0,
    ai: Annotated[str | None, _col_opt("ai")] = None,
    bi: Annotated[str | None, _col_opt("bi")] = None,
    ci: Annotated[str | None, _col_opt("ci")] = None,
    di: Annotated[str | None, _col_opt("di")] = None,
    n1i: Annotated[str | None, _col_opt("n1i")] = None,
    n2i: Annotated[str | None, _col_opt("n2i")] = None,
    m1i: Annotated[str | None, _col_opt("m1i")] = None,
    m2i: Annotated[str | None, _col_opt("m2i")] = None,
    sd1i: Annotated[str | None, _col_opt("sd1i")] = None,
    sd2i: Annotated[str | None, _col_opt("sd2i")] = None,
    se1i: Annotated[
        str | None,
        typer.Option(
            "--se1i", metavar="COL", help="Standard error of the mean, group 1 (SD = SE·√n)."
        ),
    ] = None,
    se2i: Annotated[
        str | None,
        typer.Option(
            "--se2i", metavar="COL", help="Standard error of the mean, group 2 (SD = SE·√n)."
        ),
    ] = None,
    xi: Annotated[str | None, _col_opt("xi")] = None,
    mi: Annotated[str | None, _col_opt("mi")] = None,
    ni: Annotated[str | None, _col_opt("ni")] = None,
    ri: Annotated[str | None, _col_opt("ri")] = None,
    yi: Annotated[str | None, _col_opt("yi")] = None,
    vi: Annotated[str | None, _col_opt("vi")] = None,
    sei: Annotated[str | None, _col_opt("sei")] = None,
    ci_lb: Annotated[str | None, _col_opt("ci_lb")] = None,
    ci_ub: Annotated[str | None, _col_opt("ci_ub")] = None,
    slab: Annotated[
        str | None, typer.Option("--slab", metavar="COL", help="Column with study labels.")
    ] = None,
    subgroup: Annotated[
        str | None,
        typer.Option("--subgroup", metavar="COL", help="Fit per subgroup and test differences."),
    ] = None,
    mods: Annotated[
        str | None,
        typer.Option(
            "--mods",
            metavar="FORMULA",
            help="Moderators as a model formula over the file's columns, e.g. "
            "'~ dose + factor(design)' (meta-regression).",
        ),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            metavar="COL=VALUE",
            help="Analyse only rows whose column COL equals VALUE; repeatable (all must hold).",
        ),
    ] = None,
    pi_type: Annotated[
        str,
        typer.Option(
            "--pi-type",
            help="Prediction interval: default (metafor's), riley (t on k-2 df, as the "
            "Cochrane Handbook), t (k-1 df) or simple (no SE).",
        ),
    ] = "default",
    diversity: Annotated[
        list[str] | None,
        typer.Option(
            "--diversity",
            metavar="COL",
            help="Column recording clinical diversity (population, drug, outcome, design, "
            "...); repeatable.",
        ),
    ] = None,
    add: Annotated[float, typer.Option("--add", help="Zero-cell correction.")] = 0.5,
    to: Annotated[str, typer.Option("--to", help="Add to: only0, all, if0all or none.")] = "only0",
    drop00: Annotated[
        bool | None,
        typer.Option(
            "--drop00/--keep00",
            help="Drop studies with no events in both arms (default: keep for escalc, drop "
            "for MH/PETO as metafor).",
        ),
    ] = None,
    forest_path: Annotated[
        Path | None,
        typer.Option("--forest", metavar="FILE", help="Write a forest plot (.svg/.png/.pdf)."),
    ] = None,
    funnel_path: Annotated[
        Path | None,
        typer.Option("--funnel", metavar="FILE", help="Write a contour-enhanced funnel plot."),
    ] = None,
    bias: Annotated[
        bool, typer.Option("--bias", help="Egger's regression test, Begg's test, trim and fill.")
    ] = False,
    leave_one_out: Annotated[
        bool, typer.Option("--leave1out", help="Add a leave-one-out table.")
    ] = False,
    cumul_col: Annotated[
        str | None,
        typer.Option(
            "--cumul",
            metavar="COL",
            help="Add a cumulative meta-analysis ordered by this column (e.g. year).",
        ),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Forest plot title.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Run a meta-analysis on DATA.csv."""
    cols = {
        "ai": ai,
        "bi": bi,
        "ci": ci,
        "di": di,
        "n1i": n1i,
        "n2i": n2i,
        "m1i": m1i,
        "m2i": m2i,
        "sd1i": sd1i,
        "sd2i": sd2i,
        "se1i": se1i,
        "se2i": se2i,
        "xi": xi,
        "mi": mi,
        "ni": ni,
        "ri": ri,
        "yi": yi,
        "vi": vi,
        "sei": sei,
        "ci_lb": ci_lb,
        "ci_ub": ci_ub,
    }
    numeric = {k: v for k, v in cols.items() if v is not None}
    text = {k: v for k, v in (("slab", slab), ("subgroup", subgroup)) if v is not None}
    for j, col in enumerate(diversity or []):
        text[f"diversity{j}"] = col
    if cumul_col is not None:
        text["cumul"] = cumul_col
    conditions: list[tuple[str, str]] = []
    for cond in where or []:
        col, sep, value = cond.partition("=")
        if not sep or not col.strip():
            typer.echo(f"error: --where {cond!r}: write COL=VALUE", err=True)
            raise typer.Exit(2)
        conditions.append((col.strip(), value.strip()))
    for j, (col, _) in enumerate(conditions):
        text[f"where{j}"] = col
    try:
        out = _run(
            data_file,
            numeric=numeric,
            text=text,
            measure=measure,
            method=method,
            test=test,
            level=level,
            slab=slab,
            subgroup=subgroup,
            diversity=list(diversity or []),
            add=add,
            to=to,
            drop00=drop00,
            forest_path=forest_path,
            funnel_path=funnel_path,
            bias=bias,
            leave_one_out=leave_one_out,
            cumul_col=cumul_col,
            title=title,
            mods=mods,
            where=conditions,
            pi_type=pi_type,
        )
    except MetaInputError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    except ValueError as err:  # EvidenceInputError and other bad-input errors of the engine
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(_clean(out["json"]), indent=2, ensure_ascii=False))
    else:
        typer.echo(out["text"])


def _run(
    path: Path,
    *,
    numeric: dict[str, str],
    text: dict[str, str],
    measure: str | None,
    method: str,
    test: str,
    level: float,
    slab: str | None,
    subgroup: str | None,
    diversity: list[str],
    add: float,
    to: str,
    drop00: bool | None,
    forest_path: Path | None,
    funnel_path: Path | None,
    bias: bool,
    leave_one_out: bool,
    cumul_col: str | None,
    title: str | None,
    mods: str | None = None,
    where: list[tuple[str, str]] | None = None,
    pi_type: str = "default",
) -> dict[str, Any]:
    import numpy as np

    from pedbone import evidence as ev

    method_u = method.upper()
    if not numeric:
        raise MetaInputError(
            "name the data columns, e.g. --ai/--bi/--ci/--di, --m1i/--sd1i/--n1i/..., "
            "or --yi with --vi (or --sei)"
        )
    for p in (forest_path, funnel_path):
        if p is not None and p.suffix.lower() not in (".svg", ".png", ".pdf"):
            raise MetaInputError(f"plot file {str(p)!r}: use a .svg, .png or .pdf suffix")
        if p is not None and not p.parent.exists():
            raise MetaInputError(f"plot file {str(p)!r}: folder {str(p.parent)!r} does not exist")
    if pi_type not in _PI_TYPES:
        raise MetaInputError(f"--pi-type must be one of {', '.join(_PI_TYPES)}, not {pi_type!r}")
    mod_cols: list[str] = []
    if mods is not None:
        if method_u in ("MH", "PETO"):
            raise MetaInputError(f"--mods is not available with --method {method_u}")
        if subgroup is not None:
            raise MetaInputError(
                "--mods and --subgroup together: put the subgroup in the formula instead, "
                "e.g. --mods '~ factor(group)'"
            )
        header = _header(path)
        mod_cols = [c for c in header if _mentions(mods, c)]
        if not mod_cols:
            raise MetaInputError(
                f"--mods {mods!r} names no column of {path} (columns: {', '.join(header)})"
            )
        text = {**text, **{f"mod{j}": c for j, c in enumerate(mod_cols)}}
    frame, lines = read_table(path, numeric, text)
    frame, lines = _filter_rows(frame, lines, where or [], path)
    frame = _arm_sd_from_se(frame, numeric, lines, path, measure)
    if slab is not None:
        _check_labels(frame, slab, lines, path, "slab")
    if subgroup is not None:
        _check_labels(frame, subgroup, lines, path, "subgroup")
    labels = (
        _make_unique([str(v) for v in frame[slab].to_list()])
        if slab is not None
        else [f"Study {i + 1}" for i in range(len(lines))]
    )
    if measure is None:
        if "yi" not in numeric:
            raise MetaInputError("--measure is required unless --yi is given")
        measure = "GEN"
    measure = measure.upper()
    kw: dict[str, Any] = dict(numeric)
    result: dict[str, Any] = {"file": str(path), "k_rows": len(lines)}
    texts: list[str] = []
    notes: list[str] = []

    if method_u in ("MH", "PETO"):
        extra = set(numeric) - set(_TABLE_ARGS)
        if extra:
            raise MetaInputError(
                f"--method {method_u} needs 2x2 table columns (--ai --bi --ci --di or "
                f"--ai --n1i --ci --n2i), not --{', --'.join(sorted(extra))}"
            )
        if subgroup is not None:
            raise MetaInputError(f"--subgroup is not available with --method {method_u}")
        mh_kw: dict[str, Any] = {k: frame[v].to_numpy() for k, v in numeric.items()}
        _check_counts(frame, numeric, lines, path)
        d00 = True if drop00 is None else drop00
        if method_u == "MH":
            if measure not in ("OR", "RR", "RD"):
                raise MetaInputError("--method MH needs --measure OR, RR or RD")
            fit: Any = ev.rma_mh(
                **mh_kw, measure=measure, slab=labels, add=add, to=to, drop00=d00, level=level
            )
        else:
            if measure not in ("OR", "PETO"):
                raise MetaInputError("--method PETO estimates the odds ratio: use --measure OR")
            fit = ev.rma_peto(**mh_kw, slab=labels, add=add, to=to, drop00=d00, level=level)
        plot_obj: Any = fit
        keep_idx = list(range(len(lines)))
    else:
        if measure in ("OR", "RR", "RD") or any(k in numeric for k in _TABLE_ARGS[:4]):
            _check_counts(frame, numeric, lines, path)
        yi_arr, vi_arr = _effect_sizes(
            ev,
            measure,
            kw,
            frame,
            add=add,
            to=to,
            drop00=bool(drop00),
            lines=lines,
            labels=labels,
            path=path,
            notes=notes,
        )
        bad = ~(np.isfinite(yi_arr) & np.isfinite(vi_arr))
        for i in np.flatnonzero(bad):
            notes.append(
                f"{path} line {lines[i]} ({labels[i]}): effect size not computable; study omitted"
            )
        fit = ev.rma(
            yi_arr,
            vi_arr,
            method=method,
            test=test,
            level=level,
            slab=labels,
            measure=measure,
            mods=mods,
            data=_moderator_frame(frame, mod_cols) if mods is not None else None,
        )
        plot_obj = fit
        keep_idx = [int(i) for i in np.flatnonzero(~bad)]
        if subgroup is not None:
            groups = frame[subgroup].to_list()
            try:
                sg = ev.subgroups(
                    yi_arr,
                    vi_arr,
                    subgroup=groups,
                    method=method,
                    test=test,
                    level=level,
                    slab=labels,
                    measure=measure,
                )
            except ValueError as err:  # e.g. fewer than 2 subgroups with a usable study
                result["subgroups"] = {"error": str(err)}
                texts += ["", "Subgroups", "---------", f"not computed: {err}"]
            else:
                plot_obj = sg
                result["subgroups"] = sg.to_dict()
                texts += ["", "Subgroups", "---------", sg.summary()]
    result["model"] = fit.to_dict()
    is_uni = isinstance(fit, ev.RMAResult)
    head = fit.summary(pi_type=pi_type) if is_uni else fit.summary()
    if is_uni and fit.p == 1 and fit.intercept:
        if fit.is_random and fit.k > 1:
            pred = fit.predict(pi_type=pi_type)
            result["model"]["pi_lb"] = float(pred.pi_lb[0])
            result["model"]["pi_ub"] = float(pred.pi_ub[0])
        result["model"]["pi_type"] = pi_type
    if measure in ev.RATIO_MEASURES and not isinstance(fit, ev.MHResult):
        e = math.exp
        head += (
            f"\n\nBack-transformed ({measure} scale): {e(fit.estimate):.4f} "
            f"[{e(fit.ci_lb):.4f}, {e(fit.ci_ub):.4f}]"
        )
        pi_lb, pi_ub = result["model"].get("pi_lb"), result["model"].get("pi_ub")
        if is_uni and pi_lb is not None and math.isfinite(pi_lb) and fit.k > 1:
            head += f"; prediction interval [{e(pi_lb):.4f}, {e(pi_ub):.4f}]"
        result["model"]["exp_estimate"] = e(fit.estimate)
        result["model"]["exp_ci_lb"] = e(fit.ci_lb)
        result["model"]["exp_ci_ub"] = e(fit.ci_ub)
    texts.insert(0, head)
    if notes:
        texts += ["", *notes]
        result["notes"] = notes

    # ---- heterogeneity read-out -------------------------------------------------------
    div_vals: dict[str, list[Any]] = {}
    if diversity:
        for col in diversity:
            vals = frame[col].to_list()
            div_vals[col] = [vals[i] for i in keep_idx]
    if mods is not None:
        texts += [
            "",
            "Heterogeneity read-out: not given for a meta-regression; QE above tests the "
            "residual heterogeneity.",
        ]
    else:
        readout = ev.heterogeneity_readout(fit, div_vals or None, pi_type=pi_type)
        result["heterogeneity"] = readout.to_dict()
        texts += ["", readout.summary()]
    if isinstance(plot_obj, ev.SubgroupResult):
        # within each subgroup (statistical rules only: diversity columns apply overall)
        by_group: dict[str, Any] = {}
        lines_sg = ["", "Within subgroups:"]
        for name, sub in plot_obj.fits.items():
            ro = ev.heterogeneity_readout(sub)
            by_group[name] = ro.to_dict()
            lines_sg.append(f"  {name}: {ro.headline}")
        result["heterogeneity_by_subgroup"] = by_group
        texts += lines_sg

    # ---- bias and sensitivity ---------------------------------------------------------
    if bias:
        bias_out: dict[str, Any] = {}
        bias_txt: list[str] = []
        for name, fn in (("regtest", ev.regtest), ("ranktest", ev.ranktest)):
            try:
                r = fn(fit)
                bias_out[name] = r.to_dict()
                bias_txt.append(r.summary())
            except ValueError as err:
                bias_out[name] = {"error": str(err)}
                bias_txt.append(f"{name}: not computed: {err}")
        if isinstance(fit, ev.RMAResult):
            try:
                tf = ev.trimfill(fit)
                bias_out["trimfill"] = tf.to_dict()["trimfill"] | {
                    "estimate": tf.estimate,
                    "ci_lb": tf.ci_lb,
                    "ci_ub": tf.ci_ub,
                }
                bias_txt.append(
                    f"Trim and fill ({tf.estimator}): {tf.k0} missing studies estimated on the "
                    f"{tf.side} side; adjusted estimate {tf.estimate:.4f} "
                    f"[{tf.ci_lb:.4f}, {tf.ci_ub:.4f}]"
                )
                if subgroup is None and tf.k0 > 0:
                    plot_obj_funnel: Any = tf
                else:
                    plot_obj_funnel = fit
            except ValueError as err:
                bias_out["trimfill"] = {"error": str(err)}
                bias_txt.append(f"trimfill: not computed: {err}")
                plot_obj_funnel = fit
        else:
            plot_obj_funnel = fit
        result["bias"] = bias_out
        texts += ["", "Small-study effects", "-------------------"]
        for block in bias_txt:
            texts += [block, ""]
    else:
        plot_obj_funnel = fit
    if leave_one_out:
        import polars as pl

        try:
            l1o = ev.leave1out(fit)
        except ValueError as err:  # e.g. k = 1: say so, keep the rest of the output
            result["leave1out"] = {"error": str(err)}
            texts += ["", f"Leave-one-out: not computed: {err}"]
        else:
            result["leave1out"] = l1o.to_dicts()
            with pl.Config(tbl_rows=-1, tbl_cols=-1, float_precision=4, tbl_width_chars=160):
                texts += ["", "Leave-one-out", "-------------", str(l1o)]

    if cumul_col is not None:
        raw = [frame[cumul_col].to_list()[i] for i in keep_idx]
        if any(v is None for v in raw):
            bad_line = lines[keep_idx[[v is None for v in raw].index(True)]]
            raise MetaInputError(f"{path} line {bad_line}, column {cumul_col!r}: empty value")
        try:  # numeric keys (years) sort as numbers, others as text
            keys: list[Any] = [float(v) for v in raw]
        except ValueError:
            keys = list(raw)
        try:
            cu = ev.cumul(fit, order=keys)
        except ValueError as err:  # e.g. a meta-regression: say so, keep the rest
            result["cumul"] = {"error": str(err)}
            texts += ["", f"Cumulative meta-analysis: not computed: {err}"]
        else:
            result["cumul"] = cu.to_dicts()
            import polars as pl

            with pl.Config(tbl_rows=-1, tbl_cols=-1, float_precision=4, tbl_width_chars=160):
                texts += ["", f"Cumulative meta-analysis (by {cumul_col})", "-" * 40, str(cu)]

    # ---- plots ------------------------------------------------------------------------
    plots: dict[str, str] = {}
    if forest_path is not None:
        ev.forest(plot_obj, path=forest_path, title=title, pi_type=pi_type)
        plots["forest"] = str(forest_path)
    if funnel_path is not None:
        ev.funnel(plot_obj_funnel, path=funnel_path)
        plots["funnel"] = str(funnel_path)
    if plots:
        result["plots"] = plots
        texts += ["", *(f"wrote {kind} plot: {p}" for kind, p in plots.items())]
    return {"json": result, "text": "\n".join(texts)}


def _make_unique(labels: list[str]) -> list[str]:
    """Number repeated study labels as metafor does (``.make.unique``: a.1, b, a.2)."""
    from pedbone.evidence import make_unique

    return make_unique(labels)


def _check_counts(
    frame: pl.DataFrame, numeric: dict[str, str], lines: list[int], path: Path
) -> None:
    for opt in _TABLE_ARGS:
        col = numeric.get(opt)
        if col is None:
            continue
        for value, line in zip(frame[col].to_list(), lines, strict=True):
            if value is not None and (value < 0 or value != int(value)):
                raise MetaInputError(
                    f"{path} line {line}, column {col!r} (--{opt}): {value:g} is not a count "
                    "(a non-negative whole number)"
                )


def _header(path: Path) -> list[str]:
    """The column names of ``path`` (first line), for options that name columns in a formula."""
    if not path.exists():
        raise MetaInputError(f"{path}: file not found")
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [h.strip() for h in next(csv.reader(handle, delimiter=delimiter), [])]
    except (OSError, csv.Error, UnicodeDecodeError) as err:
        raise MetaInputError(f"{path} line 1: {err}") from None


def _mentions(formula: str, column: str) -> bool:
    """Whether ``formula`` uses ``column`` (as a name or back-quoted)."""
    import re

    if f"`{column}`" in formula:
        return True
    return re.search(rf"(?<![\w.]){re.escape(column)}(?![\w.])", formula) is not None


def _filter_rows(
    frame: pl.DataFrame, lines: list[int], where: list[tuple[str, str]], path: Path
) -> tuple[pl.DataFrame, list[int]]:
    """Keep the rows where every ``COL=VALUE`` of ``--where`` holds (text comparison)."""
    if not where:
        return frame, lines
    import polars as pl

    mask = pl.Series([True] * frame.height)
    for col, value in where:
        mask = mask & (frame[col].fill_null("") == value)
    if not mask.any():
        detail = " and ".join(f"{c} = {v!r}" for c, v in where)
        raise MetaInputError(f"{path}: no row has {detail}")
    keep = mask.to_list()
    return frame.filter(mask), [ln for ln, k in zip(lines, keep, strict=True) if k]


def _arm_sd_from_se(
    frame: pl.DataFrame, numeric: dict[str, str], lines: list[int], path: Path, measure: str | None
) -> pl.DataFrame:
    """Per-arm SD = SE·√n for ``--se1i``/``--se2i`` (an SD given in the same row wins)."""
    import numpy as np
    import polars as pl

    single = (measure or "").upper() in _SINGLE_GROUP
    for se_opt, (sd_opt, n_opt) in _ARM_SE.items():
        se_col = numeric.pop(se_opt, None)
        if se_col is None:
            continue
        n_key = "ni" if single else n_opt
        n_col = numeric.get(n_key)
        if n_col is None:
            raise MetaInputError(f"--{se_opt} needs the group size --{n_key} (SD = SE·√n)")
        se = frame[se_col].to_numpy().astype(float)
        n = frame[n_col].to_numpy().astype(float)
        for i in np.flatnonzero(np.isfinite(se) & (se < 0)):
            raise MetaInputError(
                f"{path} line {lines[i]}, column {se_col!r} (--{se_opt}): a standard error "
                "cannot be negative"
            )
        sd = se * np.sqrt(n)
        if sd_opt in numeric:
            given = frame[numeric[sd_opt]].to_numpy().astype(float)
            sd = np.where(np.isfinite(given), given, sd)
        name = f"_{sd_opt}_from_{se_opt}"
        frame = frame.with_columns(pl.Series(name, sd, dtype=pl.Float64))
        numeric[sd_opt] = name
    return frame


def _effect_sizes(
    ev: Any,
    measure: str,
    kw: dict[str, Any],
    frame: pl.DataFrame,
    *,
    add: float,
    to: str,
    drop00: bool,
    lines: list[int],
    labels: list[str],
    path: Path,
    notes: list[str],
) -> tuple[Any, Any]:
    """yi and vi: from the arm data (escalc of ``measure``) and, for rows without arm data,
    from the reported estimate (``--yi`` with ``--vi``/``--sei``/``--ci-lb``/``--ci-ub``)."""
    import numpy as np

    kw = {k: v for k, v in kw.items() if k not in _ARM_SE}
    reported = {k: v for k, v in kw.items() if k in _REPORTED}
    arm = {k: v for k, v in kw.items() if k not in _REPORTED}
    if measure == "GEN" or not arm:
        es = ev.escalc(measure, **kw, data=frame, add=add, to=to, drop00=drop00)
        return es.yi, es.vi
    if reported and "yi" not in reported:
        raise MetaInputError(
            f"--{', --'.join(k.replace('_', '-') for k in reported)} without --yi: give the "
            "reported estimate too, or leave these options out"
        )
    es = ev.escalc(measure, **arm, data=frame, add=add, to=to, drop00=drop00)
    yi, vi = es.yi.copy(), es.vi.copy()
    if reported:
        gen = ev.escalc("GEN", **reported, data=frame)
        use = ~(np.isfinite(yi) & np.isfinite(vi)) & np.isfinite(gen.yi) & np.isfinite(gen.vi)
        for i in np.flatnonzero(use):
            notes.append(
                f"{path} line {lines[i]} ({labels[i]}): no arm data; the reported estimate "
                f"(--yi {reported['yi']}) is used, taken to be on the {measure} scale"
            )
        yi = np.where(use, gen.yi, yi)
        vi = np.where(use, gen.vi, vi)
    return yi, vi


def _moderator_frame(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The moderator columns: numeric where every value is a number, text otherwise."""
    import polars as pl

    out = []
    for c in columns:
        s = frame[c]
        numbers = s.cast(pl.Float64, strict=False)
        if numbers.null_count() == s.null_count():
            out.append(numbers.alias(c))
        else:
            out.append(s.alias(c))
    return pl.DataFrame(out)


def _option_name(key: str) -> str:
    """The option behind a column key (``where0`` -> ``where``, ``mod1`` -> ``mods``)."""
    import re

    base = re.sub(r"\d+$", "", key)
    return {"mod": "mods"}.get(base, base).replace("_", "-")
