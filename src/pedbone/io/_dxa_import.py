"""From checked DXA export rows to stored scans: find the patient, refuse duplicates, write
all scans in one transaction or none.

The patient is found by the exact record number as text (leading zeros matter); when the file
has a birth date it must match the stored one (a wrong-patient guard). Each measurement names
the built-in reference pack that has its site, so pedbone recomputes the Z-score from the raw
value; the vendor's Z-score is kept for information only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pedbone.io._dxa_files import DxaExport, DxaRecord

__all__ = ["CheckedScan", "build_scan", "check_export", "reference_pack_for", "store_scans"]


@dataclass(slots=True)
class CheckedScan:
    """One record of the file with the patient it belongs to and every error found."""

    record: DxaRecord
    patient_id: int | None = None
    patient_uid: str | None = None
    patient_name: str = ""
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Neither the values nor the match have an error."""
        return not self.errors and self.record.ok and self.patient_id is not None


@cache
def reference_pack_for(site: str) -> str | None:
    """The first built-in reference pack with an aBMD (else BMC) curve for ``site``."""
    from pedbone.references import available

    for measure in (f"{site}_abmd", f"{site}_bmc"):
        for summary in available():
            if measure in summary.coverage:
                return str(summary.id)
    return None


def check_export(session: Any, export: DxaExport) -> list[CheckedScan]:
    """Match every record to a patient and look for duplicates; writes nothing."""
    from sqlalchemy import select

    from pedbone.store import DxaScan, Patient

    keys = sorted({r.patient for r in export.records if r.patient})
    patients = {p.mrn: p for p in session.scalars(select(Patient).where(Patient.mrn.in_(keys)))}
    seen: set[tuple[int, dt.date]] = set()
    out = []
    for record in export.records:
        row = CheckedScan(record)
        patient = patients.get(record.patient)
        if record.patient and patient is None:
            hint = ""
            stripped = record.patient.lstrip("0")
            if stripped != record.patient or record.patient.isdigit():
                near = session.scalar(
                    select(Patient.mrn).where(
                        Patient.mrn.in_([stripped, *(("0" * n + stripped) for n in range(1, 6))])
                    )
                )
                if near:
                    hint = (
                        f" (record number {near} exists: did a spreadsheet drop or add "
                        "leading zeros?)"
                    )
            row.errors.append(("patient", f"No patient with this record number.{hint}"))
        elif patient is not None:
            row.patient_id, row.patient_uid = patient.id, patient.uid
            row.patient_name = patient.display_name
            if record.birth_date and record.birth_date != patient.birth_date:
                row.errors.append(
                    (
                        "birth_date",
                        "The birth date in the file differs from the patient's: wrong patient?",
                    )
                )
            day = record.scan.get("scanned_on")
            if isinstance(day, dt.date):
                if (patient.id, day) in seen:
                    row.errors.append(("scan_date", "Same patient and date twice in the file."))
                elif session.scalar(
                    select(DxaScan.id).where(
                        (DxaScan.patient_id == patient.id) & (DxaScan.scanned_on == day)
                    )
                ):
                    row.errors.append(("scan_date", "A scan on this date is already recorded."))
                seen.add((patient.id, day))
        out.append(row)
    return out


def build_scan(scan: dict[str, Any]) -> Any:
    """A :class:`pedbone.store.DxaScan` with its measurements from a record's values."""
    from pedbone.store import DxaMeasurement, DxaScan, build

    values = {k: v for k, v in scan.items() if k != "measurements" and v is not None}
    obj = build(DxaScan, values)
    for m in scan.get("measurements", []):
        measurement = build(DxaMeasurement, {k: v for k, v in m.items() if v is not None})
        measurement.reference_pack = reference_pack_for(measurement.site)
        obj.measurements.append(measurement)
    return obj


def store_scans(db: Any, rows: list[CheckedScan], actor: Any = None) -> int:
    """Write every scan in one transaction (refused if any row has an error)."""
    from pedbone.store import ImportRowError

    bad = next((r for r in rows if not r.ok), None)
    if bad is not None:
        raise ImportRowError(bad.record.line, "the file has errors; nothing was imported")
    with db.unit_of_work(actor) as session:
        for row in rows:
            scan = build_scan(row.record.scan)
            scan.patient_id = row.patient_id
            session.add(scan)
        session.flush()
    return len(rows)
