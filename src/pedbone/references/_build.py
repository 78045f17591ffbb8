"""Build a reference pack from healthy-control data: read, check, fit LMS curves, write.

``build_reference`` reads a CSV of measurements (one row per measurement: sex, age, value,
optionally a population group), refuses bad rows with their line numbers (or, on request,
leaves them out and says so in the provenance), fits L(t), M(t), S(t) per sex (and group) with
:func:`pedbone.references.fit_lms`, tabulates the curves monthly and writes a pack in the
``pedbone-reference-pack/1`` format with its provenance. :mod:`._fit_report` writes the
diagnostics report.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from pedbone._version import __version__
from pedbone.references._engine import sex_codes
from pedbone.references._fit import FitError, LMSFit, centile_shares, fit_lms, q_statistics
from pedbone.references._pack import FORMAT, expected_unit, parse_pack

__all__ = ["BuildError", "BuildResult", "Segment", "build_reference", "read_measurements"]

F64 = NDArray[np.float64]
#: Software rule [PEDBONE_FIT]: ages outside 0-100 years are refused as data errors.
AGE_LIMITS_YEARS = (0.0, 100.0)
#: Centiles tabulated in the diagnostics (nominal %).
CENTILES = (3.0, 10.0, 25.0, 50.0, 75.0, 90.0, 97.0)
_MISSING = ("", "na", "n/a", "nan", "null", "none", ".")


class BuildError(ValueError):
    """The data cannot be built into a reference; ``problems`` lists (line, reason)."""

    def __init__(self, message: str, problems: Sequence[tuple[int | None, str]] = ()) -> None:
        self.problems = list(problems)
        shown = "".join(
            f"\n  line {line}: {reason}" if line else f"\n  {reason}"
            for line, reason in self.problems[:20]
        )
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(message + shown + more)


@dataclass(frozen=True, slots=True)
class Segment:
    """The measurements of one sex (and group), with their input line numbers."""

    sex: str  # M | F
    group: str  # "" without groups
    age: F64
    value: F64
    lines: NDArray[np.int64]

    @property
    def label(self) -> str:
        return f"{self.sex}/{self.group}" if self.group else self.sex


@dataclass(frozen=True, slots=True)
class Measurements:
    """What :func:`read_measurements` found."""

    segments: tuple[Segment, ...]
    rows_read: int
    excluded: Mapping[str, int]
    problems: tuple[tuple[int, str], ...]
    sha256: str
    columns: Mapping[str, str]


def read_measurements(
    path: Path,
    *,
    value_column: str,
    age_column: str = "age_years",
    sex_column: str = "sex",
    group_column: str | None = None,
    sep: str | None = None,
) -> Measurements:
    """Read the measurement CSV; every bad row is reported as (line, reason)."""
    raw = path.read_bytes()
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BuildError(f"{path.name}: not UTF-8 text ({exc})") from None
    delimiter = sep or ("\t" if path.suffix.lower() in (".tsv", ".tab") else ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise BuildError(f"{path.name}: the file is empty") from None
    except csv.Error as exc:
        raise BuildError(f"{path.name}: line 1: {exc}") from None
    header = [h.strip() for h in header]
    wanted = {"sex": sex_column, "age": age_column, "value": value_column}
    if group_column:
        wanted["group"] = group_column
    missing = [name for name in wanted.values() if name not in header]
    if missing:
        raise BuildError(
            f"{path.name}: line 1: no column {', '.join(map(repr, missing))} "
            f"(columns: {', '.join(header)})"
        )
    pos = {role: header.index(name) for role, name in wanted.items()}
    problems: list[tuple[int, str]] = []
    rows: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
    excluded: Counter[str] = Counter()
    n_read = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise BuildError(f"{path.name}: line {reader.line_num}: {exc}") from None
        line = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        n_read += 1
        if len(cells) != len(header):
            problems.append((line, f"{len(cells)} fields, the header has {len(header)}"))
            excluded["wrong number of fields"] += 1
            continue
        reasons = []
        sex_text = cells[pos["sex"]].strip()
        code = int(sex_codes(np.asarray([sex_text], dtype=object))[0])
        if code < 0:
            reasons.append(f"{sex_column} {sex_text!r} is not M/F (or 1/2)")
        age = _number(cells[pos["age"]])
        if age is None:
            reasons.append(f"{age_column} {cells[pos['age']].strip()!r} is not a number")
        elif not AGE_LIMITS_YEARS[0] <= age <= AGE_LIMITS_YEARS[1]:
            reasons.append(f"{age_column} {age:g} is outside 0-100 years")
        value = _number(cells[pos["value"]])
        if value is None:
            reasons.append(f"{value_column} {cells[pos['value']].strip()!r} is not a number")
        elif value <= 0:
            reasons.append(f"{value_column} {value:g} is not positive")
        group = cells[pos["group"]].strip().lower() if "group" in pos else ""
        if "group" in pos and not re.fullmatch(r"[a-z][a-z0-9_]*", group):
            reasons.append(
                f"{group_column} {cells[pos['group']].strip()!r} is not a name of letters, "
                "digits and _"
            )
        if reasons:
            problems.append((line, "; ".join(reasons)))
            for r in reasons:
                excluded[r.split(" ", 1)[0] + " " + r.rsplit(" is ", 1)[-1]] += 1
            continue
        assert age is not None
        assert value is not None
        sex = "M" if code == 0 else "F"
        rows.setdefault((sex, group), []).append((age, value, line))
    segments = []
    for (sex, group), items in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0] != "M")):
        arr = np.asarray(items, dtype=np.float64)
        segments.append(
            Segment(sex, group, arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].astype(np.int64))
        )
    return Measurements(
        tuple(segments), n_read, dict(excluded), tuple(problems), digest, dict(wanted)
    )


def _number(cell: str) -> float | None:
    text = cell.strip()
    if text.lower() in _MISSING:
        return None
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


@dataclass(frozen=True, slots=True)
class BuildResult:
    """The built pack: folder, fits, data and everything the diagnostics report needs."""

    folder: Path
    pack_id: str
    measure: str
    fits: Mapping[str, LMSFit]
    segments: Mapping[str, Segment]
    provenance: Mapping[str, Any]
    warnings: tuple[str, ...] = field(default=())
    unit: str = ""
    """The measure's unit; the data are read in it (e.g. aBMD in g/cm2, not mg/cm2)."""


def _age_bands(age: F64) -> dict[str, int]:
    lo, hi = math.floor(age.min()), math.floor(age.max())
    counts = np.bincount(np.floor(age).astype(int) - lo, minlength=hi - lo + 1)
    return {f"{lo + i}-<{lo + i + 1}": int(c) for i, c in enumerate(counts)}


def build_reference(
    data: Path | str,
    output: Path | str,
    *,
    measure: str,
    pack_id: str,
    population: str,
    title: str | None = None,
    value_column: str | None = None,
    age_column: str = "age_years",
    sex_column: str = "sex",
    group_column: str | None = None,
    sep: str | None = None,
    description: str = "",
    citation: str | None = None,
    licence: str = "local use only (data owner's terms)",
    manufacturer: str | None = None,
    scanner: str | None = None,
    synthetic: bool = False,
    edf: Sequence[float] | None = None,
    gaic_k: float | None = 3.0,
    segments: int = 20,
    skip_invalid: bool = False,
    overwrite: bool = False,
) -> BuildResult:
    """Fit LMS curves per sex (and group) to the data and write a reference pack folder.

    Bad rows stop the build with every (line, reason), unless ``skip_invalid`` (then they are
    left out and counted in the provenance). Each sex (and group) needs at least
    :data:`pedbone.references._fit.MIN_OBSERVATIONS` measurements. The folder gets
    ``pack.yaml`` (with a ``provenance`` block), ``table.csv`` (monthly L, M, S, cubic
    Lagrange interpolation) and ``PROVENANCE.md``; nothing is written if anything fails.
    """
    data, output = Path(data), Path(output)
    unit = expected_unit(measure)
    if unit is None:
        raise BuildError(
            f"unknown measure id {measure!r} (growth: height, weight, bmi, head_circumference;"
            " DXA: <site>_<abmd|bmc|bmad|area|lean_mass|fat_mass>, e.g. spine_abmd)"
        )
    if not re.fullmatch(r"[a-z][a-z0-9_]*", pack_id):
        raise BuildError(f"pack id {pack_id!r}: use lower-case letters, digits and _")
    if not population.strip():
        raise BuildError("describe the population the data come from (--population)")
    if output.exists() and not overwrite:
        raise FileExistsError(f"{output} exists; pass --overwrite to replace it")
    if not data.is_file():
        raise FileNotFoundError(f"no such data file: {data}")
    found = read_measurements(
        data,
        value_column=value_column or measure,
        age_column=age_column,
        sex_column=sex_column,
        group_column=group_column,
        sep=sep,
    )
    if found.problems and not skip_invalid:
        raise BuildError(
            f"{data.name}: {len(found.problems)} row(s) cannot be used (fix them, or pass "
            "--skip-invalid to leave them out, counted in the provenance)",
            found.problems,
        )
    by_label = {s.label: s for s in found.segments}
    groups = sorted({s.group for s in found.segments})
    missing = [
        f"{sex}/{g}" if g else sex
        for g in groups
        for sex in ("M", "F")
        if (f"{sex}/{g}" if g else sex) not in by_label
    ]
    if missing or not found.segments:
        raise BuildError(
            f"{data.name}: a pack needs both sexes"
            + (" in every group" if group_column else "")
            + f"; no usable rows for {', '.join(missing) or 'M, F'}"
        )
    fits: dict[str, LMSFit] = {}
    for seg in found.segments:
        try:
            fits[seg.label] = fit_lms(seg.age, seg.value, edf=edf, gaic_k=gaic_k, segments=segments)
        except FitError as exc:
            raise BuildError(f"{seg.label}: {exc}") from None
    # one coverage for the measure: the age range every sex (and group) covers, in months
    lo_m = max(math.ceil(f.age_min * 12 - 1e-9) for f in fits.values())
    hi_m = min(math.floor(f.age_max * 12 + 1e-9) for f in fits.values())
    if hi_m - lo_m < 3:
        raise BuildError("the sexes (groups) share less than 3 months of age; nothing to tabulate")
    ages_m = np.arange(lo_m, hi_m + 1, dtype=np.float64)
    lines = ["measure,sex,group,age,L,M,S"]
    for seg in found.segments:
        L, M, S = fits[seg.label].lms(ages_m / 12.0)
        for a, lv, mv, sv in zip(ages_m, L, M, S, strict=True):
            lines.append(f"{measure},{seg.sex},{seg.group},{a:g},{lv:.9g},{mv:.9g},{sv:.9g}")
    table = ("\n".join(lines) + "\n").encode()
    warnings: list[str] = []
    diag: dict[str, Any] = {}
    for seg in found.segments:
        fit = fits[seg.label]
        z = fit.zscore(seg.age, seg.value)
        q = q_statistics(seg.age, z, fit)
        far = int(np.sum(np.abs(z) > 4))
        diag[seg.label] = {
            "q_p_values": dict(
                zip(("Q1", "Q2", "Q3", "Q4"), (round(p, 4) for p in q.p), strict=True)
            ),
            "groups_with_abs_z_over_2": int(np.sum(np.nanmax(np.abs(q.z), axis=1) > 2)),
            "observed_percent_below": {
                f"P{c:g}": round(o, 2) for c, o in centile_shares(z, CENTILES)
            },
            "measurements_with_abs_z_over_4": far,
        }
        if min(q.p) < 0.05:
            worst = ("Q1 (median)", "Q2 (spread)", "Q3 (skewness)", "Q4 (kurtosis)")[
                int(np.argmin(q.p))
            ]
            warnings.append(
                f"{seg.label}: Q statistics reject the fit (p < 0.05, {worst}); read the "
                "diagnostics before using this reference"
            )
        if far:
            warnings.append(
                f"{seg.label}: {far} measurement(s) with |Z| > 4 under the fit; check them for "
                "data errors (lines listed in the diagnostics)"
            )
        if seg.age.size < 200:
            warnings.append(
                f"{seg.label}: only {seg.age.size} measurements; centiles beyond P10-P90 are "
                "poorly determined"
            )
    today = dt.datetime.now(dt.UTC).date().isoformat()
    provenance: dict[str, Any] = {
        "built_with": f"pedbone {__version__} (pedbone refs build)",
        "built_on": today,
        "data": {
            "file": data.name,
            "sha256": found.sha256,
            "description": description or "(none given)",
            "columns": found.columns,
            "rows_read": found.rows_read,
            "rows_used": int(sum(s.age.size for s in found.segments)),
            "rows_excluded": dict(found.excluded),
        },
        "n": {
            s.label: {"total": int(s.age.size), "by_age_band_years": _age_bands(s.age)}
            for s in found.segments
        },
        "fit": {label: f.settings() for label, f in fits.items()},
        "table": "L, M, S of the fitted curves at every month of age covered by all sexes"
        + (" and groups" if group_column else ""),
        "diagnostics": diag,
        "warnings": warnings,
    }
    title = title or f"{measure} reference built from {data.name} (pedbone refs build)"
    info: dict[str, Any] = {
        "title": f"{measure} (built)",
        "unit": unit,
        "age_min": float(lo_m),
        "age_max": float(hi_m),
        "age_max_inclusive": True,
        "interpolation": "lagrange4",
        "interpolation_source": "monthly table of smooth fitted curves; cubic Lagrange "
        "interpolation (LMSgrowth [PANCOLE_LMSGROWTH])",
        "restricted_tails": False,
    }
    doc: dict[str, Any] = {
        "format": FORMAT,
        "id": pack_id,
        "title": title,
        "citation": {
            "key": None,
            "text": citation
            or f"Local reference built with pedbone refs build on {today} from {data.name} "
            f"({found.sha256[:19]}...); not published",
            "doi": None,
        },
        "licence": licence,
        "population": population,
        "manufacturer": manufacturer,
        "scanner": scanner,
        "notes": "Built by the LMS method (Cole & Green 1992 [COLE1992]) from local data; see "
        "provenance and the diagnostics report before clinical use.",
        "distribution": "LMS",
        "sex_coding": {"male": "M", "female": "F"},
        "groups": groups if group_column else [],
        "age_unit": "months",
        "table": "table.csv",
        "rows": len(lines) - 1,
        "checksum": "sha256:" + hashlib.sha256(table).hexdigest(),
        "synthetic": bool(synthetic),
        "measures": {measure: info},
        "provenance": provenance,
    }
    meta_text = (
        f"# pedbone reference pack {pack_id!r} - built by pedbone refs build from {data.name}"
        " (see provenance). Rebuild rather than edit by hand.\n"
        + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    )
    files = {
        "pack.yaml": meta_text.encode(),
        "table.csv": table,
        "PROVENANCE.md": _provenance_md(doc).encode(),
    }
    parse_pack(lambda name: files[name], f"built pack {pack_id!r}")  # the format's own checks
    _write_folder(output, files, overwrite=overwrite)
    return BuildResult(
        folder=output,
        pack_id=pack_id,
        measure=measure,
        fits=fits,
        segments=by_label,
        provenance=provenance,
        warnings=tuple(warnings),
        unit=unit,
    )


def _write_folder(output: Path, files: Mapping[str, bytes], *, overwrite: bool) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    try:
        for name, content in files.items():
            (tmp / name).write_bytes(content)
        if output.exists():
            if not overwrite:
                raise FileExistsError(f"{output} exists; pass --overwrite to replace it")
            old = Path(
                tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".old", dir=output.parent)
            )
            os.replace(output, old / "previous")
            os.replace(tmp, output)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _provenance_md(doc: Mapping[str, Any]) -> str:
    prov = doc["provenance"]
    data = prov["data"]
    out = [
        f"# {doc['id']}: provenance",
        "",
        f"Built with {prov['built_with']} on {prov['built_on']} by the LMS method "
        "(Cole & Green 1992, penalised likelihood).",
        "",
        "## Data",
        "",
        f"- file: `{data['file']}` ({data['sha256']})",
        f"- description: {data['description']}",
        f"- population: {doc['population']}",
        f"- rows read {data['rows_read']}, used {data['rows_used']}",
    ]
    for reason, count in data["rows_excluded"].items():
        out.append(f"  - excluded {count}: {reason}")
    out += ["", "## Measurements by sex and age band (years)", ""]
    for label, n in prov["n"].items():
        bands = ", ".join(f"{k}: {v}" for k, v in n["by_age_band_years"].items())
        out.append(f"- {label}: {n['total']} ({bands})")
    out += ["", "## Fit", ""]
    for label, fit in prov["fit"].items():
        edf = fit["edf"]
        out.append(
            f"- {label}: {fit['smoothness']}; edf L {edf['L']}, M {edf['M']}, S {edf['S']}; "
            f"log-likelihood {fit['loglik']}, GAIC {fit['gaic']} (k = {fit['gaic_k']})"
        )
    out += ["", "## Diagnostics", ""]
    for label, d in prov["diagnostics"].items():
        q = ", ".join(f"{k} p = {v}" for k, v in d["q_p_values"].items())
        below = ", ".join(f"{k}: {v}%" for k, v in d["observed_percent_below"].items())
        out.append(f"- {label}: {q}; observed below the fitted centiles: {below}")
    if prov["warnings"]:
        out += ["", "## Warnings", ""] + [f"- {w}" for w in prov["warnings"]]
    return "\n".join(out) + "\n"
