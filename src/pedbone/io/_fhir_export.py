"""One patient as a FHIR R4 (R4B models) Bundle of type ``collection``.

What is written (codes from :mod:`pedbone.io._fhir_codes`, one table with sources):

* ``Patient``: name, birth date, INSZ/NISS identifier [BE_CORE_SSIN], record number, pedbone's
  UID; ``gender`` is the *administrative* gender and is written only when recorded; the sex at
  birth that every reference uses is its own extension and never derived from ``gender``.
* ``Observation`` per anthropometric value (height 8302-2, lying length 8306-3, weight 29463-7,
  head circumference 8287-5, BMI 39156-5 computed from the same row) and per DXA value (aBMD,
  BMC, area, masses, vendor Z-scores informational, reported height-adjusted / BMAD Z-scores,
  and pedbone's own Z-scores recomputed from the raw values with the named reference pack,
  ``method`` saying which Z is which).
* ``DiagnosticReport`` 83311-1 grouping one scan's Observations, ``Device`` per scanner
  (manufacturer, model, software version, serial) referenced from each DXA Observation.
* ``MedicationRequest`` per treatment course (intent ``plan``) and ``MedicationAdministration``
  per infusion given (ATC code when the drug has one [ATC_M05BA]); planned, not-yet-given
  infusions are not administrations and are left out.
* ``AdverseEvent`` per harm (suspect entity: the infusion before it), ``Condition`` per diagnosis.

References between entries are ``urn:uuid:`` full URLs, stable for the same stored rows.
Every resource is validated by ``fhir.resources.R4B`` before the Bundle is returned.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import TYPE_CHECKING, Any, Final

from pedbone.io._fhir_codes import (
    ATC,
    CONDITION_CLINICAL,
    EXT,
    ICD10,
    OBSERVATION_CATEGORY,
    SSIN,
    UCUM,
    Code,
    by_key,
    codes,
)

if TYPE_CHECKING:
    from pedbone.store import DxaMeasurement, DxaScan, Patient

__all__ = ["EXPORTED_RESOURCES", "drug_code", "patient_bundle", "validate_resource"]

#: Resource types pedbone writes (and reads back).
EXPORTED_RESOURCES: Final = (
    "Patient",
    "Observation",
    "DiagnosticReport",
    "Device",
    "MedicationRequest",
    "MedicationAdministration",
    "AdverseEvent",
    "Condition",
)
_NAMESPACE: Final = uuid.UUID("6f1c1a52-7d1e-4b43-9a55-0b8d1d2f6e11")  # pedbone FHIR ids

#: DxaMeasurement column -> (quantity suffix of the code key, method of a Z-score or None)
DXA_QUANTITIES: Final[dict[str, tuple[str, str | None]]] = {
    "abmd_g_cm2": ("abmd", None),
    "bmc_g": ("bmc", None),
    "area_cm2": ("area", None),
    "lean_mass_g": ("lean_mass", None),
    "fat_mass_g": ("fat_mass", None),
    "vendor_z_abmd": ("abmd_z", "vendor"),
    "vendor_z_bmc": ("bmc_z", "vendor"),
    "reported_haz_adjusted_z_abmd": ("abmd_haz_z", "reported"),
    "reported_bmad_z": ("bmad_z", "reported"),
}
#: Anthropometry column -> code key (height depends on the method, see ``_height_key``)
ANTHRO_QUANTITIES: Final[dict[str, str]] = {
    "height_cm": "height",
    "weight_kg": "weight",
    "head_circumference_cm": "head_circumference",
    "sitting_height_cm": "sitting_height",
}
#: Treatment course status -> MedicationRequest.status [FHIR_R4B]
COURSE_STATUS: Final[dict[str, str]] = {
    "planned": "draft",
    "active": "active",
    "paused": "on-hold",
    "stopped": "stopped",
    "completed": "completed",
}


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)))


def _url(resource_id: str) -> str:
    return f"urn:uuid:{resource_id}"


def _ref(resource_id: str) -> dict[str, str]:
    return {"reference": _url(resource_id)}


def _ext(url: str, kind: str, value: Any) -> dict[str, Any]:
    return {"url": url, kind: value}


def _quantity(value: float, code: Code) -> dict[str, Any]:
    unit = code.unit or "1"
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def drug_code(drug: str) -> Code | None:
    """The ATC code of a bisphosphonate named as pedbone's protocols name it
    (``pamidronate``, ``zoledronic acid``, ...) [ATC_M05BA]; ``None`` when there is none."""
    word = drug.strip().lower().split()[0] if drug.strip() else ""
    if word.endswith("ate"):
        word = word[: -len("ate")] + "ic"
    return by_key(f"drug.{word}")


def _height_key(method: str | None) -> str:
    return (
        "height.lying"
        if (method or "").lower() in ("supine", "lying", "length")
        else ("height.standing")
    )


def _dxa_key(site: str, quantity: str, region: str | None) -> Code | None:
    side = (region or "").strip().lower()
    if side in ("left", "right"):
        lateral = by_key(f"dxa.{site}.{quantity}.{side}")
        if lateral is not None:
            return lateral
    return by_key(f"dxa.{site}.{quantity}")


class _Builder:
    def __init__(self, patient: Patient, mrn_system: str) -> None:
        self.patient = patient
        self.mrn_system = mrn_system
        self.pid = _id(patient.uid, "patient")
        self.entries: list[dict[str, Any]] = []
        self.devices: dict[tuple[Any, ...], str] = {}
        self.used: set[int] = set()

    def add(self, resource: dict[str, Any]) -> str:
        self.entries.append({"fullUrl": _url(resource["id"]), "resource": resource})
        return str(resource["id"])

    # ------------------------------------------------------------------ patient
    def patient_resource(self) -> None:
        p = self.patient
        identifiers = []
        if p.ssin:
            identifiers.append({"system": SSIN, "value": p.ssin})
        if p.mrn:
            identifiers.append({"system": self.mrn_system, "value": p.mrn})
        identifiers.append({"system": EXT.PATIENT_UID, "value": p.uid})
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": self.pid,
            "identifier": identifiers,
            "name": [{"family": p.family_name, "given": [p.given_name]}],
            "birthDate": p.birth_date.isoformat(),
            "extension": [_ext(EXT.SEX_AT_BIRTH, "valueCode", p.sex)],
        }
        if p.gestational_age_weeks is not None:
            resource["extension"].append(
                _ext(EXT.GESTATIONAL_AGE, "valueDecimal", p.gestational_age_weeks)
            )
        if p.administrative_gender:
            resource["gender"] = p.administrative_gender
        if p.demo:
            resource["meta"] = {"tag": [{"system": EXT.TAG, "code": "demo"}]}
        self.add(resource)

    def observation(
        self,
        oid: str,
        code: Code,
        value: float,
        day: dt.date,
        row: str,
        *,
        category: str,
        extra: dict[str, Any] | None = None,
    ) -> str:
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": oid,
            "identifier": [{"system": EXT.ROW, "value": row}],
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category}]}],
            "code": code.concept(),
            "subject": _ref(self.pid),
            "effectiveDateTime": day.isoformat(),
            "valueQuantity": _quantity(float(value), code),
        }
        resource.update(extra or {})
        return self.add(resource)

    # ------------------------------------------------------------------ anthropometry
    def anthropometry(self) -> None:
        for a in self.patient.anthropometry:
            row = f"anthropometry/{_id(self.patient.uid, 'anthropometry', a.id)}"
            made: dict[str, str] = {}
            for column, key in ANTHRO_QUANTITIES.items():
                value = getattr(a, column)
                if value is None:
                    continue
                if key == "height":
                    key = _height_key(a.height_method)
                code = by_key(key)
                assert code is not None, key
                extra: dict[str, Any] = {}
                if column == "height_cm" and a.height_method:
                    extra["extension"] = [_ext(EXT.HEIGHT_METHOD, "valueString", a.height_method)]
                made[column] = self.observation(
                    _id(self.patient.uid, "anthropometry", a.id, column),
                    code,
                    value,
                    a.measured_on,
                    row,
                    category="vital-signs",
                    extra=extra,
                )
            if a.height_cm and a.weight_kg:
                bmi = by_key("bmi")
                assert bmi is not None
                self.observation(
                    _id(self.patient.uid, "anthropometry", a.id, "bmi"),
                    bmi,
                    round(a.weight_kg / (a.height_cm / 100) ** 2, 2),
                    a.measured_on,
                    row,
                    category="vital-signs",
                    extra={
                        "derivedFrom": [
                            _ref(made["height_cm"]),
                            _ref(made["weight_kg"]),
                        ]
                    },
                )

    # ------------------------------------------------------------------ DXA
    def device(self, scan: DxaScan) -> str:
        key = (scan.manufacturer, scan.model, scan.software_version, scan.serial)
        if key in self.devices:
            return self.devices[key]
        resource: dict[str, Any] = {
            "resourceType": "Device",
            "id": _id(self.patient.uid, "device", *[k or "" for k in key]),
            "manufacturer": scan.manufacturer,
        }
        if scan.model:
            resource["deviceName"] = [{"name": scan.model, "type": "model-name"}]
        if scan.software_version:
            resource["version"] = [{"value": scan.software_version}]
        if scan.serial:
            resource["serialNumber"] = scan.serial
        self.devices[key] = self.add(resource)
        return self.devices[key]

    def dxa(self, zscores: dict[tuple[int, str], list[Any]]) -> None:
        uid = self.patient.uid
        for scan in self.patient.dxa_scans:
            device = self.device(scan)
            results: list[dict[str, str]] = []
            for m in scan.measurements:
                results.extend(self._measurement(scan, m, device, zscores.get((scan.id, m.site))))
            report: dict[str, Any] = {
                "resourceType": "DiagnosticReport",
                "id": _id(uid, "dxa_scan", scan.id),
                "identifier": [
                    {"system": EXT.ROW, "value": f"dxa_scan/{_id(uid, 'scan', scan.id)}"}
                ],
                "status": "final",
                "category": [_concept("dxa.category")],
                "code": _concept("dxa.panel"),
                "subject": _ref(self.pid),
                "effectiveDateTime": scan.scanned_on.isoformat(),
                "result": results,
            }
            ext = _scan_extensions(scan)
            if ext:
                report["extension"] = ext
            if scan.comment:
                report["conclusion"] = scan.comment
            self.add(report)

    def _measurement(
        self, scan: DxaScan, m: DxaMeasurement, device: str, recomputed: list[Any] | None
    ) -> list[dict[str, str]]:
        uid = self.patient.uid
        row = f"dxa_measurement/{_id(uid, 'measurement', m.id)}"
        common: list[dict[str, Any]] = []
        if m.region:
            common.append(_ext(EXT.DXA_REGION, "valueString", m.region))
        if m.reference_pack:
            common.append(_ext(EXT.REFERENCE_PACK, "valueString", m.reference_pack))
        if m.reference_group:
            common.append(_ext(EXT.REFERENCE_GROUP, "valueString", m.reference_group))
        out = []
        for column, (quantity, method) in DXA_QUANTITIES.items():
            value = getattr(m, column)
            if value is None:
                continue
            code = _dxa_key(m.site, quantity, m.region)
            if code is None:
                raise ValueError(f"fhir_codes.csv has no code for DXA {m.site} {quantity}")
            extra: dict[str, Any] = {"device": _ref(device), "bodySite": {"text": m.site}}
            if common:
                extra["extension"] = list(common)
            if method == "vendor":
                extra["method"] = {
                    "coding": [{"system": EXT.Z_METHOD, "code": "vendor"}],
                    "text": scan.vendor_reference
                    or "Z-score printed by the scanner (informational)",
                }
            elif method == "reported":
                extra["method"] = {
                    "coding": [{"system": EXT.Z_METHOD, "code": "reported"}],
                    "text": "Z-score as reported (e.g. an external calculator); informational",
                }
            oid = self.observation(
                _id(uid, "measurement", m.id, column),
                code,
                value,
                scan.scanned_on,
                row,
                category="imaging",
                extra=extra,
            )
            out.append(_ref(oid))
        for z in recomputed or []:
            measured = z.measure[len(m.site) + 1 :]
            raw = {"abmd": "abmd_g_cm2", "bmc": "bmc_g"}.get(measured)
            z_key = {"abmd": "abmd_z", "bmc": "bmc_z"}.get(measured)
            if z.z is None or raw is None or z_key is None:
                continue
            if getattr(m, raw) is None or float(getattr(m, raw)) != z.value:
                continue  # another measurement of the same site (e.g. the other leg)
            if id(z) in self.used:
                continue  # same site and value: dxa_zscores() keeps the measurement order
            self.used.add(id(z))
            code = _dxa_key(m.site, z_key, m.region)
            if code is None:
                continue
            pack = z.pack + (f" ({z.group})" if z.group else "")
            oid = self.observation(
                _id(uid, "measurement", m.id, "pedbone", z.measure),
                code,
                round(z.z, 3),
                scan.scanned_on,
                row,
                category="imaging",
                extra={
                    "device": _ref(device),
                    "bodySite": {"text": m.site},
                    "method": {
                        "coding": [{"system": EXT.Z_METHOD, "code": "reference-pack"}],
                        "text": f"recomputed by pedbone from the raw value with {pack}",
                    },
                },
            )
            out.append(_ref(oid))
        return out

    # ------------------------------------------------------------------ treatment, harms
    def treatments(self) -> dict[int, str]:
        given: dict[int, str] = {}
        uid = self.patient.uid
        for t in self.patient.treatments:
            medication = _medication(t.drug)
            rid = _id(uid, "treatment", t.id)
            dosage: dict[str, Any] = {"route": {"text": t.route}}
            repeat: dict[str, Any] = {"boundsPeriod": {"start": t.start_date.isoformat()}}
            if t.stop_date:
                repeat["boundsPeriod"]["end"] = t.stop_date.isoformat()
            if t.interval_months:
                repeat.update({"frequency": 1, "period": t.interval_months, "periodUnit": "mo"})
            dosage["timing"] = {"repeat": repeat}
            if t.planned_dose_mg_per_kg is not None:
                dosage["doseAndRate"] = [
                    {
                        "doseQuantity": {
                            "value": t.planned_dose_mg_per_kg,
                            "unit": "mg/kg",
                            "system": UCUM,
                            "code": "mg/kg",
                        }
                    }
                ]
            request: dict[str, Any] = {
                "resourceType": "MedicationRequest",
                "id": rid,
                "status": COURSE_STATUS[t.status],
                "intent": "plan",
                "medicationCodeableConcept": medication,
                "subject": _ref(self.pid),
                "authoredOn": t.start_date.isoformat(),
                "dosageInstruction": [dosage],
            }
            if t.indication:
                request["reasonCode"] = [{"text": t.indication}]
            if t.protocol_id:
                request["extension"] = [
                    _ext(f"{EXT.TREATMENT}-protocol", "valueString", t.protocol_id)
                ]
            self.add(request)
            for inf in t.infusions:
                if not inf.given:
                    continue
                given[inf.id] = self._administration(inf, rid, medication, t.route)
        return given

    def _administration(self, inf: Any, request: str, medication: Any, route: str) -> str:
        ext = []
        for column, kind in (
            ("dose_mg_per_kg", "valueDecimal"),
            ("weight_kg", "valueDecimal"),
            ("cycle_number", "valueInteger"),
            ("day_number", "valueInteger"),
            ("first_dose", "valueBoolean"),
            ("steroid_stress_dose", "valueBoolean"),
        ):
            value = getattr(inf, column)
            if value is not None:
                ext.append(_ext(f"{EXT.INFUSION}-{column.replace('_', '-')}", kind, value))
        dosage: dict[str, Any] = {"route": {"text": route}}
        if inf.dose_mg is not None:
            dosage["dose"] = {"value": inf.dose_mg, "unit": "mg", "system": UCUM, "code": "mg"}
        resource: dict[str, Any] = {
            "resourceType": "MedicationAdministration",
            "id": _id(self.patient.uid, "infusion", inf.id),
            "status": "completed",
            "medicationCodeableConcept": medication,
            "subject": _ref(self.pid),
            "request": _ref(request),
            "effectiveDateTime": inf.given_on.isoformat(),
            "dosage": dosage,
        }
        if ext:
            resource["extension"] = ext
        if inf.comment:
            resource["note"] = [{"text": inf.comment}]
        return self.add(resource)

    def adverse_events(self, given: dict[int, str]) -> None:
        for ae in self.patient.adverse_events:
            resource: dict[str, Any] = {
                "resourceType": "AdverseEvent",
                "id": _id(self.patient.uid, "adverse_event", ae.id),
                "actuality": "actual",
                "event": {"coding": [{"system": EXT.HARM, "code": ae.category}]},
                "subject": _ref(self.pid),
                "date": ae.occurred_on.isoformat(),
            }
            if ae.description:
                resource["event"]["text"] = ae.description
            if ae.severity:
                resource["severity"] = {"coding": [{"system": EXT.SEVERITY, "code": ae.severity}]}
            ext = []
            if ae.ctcae_grade is not None:
                ext.append(_ext(f"{EXT.ADVERSE}-ctcae-grade", "valueInteger", ae.ctcae_grade))
            if ae.onset_days is not None:
                ext.append(_ext(f"{EXT.ADVERSE}-onset-days", "valueDecimal", ae.onset_days))
            if ext:
                resource["extension"] = ext
            if ae.infusion_id is not None and ae.infusion_id in given:
                suspect: dict[str, Any] = {"instance": _ref(given[ae.infusion_id])}
                if ae.relatedness:
                    suspect["causality"] = [
                        {
                            "assessment": {
                                "coding": [{"system": EXT.RELATEDNESS, "code": ae.relatedness}]
                            }
                        }
                    ]
                resource["suspectEntity"] = [suspect]
            elif ae.relatedness:
                resource.setdefault("extension", []).append(
                    _ext(f"{EXT.ADVERSE}-relatedness", "valueCode", ae.relatedness)
                )
            self.add(resource)

    def conditions(self) -> None:
        for d in self.patient.diagnoses:
            coding = [{"system": EXT.DIAGNOSIS, "code": d.code}]
            if d.icd10:
                coding.append({"system": ICD10, "code": d.icd10})
            concept: dict[str, Any] = {"coding": coding}
            if d.text:
                concept["text"] = d.text
            status = "resolved" if d.resolved_date else "active"
            resource: dict[str, Any] = {
                "resourceType": "Condition",
                "id": _id(self.patient.uid, "diagnosis", d.id),
                "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": status}]},
                "code": concept,
                "subject": _ref(self.pid),
                "extension": [_ext(EXT.PRIMARY_DIAGNOSIS, "valueBoolean", bool(d.primary))],
            }
            if d.onset_date:
                resource["onsetDateTime"] = d.onset_date.isoformat()
            if d.resolved_date:
                resource["abatementDateTime"] = d.resolved_date.isoformat()
            self.add(resource)


def _concept(key: str) -> dict[str, Any]:
    code = by_key(key)
    assert code is not None, key
    return code.concept()


def _medication(drug: str) -> dict[str, Any]:
    code = drug_code(drug)
    concept: dict[str, Any] = {"text": drug}
    if code is not None:
        concept["coding"] = [{"system": ATC, "code": code.code}]
    return concept


#: DxaScan column -> (extension suffix, value kind)
SCAN_EXTENSIONS: Final[dict[str, str]] = {
    "analysis_mode": "valueString",
    "facility": "valueString",
    "vendor_reference": "valueString",
    "height_cm": "valueDecimal",
    "weight_kg": "valueDecimal",
    "precision_rms_sd": "valueString",  # JSON object {"spine_abmd": 0.01}
}


def _scan_extensions(scan: DxaScan) -> list[dict[str, Any]]:
    out = []
    for column, kind in SCAN_EXTENSIONS.items():
        value = getattr(scan, column)
        if value is None or value == {}:
            continue
        if column == "precision_rms_sd":
            value = json.dumps(value, sort_keys=True)
        out.append(_ext(f"{EXT.SCAN}-{column.replace('_', '-')}", kind, value))
    return out


def validate_resource(resource: dict[str, Any]) -> Any:
    """Validate one resource dict with the ``fhir.resources.R4B`` model of its type.

    Raises ``pydantic.ValidationError`` (or ``KeyError``/``ValueError`` for an unknown type).
    """
    from fhir.resources.R4B import get_fhir_model_class

    model = get_fhir_model_class(str(resource.get("resourceType")))
    return model.model_validate(resource)


def patient_bundle(
    patient: Patient, *, mrn_system: str = EXT.MRN, validate: bool = True
) -> dict[str, Any]:
    """The FHIR Bundle (a JSON-ready dict) of one stored patient with its rows loaded.

    ``mrn_system`` is the clinic's identifier system for record numbers. With ``validate``
    (default) every resource and the Bundle are checked by ``fhir.resources.R4B``.
    """
    from pedbone.store import dxa_zscores

    codes()  # the table loads (and is checked) before anything is built
    builder = _Builder(patient, mrn_system)
    builder.patient_resource()
    builder.conditions()
    builder.anthropometry()
    days: dict[dt.date, list[int]] = {}
    for scan in patient.dxa_scans:
        days.setdefault(scan.scanned_on, []).append(scan.id)
    by_scan: dict[tuple[int, str], list[Any]] = {}
    for z in dxa_zscores(patient):
        ids = days.get(z.scanned_on, [])
        if len(ids) == 1:  # two scans on one day: which Z belongs where is not known
            by_scan.setdefault((ids[0], z.site), []).append(z)
    builder.dxa(by_scan)
    given = builder.treatments()
    builder.adverse_events(given)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": _id(patient.uid, "bundle"),
        "type": "collection",
        "entry": builder.entries,
    }
    if validate:
        for entry in builder.entries:
            validate_resource(entry["resource"])
        validate_resource(bundle)
    return bundle
