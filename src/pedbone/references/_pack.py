"""The reference-pack format: metadata (``pack.yaml``) plus an LMS table (``table.csv``).

Reading and validation report *every* problem at once, each with its file and line.
The format is documented in ``docs/reference-packs.md``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Protocol

import numpy as np
import yaml
from numpy.typing import NDArray

__all__ = [
    "AGE_UNITS",
    "FORMAT",
    "INTERPOLATIONS",
    "HazEquation",
    "MeasureInfo",
    "PackError",
    "PackMeta",
    "PackTables",
    "Problem",
    "parse_pack",
]

FORMAT = "pedbone-reference-pack/1"
HEADER = ("measure", "sex", "group", "age", "L", "M", "S")
#: table age unit -> how many of that unit make one year (days: 365.25, WHO anthro's convention)
AGE_UNITS: dict[str, float] = {"years": 1.0, "months": 12.0, "days": 365.25}
INTERPOLATIONS: dict[str, str] = {
    "nearest_round_half_up": "table row at the age rounded half up (WHO anthro, daily tables)",
    "linear": "linear interpolation of L, M and S between neighbouring table ages",
    "lagrange4": "cubic Lagrange interpolation through the four nearest table ages (LMSgrowth)",
}
GROWTH_UNITS: dict[str, str] = {
    "height": "cm",
    "weight": "kg",
    "bmi": "kg/m2",
    "head_circumference": "cm",
}
DXA_UNITS: dict[str, str] = {
    "abmd": "g/cm2",
    "bmc": "g",
    "bmad": "g/cm3",
    "area": "cm2",
    "lean_mass": "kg",
    "fat_mass": "kg",
}
_DXA_ID = re.compile(r"^([a-z][a-z0-9]*(?:_[a-z0-9]+)*?)_(abmd|bmc|bmad|area|lean_mass|fat_mass)$")
_TERM = re.compile(r"^(haz|age)(\^[1-9])?$")


def expected_unit(measure: str) -> str | None:
    """The unit a measure id must use, or None if the id is not a known measure."""
    if measure in GROWTH_UNITS:
        return GROWTH_UNITS[measure]
    m = _DXA_ID.match(measure)
    return DXA_UNITS[m.group(2)] if m else None


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a pack, with the file and (1-based) line it was found on."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class PackError(ValueError):
    """A pack could not be read; ``problems`` lists everything that is wrong."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n  ".join(str(p) for p in problems)
        super().__init__(f"invalid reference pack {source} ({len(problems)} problems):\n  {lines}")


@dataclass(frozen=True, slots=True)
class MeasureInfo:
    """Metadata of one measure in a pack (coverage is in the table's age unit)."""

    id: str
    title: str
    unit: str
    age_min: float
    age_max: float
    age_max_inclusive: bool
    interpolation: str
    interpolation_source: str
    restricted_tails: bool
    site: str | None
    quantity: str


@dataclass(frozen=True, slots=True)
class HazEquation:
    """One HAZ-adjustment equation (Zemel 2010 method [S11]): a linear predictor of the
    unadjusted Z from HAZ and age in years; adjusted Z = (Z - prediction) / residual_sd."""

    measure: str
    sex: str
    group: str | None
    terms: tuple[tuple[str, float], ...]
    residual_sd: float
    age_min: float = -math.inf  # years; the equation applies to age_min <= age < age_max
    age_max: float = math.inf

    def predict(
        self, haz: NDArray[np.float64], age_years: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Sum of coefficient x term over the equation's terms."""
        out = np.zeros(np.broadcast(haz, age_years).shape)
        for term, coef in self.terms:
            if term == "intercept":
                out = out + coef
                continue
            prod: NDArray[np.float64] | float = 1.0
            for factor in term.split("*"):
                name, _, power = factor.partition("^")
                base = haz if name == "haz" else age_years
                prod = prod * (base ** int(power) if power else base)
            out = out + coef * prod
        return out


@dataclass(frozen=True, slots=True)
class PackMeta:
    """Everything in ``pack.yaml`` that the engine uses, plus the raw mapping."""

    id: str
    title: str
    citation: Mapping[str, Any]
    licence: str
    population: str
    scanner: str | None
    manufacturer: str | None
    sex_coding: Mapping[str, str]
    groups: tuple[str, ...]
    age_unit: str
    table: str
    checksum: str
    synthetic: bool
    measures: Mapping[str, MeasureInfo]
    haz_reference: str | None
    haz_source: str | None
    haz_equations: tuple[HazEquation, ...]
    raw: Mapping[str, Any] = field(repr=False)
    lines: Mapping[tuple[str, ...], int] = field(default_factory=dict, repr=False)

    @property
    def years_to_table(self) -> float:
        """Multiply an age in years by this to get the table's age unit."""
        return AGE_UNITS[self.age_unit]


Segment = tuple[str, str, str]  # measure, sex (M/F), group ("" if none)


@dataclass(frozen=True, slots=True)
class PackTables:
    """The LMS rows by (measure, sex, group); arrays sorted by age (validated)."""

    rows: Mapping[Segment, NDArray[np.float64]]  # shape (n, 4): age, L, M, S


class _Reader(Protocol):
    def __call__(self, name: str) -> bytes: ...


def _yaml_lines(text: str) -> dict[tuple[str, ...], int]:
    """Line numbers (1-based) of mapping keys, by key path, up to three levels deep."""
    out: dict[tuple[str, ...], int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return out

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode) and len(path) < 3:
            for k, v in node.value:
                key = (*path, str(k.value))
                out[key] = k.start_mark.line + 1
                walk(v, key)

    walk(root, ())
    return out


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def _parse_meta(
    text: str, fname: str, problems: list[Problem]
) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    lines = _yaml_lines(text)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.append(Problem(fname, mark.line + 1 if mark else None, f"not valid YAML: {exc}"))
        return {}, lines
    if not isinstance(raw, dict):
        problems.append(Problem(fname, 1, "pack.yaml must be a mapping of fields"))
        return {}, lines
    return raw, lines


def _check_meta(
    raw: dict[str, Any], lines: dict[tuple[str, ...], int], fname: str, problems: list[Problem]
) -> PackMeta:
    # Problems are collected, never raised here: the table is still checked against whatever
    # parsed, so that one run reports everything.
    def where(*path: str) -> int | None:
        return lines.get(path) or (lines.get(path[:1]) if path else None)

    def need_str(key: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(Problem(fname, where(key), f"field '{key}' is required (text)"))
            return ""
        return value

    if raw.get("format") != FORMAT:
        problems.append(Problem(fname, where("format"), f"field 'format' must be '{FORMAT}'"))
    pack_id = need_str("id")
    if pack_id and not re.fullmatch(r"[a-z][a-z0-9_]*", pack_id):
        problems.append(
            Problem(fname, where("id"), f"id {pack_id!r}: use lower-case letters, digits, _")
        )
    title = need_str("title")
    licence = need_str("licence")
    population = need_str("population")
    table = need_str("table") or "table.csv"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*", table) or ".." in table.split("/"):
        problems.append(
            Problem(fname, where("table"), f"table {table!r} must be a file name inside the pack")
        )
        table = "table.csv"
    citation = raw.get("citation")
    if not isinstance(citation, dict) or not citation.get("text"):
        problems.append(
            Problem(fname, where("citation"), "field 'citation' needs at least 'text' (and 'doi')")
        )
        citation = {}
    if raw.get("distribution") != "LMS":
        problems.append(Problem(fname, where("distribution"), "field 'distribution' must be 'LMS'"))
    sex_coding = raw.get("sex_coding")
    if (
        not isinstance(sex_coding, dict)
        or set(sex_coding) != {"male", "female"}
        or len({str(v) for v in sex_coding.values()}) != 2
    ):
        problems.append(
            Problem(
                fname,
                where("sex_coding"),
                "field 'sex_coding' must map 'male' and 'female' to two distinct table codes",
            )
        )
        sex_coding = {"male": "M", "female": "F"}
    groups_raw = raw.get("groups") or []
    if not isinstance(groups_raw, list) or not all(isinstance(g, str) for g in groups_raw):
        problems.append(Problem(fname, where("groups"), "field 'groups' must be a list of names"))
        groups_raw = []
    age_unit = raw.get("age_unit")
    if age_unit not in AGE_UNITS:
        problems.append(
            Problem(
                fname,
                where("age_unit"),
                f"field 'age_unit' must be one of {sorted(AGE_UNITS)}, not {age_unit!r}",
            )
        )
        age_unit = "years"
    checksum = raw.get("checksum")
    if not isinstance(checksum, str) or not re.fullmatch(r"sha256:[0-9a-f]{64}", checksum):
        problems.append(
            Problem(fname, where("checksum"), "field 'checksum' must be 'sha256:<64 hex digits>'")
        )
        checksum = ""
    measures: dict[str, MeasureInfo] = {}
    mraw = raw.get("measures")
    if not isinstance(mraw, dict) or not mraw:
        problems.append(Problem(fname, where("measures"), "field 'measures' must list measures"))
        mraw = {}
    for mid, m in mraw.items():
        mid = str(mid)
        line = where("measures", mid)
        if not isinstance(m, dict):
            problems.append(Problem(fname, line, f"measure {mid!r}: must be a mapping"))
            continue
        unit_expected = expected_unit(mid)
        if unit_expected is None:
            problems.append(
                Problem(
                    fname,
                    line,
                    f"measure {mid!r}: unknown id (growth: {', '.join(GROWTH_UNITS)}; DXA: "
                    f"<site>_<{'|'.join(DXA_UNITS)}>)",
                )
            )
        unit = m.get("unit")
        if unit_expected is not None and unit != unit_expected:
            problems.append(
                Problem(
                    fname,
                    line,
                    f"measure {mid!r}: unit mismatch: {unit!r} given, {unit_expected!r} expected",
                )
            )
        interp = m.get("interpolation")
        if interp not in INTERPOLATIONS:
            problems.append(
                Problem(
                    fname,
                    line,
                    f"measure {mid!r}: interpolation must be one of {sorted(INTERPOLATIONS)}",
                )
            )
        amin, amax = _num(m.get("age_min")), _num(m.get("age_max"))
        if amin is None or amax is None or not amin < amax:
            problems.append(
                Problem(fname, line, f"measure {mid!r}: needs numeric age_min < age_max")
            )
            amin, amax = 0.0, 0.0
        dxa = _DXA_ID.match(mid)
        for key, derived in (
            ("site", dxa.group(1) if dxa else None),
            ("quantity", dxa.group(2) if dxa else mid),
        ):
            given = m.get(key)
            if given is not None and given != derived:
                problems.append(
                    Problem(
                        fname,
                        line,
                        f"measure {mid!r}: {key} {given!r} disagrees with the id ({derived!r})",
                    )
                )
        measures[mid] = MeasureInfo(
            id=mid,
            title=str(m.get("title") or mid),
            unit=str(unit),
            age_min=amin,
            age_max=amax,
            age_max_inclusive=bool(m.get("age_max_inclusive", True)),
            interpolation=str(interp),
            interpolation_source=str(m.get("interpolation_source") or ""),
            restricted_tails=bool(m.get("restricted_tails", False)),
            site=dxa.group(1) if dxa else None,
            quantity=dxa.group(2) if dxa else mid,
        )
    haz_ref, haz_source, equations = _check_haz(raw, where, fname, problems, measures)
    return PackMeta(
        id=pack_id,
        title=title,
        citation=citation,
        licence=licence,
        population=population,
        scanner=raw.get("scanner"),
        manufacturer=raw.get("manufacturer"),
        sex_coding={str(k): str(v) for k, v in sex_coding.items()},
        groups=tuple(groups_raw),
        age_unit=str(age_unit),
        table=table,
        checksum=checksum,
        synthetic=bool(raw.get("synthetic", False)),
        measures=measures,
        haz_reference=haz_ref,
        haz_source=haz_source,
        haz_equations=equations,
        raw=raw,
        lines=lines,
    )


def _check_haz(
    raw: dict[str, Any],
    where: Any,
    fname: str,
    problems: list[Problem],
    measures: Mapping[str, MeasureInfo],
) -> tuple[str | None, str | None, tuple[HazEquation, ...]]:
    block = raw.get("haz_adjustment")
    if block is None:
        return None, None, ()
    line = where("haz_adjustment")
    if not isinstance(block, dict):
        problems.append(Problem(fname, line, "haz_adjustment must be a mapping"))
        return None, None, ()
    ref = block.get("haz_reference", "cdc2000")
    source = block.get("source")
    if not source:
        problems.append(Problem(fname, line, "haz_adjustment needs 'source' (a citation)"))
    eqs: list[HazEquation] = []
    for i, eq in enumerate(block.get("equations") or [], start=1):
        tag = f"haz_adjustment equation {i}"
        if not isinstance(eq, dict):
            problems.append(Problem(fname, line, f"{tag}: must be a mapping"))
            continue
        measure = str(eq.get("measure"))
        if measure not in measures:
            problems.append(Problem(fname, line, f"{tag}: measure {measure!r} not in the pack"))
        sex = str(eq.get("sex"))
        if sex not in ("M", "F"):
            problems.append(Problem(fname, line, f"{tag}: sex must be 'M' or 'F'"))
        terms_raw = eq.get("terms")
        terms: list[tuple[str, float]] = []
        if not isinstance(terms_raw, dict) or not terms_raw:
            problems.append(Problem(fname, line, f"{tag}: 'terms' must map terms to coefficients"))
            terms_raw = {}
        for term, coef in terms_raw.items():
            term = str(term).replace(" ", "")
            ok = term == "intercept" or all(_TERM.match(f) for f in term.split("*"))
            c = _num(coef)
            if not ok or c is None:
                problems.append(
                    Problem(
                        fname,
                        line,
                        f"{tag}: term {term!r}={coef!r}: terms are 'intercept' or products of "
                        "haz, age (years) and powers, e.g. 'haz*age', 'age^2'; coefficients "
                        "numeric",
                    )
                )
                continue
            terms.append((term, c))
        rsd = _num(eq.get("residual_sd", 1.0))
        if rsd is None or rsd <= 0:
            problems.append(Problem(fname, line, f"{tag}: residual_sd must be > 0"))
            rsd = 1.0
        group = eq.get("group")
        lo = _num(eq.get("age_min", -math.inf))
        hi = _num(eq.get("age_max", math.inf))
        if lo is None or hi is None or not lo < hi:
            problems.append(Problem(fname, line, f"{tag}: needs numeric age_min < age_max"))
            lo, hi = -math.inf, math.inf
        eqs.append(
            HazEquation(
                measure, sex, None if group is None else str(group), tuple(terms), rsd, lo, hi
            )
        )
    # equations for the same measure/sex/group must not overlap in age
    by_key: dict[tuple[str, str, str | None], list[HazEquation]] = {}
    for e in eqs:
        by_key.setdefault((e.measure, e.sex, e.group), []).append(e)
    for (measure, sex, group), lst in by_key.items():
        lst.sort(key=lambda e: e.age_min)
        for a, b in pairwise(lst):
            if b.age_min < a.age_max:
                problems.append(
                    Problem(
                        fname,
                        line,
                        f"haz_adjustment: equations for {measure}/{sex}"
                        f"{'/' + group if group else ''} overlap in age "
                        f"({a.age_min:g}-{a.age_max:g} and {b.age_min:g}-{b.age_max:g} y)",
                    )
                )
    return str(ref), None if source is None else str(source), tuple(eqs)


def _check_table(data: bytes, meta: PackMeta, fname: str, problems: list[Problem]) -> PackTables:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if meta.checksum and digest != meta.checksum:
        problems.append(
            Problem(
                "pack.yaml",
                meta.lines.get(("checksum",)),
                f"checksum mismatch: pack.yaml says {meta.checksum}, {fname} is {digest}",
            )
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(fname, None, f"not UTF-8 text: {exc}"))
        return PackTables(rows={})
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    header_clean = tuple(h.strip() for h in header) if header else ()
    has_unit = header_clean == (*HEADER, "unit")
    if header_clean != HEADER and not has_unit:
        problems.append(
            Problem(
                fname,
                1,
                f"wrong header {','.join(header_clean)!r}; expected {','.join(HEADER)!r} "
                "(optionally followed by ',unit')",
            )
        )
        return PackTables(rows={})
    sex_of = {v: ("M" if k == "male" else "F") for k, v in meta.sex_coding.items()}
    collected: dict[Segment, list[tuple[float, float, float, float]]] = {}
    last: dict[Segment, tuple[float, int]] = {}
    ages: dict[Segment, list[float]] = {}
    width = len(header_clean)
    for lineno, row in enumerate(reader, start=2):
        if not row or not "".join(row).strip():
            continue
        cells = [c.strip() for c in row]
        if len(cells) != width:
            problems.append(Problem(fname, lineno, f"{len(cells)} fields, expected {width}"))
            continue
        measure, sex_code, group = cells[0], cells[1], cells[2]
        bad = False
        if measure not in meta.measures:
            problems.append(
                Problem(fname, lineno, f"measure {measure!r} not declared in pack.yaml")
            )
            bad = True
        if sex_code not in sex_of:
            problems.append(
                Problem(
                    fname,
                    lineno,
                    f"sex {sex_code!r} not in sex_coding {dict(meta.sex_coding)}",
                )
            )
            bad = True
        if meta.groups and group not in meta.groups:
            problems.append(
                Problem(fname, lineno, f"group {group!r} not one of {list(meta.groups)}")
            )
            bad = True
        elif not meta.groups and group:
            problems.append(
                Problem(fname, lineno, f"group {group!r} given but pack.yaml declares no groups")
            )
            bad = True
        if has_unit and measure in meta.measures and cells[7] != meta.measures[measure].unit:
            problems.append(
                Problem(
                    fname,
                    lineno,
                    f"unit mismatch: {cells[7]!r} in the table, "
                    f"{meta.measures[measure].unit!r} in pack.yaml for {measure}",
                )
            )
            bad = True
        seg_ok = not bad
        nums: list[float] = []
        for name, cell in zip(HEADER[3:], cells[3:7], strict=True):
            try:
                v = float(cell)
            except ValueError:
                v = math.nan
            if not math.isfinite(v):
                problems.append(Problem(fname, lineno, f"{name} {cell!r} is not a finite number"))
                bad = True
            nums.append(v)
        age, _L, M, S = nums
        if seg_ok and math.isfinite(age):
            seg = (measure, sex_of[sex_code], group)
            prev = last.get(seg)
            if prev is not None and not age > prev[0]:
                problems.append(
                    Problem(
                        fname,
                        lineno,
                        f"ages not increasing for {measure}/{sex_code}"
                        f"{'/' + group if group else ''}: {cells[3]} after {prev[0]:g} "
                        f"(line {prev[1]})",
                    )
                )
                bad = True
            else:
                last[seg] = (age, lineno)
                ages.setdefault(seg, []).append(age)
        if math.isfinite(S) and S <= 0:
            problems.append(Problem(fname, lineno, f"S must be > 0 (got {cells[6]})"))
            bad = True
        if math.isfinite(M) and M <= 0:
            problems.append(Problem(fname, lineno, f"M must be > 0 (got {cells[5]})"))
            bad = True
        if not bad:
            collected.setdefault((measure, sex_of[sex_code], group), []).append(
                (nums[0], nums[1], nums[2], nums[3])
            )
    groups = meta.groups or ("",)
    for mid, info in meta.measures.items():
        need = 4 if info.interpolation == "lagrange4" else 2
        for group in groups:
            for sex in ("M", "F"):
                seg = (mid, sex, group)
                rows = ages.get(seg)
                label = f"{mid}/{sex}{'/' + group if group else ''}"
                if not rows:
                    problems.append(
                        Problem(
                            fname,
                            None,
                            f"missing sex: no rows for {label} (measure declared at pack.yaml "
                            f"line {meta.lines.get(('measures', mid), '?')})",
                        )
                    )
                    continue
                if len(rows) < need:
                    problems.append(
                        Problem(
                            fname,
                            None,
                            f"{label}: {info.interpolation} needs >= {need} rows, has {len(rows)}",
                        )
                    )
                lo, hi = rows[0], rows[-1]
                if info.interpolation == "nearest_round_half_up" and len(rows) > 1:
                    # a table row stands for ages within half a step of it
                    lo -= (rows[1] - rows[0]) / 2.0
                    hi += (rows[-1] - rows[-2]) / 2.0
                if info.age_min < lo or info.age_max > hi:
                    problems.append(
                        Problem(
                            fname,
                            None,
                            f"{label}: coverage {info.age_min:g}-{info.age_max:g} "
                            f"{meta.age_unit} exceeds the table's ages {lo:g}-{hi:g}",
                        )
                    )
    return PackTables(rows={k: np.asarray(v, dtype=np.float64) for k, v in collected.items()})


def parse_pack(read: _Reader, source: str) -> tuple[PackMeta, PackTables]:
    """Read and validate a pack through ``read(name) -> bytes``; raise PackError listing
    every problem found (metadata and table)."""
    problems: list[Problem] = []
    try:
        text = read("pack.yaml").decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(source, [Problem("pack.yaml", None, f"cannot read: {exc}")]) from None
    raw, lines = _parse_meta(text, "pack.yaml", problems)
    meta = _check_meta(raw, lines, "pack.yaml", problems) if raw else None
    if meta is None:
        raise PackError(source, problems)
    try:
        data = read(meta.table)
    except OSError as exc:
        problems.append(Problem(meta.table, None, f"cannot read the table: {exc}"))
        raise PackError(source, problems) from None
    tables = _check_table(data, meta, meta.table, problems)
    if problems:
        raise PackError(source, problems)
    return meta, tables
