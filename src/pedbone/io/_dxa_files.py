"""DXA results straight from the tables clinics have: scanner exports and extraction tools.

Layouts (``LAYOUTS``):

* ``dxa2-merged`` — the DXA Data Xtraction Assistant's ``MergedOutput.csv`` (``Patients_ID``,
  ``L1L4BMD``, ``LTHBMD``, ``TotBMD``, ``LLegBMD``, ...) [DXA2];
* ``dxa2-region`` — its per-region tables (``Patients_ID, Patients_Visit, Region, Area_cm2,
  BMC_g, BMD_g/cm2, T_score, Z_score``), one file per scan type [DXA2];
* ``nhanes`` — NHANES DXA variable names (``DXXOSBMD``, ``DXXNKBMD``, ``DXDSTBMC``,
  ``DXXLLBMD``, ``DXX*A``, ...) [NHANES_DXX];
* a **mapping file** (YAML, ``format: pedbone-dxa-mapping/1``) that a clinic writes once for
  its own scanner export: which column holds what, and the scanner's manufacturer, model,
  software version and analysis mode (fixed values or columns).

The file itself (Belgian Excel reality): the encoding is taken from a byte-order mark (UTF-8,
UTF-16) or must be valid UTF-8, else declared (``latin-1``, ``cp1252``); the separator
(``;``, ``,``, tab) and the decimal mark (``,`` or ``.``) are detected only when the file leaves
no doubt; dates are ISO or day/month/year or month/day/year only when a day above 12 proves
the order — otherwise the file is refused with a message saying how to declare it. Every value
is read as text first, so identifiers keep their leading zeros; an identifier Excel turned into
a number (``1.23457E+11``) is refused.

Vendor Z-scores are kept as informational values; T-scores are not stored (they are not used
in children [S1]); pedbone recomputes Z-scores from the raw values. Nothing here touches the
database: :func:`read_dxa_export` returns checked :class:`DxaRecord` rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

from pedbone.io._limits import LIMITS

__all__ = [
    "LAYOUTS",
    "DxaExport",
    "DxaFileError",
    "DxaRecord",
    "FileFormat",
    "load_mapping",
    "read_dxa_export",
]

LAYOUTS: Final = ("dxa2-merged", "dxa2-region", "nhanes")
MAPPING_FORMAT: Final = "pedbone-dxa-mapping/1"
DATE_FORMATS: Final = ("yyyy-mm-dd", "dd/mm/yyyy", "mm/dd/yyyy")
ENCODINGS: Final = ("utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252")

#: Stored DxaMeasurement quantities a layout may fill.
QUANTITIES: Final = (
    "abmd_g_cm2",
    "bmc_g",
    "area_cm2",
    "lean_mass_g",
    "fat_mass_g",
    "vendor_z_abmd",
    "vendor_z_bmc",
)
SCANNER_FIELDS: Final = ("manufacturer", "model", "software_version", "serial", "analysis_mode")
SCAN_COLUMNS: Final = (
    "patient",
    "scan_date",
    "birth_date",
    "height_cm",
    "weight_kg",
    "reference_group",
)
SITES: Final = (
    "spine",
    "tblh",
    "total_body",
    "femoral_neck",
    "total_hip",
    "forearm",
    "lateral_distal_femur",
    "leg",
)


class DxaFileError(ValueError):
    """The file as a whole cannot be read as declared; nothing was imported."""


@dataclass(frozen=True, slots=True)
class FileFormat:
    """How the file was read (shown in the preview, so nothing is silently assumed)."""

    encoding: str
    delimiter: str
    decimal: str
    date_format: str | None

    def describe(self) -> str:
        """``latin-1, ';' separated, decimal ',', dates dd/mm/yyyy``."""
        sep = {"\t": "tab"}.get(self.delimiter, repr(self.delimiter))
        dates = self.date_format or "none"
        return f"{self.encoding}, {sep} separated, decimal {self.decimal!r}, dates {dates}"


@dataclass(slots=True)
class DxaRecord:
    """One scan of one patient as read from the file (line = first file line of the scan)."""

    line: int
    patient: str
    scan: dict[str, Any] = field(default_factory=dict)  # DxaScan fields + "measurements"
    birth_date: dt.date | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column, message)

    @property
    def ok(self) -> bool:
        """No error in this scan's values."""
        return not self.errors


@dataclass(slots=True)
class DxaExport:
    """The checked file: its rows, how it was read, and the columns not imported."""

    layout: str
    format: FileFormat
    records: list[DxaRecord]
    ignored: list[str] = field(default_factory=list)  # recognised, deliberately not stored
    unknown: list[str] = field(default_factory=list)  # not recognised: listed, not imported


# --------------------------------------------------------------------------- built-in layouts


def _site(site: str, region: str | None, **columns: str) -> dict[str, Any]:
    return {"site": site, "region": region, **columns}


def _dxa2_merged() -> dict[str, Any]:
    sites = [
        _site("spine", "L1-L4", abmd_g_cm2="L1L4BMD", bmc_g="L1L4BMC", vendor_z_abmd="L1L4ZScr"),
        _site("total_body", None, abmd_g_cm2="TotBMD", bmc_g="TotBMC", vendor_z_abmd="TotZScr"),
        _site("tblh", None, bmc_g="SubTotalBMC", lean_mass_g="SubTotalLM"),
        _site(
            "forearm",
            "1/3 radius",
            abmd_g_cm2="Rad1/3BMD",
            bmc_g="Rad1/3BMC",
            area_cm2="Rad1/3Area",
            vendor_z_abmd="Rad1/3Zsc",
        ),
    ]
    for side, s in (("left", "L"), ("right", "R")):
        sites.append(
            _site(
                "femoral_neck",
                side,
                abmd_g_cm2=f"{s}FNBMD",
                bmc_g=f"{s}FNBMC",
                vendor_z_abmd=f"{s}FNZScr",
            )
        )
        sites.append(
            _site(
                "total_hip",
                side,
                abmd_g_cm2=f"{s}THBMD",
                bmc_g=f"{s}THBMC",
                vendor_z_abmd=f"{s}THZScr",
            )
        )
        sites.append(
            _site(
                "leg",
                side,
                abmd_g_cm2=f"{s}LegBMD",
                bmc_g=f"{s}LegBMC",
                lean_mass_g=f"{s}LegLM",
                fat_mass_g=f"{s}LegFM",
            )
        )
    ignore = ["Name", "Age", "Sex", "Ethnicity", "Visit", "Patients_Visit"]
    ignore += ["L1L4TScr", "TotTScr", "LFNTScr", "RFNTScr", "LTHTScr", "RTHTScr"]
    ignore += ["MeanTHTScr", "MeanTHBMC", "MeanTHBMD"]  # a mean of both sides: both are stored
    return {
        "name": "DXA Data Xtraction Assistant, MergedOutput.csv",
        "columns": {
            "patient": "Patients_ID",
            "scan_date": "ScanDate",
            "birth_date": "DOB",
            "height_cm": "Height",
        },
        "sites": sites,
        "ignore": ignore,
        "ignore_patterns": [
            r"^(L|R)(Arm|Rib|GT)",
            r"^(Trunk|Head|Total|Android|Gynoid)",
            r"^SubTotal(FM|LM\+BMC|TotM|BF%)",
            r"^(L|R)Leg(LM\+BMC|TotM|BF%)",
            r"^Rad(MID|UD|Tot)",
            r"^(A/G|VAT|Ln/Ht|AppLn/Ht)",
        ],
    }


def _nhanes() -> dict[str, Any]:
    sites = [
        # "Total spine" of DXXSPN is L1-L4 [NHANES_DXX]
        _site("spine", "L1-L4", abmd_g_cm2="DXXOSBMD", bmc_g="DXXOSBMC", area_cm2="DXXOSA"),
        # "Total femur" of DXXFEM is the total hip region of interest
        _site("total_hip", None, abmd_g_cm2="DXXOFBMD", bmc_g="DXXOFBMC", area_cm2="DXXOFA"),
        _site("femoral_neck", None, abmd_g_cm2="DXXNKBMD", bmc_g="DXXNKBMC", area_cm2="DXXNKA"),
        _site(
            "total_body",
            None,
            abmd_g_cm2="DXDTOBMD",
            bmc_g="DXDTOBMC",
            area_cm2="DXDTOA",
            lean_mass_g="DXDTOLE",
            fat_mass_g="DXDTOFAT",
        ),
        # "Subtotal (Total excl Head)" of DXX is total body less head
        _site(
            "tblh",
            None,
            abmd_g_cm2="DXDSTBMD",
            bmc_g="DXDSTBMC",
            area_cm2="DXDSTA",
            lean_mass_g="DXDSTLE",
            fat_mass_g="DXDSTFAT",
        ),
    ]
    for side, s in (("left", "L"), ("right", "R")):
        sites.append(
            _site(
                "leg",
                side,
                abmd_g_cm2=f"DXX{s}LBMD",
                bmc_g=f"DXX{s}LBMC",
                area_cm2=f"DXX{s}LA",
                lean_mass_g=f"DXD{s}LLE",
                fat_mass_g=f"DXX{s}LFAT",
            )
        )
    return {
        "name": "NHANES DXA variable names",
        "columns": {"patient": "SEQN", "scan_date": "scan_date"},
        "sites": sites,
        "invalidity": {
            "DXXOSBCC": "spine",
            "DXXFMBCC": "total_hip",
            "DXALLBV": "leg/left",
            "DXARLBV": "leg/right",
            "DXATRBV": "tblh",
        },
        "ignore": ["DXASPNST", "DXAFMRST", "DXAEXSTS"],
        "ignore_patterns": [
            r"^DX[XAD]L[1-4]",
            r"^DX[XAD](TR|IN|WD|HE|LA|RA|LR|RR|TS|LS|PE)",
            r"^DX[XAD]",
            r"^(DXASPN|DXAFMR)",
        ],
    }


#: DXA² per-region tables: Region label -> (site, region); labels not listed are ignored.
DXA2_REGIONS: Final[dict[str, tuple[str, str | None]]] = {
    "l1-l4": ("spine", "L1-L4"),
    "l1 - l4": ("spine", "L1-L4"),
    "l2-l4": ("spine", "L2-L4"),
    "neck": ("femoral_neck", None),
    "femoral neck": ("femoral_neck", None),
    "total hip": ("total_hip", None),
    "subtotal": ("tblh", None),
    "total body less head": ("tblh", None),
    "l leg": ("leg", "left"),
    "left leg": ("leg", "left"),
    "r leg": ("leg", "right"),
    "right leg": ("leg", "right"),
    "radius 33%": ("forearm", "1/3 radius"),
    "1/3": ("forearm", "1/3 radius"),
    "radius 1/3": ("forearm", "1/3 radius"),
}
#: ``Total`` means a different region in each scan type (declared with ``scan_type``).
DXA2_TOTAL: Final[dict[str, tuple[str, str | None]]] = {
    "spine": ("spine", "L1-L4"),
    "hip": ("total_hip", None),
    "total_body": ("total_body", None),
    "radius": ("forearm", "total radius"),
}


def builtin_layout(name: str) -> dict[str, Any]:
    """The column mapping of a built-in wide layout."""
    if name == "dxa2-merged":
        return _dxa2_merged()
    if name == "nhanes":
        return _nhanes()
    raise DxaFileError(
        f"unknown layout {name!r}; choose one of {', '.join(LAYOUTS)} or a mapping file"
    )


# --------------------------------------------------------------------------- mapping files


def load_mapping(text: str) -> dict[str, Any]:
    """Read and check a clinic's mapping file (YAML); raises DxaFileError naming the problem."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DxaFileError(f"mapping file: not YAML ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != MAPPING_FORMAT:
        raise DxaFileError(f"mapping file: first line must be 'format: {MAPPING_FORMAT}'")
    known = {"format", "name", "file", "scanner", "columns", "sites", "ignore", "defaults"}
    extra = sorted(set(doc) - known)
    if extra:
        raise DxaFileError(f"mapping file: unknown key(s) {', '.join(extra)}")
    columns = doc.get("columns") or {}
    if not isinstance(columns, dict) or "patient" not in columns or "scan_date" not in columns:
        raise DxaFileError("mapping file: 'columns' must name at least 'patient' and 'scan_date'")
    bad = sorted(set(columns) - set(SCAN_COLUMNS))
    if bad:
        raise DxaFileError(f"mapping file: unknown column role(s) {', '.join(bad)}")
    scanner = doc.get("scanner") or {}
    if not isinstance(scanner, dict) or "manufacturer" not in scanner:
        raise DxaFileError(
            "mapping file: 'scanner' must give the manufacturer (a value, or {column: NAME})"
        )
    bad = sorted(set(scanner) - set(SCANNER_FIELDS))
    if bad:
        raise DxaFileError(f"mapping file: unknown scanner field(s) {', '.join(bad)}")
    sites = doc.get("sites") or []
    if not isinstance(sites, list) or not sites:
        raise DxaFileError("mapping file: 'sites' must list at least one site")
    for n, s in enumerate(sites, start=1):
        if not isinstance(s, dict) or s.get("site") not in SITES:
            raise DxaFileError(
                f"mapping file: sites[{n}]: 'site' must be one of {', '.join(SITES)}"
            )
        bad = sorted(set(s) - {"site", "region", *QUANTITIES})
        if bad:
            raise DxaFileError(f"mapping file: sites[{n}]: unknown quantity {', '.join(bad)}")
    file = doc.get("file") or {}
    if file.get("encoding") is not None and file["encoding"] not in ENCODINGS:
        raise DxaFileError(f"mapping file: encoding must be one of {', '.join(ENCODINGS)}")
    if file.get("delimiter") is not None and file["delimiter"] not in (";", ",", "\t", "tab"):
        raise DxaFileError("mapping file: delimiter must be ';', ',' or tab")
    if file.get("decimal") is not None and file["decimal"] not in (",", "."):
        raise DxaFileError("mapping file: decimal must be ',' or '.'")
    if file.get("date_format") is not None and file["date_format"] not in DATE_FORMATS:
        raise DxaFileError(f"mapping file: date_format must be one of {', '.join(DATE_FORMATS)}")
    return dict(doc)


# --------------------------------------------------------------------------- the file


def _decode(data: bytes, declared: str | None) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        found = "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        found = "utf-16"
    else:
        found = ""
    if declared and found and declared.replace("-sig", "") != found.replace("-sig", ""):
        raise DxaFileError(
            f"the file starts with a {found} byte-order mark but {declared} was declared"
        )
    encoding = found or declared or "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        if declared:
            raise DxaFileError(f"line {line}: not {declared} text") from None
        raise DxaFileError(
            f"line {line}: not UTF-8 text. Excel often saves Latin-1 (Windows-1252): declare the "
            "encoding (encoding latin-1 or cp1252 in the mapping file, or --encoding)"
        ) from None


def _delimiter(text: str, declared: str | None) -> str:
    if declared:
        return "\t" if declared in ("tab", "\\t") else declared
    header = text.splitlines()[0] if text else ""
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    used = [d for d, n in counts.items() if n]
    if len(used) == 1:
        return used[0]
    if not used:
        raise DxaFileError(
            "line 1: no separator found (expected ';', ',' or tab between column names)"
        )
    raise DxaFileError(
        "line 1: the column names contain both "
        + " and ".join(repr(d) for d in used)
        + ": declare the separator (delimiter in the mapping file, or --delimiter)"
    )


_COMMA_NUM = re.compile(r"^[-+]?\d+,\d+$")
_POINT_NUM = re.compile(r"^[-+]?\d+\.\d+$")
_GROUPED = re.compile(r"^[-+]?\d{1,3}([.,]\d{3})+([.,]\d+)?$")


def _decimal(cells: list[str], delimiter: str, declared: str | None) -> str:
    if declared:
        return declared
    comma = any(_COMMA_NUM.match(c) for c in cells)
    point = any(_POINT_NUM.match(c) for c in cells)
    if delimiter == ",":
        return "."
    if comma and point:
        raise DxaFileError(
            "numbers with a decimal comma and numbers with a decimal point in one file: declare "
            "the decimal mark (decimal in the mapping file, or --decimal)"
        )
    return "," if comma else "."


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def _date_format(values: list[str], declared: str | None) -> str | None:
    if declared:
        return declared
    # only day/month/year-shaped values decide; ISO dates need no decision and unreadable
    # ones are reported by the row check
    shaped = [m for m in (_DMY.match(v) for v in values if v) if m]
    if not shaped:
        return "yyyy-mm-dd"
    first = [int(m.group(1)) for m in shaped]
    second = [int(m.group(2)) for m in shaped]
    if any(f > 12 for f in first) and all(s <= 12 for s in second):
        return "dd/mm/yyyy"
    if any(s > 12 for s in second) and all(f <= 12 for f in first):
        return "mm/dd/yyyy"
    raise DxaFileError(
        "the dates could be day/month or month/day (no day above 12 tells): declare the date "
        "format (date_format dd/mm/yyyy or mm/dd/yyyy in the mapping file, or --date-format)"
    )


def _parse_date(raw: str, fmt: str | None) -> dt.date:
    text = raw.strip()
    iso = _ISO.match(text)
    if iso:
        return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
    m = _DMY.match(text)
    if m is None or fmt is None:
        raise ValueError(f"{raw!r} is not a date (expected {fmt or 'yyyy-mm-dd'})")
    a, b, year = int(m[1]), int(m[2]), int(m[3])
    day, month = (a, b) if fmt == "dd/mm/yyyy" else (b, a)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"{raw!r} is not a date (expected {fmt})") from None


def _number(raw: str, decimal: str) -> float:
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    if _GROUPED.match(text) and text.count(".") + text.count(",") > 1:
        raise ValueError(f"{raw!r}: thousands separators are not accepted")
    other = "." if decimal == "," else ","
    if other in text:
        raise ValueError(f"{raw!r} is not a number with decimal {decimal!r}")
    value = float(text.replace(",", "."))
    if not math.isfinite(value):
        raise ValueError(f"{raw!r} is not a finite number")
    return value


_EXCEL_NUMBER_ID = re.compile(r"^\d(\.\d+)?E\+\d+$", re.IGNORECASE)


def _table(text: str, delimiter: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise DxaFileError(f"line {reader.line_num}: {exc}") from None
    if not rows:
        raise DxaFileError("the file is empty")
    header = [h.strip().rstrip("*") for h in rows[0]]
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise DxaFileError(f"line 1: column(s) {', '.join(dup)} appear twice")
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(header):
            out.append((number, {"\x00": "more values than columns"}))
            continue
        out.append(
            (number, {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header)})
        )
    return header, out


def read_dxa_export(
    data: bytes,
    *,
    layout: str | None = None,
    mapping: Mapping[str, Any] | str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    date_format: str | None = None,
    scanner: Mapping[str, str | None] | None = None,
    scan_type: str | None = None,
    reference_group: str | None = None,
) -> DxaExport:
    """Read a DXA export of one of the ``LAYOUTS`` or described by ``mapping``.

    File-format options override a mapping file's ``file`` section; ``scanner`` gives the
    manufacturer, model, software version and analysis mode when the file has no such
    columns (DXA² and NHANES files do not). ``scan_type`` (``spine``, ``hip``,
    ``total_body``, ``radius``) says what ``Total`` means in a DXA² per-region file.
    Raises :class:`DxaFileError` for a file that cannot be read as declared.
    """
    if (layout is None) == (mapping is None):
        raise DxaFileError("choose a layout or give a mapping file (one of them)")
    for name, value, allowed in (
        ("encoding", encoding, ENCODINGS),
        ("delimiter", delimiter, (";", ",", "\t", "tab")),
        ("decimal", decimal, (",", ".")),
        ("date format", date_format, DATE_FORMATS),
    ):
        if value is not None and value not in allowed:
            shown = ", ".join(repr(a) for a in allowed)
            raise DxaFileError(f"{name} {value!r} is not one of {shown}")
    spec = builtin_layout(layout) if layout and layout != "dxa2-region" else None
    if mapping is not None:
        spec = (
            load_mapping(mapping)
            if isinstance(mapping, str)
            else load_mapping(yaml.safe_dump(dict(mapping)))
        )
        layout = "mapping"
    file_opts = dict((spec or {}).get("file") or {})
    text, used_encoding = _decode(data, encoding or file_opts.get("encoding"))
    if not text.strip():
        raise DxaFileError("the file is empty")
    sep = _delimiter(text, delimiter or file_opts.get("delimiter"))
    header, rows = _table(text, sep)
    cells = [v for _, r in rows for v in r.values()]
    dec = _decimal(cells, sep, decimal or file_opts.get("decimal"))
    fixed_scanner = {
        k: v for k, v in ((spec or {}).get("scanner") or {}).items() if not isinstance(v, dict)
    }
    fixed_scanner.update({k: v for k, v in (scanner or {}).items() if v})
    if layout == "dxa2-region":
        return _read_regions(
            header,
            rows,
            used_encoding,
            sep,
            dec,
            date_format,
            fixed_scanner,
            scan_type,
            reference_group,
        )
    assert spec is not None
    columns = dict(spec["columns"])
    if layout in ("dxa2-merged", "nhanes"):
        columns["scan_date"] = next(
            (c for c in ("ScanDate", "scan_date") if c in header), columns["scan_date"]
        )
    date_col = columns.get("scan_date")
    if date_col not in header:
        raise DxaFileError(
            f"line 1: no scan date column {date_col!r}. "
            + (
                "DXA² and NHANES tables have no scan date: add a column 'scan_date' (or 'ScanDate')"
                if layout in ("dxa2-merged", "nhanes")
                else "check the mapping file's columns.scan_date"
            )
        )
    if columns.get("patient") not in header:
        raise DxaFileError(f"line 1: no patient column {columns.get('patient')!r}")
    dates = [r.get(date_col, "") for _, r in rows]
    if columns.get("birth_date") in header:
        dates += [r.get(columns["birth_date"], "") for _, r in rows]
    fmt = _date_format(dates, date_format or file_opts.get("date_format"))
    fmt_info = FileFormat(used_encoding, sep, dec, fmt)
    scanner_cols = {
        k: v["column"] for k, v in (spec.get("scanner") or {}).items() if isinstance(v, dict)
    }
    missing = [c for c in scanner_cols.values() if c not in header]
    if missing:
        raise DxaFileError(f"line 1: scanner column(s) {', '.join(missing)} not in the file")
    if "manufacturer" not in fixed_scanner and "manufacturer" not in scanner_cols:
        raise DxaFileError(
            "the scanner's manufacturer is not in the file: declare it (scanner.manufacturer in a "
            "mapping file, or --manufacturer), with model, software version and analysis mode"
        )
    used = set(columns.values()) | set(scanner_cols.values())
    for s in spec["sites"]:
        used |= {v for k, v in s.items() if k in QUANTITIES}
    used |= set(spec.get("invalidity") or {})
    ignore = set(spec.get("ignore") or [])
    patterns = [re.compile(p) for p in spec.get("ignore_patterns") or []]
    ignored = [
        h for h in header if h not in used and (h in ignore or any(p.search(h) for p in patterns))
    ]
    unknown = [h for h in header if h not in used and h not in ignored and h]
    defaults = dict(spec.get("defaults") or {})
    group_default = reference_group or defaults.get("reference_group")
    records = []
    for line, raw in rows:
        records.append(
            _record(
                line,
                raw,
                spec,
                columns,
                scanner_cols,
                fixed_scanner,
                dec,
                fmt,
                header,
                group_default,
            )
        )
    return DxaExport(layout or "mapping", fmt_info, records, ignored, unknown)


def _check(column: str, value: float, key: str) -> None:
    lo, hi = LIMITS[key]
    if not lo <= value <= hi:
        raise ValueError(f"{value:g} is outside the accepted range {lo:g}-{hi:g} for {key}")


def _record(
    line: int,
    raw: dict[str, str],
    spec: Mapping[str, Any],
    columns: Mapping[str, str],
    scanner_cols: Mapping[str, str],
    fixed_scanner: Mapping[str, Any],
    dec: str,
    fmt: str | None,
    header: list[str],
    group_default: str | None,
) -> DxaRecord:
    patient = raw.get(columns["patient"], "")
    rec = DxaRecord(line, patient)
    if "\x00" in raw:
        rec.errors.append(("", "More values than columns."))
        return rec
    if not patient:
        rec.errors.append((columns["patient"], "This field is required."))
    elif _EXCEL_NUMBER_ID.match(patient):
        rec.errors.append(
            (
                columns["patient"],
                f"{patient!r} looks like a number Excel rewrote: export identifiers as text",
            )
        )
    scan: dict[str, Any] = dict(fixed_scanner)
    for key, col in scanner_cols.items():
        scan[key] = raw.get(col) or None
    if not scan.get("manufacturer"):
        rec.errors.append(
            (scanner_cols.get("manufacturer", ""), "The scanner's manufacturer is missing.")
        )
    try:
        scan["scanned_on"] = _parse_date(raw.get(columns["scan_date"], ""), fmt)
        if scan["scanned_on"] > dt.date.today():
            rec.errors.append((columns["scan_date"], "The date is in the future."))
    except ValueError as exc:
        rec.errors.append((columns["scan_date"], str(exc)))
    if columns.get("birth_date") in header and raw.get(columns["birth_date"]):
        try:
            rec.birth_date = _parse_date(raw[columns["birth_date"]], fmt)
        except ValueError as exc:
            rec.errors.append((columns["birth_date"], str(exc)))
    for key in ("height_cm", "weight_kg"):
        col = columns.get(key) or ""
        if col in header and raw.get(col):
            try:
                scan[key] = _number(raw[col], dec)
                _check(col, scan[key], key)
            except ValueError as exc:
                rec.errors.append((col, str(exc)))
    group = (
        raw.get(columns["reference_group"]) if columns.get("reference_group") in header else None
    )
    group = group or group_default
    invalid: set[str] = set()
    for col, site in (spec.get("invalidity") or {}).items():
        code = raw.get(col, "")
        if code and code not in ("0", "0.0"):
            invalid.add(site)
    measurements = []
    for s in spec["sites"]:
        values: dict[str, Any] = {}
        for key in QUANTITIES:
            col = s.get(key)
            if not col or col not in header or not raw.get(col):
                continue
            try:
                values[key] = _number(raw[col], dec)
                _check(col, values[key], key)
            except ValueError as exc:
                rec.errors.append((col, str(exc)))
        if not values:
            continue
        site_key = (
            f"{s['site']}/{s.get('region')}" if s.get("region") in ("left", "right") else s["site"]
        )
        if site_key in invalid or s["site"] in invalid:
            rec.errors.append(
                ("", f"{s['site']} values are marked invalid by the file's invalidity code")
            )
            continue
        measurement = {"site": s["site"], "region": s.get("region"), **values}
        if group:
            measurement["reference_group"] = group
        measurements.append(measurement)
    if not measurements and not rec.errors:
        rec.errors.append(("", "Enter at least one measured value."))
    scan["measurements"] = measurements
    rec.scan = scan
    return rec


def _read_regions(
    header: list[str],
    rows: list[tuple[int, dict[str, str]]],
    encoding: str,
    sep: str,
    dec: str,
    date_format: str | None,
    fixed_scanner: Mapping[str, Any],
    scan_type: str | None,
    reference_group: str | None,
) -> DxaExport:
    needed = ["Patients_ID", "Region", "BMD_g/cm2"]
    missing = [c for c in needed if c not in header]
    if missing:
        raise DxaFileError(f"line 1: missing column(s) {', '.join(missing)} of a DXA² region table")
    date_col = next((c for c in ("ScanDate", "scan_date") if c in header), None)
    if date_col is None:
        raise DxaFileError(
            "line 1: no scan date column. DXA² tables have a visit number, not a date: add a "
            "column 'scan_date' (or 'ScanDate')"
        )
    if scan_type not in DXA2_TOTAL:
        raise DxaFileError(
            "declare the scan type of this DXA² region table (spine, hip, total_body or radius, "
            "as the file name LumbarSpine / TotalHip / TotalBodyBone / Radius says): 'Total' means "
            "a different region in each"
        )
    if not fixed_scanner.get("manufacturer"):
        raise DxaFileError(
            "the scanner's manufacturer is not in the file: declare it (--manufacturer), with "
            "model, software version and analysis mode"
        )
    fmt = _date_format([r.get(date_col, "") for _, r in rows], date_format)
    known = {
        "Patients_ID",
        "Patients_Visit",
        "Region",
        "Area_cm2",
        "BMC_g",
        "BMD_g/cm2",
        "Z_score",
        date_col,
    }
    ignored = [h for h in header if h == "T_score"]
    unknown = [h for h in header if h not in known and h not in ignored]
    records: dict[tuple[str, str], DxaRecord] = {}
    skipped: set[str] = set()
    for line, raw in rows:
        key = (raw.get("Patients_ID", ""), raw.get("Patients_Visit", ""))
        rec = records.get(key)
        if rec is None:
            rec = DxaRecord(line, key[0], scan={**fixed_scanner, "measurements": []})
            records[key] = rec
            if not key[0]:
                rec.errors.append(("Patients_ID", "This field is required."))
            elif _EXCEL_NUMBER_ID.match(key[0]):
                rec.errors.append(
                    (
                        "Patients_ID",
                        f"{key[0]!r} looks like a number Excel rewrote: export identifiers as text",
                    )
                )
        if "\x00" in raw:
            rec.errors.append(("", f"line {line}: more values than columns"))
            continue
        try:
            day = _parse_date(raw.get(date_col, ""), fmt)
            if rec.scan.setdefault("scanned_on", day) != day:
                rec.errors.append((date_col, f"line {line}: another date for the same visit"))
        except ValueError as exc:
            rec.errors.append((date_col, f"line {line}: {exc}"))
        label = " ".join(raw.get("Region", "").split()).lower()
        side: str | None = None
        for prefix, name in (
            ("left ", "left"),
            ("right ", "right"),
            ("l ", "left"),
            ("r ", "right"),
        ):
            if label.startswith(prefix) and label not in DXA2_REGIONS:
                side, label = name, label[len(prefix) :]
        target = DXA2_TOTAL[scan_type] if label in ("total", "tot") else DXA2_REGIONS.get(label)
        if target is None:
            skipped.add(raw.get("Region", ""))
            continue
        site, region = target
        region = side or region
        values: dict[str, Any] = {}
        for col, q in (
            ("BMD_g/cm2", "abmd_g_cm2"),
            ("BMC_g", "bmc_g"),
            ("Area_cm2", "area_cm2"),
            ("Z_score", "vendor_z_abmd"),
        ):
            if raw.get(col):
                try:
                    values[q] = _number(raw[col], dec)
                    _check(col, values[q], q)
                except ValueError as exc:
                    rec.errors.append((col, f"line {line}: {exc}"))
        if not values:
            continue
        if any(m["site"] == site and m.get("region") == region for m in rec.scan["measurements"]):
            rec.errors.append(("Region", f"line {line}: {raw.get('Region')!r} twice in one visit"))
            continue
        measurement = {"site": site, "region": region, **values}
        if reference_group:
            measurement["reference_group"] = reference_group
        rec.scan["measurements"].append(measurement)
    for rec in records.values():
        if not rec.scan["measurements"] and not rec.errors:
            rec.errors.append(("", "Enter at least one measured value."))
    ignored += [f"Region {r!r}" for r in sorted(skipped) if r]
    return DxaExport(
        "dxa2-region", FileFormat(encoding, sep, dec, fmt), list(records.values()), ignored, unknown
    )
