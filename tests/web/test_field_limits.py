"""Forms: a duplicate record number, over-long text and control characters are shown beside
their field with the typed input kept (never a 500; hazards H31, H32)."""

from __future__ import annotations

import re
from typing import Any

from .conftest import new_patient, sign_in


def _error_of(html: str, name: str) -> str:
    match = re.search(rf'id="e-{name}" role="alert">([^<]*)<', html)
    assert match, f"no error beside {name}"
    return match[1]


def test_duplicate_record_number_is_shown_beside_the_field(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    new_patient(client, token, mrn="MRN-777")
    data = {"family_name": "Jansen", "given_name": "Pieter", "birth_date": "2014-02-03",
            "sex": "M", "mrn": "MRN-777", "csrf_token": token}  # fmt: skip
    r = client.post("/patients/new", data=data)
    assert r.status_code == 422
    assert "another patient already has this record number" in _error_of(r.text, "mrn")
    assert 'value="Jansen"' in r.text  # what was typed stays on the form
    assert 'value="Pieter"' in r.text
    # the same on the edit form of another patient
    other = new_patient(client, token, mrn="MRN-778")
    form = client.get(f"/patients/{other}/edit").text
    stamp = re.search(r'name="version" value="([\d:]+)"', form)
    assert stamp
    r = client.post(f"/patients/{other}/edit", data={**data, "version": stamp[1]})
    assert r.status_code == 422
    assert "another patient already has this record number" in _error_of(r.text, "mrn")


def test_over_long_and_control_characters_are_refused_on_the_form(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    base = {"family_name": "Jansen", "given_name": "Pieter", "birth_date": "2014-02-03",
            "sex": "M", "csrf_token": token}  # fmt: skip
    r = client.post("/patients/new", data={**base, "family_name": "x" * 300})
    assert r.status_code == 422
    assert (
        _error_of(r.text, "family_name") == "family_name: 300 characters; at most 200 are allowed"
    )
    r = client.post("/patients/new", data={**base, "mrn": "M" * 100})
    assert r.status_code == 422
    assert "at most 64" in _error_of(r.text, "mrn")
    r = client.post("/patients/new", data={**base, "given_name": "Pie\x00ter"})
    assert r.status_code == 422
    assert "NUL byte" in _error_of(r.text, "given_name")
    r = client.post("/patients/new", data={**base, "diagnosis_text": "d" * 501})
    assert r.status_code == 422
    assert "at most 500" in _error_of(r.text, "diagnosis_text")
    pid = new_patient(client, token)
    lab = {"csrf_token": token, "sampled_on": "2025-01-10", "analyte": "25ohd", "value": "41",
           "unit": "n" * 33}  # fmt: skip
    r = client.post(f"/patients/{pid}/records/lab", data=lab)
    assert r.status_code == 422
    assert "at most 32" in _error_of(r.text, "unit")
    dxa = {"csrf_token": token, "scanned_on": "2025-01-10", "manufacturer": "Hologic",
           "model": "H" * 65, "spine_abmd": "0.6"}  # fmt: skip
    r = client.post(f"/patients/{pid}/records/dxa", data=dxa)
    assert r.status_code == 422
    assert "at most 64" in _error_of(r.text, "model")
