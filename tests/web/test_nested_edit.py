"""Editing DXA scans (with their site values) and vertebral assessments in place."""

from __future__ import annotations

import re
from typing import Any

from .conftest import new_patient, sign_in

DXA = {
    "scanned_on": "2024-03-01", "manufacturer": "Hologic", "model": "Horizon A",
    "precision_spine": "0.01", "spine_abmd": "0.6", "spine_vendor_z": "-1.2",
    "leg_abmd": "0.7", "reference_group": "white", "tblh_bmc": "900",
}  # fmt: skip


def _add(client: Any, token: str, pid: int, kind: str, data: dict[str, str]) -> None:
    r = client.post(
        f"/patients/{pid}/records/{kind}",
        data={"csrf_token": token, **data},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[-1500:]


def _edit_url(client: Any, pid: int, kind: str) -> str:
    page = client.get(f"/patients/{pid}/records").text
    links = re.findall(rf'href="(/patients/{pid}/records/{kind}/\d+)"', page)
    assert len(links) == 1, f"no edit link for {kind}"
    return links[0]


def _version(html: str) -> str:
    match = re.search(r'name="version" value="([\d:]+)"', html)
    assert match
    return match[1]


def _scan(db: Any) -> tuple[Any, dict[str, Any]]:
    from sqlalchemy import select

    from pedbone.store import DxaScan

    with db.session() as session:
        scan = session.scalars(select(DxaScan)).one()
        by_site = {m.site: m for m in scan.measurements}
        session.expunge_all()
        return scan, by_site


def test_dxa_form_is_filled_in_with_the_scan_and_its_values(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    _add(client, token, pid, "dxa", DXA)
    form = client.get(_edit_url(client, pid, "dxa")).text
    for name, value in [
        ("scanned_on", "2024-03-01"), ("model", "Horizon A"), ("precision_spine", "0.01"),
        ("spine_abmd", "0.6"), ("spine_vendor_z", "-1.2"), ("leg_abmd", "0.7"),
        ("tblh_bmc", "900"),
    ]:  # fmt: skip
        assert re.search(rf'name="{name}"[^>]*value="{re.escape(value)}"', form), name
    assert re.search(r'<option value="white" selected', form)
    assert _version(form).split(":")[1] == "1"


def test_dxa_edit_updates_adds_and_removes_site_values(
    client: Any, db: Any, user_ids: dict[str, int]
) -> None:
    from sqlalchemy import select

    from pedbone.store import AuditEntry

    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    _add(client, token, pid, "dxa", DXA)
    before, sites_before = _scan(db)
    url = _edit_url(client, pid, "dxa")
    data = {**DXA, "spine_abmd": "0,65", "leg_abmd": "", "reference_group": "",
            "tblh_bmc": "910", "tblh_abmd": "0.8", "model": "Horizon W"}  # fmt: skip
    r = client.post(
        url,
        data={"csrf_token": token, "version": _version(client.get(url).text), **data},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[-1500:]
    scan, sites = _scan(db)
    assert scan.id == before.id
    assert scan.version == before.version + 1
    assert scan.model == "Horizon W"
    assert scan.precision_rms_sd == {"spine_abmd": 0.01}
    assert sorted(sites) == ["spine", "tblh"]  # the lower-limb values were cleared: row deleted
    assert sites["spine"].id == sites_before["spine"].id  # updated in place
    assert sites["spine"].abmd_g_cm2 == 0.65  # decimal comma
    assert sites["spine"].vendor_z_abmd == -1.2  # unchanged value kept
    assert sites["spine"].region == "L1-L4"
    assert sites["tblh"].bmc_g == 910.0
    assert sites["tblh"].abmd_g_cm2 == 0.8
    page = client.get(f"/patients/{pid}").text
    assert "0.650" in page
    assert "Horizon W" in page
    with db.session() as session:  # audited under the clinician's name
        entries = {
            (e.table_name, e.action)
            for e in session.scalars(select(AuditEntry).where(AuditEntry.username == "doc"))
        }
    assert ("dxa_scans", "update") in entries
    assert ("dxa_measurements", "update") in entries
    assert ("dxa_measurements", "delete") in entries


def test_a_change_of_only_a_site_value_raises_the_scan_version(
    client: Any, db: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    _add(client, token, pid, "dxa", DXA)
    url = _edit_url(client, pid, "dxa")
    version = _version(client.get(url).text)
    base = {"csrf_token": token, "version": version}
    # a colleague corrects the spine value first (same version): saved, version 2
    r = client.post(url, data={**base, **DXA, "spine_abmd": "0.61"}, follow_redirects=False)
    assert r.status_code == 303
    assert _scan(db)[0].version == 2
    # our save with the version we were shown is refused, nothing saved
    r = client.post(url, data={**base, **DXA, "leg_abmd": "0.9"})
    assert r.status_code == 409
    assert "Changed by someone else" in r.text
    _, sites = _scan(db)
    assert sites["spine"].abmd_g_cm2 == 0.61
    assert sites["leg"].abmd_g_cm2 == 0.7


def test_dxa_edit_errors_stand_next_to_their_fields_and_nothing_is_saved(
    client: Any, db: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    _add(client, token, pid, "dxa", DXA)
    url = _edit_url(client, pid, "dxa")
    base = {"csrf_token": token, "version": _version(client.get(url).text)}
    r = client.post(url, data={**base, **DXA, "spine_abmd": "abc", "leg_abmd": "9"})
    assert r.status_code == 422
    assert re.search(r'id="e-spine_abmd"[^>]*>Not a number\.', r.text)
    assert re.search(r'id="e-leg_abmd"[^>]*>areal BMD 9 g/cm² is not plausible', r.text)
    assert 'value="abc"' in r.text  # what was typed is kept
    empty = {**DXA, "spine_abmd": "", "spine_vendor_z": "", "leg_abmd": "", "tblh_bmc": ""}
    r = client.post(url, data={**base, **empty})
    assert r.status_code == 422
    assert "Enter at least one measured value." in r.text
    scan, sites = _scan(db)
    assert scan.version == 1
    assert sites["spine"].abmd_g_cm2 == 0.6
    # in Dutch
    client.post("/language", data={"csrf_token": token, "language": "nl"})
    r = client.post(url, data={**base, **DXA, "spine_abmd": "abc"})
    assert re.search(r'id="e-spine_abmd"[^>]*>Geen getal\.', r.text)


def test_vertebral_assessment_edit(client: Any, db: Any, user_ids: dict[str, int]) -> None:
    from sqlalchemy import select

    from pedbone.store import VertebralAssessment

    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    data = {"assessed_on": "2024-03-01", "method": "radiograph", "trauma": "low",
            "grade_T8": "2", "grade_L1": "0.5"}  # fmt: skip
    _add(client, token, pid, "vertebral", data)
    url = _edit_url(client, pid, "vertebral")
    form = client.get(url).text
    assert re.search(r'name="grade_T8".*?<option value="2" selected', form, flags=re.S)
    with db.session() as session:
        t8_id = {
            v.level: v.id for v in session.scalars(select(VertebralAssessment)).one().vertebrae
        }["T8"]
    new = {**data, "method": "vfa", "grade_T8": "3", "grade_L1": "", "grade_L2": "1"}
    r = client.post(
        url,
        data={"csrf_token": token, "version": _version(form), **new},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[-1500:]
    with db.session() as session:
        va = session.scalars(select(VertebralAssessment)).one()
        grades = {v.level: (v.id, v.genant_grade) for v in va.vertebrae}
        assert va.method == "vfa"
        assert va.version == 2
    assert grades == {"T8": (t8_id, 3.0), "L2": (grades["L2"][0], 1.0)}
    assert "T8 3, L2 1" in client.get(f"/patients/{pid}").text
    # a second save with the old version is refused
    r = client.post(url, data={"csrf_token": token, "version": _version(form), **data})
    assert r.status_code == 409
