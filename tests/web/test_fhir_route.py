"""``GET /patients/{id}/fhir``: admins and clinicians get the Bundle, researchers do not."""

from __future__ import annotations

import json
from typing import Any

from .conftest import new_patient, sign_in


def test_clinician_and_admin_get_a_bundle_researcher_is_refused(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token, mrn="0042", family_name="<script>x</script>")
    r = client.get(f"/patients/{pid}/fhir")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert "attachment" in r.headers["content-disposition"]
    bundle = r.json()
    patient = bundle["entry"][0]["resource"]
    assert patient["name"][0]["family"] == "<script>x</script>"  # data, in JSON, not markup
    assert {"system": "urn:pedbone:mrn", "value": "0042"} in patient["identifier"]
    assert f'href="/patients/{pid}/fhir"' in client.get(f"/patients/{pid}").text
    sign_in(client, user_ids["admin"])
    assert client.get(f"/patients/{pid}/fhir").status_code == 200
    sign_in(client, user_ids["res"])
    assert "/fhir" not in client.get(f"/patients/{pid}").text  # no link for researchers
    refused = client.get(f"/patients/{pid}/fhir")
    assert refused.status_code == 403
    assert "0042" not in refused.text


def test_unknown_patient_and_anonymous(client: Any, user_ids: dict[str, int]) -> None:
    sign_in(client, user_ids["doc"])
    assert client.get("/patients/999/fhir").status_code == 404
    client.cookies.clear()
    r = client.get("/patients/1/fhir", follow_redirects=False)
    assert r.status_code == 303
    assert "/login" in r.headers["location"]


def test_insz_and_administrative_gender_from_the_patient_form(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token, ssin="12.05.02-123.45", administrative_gender="other")
    patient = client.get(f"/patients/{pid}/fhir").json()["entry"][0]["resource"]
    assert patient["gender"] == "other"  # administrative gender, as registered
    assert {"url": "urn:pedbone:extension:sex-at-birth", "valueCode": "F"} in patient["extension"]
    assert {
        "system": "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin",
        "value": "12050212345",
    } in patient["identifier"]
    bad = client.post(
        "/patients/new",
        data={"family_name": "X", "given_name": "Y", "birth_date": "2012-01-01", "sex": "M",
              "ssin": "1234", "csrf_token": token},
    )  # fmt: skip
    assert bad.status_code == 422
    assert "is not an INSZ/NISS number (11 digits)" in bad.text


def test_insz_can_be_corrected_on_the_edit_form(client: Any, user_ids: dict[str, int]) -> None:
    import re

    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    form = client.get(f"/patients/{pid}/edit").text
    assert 'name="ssin"' in form
    version = re.search(r'name="version" value="([^"]+)"', form)
    assert version
    r = client.post(
        f"/patients/{pid}/edit",
        data={"family_name": "Peeters", "given_name": "Lotte", "birth_date": "2012-05-02",
              "sex": "F", "ssin": "12050212345", "version": version[1], "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    ids = client.get(f"/patients/{pid}/fhir").json()["entry"][0]["resource"]["identifier"]
    assert any(i["value"] == "12050212345" for i in ids)


def _bundle_of_a_stored_patient(tmp_path: Any) -> bytes:
    from pedbone.io import fhir_bundle
    from pedbone.store import Database, Patient, create_demo_patients

    other = Database(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    with other.unit_of_work() as session:
        create_demo_patients(session)
    with other.session() as session:
        patient = session.query(Patient).filter_by(mrn="DEMO-0004").one()
        body = json.dumps(fhir_bundle(patient)).encode()
    other.dispose()
    return body


def test_fhir_import_page_previews_then_writes_the_patient(
    client: Any, user_ids: dict[str, int], tmp_path: Any
) -> None:
    import re

    token = sign_in(client, user_ids["doc"])
    assert 'href="/import/fhir"' in client.get("/import/dxa").text
    body = _bundle_of_a_stored_patient(tmp_path)
    preview = client.post("/import/fhir", data={"csrf_token": token},
                          files={"file": ("p.json", body, "application/fhir+json")})  # fmt: skip
    assert preview.status_code == 200
    assert "Ready to import: 1 patient, 1 diagnoses, 3 anthropometry rows" in preview.text
    assert "Body mass index" in preview.text  # a note: BMI is computed, not imported
    assert client.get("/patients?q=Demo").text.count("Patient 04") == 0  # nothing written yet
    found = [
        re.search(rf'name="{k}" value="([^"]*)"', preview.text) for k in ("payload", "signature")
    ]
    assert all(found)
    fields = {"csrf_token": token, "payload": found[0][1], "signature": found[1][1]}  # type: ignore[index]
    done = client.post("/import/fhir/commit", follow_redirects=False, data=fields)
    assert done.status_code == 303
    overview = client.get(done.headers["location"]).text
    assert "Demo, Patient 04" in overview
    again = client.post("/import/fhir/commit", data=fields)
    assert again.status_code == 422
    assert "already in the database; nothing was imported" in again.text


def test_fhir_import_page_shows_errors_per_resource(client: Any, user_ids: dict[str, int],
                                                    tmp_path: Any) -> None:  # fmt: skip
    token = sign_in(client, user_ids["doc"])
    bundle = json.loads(_bundle_of_a_stored_patient(tmp_path))
    report = next(e["resource"] for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "DiagnosticReport")  # fmt: skip
    report["result"][0] = {"reference": "Observation//x<b>"}
    upload = {"file": ("p.json", json.dumps(bundle).encode(), "application/json")}
    r = client.post("/import/fhir", data={"csrf_token": token}, files=upload)
    assert r.status_code == 422
    # the report's bad reference, and the Observation it no longer names
    assert "2 resources have errors." in r.text
    assert "is not a reference of the form Type/id" in r.text
    assert "x<b>" not in r.text  # file content is shown as text
    assert 'action="/import/fhir/commit"' not in r.text
    sign_in(client, user_ids["res"])
    assert client.get("/import/fhir").status_code == 403
