"""Scanner exports on the DXA import page: a parser choice feeding the existing row pipeline.

The upload form adds a layout (``pedbone`` CSV, DXA² merged or per-region, NHANES, or a clinic
mapping file) and the scanner fields a file may lack. :func:`read_scanner_export` reads the file
with :func:`pedbone.io.read_dxa_export`, matches patients with :func:`pedbone.io.check_export`
and returns the same :class:`~pedbone.web._import.ImportRow` rows the CSV import shows, so the
preview, the per-row errors and the one-transaction commit are unchanged. The options travel
with the previewed file (signed with it) so the commit re-reads the file exactly as previewed.
"""

from __future__ import annotations

import json
from typing import Any, Final

from pedbone.web._i18n import N_
from pedbone.web._security import WebUser

__all__ = [
    "LAYOUT_CHOICES",
    "OPTION_FIELDS",
    "describe_scanner_file",
    "options_from_form",
    "read_scanner_export",
]

#: (value, label) of the layout choice; ``pedbone`` is the existing CSV import.
LAYOUT_CHOICES: Final = (
    ("pedbone", N_("pedbone CSV (columns listed on the right)")),
    ("dxa2-merged", N_("DXA Data Xtraction Assistant: MergedOutput.csv")),
    ("dxa2-region", N_("DXA Data Xtraction Assistant: one region table")),
    ("nhanes", N_("NHANES DXA variable names")),
    ("mapping", N_("My clinic's mapping file")),
)
#: Free-text options a file may need declared (kept short: they become DxaScan fields).
OPTION_FIELDS: Final = (
    "manufacturer",
    "model",
    "software_version",
    "analysis_mode",
    "scan_type",
    "reference_group",
    "encoding",
    "delimiter",
    "decimal",
    "date_format",
)


def options_from_form(form: Any, mapping_text: str | None) -> dict[str, str]:
    """The import options of a submitted upload form (empty values left out)."""
    layout = str(form.get("layout") or "pedbone")
    if layout not in {value for value, _label in LAYOUT_CHOICES}:
        layout = "pedbone"
    out = {"layout": layout}
    for name in OPTION_FIELDS:
        value = str(form.get(name) or "").strip()[:64]
        if value:
            out[name] = value
    if mapping_text is not None:
        out["mapping"] = mapping_text
    return out


def encode_options(options: dict[str, str]) -> str:
    """The options as the preview's hidden field carries them (empty for the plain CSV
    import, which has none, so its preview and commit are signed exactly as before)."""
    if options.get("layout", "pedbone") == "pedbone":
        return ""
    return json.dumps(options, sort_keys=True, ensure_ascii=True)


def decode_options(text: str) -> dict[str, str]:
    """The hidden field back (an empty or broken field means the plain CSV import)."""
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _safe(message: str) -> str:
    # Row messages here carry values from the file; the preview shows them through msg(),
    # which escapes them and applies % only with variables, so they pass unchanged.
    return message


def read_scanner_export(db: Any, user: WebUser, data: bytes, options: dict[str, str]) -> list[Any]:
    """Check a scanner export; the same rows as :func:`pedbone.web._import.read_dxa_csv`."""
    from pedbone.io import DxaFileError, check_export, read_dxa_export
    from pedbone.web._data import pseudonym
    from pedbone.web._import import CsvFileError, ImportRow

    layout = options.get("layout", "pedbone")
    scanner = {
        k: options.get(k) for k in ("manufacturer", "model", "software_version", "analysis_mode")
    }
    if layout == "mapping" and not options.get("mapping"):
        raise CsvFileError(N_("Choose the mapping file of your clinic's export."))
    try:
        export = read_dxa_export(
            data,
            layout=None if layout == "mapping" else layout,
            mapping=options.get("mapping") if layout == "mapping" else None,
            encoding=options.get("encoding"),
            delimiter=options.get("delimiter"),
            decimal=options.get("decimal"),
            date_format=options.get("date_format"),
            scanner=scanner,
            scan_type=options.get("scan_type"),
            reference_group=options.get("reference_group"),
        )
    except DxaFileError as exc:
        raise CsvFileError(N_("The file cannot be read: %(reason)s"), reason=str(exc)) from None
    with db.session() as session:
        checked = check_export(session, export)
    rows = []
    for item in checked:
        record = item.record
        row = ImportRow(record.line, record.patient)
        if item.patient_id is not None:
            row.patient_id = item.patient_id
            row.patient_label = (
                pseudonym(item.patient_uid or "") if user.pseudonymised else item.patient_name
            )
        row.errors.extend((col, _safe(msg)) for col, msg in record.errors + item.errors)
        values: dict[str, Any] = {"scanned_on": record.scan.get("scanned_on"), "_scan": record.scan}
        for m in record.scan.get("measurements", []):
            name = f"{m['site']}_abmd"
            if name in ("spine_abmd", "tblh_abmd", "leg_abmd") and name not in values:
                values[name] = m.get("abmd_g_cm2")
        row.values = values
        rows.append(row)
    return rows


def describe_scanner_file(data: bytes, options: dict[str, str]) -> dict[str, str] | None:
    """How the preview read the file (layout, encoding, separator, decimal mark, dates) and
    the columns it did not store, so nothing is assumed out of sight; ``None`` for the plain
    CSV import or a file that could not be read (its error is shown instead)."""
    from pedbone.io import DxaFileError, read_dxa_export

    layout = options.get("layout", "pedbone")
    if layout == "pedbone":
        return None
    scanner = {
        k: options.get(k) for k in ("manufacturer", "model", "software_version", "analysis_mode")
    }
    try:
        export = read_dxa_export(
            data,
            layout=None if layout == "mapping" else layout,
            mapping=options.get("mapping") if layout == "mapping" else None,
            encoding=options.get("encoding"),
            delimiter=options.get("delimiter"),
            decimal=options.get("decimal"),
            date_format=options.get("date_format"),
            scanner=scanner,
            scan_type=options.get("scan_type"),
            reference_group=options.get("reference_group"),
        )
    except DxaFileError:
        return None
    return {
        "layout": export.layout,
        "format": export.format.describe(),
        "ignored": ", ".join(export.ignored),
        "unknown": ", ".join(export.unknown),
    }
