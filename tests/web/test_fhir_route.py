"""``GET /patients/{id}/fhir``: admins and clinicians get the Bundle, researchers do not."""

from __future__ import annotations

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
    sign_in(client, user_ids["admin"])
    assert client.get(f"/patients/{pid}/fhir").status_code == 200
    sign_in(client, user_ids["res"])
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
