"""FHIR R4 (R4B models) export and import: round trip, library validation, refused input."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import selectinload

from pedbone.bibliography import cite
from pedbone.io import fhir_bundle, fhir_codes, import_fhir_preview, read_fhir_bundle
from pedbone.io._fhir_export import validate_resource
from pedbone.store import (
    AdverseEvent,
    Anthropometry,
    Database,
    Diagnosis,
    DxaMeasurement,
    DxaScan,
    Infusion,
    Patient,
    StoreError,
    Treatment,
)

D = dt.date


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = Database(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    yield database
    database.dispose()


@pytest.fixture
def empty_db(tmp_path: Path) -> Any:
    database = Database(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    yield database
    database.dispose()


def _rich_patient() -> Patient:
    """Synthetic patient using every exported field."""
    p = Patient(
        family_name="Synthetic",
        given_name="Fhir Kind",
        birth_date=D(2012, 3, 1),
        sex="F",
        mrn="0012345",  # leading zeros kept
        ssin="12.03.01-123.45",
        administrative_gender="female",
        gestational_age_weeks=36.5,
    )
    p.diagnoses.append(
        Diagnosis(
            code="phenylketonuria",
            text="PKU <b>",
            icd10="E70.0",
            onset_date=D(2012, 3, 8),
            primary=True,
        )
    )
    p.diagnoses.append(
        Diagnosis(
            code="other", text="eczema", onset_date=D(2015, 1, 1), resolved_date=D(2016, 1, 1)
        )
    )
    p.anthropometry.append(
        Anthropometry(
            measured_on=D(2013, 1, 5),
            height_cm=74.5,
            weight_kg=9.1,
            height_method="supine",
            head_circumference_cm=45.0,
        )
    )
    p.anthropometry.append(Anthropometry(measured_on=D(2024, 2, 1), height_cm=140.2))
    p.anthropometry.append(Anthropometry(measured_on=D(2024, 2, 1), weight_kg=33.0))  # same day
    scan = DxaScan(
        scanned_on=D(2024, 2, 2),
        manufacturer="Hologic",
        model="Horizon A",
        software_version="APEX 5.6.0.5",
        serial="H-001",
        analysis_mode="pediatric",
        facility="Synthetic clinic",
        precision_rms_sd={"spine_abmd": 0.01},
        height_cm=140.2,
        weight_kg=33.0,
        vendor_reference="Hologic pediatric (synthetic)",
        comment="note",
    )
    scan.measurements.append(
        DxaMeasurement(
            site="spine",
            region="L1-L4",
            abmd_g_cm2=0.612,
            bmc_g=28.1,
            area_cm2=45.9,
            vendor_z_abmd=-2.4,
            reported_haz_adjusted_z_abmd=-1.6,
            reported_bmad_z=-1.1,
        )
    )
    scan.measurements.append(
        DxaMeasurement(site="tblh", abmd_g_cm2=0.701, bmc_g=901.0, vendor_z_bmc=-1.2)
    )
    for side, bmd in (("left", 0.69), ("right", 0.70)):
        scan.measurements.append(
            DxaMeasurement(
                site="leg",
                region=side,
                abmd_g_cm2=bmd,
                bmc_g=250.0,
                lean_mass_g=4100.0,
                fat_mass_g=2100.0,
                reference_pack="schafmeyer2022",
                reference_group="white",
            )
        )
    scan.measurements.append(
        DxaMeasurement(site="total_hip", region="left", abmd_g_cm2=0.75, vendor_z_abmd=-0.5)
    )
    p.dxa_scans.append(scan)
    course = Treatment(
        drug="pamidronate",
        route="iv",
        indication="low-trauma fractures",
        start_date=D(2024, 3, 1),
        interval_months=3.0,
        planned_dose_mg_per_kg=1.0,
        status="active",
        protocol_id="pamidronate-henderson-2002",
    )
    first = Infusion(
        given_on=D(2024, 3, 1),
        cycle_number=1,
        day_number=1,
        dose_mg_per_kg=0.5,
        dose_mg=16.5,
        weight_kg=33.0,
        first_dose=True,
        comment="slow",
    )
    course.infusions.append(first)
    course.infusions.append(
        Infusion(
            given_on=D(2024, 3, 2),
            cycle_number=1,
            day_number=2,
            dose_mg_per_kg=1.0,
            dose_mg=33.0,
            weight_kg=33.0,
        )
    )
    course.infusions.append(Infusion(given_on=D(2024, 6, 1), status="planned"))
    p.treatments.append(course)
    p.adverse_events.append(
        AdverseEvent(
            occurred_on=D(2024, 3, 2),
            category="acute_phase_reaction",
            severity="moderate",
            description="fever 38.9",
            ctcae_grade=2,
            onset_days=1.0,
            relatedness="probable",
            infusion=first,
        )
    )
    p.adverse_events.append(
        AdverseEvent(occurred_on=D(2024, 3, 5), category="hypocalcaemia", relatedness="possible")
    )
    return p


_SKIP = {"id", "version", "created_at", "updated_at"}


def _dump(obj: Any) -> Any:
    mapper = inspect(type(obj))
    out: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        if attr.key in _SKIP or attr.key.endswith("_id"):
            continue
        out[attr.key] = getattr(obj, attr.key)
    if isinstance(obj, AdverseEvent):
        out["infusion"] = obj.infusion.given_on if obj.infusion else None
    for rel in mapper.relationships:
        if rel.direction.name == "ONETOMANY" and rel.key != "notes":
            children = [_dump(c) for c in getattr(obj, rel.key)]
            out[rel.key] = sorted(
                children, key=lambda c: json.dumps(c, default=str, sort_keys=True)
            )
    return out


def _load(session: Any) -> Patient:
    return session.scalars(
        select(Patient).options(
            selectinload(Patient.dxa_scans).selectinload(DxaScan.measurements),
            selectinload(Patient.treatments).selectinload(Treatment.infusions),
        )
    ).one()


def _export(db: Any) -> dict[str, Any]:
    with db.session() as session:
        return fhir_bundle(_load(session))


@pytest.fixture
def stored(db: Any) -> Any:
    with db.unit_of_work() as session:
        session.add(_rich_patient())
    return db


def test_round_trip_into_an_empty_database_gives_identical_records(
    stored: Any, empty_db: Any
) -> None:
    bundle = _export(stored)
    preview = read_fhir_bundle(json.dumps(bundle))
    assert preview.errors == []
    import_fhir_preview(empty_db, preview)
    with stored.session() as a, empty_db.session() as b:
        before, after = _dump(_load(a)), _dump(_load(b))
    # a planned infusion is not an administration: the only record not carried over
    planned = [i for t in before["treatments"] for i in t["infusions"] if i["status"] == "planned"]
    assert len(planned) == 1
    for t in before["treatments"]:
        t["infusions"] = [i for i in t["infusions"] if i["status"] != "planned"]
    assert after == before
    assert after["mrn"] == "0012345"
    assert after["ssin"] == "12030112345"
    # exporting the imported patient gives the same resources, apart from ids
    again = _export(empty_db)
    assert len(again["entry"]) == len(bundle["entry"])


def test_every_exported_resource_is_valid_r4b(stored: Any) -> None:
    bundle = _export(stored)
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds == {
        "Patient",
        "Condition",
        "Observation",
        "DiagnosticReport",
        "Device",
        "MedicationRequest",
        "MedicationAdministration",
        "AdverseEvent",
    }
    for entry in bundle["entry"]:
        model = validate_resource(entry["resource"])
        assert model.__class__.__module__.startswith("fhir.resources.R4B.")
    assert validate_resource(bundle).__class__.__name__ == "Bundle"


def _by_code(bundle: dict[str, Any], code: str) -> list[dict[str, Any]]:
    out = []
    for e in bundle["entry"]:
        res = e["resource"]
        if any(c.get("code") == code for c in (res.get("code") or {}).get("coding", [])):
            out.append(res)
    return out


def test_codes_units_and_sex_at_birth(stored: Any) -> None:
    bundle = _export(stored)
    patient = bundle["entry"][0]["resource"]
    assert patient["gender"] == "female"  # administrative, as recorded
    assert {"url": "urn:pedbone:extension:sex-at-birth", "valueCode": "F"} in patient["extension"]
    assert {
        "system": "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin",
        "value": "12030112345",
    } in patient["identifier"]
    assert [o["valueQuantity"]["value"] for o in _by_code(bundle, "8306-3")] == [74.5]  # lying
    assert [o["valueQuantity"]["value"] for o in _by_code(bundle, "8302-2")] == [140.2]
    # BMI only where one row holds both: 9.1 / 0.745**2 = 16.395... -> 16.4
    assert [o["valueQuantity"]["value"] for o in _by_code(bundle, "39156-5")] == [16.4]
    spine_z = _by_code(bundle, "85394-5")
    assert [o["valueQuantity"]["value"] for o in spine_z] == [-2.4]  # vendor Z only
    assert spine_z[0]["valueQuantity"]["code"] == "{Z-score}"
    assert spine_z[0]["method"]["coding"][0]["code"] == "vendor"
    # height-adjusted and BMAD Z are never coded as the unadjusted LOINC Z
    assert [o["valueQuantity"]["value"] for o in _by_code(bundle, "spine-abmd-haz-z")] == [-1.6]
    assert [o["valueQuantity"]["value"] for o in _by_code(bundle, "spine-bmad-z")] == [-1.1]
    assert [o["valueQuantity"]["value"] for o in _by_code(bundle, "24966-4")] == [0.612]
    assert _by_code(bundle, "46278-8")[0]["valueQuantity"]["value"] == 0.75  # left hip
    # pedbone's own leg Z for both legs, from the reference pack
    own = [
        o
        for o in _by_code(bundle, "leg-abmd-z")
        if o["method"]["coding"][0]["code"] == "reference-pack"
    ]
    assert len(own) == 2
    assert "schafmeyer2022 (white)" in own[0]["method"]["text"]
    report = _by_code(bundle, "83311-1")[0]
    # spine 6 (aBMD, BMC, area, vendor Z, HAZ Z, BMAD Z) + TBLH 3 + legs 2 x 4 raw
    # + legs 2 x 2 pedbone Z (aBMD, BMC) + hip 2 = 23
    assert len(report["result"]) == 6 + 3 + 2 * 4 + 2 * 2 + 2
    device = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Device"
    )
    assert device["manufacturer"] == "Hologic"
    assert device["version"] == [{"value": "APEX 5.6.0.5"}]
    ma = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationAdministration"
    ]
    assert ma[0]["medicationCodeableConcept"]["coding"] == [
        {"system": "http://www.whocc.no/atc", "code": "M05BA03"}
    ]
    assert len(ma) == 2  # the planned infusion is not an administration


def _patch(bundle: dict[str, Any], kind: str, fn: Any) -> dict[str, Any]:
    bundle = copy.deepcopy(bundle)
    for e in bundle["entry"]:
        if e["resource"]["resourceType"] == kind:
            fn(e["resource"])
            break
    return bundle


def test_double_slash_references_are_accepted_by_the_library_but_refused(stored: Any) -> None:
    def bad(res: dict[str, Any]) -> None:
        res["result"][0] = {"reference": "Observation//dxa-hip"}

    bundle = _patch(_export(stored), "DiagnosticReport", bad)
    report = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DiagnosticReport"
    )
    validate_resource(report)  # fhir.resources takes it
    preview = read_fhir_bundle(bundle)
    assert not preview.ok
    assert any(
        "'Observation//dxa-hip' is not a reference of the form Type/id" in e.message
        for e in preview.errors
    )


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("http://elsewhere.example/Patient/1", "is not a reference of the form Type/id"),
        ("Patient/unknown", "is not an entry of this Bundle"),
        ("urn:uuid:00000000-0000-0000-0000-000000000000", "is not an entry of this Bundle"),
    ],
)
def test_references_outside_the_bundle_are_refused(
    stored: Any, reference: str, message: str
) -> None:
    bundle = _patch(
        _export(stored), "Condition", lambda r: r.update(subject={"reference": reference})
    )
    preview = read_fhir_bundle(bundle)
    [error] = preview.errors
    assert error.resource.startswith("Condition/")
    assert message in error.message


def test_reference_to_the_wrong_type_is_refused(stored: Any) -> None:
    bundle = _export(stored)
    device = next(
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Device"
    )
    bundle = _patch(bundle, "Condition", lambda r: r.update(subject={"reference": device}))
    [error] = read_fhir_bundle(bundle).errors
    assert "is a Device, expected Patient" in error.message


def test_administrative_gender_is_not_taken_for_sex_at_birth(stored: Any) -> None:
    bundle = _patch(_export(stored), "Patient", lambda r: r.pop("extension"))
    preview = read_fhir_bundle(bundle)
    assert not preview.ok
    assert "sex at birth missing" in preview.errors[0].message
    assert "administrative gender" in preview.errors[0].message


def test_a_malformed_date_is_a_per_resource_error_not_a_crash(stored: Any) -> None:
    # US Core's own example has a space before the T; fhir.resources refuses it
    bundle = _patch(
        _export(stored),
        "DiagnosticReport",
        lambda r: r.update(effectiveDateTime="2021-11-10 T19:30:46-08:00"),
    )
    preview = read_fhir_bundle(bundle)
    [error] = [e for e in preview.errors if e.resource.startswith("DiagnosticReport/")]
    assert "not valid FHIR R4" in error.message
    assert "effectiveDateTime" in error.message


def _ehr_bundle(*observations: dict[str, Any]) -> dict[str, Any]:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "gender": "male",
        "birthDate": "2014-06-01",
        "name": [{"family": "Synthetic", "given": ["Ehr"]}],
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.2.4.6.3", "value": "0099"}],
        "extension": [{"url": "urn:pedbone:extension:sex-at-birth", "valueCode": "M"}],
    }
    entries = [{"fullUrl": "Patient/p1", "resource": patient}]
    for n, obs in enumerate(observations):
        res = {
            "resourceType": "Observation",
            "id": f"o{n}",
            "status": "final",
            "subject": {"reference": "Patient/p1"},
            **obs,
        }
        entries.append({"resource": res})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _obs(
    system: str, code: str, value: float, unit: str, day: str = "2024-05-01"
) -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": system, "code": code}]},
        "effectiveDateTime": day,
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def test_ehr_synonyms_and_units_are_understood(empty_db: Any) -> None:
    bundle = _ehr_bundle(
        _obs("http://loinc.org", "3141-9", 30500, "g"),  # weight measured, in grams
        _obs("http://loinc.org", "8306-3", 98.0, "cm", "2018-01-01"),  # lying length
        _obs("http://loinc.org", "8302-2", 1.402, "m"),  # standing height in metres
        _obs("http://loinc.org", "39156-5", 15.5, "kg/m2"),  # BMI: pedbone computes it
        _obs("http://loinc.org", "8480-6", 110, "mm[Hg]"),  # blood pressure: not pedbone's
    )
    preview = read_fhir_bundle(bundle)
    assert preview.errors == []
    notes = " | ".join(n.line() for n in preview.notes)
    assert "Body mass index" in notes
    assert "http://loinc.org|8480-6 is not one pedbone imports" in notes
    pid = import_fhir_preview(empty_db, preview)
    with empty_db.session() as s:
        rows = s.scalars(
            select(Anthropometry)
            .where(Anthropometry.patient_id == pid)
            .order_by(Anthropometry.measured_on)
        ).all()
        assert [(r.measured_on, r.height_cm, r.weight_kg, r.height_method) for r in rows] == [
            (D(2018, 1, 1), 98.0, None, "supine"),
            (D(2024, 5, 1), pytest.approx(140.2), pytest.approx(30.5), None),
        ]
        patient = s.get(Patient, pid)
        assert patient is not None
        assert (patient.mrn, patient.sex, patient.administrative_gender) == ("0099", "M", "male")


def test_bad_units_and_implausible_values_are_refused_per_resource() -> None:
    preview = read_fhir_bundle(
        _ehr_bundle(
            _obs("http://loinc.org", "29463-7", 70, "[lb_av]"),
            _obs("http://loinc.org", "8302-2", 1402, "cm"),
        )
    )
    messages = [e.line() for e in preview.errors]
    assert messages == [
        "entry 2 (Observation/o0): valueQuantity: unit '[lb_av]' not accepted for Body weight "
        "('kg', 'g')",
        "entry 3 (Observation/o1): Body height (standing): 1402 is outside pedbone's plausible "
        "range 30-230",
    ]


def test_t_scores_are_recognised_and_not_stored() -> None:
    preview = read_fhir_bundle(_ehr_bundle(_obs("http://loinc.org", "38267-1", -2.0, "{T-score}")))
    assert preview.errors == []
    assert "T-scores are not used in children" in preview.notes[0].message


def test_import_is_atomic_and_refuses_a_patient_already_there(stored: Any) -> None:
    preview = read_fhir_bundle(_export(stored))
    with pytest.raises(StoreError, match="already in the database; nothing was imported"):
        import_fhir_preview(stored, preview)
    with stored.session() as s:
        assert len(s.scalars(select(Patient)).all()) == 1


def test_not_a_bundle_and_not_json() -> None:
    assert "not JSON" in read_fhir_bundle(b"{nope").errors[0].message
    assert (
        "expected a FHIR Bundle" in read_fhir_bundle({"resourceType": "Patient"}).errors[0].message
    )


def test_code_table_sources_resolve_and_keys_are_unique() -> None:
    table = fhir_codes()
    assert len(table) > 50
    for code in table:
        cite(code.source)
    exported = [c.key for c in table if c.role in ("export", "derived")]
    assert len(exported) == len(set(exported))
    # never the unadjusted LOINC Z for an adjusted Z
    adjusted = [c for c in table if "haz" in c.key or "bmad" in c.key]
    assert adjusted
    assert all(c.system == "urn:pedbone:codesystem:dxa" for c in adjusted)


def test_the_researchers_view_hides_the_new_identity_fields(stored: Any) -> None:
    from pedbone.store import pseudonymise

    with stored.session() as session:
        view = pseudonymise(_load(session))
    text = json.dumps(view, default=str)
    assert "ssin" not in view
    assert "administrative_gender" not in view
    assert "12030112345" not in text
    assert view["sex"] == "F"


def test_a_us_core_style_dxa_report_from_an_ehr(empty_db: Any) -> None:
    """Codes and units as in US Core's DXA examples (hip-L Z-score unit {Z-Score})."""

    def obs(oid: str, code: str, value: float, unit: str) -> dict[str, Any]:
        return {
            "fullUrl": f"Observation/{oid}",
            "resource": {
                "resourceType": "Observation", "id": oid, "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2021-11-10",
                "device": {"reference": "Device/d1"},
                "valueQuantity": {"value": value, "unit": unit,
                                  "system": "http://unitsofmeasure.org", "code": unit},
            },
        }  # fmt: skip

    bundle = _ehr_bundle()
    bundle["entry"] += [
        {"fullUrl": "Device/d1", "resource": {"resourceType": "Device", "id": "d1",
                                              "manufacturer": "GE Lunar"}},
        obs("hz", "80938-4", -0.19, "{Z-Score}"),
        obs("hb", "46278-8", 0.734, "g/cm2"),
        obs("fb", "80954-1", 0.701, "g/cm2"),
        {"resource": {"resourceType": "DiagnosticReport", "id": "r1", "status": "final",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "83311-1"}]},
                      "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2021-11-10",
                      "result": [{"reference": "Observation/hz"}, {"reference": "Observation/hb"},
                                 {"reference": "Observation/fb"}]}},
    ]  # fmt: skip
    preview = read_fhir_bundle(bundle)
    assert preview.errors == []
    assert any("does not say which femur region" in n.message for n in preview.notes)
    pid = import_fhir_preview(empty_db, preview)
    with empty_db.session() as s:
        [scan] = s.scalars(select(DxaScan).where(DxaScan.patient_id == pid)).all()
        assert (scan.scanned_on, scan.manufacturer) == (D(2021, 11, 10), "GE Lunar")
        [hip] = scan.measurements
        assert (hip.site, hip.region, hip.abmd_g_cm2, hip.vendor_z_abmd) == (
            "total_hip",
            "left",
            0.734,
            -0.19,
        )


def test_several_identifiers_need_the_clinics_system() -> None:
    bundle = _ehr_bundle()
    bundle["entry"][0]["resource"]["identifier"].append(
        {"system": "urn:oid:1.2.3.synthetic-insurer", "value": "X-9"}
    )
    [error] = read_fhir_bundle(bundle).errors
    assert "several identifiers could be the record number" in error.message
    assert "--mrn-system" in error.message
    chosen = read_fhir_bundle(bundle, mrn_system="urn:oid:2.16.840.1.113883.2.4.6.3")
    assert chosen.errors == []
    assert chosen.patient["mrn"] == "0099"


def test_an_ehr_harm_without_pedbone_codes_is_kept_as_other_and_said_so() -> None:
    bundle = _ehr_bundle()
    bundle["entry"].append({"resource": {
        "resourceType": "AdverseEvent", "id": "ae", "actuality": "actual",
        "subject": {"reference": "Patient/p1"}, "date": "2024-05-02",
        "event": {"coding": [{"system": "http://snomed.info/sct", "code": "386661006",
                              "display": "Fever (synthetic example)"}]},
    }})  # fmt: skip
    preview = read_fhir_bundle(bundle)
    assert preview.errors == []
    [(row, link)] = preview.adverse_events
    assert (row["category"], row["description"], link) == (
        "other",
        "Fever (synthetic example)",
        None,
    )
    assert "stored as 'other'" in preview.notes[0].message
