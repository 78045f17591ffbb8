"""A form left open on a record that was deleted meanwhile is refused (409), never applied to
the record that came after it (hazard H30, issue 9: delete a lab result, add another, save the
stale form)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from .conftest import new_patient, sign_in


def _add_lab(client: Any, token: str, pid: int, value: str) -> None:
    data = {"csrf_token": token, "sampled_on": "2025-01-10", "analyte": "25ohd",
            "value": value, "unit": "nmol/L"}  # fmt: skip
    r = client.post(f"/patients/{pid}/records/lab", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text


def _lab_ids(client: Any, pid: int) -> list[int]:
    page = client.get(f"/patients/{pid}/records").text
    return [int(i) for i in re.findall(rf'href="/patients/{pid}/records/lab/(\d+)"', page)]


def _stamp(html: str) -> str:
    match = re.search(r'name="version" value="(\d+:\d+:\d+)"', html)
    assert match, "the form carries the row stamp (id:version:created)"
    return match[1]


def _labs(db: Any) -> list[tuple[int, float]]:
    from pedbone.store import LabResult

    with db.session() as s:
        return [(r.id, r.value) for r in s.scalars(select(LabResult).order_by(LabResult.id))]


def test_stale_form_on_a_deleted_lab_result_is_refused(
    client: Any, user_ids: dict[str, int], db: Any
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    _add_lab(client, token, pid, "41")
    [old_id] = _lab_ids(client, pid)
    stale_url = f"/patients/{pid}/records/lab/{old_id}"
    stale = _stamp(client.get(stale_url).text)  # tab 1 opens the form and is left open
    assert stale.split(":")[:2] == [str(old_id), "1"]
    # tab 2 deletes the result and records a new one
    r = client.post(f"{stale_url}/delete", data={"csrf_token": token, "version": stale})
    assert r.status_code == 200
    _add_lab(client, token, pid, "63")
    [new_id] = _lab_ids(client, pid)
    assert new_id > old_id  # the id is never handed out again
    # tab 1 saves its stale form: refused, nothing changed
    form = {"csrf_token": token, "version": stale, "sampled_on": "2025-01-10",
            "analyte": "25ohd", "value": "41", "unit": "nmol/L"}  # fmt: skip
    r = client.post(stale_url, data=form)
    assert r.status_code == 409
    assert "deleted by someone else" in r.text
    assert "Saved" not in r.text
    # the stale form aimed at the new record's URL is refused too (not the row it was loaded from)
    r = client.post(f"/patients/{pid}/records/lab/{new_id}", data=form)
    assert r.status_code == 409
    assert "is not the record you opened" in r.text
    r = client.post(
        f"/patients/{pid}/records/lab/{new_id}/delete", data={"csrf_token": token, "version": stale}
    )
    assert r.status_code == 409
    assert _labs(db) == [(new_id, 63.0)]  # the new result is intact, the deleted one not back


def test_a_stale_delete_of_a_deleted_record_is_a_conflict(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    _add_lab(client, token, pid, "41")
    [lab] = _lab_ids(client, pid)
    stamp = _stamp(client.get(f"/patients/{pid}/records/lab/{lab}").text)
    url = f"/patients/{pid}/records/lab/{lab}/delete"
    assert client.post(url, data={"csrf_token": token, "version": stamp}).status_code == 200
    r = client.post(url, data={"csrf_token": token, "version": stamp})
    assert r.status_code == 409
    # a record that never existed is still simply not found
    r = client.post(f"/patients/{pid}/records/lab/{lab + 1000}/delete",
                    data={"csrf_token": token, "version": stamp})  # fmt: skip
    assert r.status_code == 404


def test_stale_patient_form_is_refused_after_the_patient_was_replaced(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token, family_name="Pieters")
    stamp = _stamp(client.get(f"/patients/{pid}/edit").text)
    assert stamp.startswith(f"{pid}:1:")
    data = {"csrf_token": token, "version": stamp, "family_name": "Peeters",
            "given_name": "Lotte", "birth_date": "2012-05-03", "sex": "F", "mrn": ""}  # fmt: skip
    forged = stamp.rsplit(":", 1)[0] + ":12345"  # same id and version, another row's birth
    r = client.post(f"/patients/{pid}/edit", data={**data, "version": forged})
    assert r.status_code == 409
    assert "is not the record you opened" in r.text
    r = client.post(f"/patients/{pid}/edit", data=data, follow_redirects=False)
    assert r.status_code == 303
