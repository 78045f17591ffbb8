"""The rendered-overview cache never serves a stale page or another viewer's page.

The proof pattern: load the overview (it is cached), change something, load it again through
the cache, then clear the cache and render it fresh: the cached answer must equal the fresh one
and differ from the page before the change.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from .conftest import new_patient, sign_in

SAMPLES = {
    "text": "x", "textarea": "a note", "date": "2024-01-02", "number": "1",
    "integer": "2", "bool": "on",
}  # fmt: skip


def _form_data(client: Any, pid: int, kind: str) -> dict[str, str]:
    """Valid values for every form (as in test_pages.test_every_record_form_renders_and_saves)."""
    from pedbone.web._forms import FORMS

    data: dict[str, str] = {}
    for f in FORMS[kind].fields:
        if f.name == "treatment_id":
            form = client.get(f"/patients/{pid}/records/{kind}").text
            data[f.name] = re.findall(r'<option value="(\d+)"', form)[0]
        elif f.kind == "choice" and not f.name.startswith("grade_"):
            data[f.name] = f.choices[0][0]
        elif f.required:
            data[f.name] = SAMPLES[f.kind]
    extra = {
        "dxa": {"spine_abmd": "0.6", "leg_abmd": "0.7", "tblh_bmc": "900"},
        "lab": {"unit": "nmol/L", "value": "50"},
        "anthropometry": {"height_cm": "140"},
        "vertebral": {"grade_T8": "2", "grade_L1": "0.5"},
    }
    data.update(extra.get(kind, {}))
    return data


def _page(client: Any, pid: int) -> str:
    r = client.get(f"/patients/{pid}")
    assert r.status_code == 200
    return str(r.text)


def _check_changed(client: Any, app: Any, pid: int, before: str, what: str) -> str:
    """The page after a change: the cache was missed (the key changed) and the answer equals a
    fresh render. (Some records, e.g. puberty, are not shown on the overview: the page may stay
    the same, but the key must still change, as the assessment may read them.)"""
    cache = app.state.overview_cache
    misses = cache.misses
    cached = _page(client, pid)
    assert cache.misses == misses + 1, f"{what} did not change the cache key"
    app.state.overview_cache.clear()
    fresh = _page(client, pid)
    assert cached == fresh, f"stale overview after {what}"
    return cached


def test_a_repeated_view_is_served_from_the_cache(
    client: Any, app: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    first = _page(client, pid)
    cache = app.state.overview_cache
    hits = cache.hits
    assert _page(client, pid) == first
    assert cache.hits == hits + 1
    # the CSRF token of the session is in the page, never the placeholder
    from pedbone.web._cache import CSRF_PLACEHOLDER

    assert token in first
    assert CSRF_PLACEHOLDER not in first
    other = sign_in(client, user_ids["doc"])  # same user, a new session: its own token
    again = _page(client, pid)
    assert other in again
    assert token not in again
    assert cache.hits == hits + 2


def test_every_add_edit_and_delete_invalidates(
    client: Any, app: Any, user_ids: dict[str, int]
) -> None:
    from pedbone.web._forms import FORMS
    from pedbone.web._views_records import NOT_EDITABLE

    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    page = _page(client, pid)
    for kind in FORMS:  # add one record of every kind
        r = client.post(
            f"/patients/{pid}/records/{kind}",
            data={"csrf_token": token, **_form_data(client, pid, kind)},
            follow_redirects=False,
        )
        assert r.status_code == 303, kind
        page = _check_changed(client, app, pid, page, f"adding {kind}")
    records = client.get(f"/patients/{pid}/records").text
    for kind in FORMS:  # edit every record that can be edited in place
        links = re.findall(rf'href="(/patients/{pid}/records/{kind}/\d+)"', records)
        if kind in NOT_EDITABLE or not links:
            continue
        form = client.get(links[0]).text
        version = re.search(r'name="version" value="([\d:]+)"', form)
        assert version, kind
        data = {"csrf_token": token, "version": version[1], **_form_data(client, pid, kind)}
        date_field = FORMS[kind].date_field
        data[date_field] = "2023-06-07"  # move the record in time (if it has a date field)
        for f in FORMS[kind].fields:  # and change its free text (notes have only that)
            if f.kind == "textarea":
                data[f.name] = "edited text"
        r = client.post(links[0], data=data, follow_redirects=False)
        assert r.status_code == 303, (kind, r.text[-1500:])
        page = _check_changed(client, app, pid, page, f"editing {kind}")
    # delete every listed record, one at a time
    while True:
        records = client.get(f"/patients/{pid}/records").text
        forms = re.findall(
            r'action="(/patients/\d+/records/(\w+)/\d+/delete)".*?name="version" value="([\d:]+)"',
            records,
            flags=re.S,
        )
        if not forms:
            break
        action, kind, version = forms[0]
        r = client.post(action, data={"csrf_token": token, "version": version})
        assert r.status_code == 200, kind
        page = _check_changed(client, app, pid, page, f"deleting {kind}")


def test_patient_edit_and_nested_store_changes_invalidate(
    client: Any, app: Any, db: Any, user_ids: dict[str, int]
) -> None:
    from sqlalchemy import select

    from pedbone.store import DxaMeasurement, DxaScan, Infusion, Treatment, Vertebra

    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    for kind in ("dxa", "treatment", "infusion", "vertebral"):
        data = {"csrf_token": token, **_form_data(client, pid, kind)}
        r = client.post(f"/patients/{pid}/records/{kind}", data=data, follow_redirects=False)
        assert r.status_code == 303, kind
    page = _page(client, pid)
    form = client.get(f"/patients/{pid}/edit").text
    version = re.search(r'name="version" value="([\d:]+)"', form)
    assert version
    r = client.post(
        f"/patients/{pid}/edit",
        data={"csrf_token": token, "version": version[1], "family_name": "Claes",
              "given_name": "Lotte", "birth_date": "2012-05-02", "sex": "F"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text[-1500:]
    page = _check_changed(client, app, pid, page, "editing the patient")
    assert "Claes" in page

    def change(model: Any, **values: Any) -> None:
        with db.unit_of_work(actor="test") as session:
            row = session.scalars(select(model)).first()
            for k, v in values.items():
                setattr(row, k, v)

    change(DxaMeasurement, abmd_g_cm2=0.512)  # a value row below the scan
    page = _check_changed(client, app, pid, page, "changing a DXA value")
    assert "0.512" in page
    change(Vertebra, genant_grade=3.0)
    page = _check_changed(client, app, pid, page, "changing a vertebra")
    change(Infusion, given_on=dt.date(2024, 2, 3))
    page = _check_changed(client, app, pid, page, "changing an infusion")
    change(Treatment, drug="pamidronate")
    page = _check_changed(client, app, pid, page, "changing a treatment")
    with db.unit_of_work(actor="test") as session:  # delete a child row only
        scan = session.scalars(select(DxaScan)).one()
        session.delete(scan.measurements[0])
    _check_changed(client, app, pid, page, "deleting a DXA value")


def test_import_invalidates(client: Any, app: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token, mrn="IMP-1")
    page = _page(client, pid)
    csv = "mrn;scan_date;manufacturer;spine_abmd\nIMP-1;2025-01-10;Hologic;0,612\n"
    r = client.post(
        "/import/dxa",
        data={"csrf_token": token},
        files={"file": ("scans.csv", csv.encode(), "text/csv")},
    )
    assert r.status_code == 200, r.text[-1500:]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', r.text))
    assert {"preview", "signature", "csrf_token"} <= fields.keys()
    r = client.post("/import/dxa/commit", data=fields, follow_redirects=False)
    assert r.status_code in (200, 303), r.text[-1500:]
    page = _check_changed(client, app, pid, page, "a DXA import")
    assert "0.612" in page


def test_an_edit_of_another_patient_keeps_the_cached_page(
    client: Any, app: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    a = new_patient(client, token, mrn="A-1")
    b = new_patient(client, token, mrn="B-1", family_name="Maes")
    _page(client, a)
    cache = app.state.overview_cache
    client.post(
        f"/patients/{b}/records/anthropometry",
        data={"csrf_token": token, "measured_on": "2024-01-01", "height_cm": "150"},
    )
    hits = cache.hits
    _page(client, a)
    assert cache.hits == hits + 1


@pytest.mark.parametrize("second", ["res", "admin", "doc-nl"])
def test_viewers_never_see_each_others_page(
    app: Any, user_ids: dict[str, int], second: str
) -> None:
    from starlette.testclient import TestClient

    with TestClient(app) as doc, TestClient(app) as other:
        token = sign_in(doc, user_ids["doc"])
        pid = new_patient(doc, token, mrn="MRN-77", family_name="Wouters")
        doc_page = _page(doc, pid)  # cached for the clinician in English
        assert "Wouters" in doc_page
        assert "Dr. Dirk Dokter" in doc_page
        if second == "doc-nl":  # the same clinician in another session switches to Dutch
            t2 = sign_in(other, user_ids["doc"])
            r = other.post("/language", data={"csrf_token": t2, "language": "nl"})
            assert r.status_code == 200
            page = _page(other, pid)
            assert "Laatste beoordeling" in page or 'lang="nl' in page
            assert page != doc_page
        else:
            sign_in(other, user_ids[second])
            page = _page(other, pid)
            if second == "res":  # pseudonymised: no name, no record number
                assert "Wouters" not in page
                assert "MRN-77" not in page
                assert re.search(r"P-[0-9A-F]{8}", page)
            else:
                assert "Ada Admin" in page
                assert "Dr. Dirk Dokter" not in page
        app.state.overview_cache.clear()
        assert _page(other, pid) == page  # what the cache gave is the fresh page
        # and the clinician's cached English page is unchanged by the other viewer
        if second != "doc-nl":
            assert _page(doc, pid) == doc_page


def test_the_cache_can_be_switched_off(
    db: Any, user_ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from starlette.testclient import TestClient

    from pedbone.web import WebSettings, create_app

    from .conftest import SECRET

    monkeypatch.setenv("PEDBONE_OVERVIEW_CACHE", "0")
    app = create_app(WebSettings(secret_key=SECRET), database=db)
    with TestClient(app) as client:
        token = sign_in(client, user_ids["doc"])
        pid = new_patient(client, token)
        assert _page(client, pid) == _page(client, pid)
        cache = app.state.overview_cache
        assert (len(cache), cache.hits) == (0, 0)


def test_the_fingerprint_covers_every_clinical_table() -> None:
    """Every versioned table but the user accounts hangs off a patient and is in the key; a new
    table that does not (and so would not invalidate the page) makes this test fail."""
    from pedbone.store import Patient
    from pedbone.web._cache import covered_table_names

    versioned = {n for n, t in Patient.metadata.tables.items() if "version" in t.c}
    # systematic reviews never appear on a patient's page (and hold no patient key)
    versioned -= {n for n in versioned if n.startswith("review_") or n == "systematic_reviews"}
    covered = covered_table_names()
    assert len(covered) == len(set(covered))
    assert set(covered) == versioned - {"users"}
    assert {"dxa_measurements", "vertebrae", "infusions", "patients"} <= set(covered)
