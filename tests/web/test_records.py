"""Editing and deleting records, with optimistic locking (a concurrent edit is refused)."""

from __future__ import annotations

import re
from typing import Any

from .conftest import new_patient, sign_in


def _add_height(client: Any, token: str, pid: int, height: str) -> None:
    r = client.post(
        f"/patients/{pid}/records/anthropometry",
        data={"csrf_token": token, "measured_on": "2025-01-01", "height_cm": height},
        follow_redirects=False,
    )
    assert r.status_code == 303


def _edit_link(client: Any, pid: int) -> str:
    page = client.get(f"/patients/{pid}/records").text
    links = re.findall(rf'href="(/patients/{pid}/records/anthropometry/\d+)"', page)
    assert len(links) == 1
    return links[0]


def test_edit_a_record(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    _add_height(client, token, pid, "140.5")
    url = _edit_link(client, pid)
    form = client.get(url).text
    assert 'value="140.5"' in form
    version = re.search(r'name="version" value="([\d:]+)"', form)
    assert version
    r = client.post(
        url,
        data={"csrf_token": token, "version": version[1], "measured_on": "2025-01-01",
              "height_cm": "141,5"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    assert "141.5 cm" in client.get(f"/patients/{pid}").text


def test_a_concurrent_edit_is_refused_and_nothing_saved(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    _add_height(client, token, pid, "140.5")
    url = _edit_link(client, pid)
    version = re.search(r'name="version" value="([\d:]+)"', client.get(url).text)
    assert version
    base = {"csrf_token": token, "version": version[1], "measured_on": "2025-01-01"}
    # a colleague saves first (same version), then our save with the old version
    assert client.post(url, data={**base, "height_cm": "141"}).status_code == 200
    r = client.post(url, data={**base, "height_cm": "150"})
    assert r.status_code == 409
    assert "Changed by someone else" in r.text
    assert "141.0 cm" in client.get(f"/patients/{pid}").text


def test_delete_a_record(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    _add_height(client, token, pid, "140.5")
    page = client.get(f"/patients/{pid}/records").text
    action = re.search(r'action="(/patients/\d+/records/anthropometry/\d+/delete)"', page)
    version = re.search(r'name="version" value="([\d:]+)"', page)
    assert action
    assert version
    r = client.post(action[1], data={"csrf_token": token, "version": version[1]})
    assert r.status_code == 200
    assert "Deleted." in r.text
    assert "No height or weight recorded." in client.get(f"/patients/{pid}").text


def test_records_of_another_patient_are_not_reachable(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    a = new_patient(client, token, family_name="Een")
    b = new_patient(client, token, family_name="Twee")
    _add_height(client, token, a, "140.5")
    url = _edit_link(client, a)
    assert client.get(url.replace(f"/patients/{a}/", f"/patients/{b}/")).status_code == 404
    r = client.post(
        url.replace(f"/patients/{a}/", f"/patients/{b}/") + "/delete",
        data={"csrf_token": token, "version": "1"},
    )
    assert r.status_code == 404


def test_edit_the_patients_identification(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token, family_name="Pieters", birth_date="2012-05-02")
    form = client.get(f"/patients/{pid}/edit").text
    assert 'value="Pieters"' in form
    version = re.search(r'name="version" value="([\d:]+)"', form)
    assert version
    data = {
        "csrf_token": token, "version": version[1], "family_name": "Peeters",
        "given_name": "Lotte", "birth_date": "2012-05-03", "sex": "F", "mrn": "",
    }  # fmt: skip
    r = client.post(f"/patients/{pid}/edit", data=data, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/patients/{pid}").text
    assert "Peeters, Lotte" in page
    assert "03/05/2012" in page
    # the same (now stale) version again: refused
    assert client.post(f"/patients/{pid}/edit", data=data).status_code == 409
