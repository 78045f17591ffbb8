"""CSV import of DXA results: parse and check every row first, write only a clean file.

The file is read completely and every row is checked (patient found, date valid, numbers in
range, at least one value, no scan already on that date) before anything is written; the
page shows a per-row report. Writing happens in one transaction: all rows or none.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any, Final

from pedbone.web._forms import FORMS, parse
from pedbone.web._i18n import N_
from pedbone.web._security import WebUser

__all__ = ["COLUMNS", "ImportRow", "commit_rows", "read_dxa_csv"]

#: CSV column -> DXA form field. ``mrn`` (record number) identifies the patient.
COLUMNS: Final[dict[str, str]] = {
    "scan_date": "scanned_on",
    "manufacturer": "manufacturer",
    "model": "model",
    "software": "software_version",
    "analysis_mode": "analysis_mode",
    "precision_spine": "precision_spine",
    "height_cm": "height_cm",
    "weight_kg": "weight_kg",
    "spine_abmd": "spine_abmd",
    "spine_bmc": "spine_bmc",
    "spine_area": "spine_area",
    "spine_vendor_z": "spine_vendor_z",
    "tblh_abmd": "tblh_abmd",
    "tblh_bmc": "tblh_bmc",
    "tblh_vendor_z": "tblh_vendor_z",
    "leg_abmd": "leg_abmd",
    "leg_bmc": "leg_bmc",
    "leg_lean_mass": "leg_lean_mass",
    "leg_fat_mass": "leg_fat_mass",
    "reference_group": "reference_group",
    "comment": "comment",
}
REQUIRED_COLUMNS: Final = ("mrn", "scan_date", "manufacturer")


class CsvFileError(ValueError):
    """The file as a whole cannot be read (encoding, header); nothing was written.

    ``msgid`` is translatable and is completed with ``params`` (e.g. the line number).
    """

    def __init__(self, msgid: str, **params: Any) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(msgid % params if params else msgid)


@dataclass(slots=True)
class ImportRow:
    """One data row: its line number, the patient found, the values and any errors."""

    line: int
    mrn: str
    patient_id: int | None = None
    patient_label: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column, message msgid)
    #: Flags that do not stop the import: (column, msgid, parameters), e.g. aBMD vs BMC/area.
    warnings: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No error in this row."""
        return not self.errors


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvFileError(
            N_("line %(line)s: not UTF-8 text (save the file as CSV UTF-8)"), line=line
        ) from None


def read_dxa_csv(
    db: Any, user: WebUser, data: bytes, language: str, options: dict[str, str] | None = None
) -> list[ImportRow]:
    """Check every row of an uploaded DXA CSV file; writes nothing.

    ``options`` other than the ``pedbone`` layout read a scanner export instead
    (:mod:`pedbone.web._import_scanner`). Raises CsvFileError when the file cannot be read at
    all (encoding, missing columns).
    """
    if options and options.get("layout", "pedbone") != "pedbone":
        from pedbone.web._import_scanner import read_scanner_export

        return list(read_scanner_export(db, user, data, options))
    from sqlalchemy import select

    from pedbone.store import DxaScan, Patient
    from pedbone.web._data import dxa_has_values, pseudonym

    text = _decode(data)
    if not text.strip():
        raise CsvFileError(N_("The file is empty."))
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    repeated = sorted({h for h in header if h and header.count(h) > 1})
    if repeated:  # csv.DictReader would silently keep the last of them (a second "mrn"!)
        raise CsvFileError(
            N_("line 1: column(s) %(columns)s appear more than once"), columns=", ".join(repeated)
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CsvFileError(N_("line 1: missing column(s) %(columns)s"), columns=", ".join(missing))
    unknown = [h for h in header if h and h != "mrn" and h not in COLUMNS]
    if unknown:
        raise CsvFileError(N_("line 1: unknown column(s) %(columns)s"), columns=", ".join(unknown))
    reader.fieldnames = header
    spec = FORMS["dxa"]
    rows: list[ImportRow] = []
    seen: set[tuple[int, dt.date]] = set()
    try:
        raw_rows = list(reader)
    except csv.Error as exc:
        raise CsvFileError(
            N_("line %(line)s: %(reason)s"), line=reader.line_num, reason=str(exc)
        ) from None
    with db.session() as session:
        mrns = {(r.get("mrn") or "").strip() for r in raw_rows}
        patients = {
            p.mrn: p
            for p in session.scalars(select(Patient).where(Patient.mrn.in_(sorted(mrns - {""}))))
        }
        for index, raw in enumerate(raw_rows):
            line = index + 2  # header is line 1 (no quoted newlines in DXA exports)
            if None in raw:
                row = ImportRow(line, (raw.get("mrn") or "").strip())
                row.errors.append(("", N_("More values than columns.")))
                rows.append(row)
                continue
            if not any((v or "").strip() for v in raw.values()):
                continue  # blank line
            row = ImportRow(line, (raw.get("mrn") or "").strip())
            patient = patients.get(row.mrn)
            if not row.mrn:
                row.errors.append(("mrn", N_("This field is required.")))
            elif patient is None:
                row.errors.append(("mrn", N_("No patient with this record number.")))
            else:
                row.patient_id = patient.id
                row.patient_label = (
                    pseudonym(patient.uid) if user.pseudonymised else patient.display_name
                )
            form = {COLUMNS[k]: (v or "") for k, v in raw.items() if k in COLUMNS}
            values, errors = parse(spec.fields, form, language)
            by_field = {v: k for k, v in COLUMNS.items()}
            row.errors.extend((by_field.get(name, name), msg) for name, msg in errors.items())
            row.values = values
            if not errors and not dxa_has_values(values):
                row.errors.append(("", N_("Enter at least one measured value.")))
            elif not errors:
                problem = _store_refusal(values)  # what the commit would refuse (H32)
                if problem is not None:
                    name, message = problem
                    row.errors.append((by_field.get(name, name), message))
            day = values.get("scanned_on")
            if patient is not None and isinstance(day, dt.date) and day < patient.birth_date:
                row.errors.append(
                    ("scan_date", N_("The scan is dated before the patient's birth."))
                )
            _flag_inconsistent_abmd(row, values)
            if row.patient_id is not None and isinstance(day, dt.date):
                key = (row.patient_id, day)
                if key in seen:
                    row.errors.append(("scan_date", N_("Same patient and date twice in the file.")))
                elif session.scalar(
                    select(DxaScan.id).where(
                        (DxaScan.patient_id == row.patient_id) & (DxaScan.scanned_on == day)
                    )
                ):
                    row.errors.append(("scan_date", N_("A scan on this date is already recorded.")))
                seen.add(key)
            rows.append(row)
    return rows


def _flag_inconsistent_abmd(row: ImportRow, values: dict[str, Any]) -> None:
    """Flag a spine aBMD that is not BMC / area within the tolerance (a column mix-up?)."""
    from pedbone.store._consistency import ABMD_CONSISTENCY_TOLERANCE, abmd_inconsistency

    abmd, bmc, area = (values.get(f"spine_{k}") for k in ("abmd", "bmc", "area"))
    difference = abmd_inconsistency(abmd, bmc, area)
    if difference is not None and bmc is not None and area is not None:
        row.warnings.append(
            (
                "spine_abmd",
                N_(
                    "aBMD %(abmd)s differs from BMC / area = %(quotient)s by %(percent)s %% "
                    "(more than %(tolerance)s %%): check the columns before importing."
                ),
                {
                    "abmd": f"{abmd:.3f}",
                    "quotient": f"{bmc / area:.3f}",
                    "percent": f"{100 * difference:.0f}",
                    "tolerance": f"{100 * ABMD_CONSISTENCY_TOLERANCE:.0f}",
                },
            )
        )


def _store_refusal(values: dict[str, Any]) -> tuple[str, str] | None:
    """(field, message) if the store would refuse the scan built from ``values`` (a text too
    long for its column, a control character, ...), checked without the database."""
    from pedbone.store import StoreError
    from pedbone.store._limits import check_object
    from pedbone.web._data import _dxa_scan

    try:
        check_object(_dxa_scan(values))
    except StoreError as exc:
        message = str(exc)
        return message.split(":", 1)[0].rsplit(".", 1)[-1], message
    return None


def commit_rows(db: Any, user: WebUser, rows: list[ImportRow], preview_key: str = "") -> int:
    """Write all rows in one transaction (the caller checked they are all valid).

    The checks that depend on the database run again inside the write transaction, with the
    patients' rows locked (PostgreSQL; SQLite's transaction holds the write lock from its
    start), so two commits at the same moment cannot both store a scan of the same patient and
    date (hazard H34). ``preview_key`` is recorded in ``import_commits``, whose unique key
    refuses the same preview a second time (:class:`~pedbone.store.ConflictError`, H35).
    """
    from sqlalchemy import select

    from pedbone.store import ConflictError, DxaScan, ImportCommit, Patient
    from pedbone.web._data import _actor, _dxa_scan

    if any(not r.ok or r.patient_id is None for r in rows):
        raise ValueError("refusing to import a file with errors")
    with db.unit_of_work(actor=_actor(db, user)) as session:
        ids = sorted({r.patient_id for r in rows if r.patient_id is not None})
        locked = set(
            session.scalars(
                select(Patient.id).where(Patient.id.in_(ids)).order_by(Patient.id).with_for_update()
            )
        )
        for row in rows:
            if row.patient_id not in locked:
                raise ConflictError(
                    f"line {row.line}: the patient was deleted meanwhile; nothing was imported"
                )
            day = row.values.get("scanned_on")
            exists = session.scalar(
                select(DxaScan.id).where(
                    (DxaScan.patient_id == row.patient_id) & (DxaScan.scanned_on == day)
                )
            )
            if exists:
                raise ConflictError(
                    f"line {row.line}: a scan of this patient on {day} was recorded meanwhile "
                    "(the same file imported twice?); nothing was imported"
                )
        if preview_key:
            session.add(
                ImportCommit(
                    preview_key=preview_key,
                    sha256=preview_key.split(".", 1)[0],
                    kind="dxa",
                    rows=len(rows),
                    username=user.username,
                )
            )
            session.flush()  # a second commit of this preview fails here, before any scan
        for row in rows:
            if "_scan" in row.values:  # a scanner export (pedbone.io builds the scan)
                from pedbone.io._dxa_import import build_scan

                scan = build_scan(row.values["_scan"])
            else:
                scan = _dxa_scan(row.values)
            scan.patient_id = row.patient_id
            session.add(scan)
    return len(rows)
