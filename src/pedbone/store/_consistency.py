"""Consistency of what is entered or imported: numbers read strictly, no record dated before the
patient's birth, DXA aBMD consistent with BMC / area (hazard H37).

These are software rules [SWRULES] (data-entry checks, not clinical thresholds). The clinical
plausibility limits of values (weight, height, doses) belong to ``pedbone.plausibility``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Final

from sqlalchemy import Date, event, inspect
from sqlalchemy.orm import Session, UOWTransaction

from pedbone.plausibility import ABMD_CONSISTENCY_TOLERANCE, abmd_inconsistency
from pedbone.store._engine import StoreSession
from pedbone.store._errors import ValidationError

__all__ = [
    "ABMD_CONSISTENCY_TOLERANCE",
    "abmd_inconsistency",
    "parse_decimal",
]


#: A plain decimal number: ASCII digits, one decimal point or comma, optional sign and
#: exponent. No digit-group separators (Python's float() reads "1_00" as 100), no other
#: scripts' digits, no "inf"/"nan".
_NUMBER: Final = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


def parse_decimal(text: str, *, comma: bool = True) -> float:
    """Read one number strictly (decimal point, or with ``comma`` also a decimal comma);
    raise ``ValueError`` otherwise.

    >>> parse_decimal("0,734"), parse_decimal("-1.5"), parse_decimal("2e3")
    (0.734, -1.5, 2000.0)
    >>> parse_decimal("1_00")
    Traceback (most recent call last):
    ...
    ValueError: not a number: '1_00'
    """
    raw = text.strip()
    if not _NUMBER.fullmatch(raw) or (not comma and "," in raw):
        raise ValueError(f"not a number: {text!r}")
    value = float(raw.replace(",", "."))
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text!r}")
    return value


def _birth_date(session: Session, obj: Any) -> dt.date | None:
    from pedbone.store._models import Patient

    patient = inspect(obj).dict.get("patient")
    if patient is None:
        patient_id = getattr(obj, "patient_id", None)
        if patient_id is None:
            return None
        with session.no_autoflush:
            patient = session.get(Patient, patient_id)
    return getattr(patient, "birth_date", None)


def _date_columns(obj: Any) -> list[str]:
    return [
        attr.key
        for attr in inspect(obj).mapper.column_attrs
        if isinstance(attr.columns[0].type, Date) and attr.key != "birth_date"
    ]


def check_not_before_birth(session: Session, obj: Any) -> None:
    """Refuse a patient's record dated before the patient was born."""
    birth = _birth_date(session, obj)
    if birth is None:
        return
    for key in _date_columns(obj):
        value = getattr(obj, key, None)
        if isinstance(value, dt.date) and value < birth:
            raise ValidationError(
                f"{key}: {value.isoformat()} is before the patient's birth date "
                f"({birth.isoformat()})"
            )


def check_patient_dates(patient: Any) -> None:
    """Refuse a new patient's nested record dated before birth, naming it like the import
    does (``dxa_scans[1].scanned_on: ...``); no database needed."""
    birth = getattr(patient, "birth_date", None)
    if not isinstance(birth, dt.date):
        return
    for rel in inspect(patient).mapper.relationships:
        if not rel.uselist:
            continue
        for index, child in enumerate(inspect(patient).dict.get(rel.key) or [], start=1):
            for key in _date_columns(child):
                value = getattr(child, key, None)
                if isinstance(value, dt.date) and value < birth:
                    raise ValidationError(
                        f"{rel.key}[{index}].{key}: {value.isoformat()} is before the "
                        f"patient's birth date ({birth.isoformat()})"
                    )


@event.listens_for(StoreSession, "before_flush")
def _dates_before_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    from pedbone.store._models import Patient

    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Patient):
            if obj in session.new or not inspect(obj).attrs.birth_date.history.has_changes():
                continue
            birth = obj.birth_date
            for rel in inspect(obj).mapper.relationships:
                for child in getattr(obj, rel.key) if rel.uselist else ():
                    for key in _date_columns(child):
                        value = getattr(child, key, None)
                        if isinstance(value, dt.date) and value < birth:
                            raise ValidationError(
                                f"birth_date: {birth.isoformat()} is after a record of the "
                                f"patient ({rel.key}, {key} {value.isoformat()})"
                            )
        elif hasattr(obj, "patient_id") and (
            obj in session.new or session.is_modified(obj, include_collections=False)
        ):
            check_not_before_birth(session, obj)
