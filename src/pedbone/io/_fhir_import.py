"""Read a FHIR R4 Bundle of one patient: check every resource first, then write all or nothing.

:func:`read_bundle` parses and checks, and writes nothing: each entry is validated by its
``fhir.resources.R4B`` model, every reference must be ``urn:uuid:...`` or ``Type/id`` naming an
entry of the same Bundle and of an allowed type (the library accepts ``Observation//x``; pedbone
refuses it), codes are looked up in the one code table (LOINC and the synonyms EHRs use
[RCPCH_SMART], pedbone's own codes), units are checked, and values go through the store's own
checks. The :class:`FhirPreview` lists per-resource errors and what was recognised but not
stored (derived values such as BMI and pedbone's recomputed Z-scores, T-scores, unknown codes).

:func:`import_preview` writes a preview without errors in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

from pedbone.io._fhir_codes import ATC, EXT, ICD10, SSIN, UCUM, Code, lookup
from pedbone.io._fhir_export import COURSE_STATUS, DXA_QUANTITIES, SCAN_EXTENSIONS
from pedbone.io._limits import LIMITS

__all__ = ["FhirIssue", "FhirPreview", "import_preview", "read_bundle"]

_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_UUID_URL = re.compile(r"urn:uuid:[0-9a-fA-F-]{36}")

#: Accepted units per quantity, as factors to pedbone's unit (UCUM codes).
UNITS: Final[dict[str, dict[str, float]]] = {
    "cm": {"cm": 1.0, "m": 100.0, "mm": 0.1},
    "kg": {"kg": 1.0, "g": 0.001},
    "g": {"g": 1.0, "kg": 1000.0},
    "g/cm2": {"g/cm2": 1.0},
    "cm2": {"cm2": 1.0},
    "{Z-score}": {"{Z-score}": 1.0, "{Z-Score}": 1.0, "1": 1.0, "{SD}": 1.0, "": 1.0},
}
_COURSE_FROM_FHIR: Final = {v: k for k, v in COURSE_STATUS.items()}


@dataclass(frozen=True, slots=True)
class FhirIssue:
    """An error or note about one entry: its 1-based position, ``Type/id`` and the message."""

    entry: int
    resource: str
    message: str

    def line(self) -> str:
        """``entry 3 (Observation/abc): message``."""
        where = f"entry {self.entry}" if self.entry else "bundle"
        return (
            f"{where} ({self.resource}): {self.message}"
            if self.resource
            else f"{where}: {self.message}"
        )


@dataclass(slots=True)
class FhirPreview:
    """What an import would store; nothing is written until :func:`import_preview`."""

    patient: dict[str, Any] = field(default_factory=dict)
    adverse_events: list[tuple[dict[str, Any], tuple[int, int] | None]] = field(
        default_factory=list
    )
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[FhirIssue] = field(default_factory=list)
    notes: list[FhirIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No error: the Bundle can be imported."""
        return not self.errors and bool(self.patient)

    def summary(self) -> str:
        """One line: what would be stored."""
        parts = [f"{n} {name}" for name, n in self.counts.items() if n]
        return ", ".join(parts) if parts else "nothing"


class _Error(Exception):
    pass


def _date(value: Any, what: str) -> dt.date:
    text = str(value or "")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(T.*)?", text):
        raise _Error(f"{what}: {value!r} is not a full date (YYYY-MM-DD)")
    return dt.date.fromisoformat(text[:10])


def _ext(resource: dict[str, Any], url: str) -> Any:
    for e in resource.get("extension") or []:
        if e.get("url") == url:
            for key, value in e.items():
                if key.startswith("value"):
                    return value
    return None


def _codings(concept: Any) -> list[dict[str, Any]]:
    return list((concept or {}).get("coding") or [])


def _code_of(concept: Any, system: str) -> str | None:
    for c in _codings(concept):
        if c.get("system") == system and c.get("code"):
            return str(c["code"])
    return None


class _Reader:
    def __init__(self, entries: list[dict[str, Any]], preview: FhirPreview) -> None:
        self.entries = entries
        self.preview = preview
        self.by_url: dict[str, int] = {}
        self.by_type_id: dict[str, int] = {}
        for i, e in enumerate(entries):
            res = e.get("resource") or {}
            if e.get("fullUrl"):
                self.by_url[str(e["fullUrl"])] = i
            if res.get("id"):
                self.by_type_id[f"{res.get('resourceType')}/{res['id']}"] = i
        self.patient_index: int | None = None
        self.mrn_system: str | None = None

    def label(self, i: int) -> str:
        res = self.entries[i].get("resource") or {}
        return f"{res.get('resourceType', '?')}/{res.get('id', '?')}"

    def error(self, i: int, message: str) -> None:
        self.preview.errors.append(FhirIssue(i + 1, self.label(i), message))

    def note(self, i: int, message: str) -> None:
        self.preview.notes.append(FhirIssue(i + 1, self.label(i), message))

    def resolve(self, ref: Any, allowed: tuple[str, ...], what: str) -> int:
        """The entry index a reference names; refuses malformed and outside references."""
        text = str((ref or {}).get("reference") or "")
        if not text:
            raise _Error(f"{what}: reference missing")
        if text.startswith("urn:uuid:"):
            if not _UUID_URL.fullmatch(text) or text not in self.by_url:
                raise _Error(f"{what}: {text!r} is not an entry of this Bundle")
            index = self.by_url[text]
        else:
            parts = text.split("/")
            if len(parts) != 2 or not parts[0] or not _ID.fullmatch(parts[1]):
                raise _Error(f"{what}: {text!r} is not a reference of the form Type/id")
            if text not in self.by_type_id:
                raise _Error(f"{what}: {text!r} is not an entry of this Bundle")
            index = self.by_type_id[text]
        kind = (self.entries[index].get("resource") or {}).get("resourceType")
        if kind not in allowed:
            raise _Error(f"{what}: {text!r} is a {kind}, expected {' or '.join(allowed)}")
        return index

    def subject(self, res: dict[str, Any], key: str = "subject") -> None:
        index = self.resolve(res.get(key), ("Patient",), key)
        if index != self.patient_index:
            raise _Error(f"{key}: names another patient than the Bundle's Patient")


def _quantity(res: dict[str, Any], code: Code, column: str) -> float:
    q = res.get("valueQuantity")
    if not isinstance(q, dict) or q.get("value") is None:
        raise _Error("valueQuantity: a number is required")
    unit = str(q.get("code") or q.get("unit") or "")
    if q.get("system") not in (None, UCUM) and unit:
        raise _Error(f"valueQuantity: unit system {q.get('system')!r} is not UCUM")
    factors = UNITS.get(code.unit or "", {})
    if unit not in factors:
        accepted = ", ".join(repr(u) for u in factors if u) or "none"
        raise _Error(
            f"valueQuantity: unit {unit!r} not accepted for {code.description} ({accepted})"
        )
    if q.get("comparator"):
        raise _Error(f"valueQuantity: censored value ({q['comparator']}) has no exact value")
    value = float(q["value"]) * factors[unit]
    lo, hi = LIMITS.get(column, (float("-inf"), float("inf")))
    if not lo <= value <= hi:
        raise _Error(
            f"{code.description}: {value:g} is outside pedbone's plausible range {lo:g}-{hi:g}"
        )
    return value


def _observation_code(res: dict[str, Any]) -> Code | None:
    found = [
        c for c in (lookup(x.get("system"), x.get("code")) for x in _codings(res.get("code"))) if c
    ]
    return found[0] if found else None


def read_bundle(
    data: bytes | str | dict[str, Any], *, mrn_system: str | None = None
) -> FhirPreview:
    """Check a Bundle (JSON text or a parsed dict) and describe what would be stored.

    ``mrn_system`` is the identifier system of the clinic's record numbers; without it the
    record number is pedbone's own (``urn:pedbone:mrn``) or the Patient's only other
    identifier, and several candidates are an error.
    """
    from pedbone.io._fhir_export import validate_resource

    preview = FhirPreview()
    if isinstance(data, bytes | str):
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            preview.errors.append(FhirIssue(0, "", f"not JSON: {exc}"))
            return preview
    else:
        doc = data
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        preview.errors.append(FhirIssue(0, "", "expected a FHIR Bundle (resourceType 'Bundle')"))
        return preview
    entries = [e if isinstance(e, dict) else {} for e in doc.get("entry") or []]
    reader = _Reader(entries, preview)
    reader.mrn_system = mrn_system
    valid: list[int] = []
    for i, e in enumerate(entries):
        res = e.get("resource")
        if not isinstance(res, dict):
            reader.error(i, "entry has no resource")
            continue
        try:
            validate_resource(res)
        except Exception as exc:  # pydantic.ValidationError, unknown resource type
            errors = getattr(exc, "errors", None)
            if callable(errors):
                first = errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ()))
                reader.error(i, f"not valid FHIR R4: {where}: {first.get('msg')}")
            else:
                reader.error(i, f"not valid FHIR R4: {exc}")
            continue
        valid.append(i)
    patients = [i for i in valid if entries[i]["resource"]["resourceType"] == "Patient"]
    if len(patients) != 1:
        preview.errors.append(
            FhirIssue(0, "", f"the Bundle must hold exactly one Patient, it holds {len(patients)}")
        )
        return preview
    reader.patient_index = patients[0]
    _Mapper(reader, valid).run()
    return preview


class _Mapper:
    def __init__(self, reader: _Reader, valid: list[int]) -> None:
        self.r = reader
        self.valid = valid
        self.p = reader.preview
        self.anthro: dict[str, dict[str, Any]] = {}
        self.scans: dict[int, dict[str, Any]] = {}  # DiagnosticReport index -> scan row
        self.in_report: dict[int, int] = {}  # Observation index -> report index
        self.courses: dict[int, dict[str, Any]] = {}
        self.infusions: dict[int, tuple[int, int]] = {}  # MA index -> (course index, position)

    def res(self, i: int) -> dict[str, Any]:
        return dict(self.r.entries[i]["resource"])

    def of(self, kind: str) -> list[int]:
        return [i for i in self.valid if self.r.entries[i]["resource"]["resourceType"] == kind]

    def guard(self, i: int, fn: Any) -> None:
        try:
            fn(i, self.res(i))
        except _Error as exc:
            self.r.error(i, str(exc))
        except ValueError as exc:  # the store's own checks (ValidationError)
            self.r.error(i, str(exc))

    def run(self) -> None:
        self.guard(self.r.patient_index or 0, self.patient)
        for i in self.of("Condition"):
            self.guard(i, self.condition)
        for i in self.of("DiagnosticReport"):
            self.guard(i, self.report)
        for i in self.of("Observation"):
            self.guard(i, self.observation)
        for i in self.of("MedicationRequest"):
            self.guard(i, self.course)
        for i in self.of("MedicationAdministration"):
            self.guard(i, self.administration)
        for i in self.of("AdverseEvent"):
            self.guard(i, self.adverse_event)
        handled = {"Patient", "Condition", "DiagnosticReport", "Observation", "Device"}
        handled |= {"MedicationRequest", "MedicationAdministration", "AdverseEvent"}
        for i in self.valid:
            kind = self.r.entries[i]["resource"]["resourceType"]
            if kind not in handled:
                self.r.note(i, f"{kind} is not imported by pedbone")
        self.finish()

    # ---------------------------------------------------------------- patient, conditions
    def patient(self, i: int, res: dict[str, Any]) -> None:
        from pedbone.store import Patient, build

        sex = _ext(res, EXT.SEX_AT_BIRTH)
        if sex not in ("M", "F"):
            raise _Error(
                "sex at birth missing (extension "
                f"{EXT.SEX_AT_BIRTH}); Patient.gender is administrative gender and is not "
                "used for the references"
            )
        names = res.get("name") or [{}]
        family = names[0].get("family") or ""
        given = " ".join(names[0].get("given") or [])
        if not family or not given or not res.get("birthDate"):
            raise _Error("name (family and given) and birthDate are required")
        data: dict[str, Any] = {
            "family_name": family,
            "given_name": given,
            "birth_date": _date(res["birthDate"], "birthDate"),
            "sex": sex,
            "administrative_gender": res.get("gender"),
            "gestational_age_weeks": _ext(res, EXT.GESTATIONAL_AGE),
            "demo": any(
                t.get("system") == EXT.TAG and t.get("code") == "demo"
                for t in (res.get("meta") or {}).get("tag") or []
            ),
        }
        others: dict[str, str] = {}
        for ident in res.get("identifier") or []:
            system, value = ident.get("system"), ident.get("value")
            if system == SSIN:
                data["ssin"] = value
            elif system == EXT.PATIENT_UID:
                data["uid"] = value
            elif system and value:
                others[str(system)] = str(value)
        wanted = self.r.mrn_system
        if wanted is not None:
            if wanted in others:
                data["mrn"] = others[wanted]
        elif EXT.MRN in others:
            data["mrn"] = others[EXT.MRN]
        elif len(others) == 1:
            data["mrn"] = next(iter(others.values()))
        elif len(others) > 1:
            raise _Error(
                "several identifiers could be the record number ("
                + ", ".join(sorted(others))
                + "): name the clinic's identifier system (--mrn-system)"
            )
        build(Patient, {k: v for k, v in data.items() if k != "uid"})  # the store's checks
        self.p.patient = data
        self.p.counts["patient"] = 1

    def condition(self, i: int, res: dict[str, Any]) -> None:
        from pedbone.store import Diagnosis, build

        self.r.subject(res)
        code = _code_of(res.get("code"), EXT.DIAGNOSIS) or "other"
        row: dict[str, Any] = {
            "code": code,
            "text": (res.get("code") or {}).get("text"),
            "icd10": _code_of(res.get("code"), ICD10),
            "primary": bool(_ext(res, EXT.PRIMARY_DIAGNOSIS)),
        }
        if res.get("onsetDateTime"):
            row["onset_date"] = _date(res["onsetDateTime"], "onsetDateTime")
        if res.get("abatementDateTime"):
            row["resolved_date"] = _date(res["abatementDateTime"], "abatementDateTime")
        if row["text"] is None and code == "other":
            row["text"] = " ".join(
                str(c.get("display") or c.get("code")) for c in _codings(res.get("code"))
            )
        build(Diagnosis, row)
        self.p.patient.setdefault("diagnoses", []).append(row)

    # ---------------------------------------------------------------- DXA
    def report(self, i: int, res: dict[str, Any]) -> None:
        from pedbone.store import DxaScan, build

        self.r.subject(res)
        if _code_of(res.get("code"), "http://loinc.org") not in ("83311-1", "38269-7"):
            self.r.note(i, "DiagnosticReport is not a DXA report (83311-1): not imported")
            return
        day = _date(res.get("effectiveDateTime"), "effectiveDateTime")
        device: int | None = None
        refs: list[int] = []
        bad: list[str] = []
        for ref in res.get("result") or []:
            try:
                refs.append(self.r.resolve(ref, ("Observation",), "result"))
            except _Error as exc:
                bad.append(str(exc))
        for j in refs:
            self.in_report[j] = i
        if bad:  # its results are then notes, not errors of their own (no cascade)
            raise _Error("; ".join(bad))
        for j in refs:
            obs = self.res(j)
            if obs.get("device"):
                d = self.r.resolve(obs["device"], ("Device",), f"{self.r.label(j)} device")
                if device is not None and d != device:
                    raise _Error("results name two different scanners (Device)")
                device = d
        if device is None:
            raise _Error("no scanner: the results name no Device (manufacturer is required)")
        dev = self.res(device)
        if not dev.get("manufacturer"):
            raise _Error(f"{self.r.label(device)}: manufacturer is required")
        model = next(
            (n.get("name") for n in dev.get("deviceName") or [] if n.get("type") == "model-name"),
            dev.get("modelNumber"),
        )
        scan: dict[str, Any] = {
            "scanned_on": day,
            "manufacturer": dev["manufacturer"],
            "model": model,
            "software_version": ((dev.get("version") or [{}])[0]).get("value"),
            "serial": dev.get("serialNumber"),
            "comment": res.get("conclusion"),
            "measurements": {},
        }
        for column in SCAN_EXTENSIONS:
            value = _ext(res, f"{EXT.SCAN}-{column.replace('_', '-')}")
            if value is not None:
                scan[column] = json.loads(value) if column == "precision_rms_sd" else value
        build(DxaScan, {k: v for k, v in scan.items() if k != "measurements"})
        self.scans[i] = scan

    def observation(self, i: int, res: dict[str, Any]) -> None:
        code = _observation_code(res)
        if code is None:
            names = ", ".join(
                f"{c.get('system')}|{c.get('code')}" for c in _codings(res.get("code"))
            )
            self.r.note(i, f"code {names or '(none)'} is not one pedbone imports")
            return
        if code.role == "ignored":
            self.r.note(i, f"not stored: {code.description}")
            return
        if code.role == "derived":
            self.r.note(i, f"not stored: {code.description} (pedbone computes it)")
            return
        self.r.subject(res)
        if res.get("status") in ("entered-in-error", "cancelled", "registered", "preliminary"):
            self.r.note(i, f"status {res.get('status')!r}: not imported")
            return
        if code.key.startswith("dxa."):
            self.dxa_value(i, res, code)
        else:
            self.anthro_value(i, res, code)

    def anthro_value(self, i: int, res: dict[str, Any], code: Code) -> None:
        column = {
            "height.standing": "height_cm",
            "height.lying": "height_cm",
            "weight": "weight_kg",
            "head_circumference": "head_circumference_cm",
            "sitting_height": "sitting_height_cm",
        }[code.key]
        value = _quantity(res, code, column)
        day = _date(res.get("effectiveDateTime"), "effectiveDateTime")
        group = _row_id(res) or f"day/{day.isoformat()}"
        row = self.anthro.setdefault(group, {"measured_on": day})
        if row["measured_on"] != day:
            raise _Error("grouped with values of another date")
        if row.get(column) is not None:
            raise _Error(f"a second {code.description} for {day.isoformat()}: which one is meant?")
        row[column] = value
        if column == "height_cm":
            method = _ext(res, EXT.HEIGHT_METHOD)
            row["height_method"] = method or ("supine" if code.key == "height.lying" else None)

    def dxa_value(self, i: int, res: dict[str, Any], code: Code) -> None:
        parts = code.key.split(".")  # dxa.site.quantity[.side]
        site, quantity = parts[1], parts[2]
        side = parts[3] if len(parts) > 3 else None
        method = _code_of(res.get("method"), EXT.Z_METHOD)
        if method == "reference-pack":
            self.r.note(i, "not stored: pedbone's own Z-score (recomputed from the raw values)")
            return
        column = next((c for c, (q, _m) in DXA_QUANTITIES.items() if q == quantity), None)
        if column is None:
            raise _Error(f"no pedbone field for {code.description}")
        report = self.in_report.get(i)
        if report is not None and report not in self.scans:
            self.r.note(i, f"not imported: its report {self.r.label(report)} has an error")
            return
        if report is None:
            raise _Error(
                "DXA result outside a DXA DiagnosticReport: pedbone needs the scan and its scanner"
            )
        value = _quantity(res, code, column)
        region = _ext(res, EXT.DXA_REGION) or side
        group = _row_id(res) or f"{site}/{region or ''}"
        measurements = self.scans[report]["measurements"]
        row = measurements.setdefault(group, {"site": site, "region": region})
        if row["site"] != site:
            raise _Error("grouped with values of another site")
        if row.get(column) is not None:
            raise _Error(f"a second {code.description} in one scan: which one is meant?")
        row[column] = value
        for key, url in (
            ("reference_pack", EXT.REFERENCE_PACK),
            ("reference_group", EXT.REFERENCE_GROUP),
        ):
            if _ext(res, url) is not None:
                row[key] = _ext(res, url)

    # ---------------------------------------------------------------- treatment, harms
    def course(self, i: int, res: dict[str, Any]) -> None:
        from pedbone.store import Treatment, build

        self.r.subject(res)
        medication = res.get("medicationCodeableConcept") or {}
        drug = medication.get("text") or _code_of(medication, ATC)
        if not drug:
            raise _Error("medicationCodeableConcept: the drug is not named")
        dosage = (res.get("dosageInstruction") or [{}])[0]
        repeat = (dosage.get("timing") or {}).get("repeat") or {}
        bounds = repeat.get("boundsPeriod") or {}
        start = bounds.get("start") or res.get("authoredOn")
        if not start:
            raise _Error("the course has no start date (dosageInstruction bounds or authoredOn)")
        status = _COURSE_FROM_FHIR.get(str(res.get("status")))
        if status is None:
            raise _Error(f"status {res.get('status')!r} has no pedbone course status")
        dose = ((dosage.get("doseAndRate") or [{}])[0]).get("doseQuantity") or {}
        if dose and dose.get("code") != "mg/kg":
            raise _Error("dosageInstruction dose: pedbone plans doses in mg/kg")
        row: dict[str, Any] = {
            "drug": drug,
            "route": (dosage.get("route") or {}).get("text") or "iv",
            "indication": ((res.get("reasonCode") or [{}])[0]).get("text"),
            "start_date": _date(start, "start"),
            "stop_date": _date(bounds["end"], "end") if bounds.get("end") else None,
            "interval_months": repeat.get("period") if repeat.get("periodUnit") == "mo" else None,
            "planned_dose_mg_per_kg": dose.get("value"),
            "status": status,
            "protocol_id": _ext(res, f"{EXT.TREATMENT}-protocol"),
            "infusions": [],
        }
        build(Treatment, {k: v for k, v in row.items() if k != "infusions"})
        self.courses[i] = row

    def administration(self, i: int, res: dict[str, Any]) -> None:
        from pedbone.store import Infusion, build

        self.r.subject(res)
        if res.get("status") != "completed":
            self.r.note(i, f"status {res.get('status')!r}: only doses given are imported")
            return
        if not res.get("request"):
            raise _Error("request: pedbone files a dose under its course (MedicationRequest)")
        course = self.r.resolve(res.get("request"), ("MedicationRequest",), "request")
        if course not in self.courses:
            raise _Error("request: the course could not be read (see its error)")
        dose = (res.get("dosage") or {}).get("dose") or {}
        if dose and dose.get("code") != "mg":
            raise _Error("dosage.dose: the absolute dose must be in mg")
        row: dict[str, Any] = {
            "given_on": _date(res.get("effectiveDateTime"), "effectiveDateTime"),
            "dose_mg": dose.get("value"),
            "comment": ((res.get("note") or [{}])[0]).get("text"),
            "status": "given",
        }
        for column in ("dose_mg_per_kg", "weight_kg", "cycle_number", "day_number"):
            row[column] = _ext(res, f"{EXT.INFUSION}-{column.replace('_', '-')}")
        for column in ("first_dose", "steroid_stress_dose"):
            row[column] = bool(_ext(res, f"{EXT.INFUSION}-{column.replace('_', '-')}"))
        build(Infusion, row)
        infusions = self.courses[course]["infusions"]
        self.infusions[i] = (list(self.courses).index(course), len(infusions))
        infusions.append(row)

    def adverse_event(self, i: int, res: dict[str, Any]) -> None:
        from pedbone.store import AdverseEvent, build

        self.r.subject(res)
        category = _code_of(res.get("event"), EXT.HARM)
        description = (res.get("event") or {}).get("text")
        if category is None:
            words = [str(c.get("display") or c.get("code")) for c in _codings(res.get("event"))]
            description = description or "; ".join(words) or None
            category = "other"
            self.r.note(
                i, "harm not coded with pedbone's harm codes: stored as 'other' with its text"
            )
        row: dict[str, Any] = {
            "occurred_on": _date(res.get("date"), "date"),
            "category": category,
            "description": description,
            "severity": _code_of(res.get("severity"), EXT.SEVERITY),
            "ctcae_grade": _ext(res, f"{EXT.ADVERSE}-ctcae-grade"),
            "onset_days": _ext(res, f"{EXT.ADVERSE}-onset-days"),
            "relatedness": _ext(res, f"{EXT.ADVERSE}-relatedness"),
        }
        link: tuple[int, int] | None = None
        for suspect in res.get("suspectEntity") or []:
            j = self.r.resolve(
                suspect.get("instance"), ("MedicationAdministration",), "suspectEntity.instance"
            )
            if j not in self.infusions:
                raise _Error("suspectEntity: that administration could not be read")
            link = self.infusions[j]
            for c in suspect.get("causality") or []:
                row["relatedness"] = (
                    _code_of(c.get("assessment"), EXT.RELATEDNESS) or row["relatedness"]
                )
        build(AdverseEvent, row)
        self.p.adverse_events.append((row, link))

    # ---------------------------------------------------------------- assemble
    def finish(self) -> None:
        from pedbone.store import Anthropometry, DxaMeasurement, build

        if not self.p.patient:
            return
        for group, row in self.anthro.items():
            try:
                build(Anthropometry, row)
            except ValueError as exc:
                self.p.errors.append(FhirIssue(0, group, str(exc)))
        self.p.patient["anthropometry"] = sorted(
            self.anthro.values(), key=lambda r: r["measured_on"]
        )
        scans = []
        for index, scan in self.scans.items():
            rows = list(scan.pop("measurements").values())
            for row in rows:
                try:
                    build(DxaMeasurement, row)
                except ValueError as exc:
                    self.r.error(index, str(exc))
            if not rows:
                self.r.note(index, "DXA report without results: not imported")
                continue
            scan["measurements"] = rows
            scans.append(scan)
        self.p.patient["dxa_scans"] = scans
        self.p.patient["treatments"] = list(self.courses.values())
        self.p.counts.update(
            {
                "diagnoses": len(self.p.patient.get("diagnoses", [])),
                "anthropometry rows": len(self.anthro),
                "DXA scans": len(scans),
                "DXA measurements": sum(len(s["measurements"]) for s in scans),
                "treatment courses": len(self.courses),
                "infusions": sum(len(c["infusions"]) for c in self.courses.values()),
                "adverse events": len(self.p.adverse_events),
            }
        )


def _row_id(res: dict[str, Any]) -> str | None:
    for ident in res.get("identifier") or []:
        if ident.get("system") == EXT.ROW and ident.get("value"):
            return str(ident["value"])
    return None


def import_preview(db: Any, preview: FhirPreview, actor: Any = None) -> int:
    """Store a checked preview in one transaction; returns the new patient's id.

    Refuses a preview with errors, and a patient whose UID, record number or INSZ/NISS is
    already in the database (nothing is written then).
    """
    from sqlalchemy import select

    from pedbone.store import AdverseEvent, ImportRowError, Patient, StoreError, build

    if not preview.ok:
        raise ImportRowError(1, "the Bundle has errors; fix them first")
    data = dict(preview.patient)
    with db.unit_of_work(actor) as session:
        for column in ("uid", "mrn", "ssin"):
            value = data.get(column)
            if value and session.scalar(
                select(Patient.id).where(getattr(Patient, column) == value)
            ):
                raise StoreError(
                    f"a patient with this {column} ({value}) is already in the database; "
                    "nothing was imported"
                )
        patient = build(Patient, {k: v for k, v in data.items() if k != "uid"})
        if data.get("uid"):
            patient.uid = data["uid"]
        for row, link in preview.adverse_events:
            event = build(AdverseEvent, row)
            if link is not None:
                course, position = link
                event.infusion = patient.treatments[course].infusions[position]
            patient.adverse_events.append(event)
        session.add(patient)
        session.flush()
        return int(patient.id)
