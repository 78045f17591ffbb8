"""Researchers get ages and pseudonyms only, everywhere: pages, option values, file names,
the PDF, the iCalendar file, search and the pseudonymised export."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pedbone.web._forms import FORMS

from .conftest import new_patient, sign_in
from .payloads import column_length, form_data
from .test_payloads import _dynamic_choices, _post_ok

BIRTH = dt.date(2012, 5, 2)
DAYS = [dt.date(2020, 6, 1), dt.date(2021, 3, 17)]


def _date_forms(day: dt.date) -> list[str]:
    """Every way the app writes a date: ISO, d/mm/yyyy, dd/mm/yyyy, compact."""
    return [
        day.isoformat(),
        f"{day.day}/{day.month:02d}/{day.year}",
        f"{day.day:02d}/{day.month:02d}/{day.year}",
        day.strftime("%Y%m%d"),
        day.strftime("%d %b %Y"),
        day.strftime("%b %-d, %Y"),
    ]


def _leaks(text: str) -> list[str]:
    found = []
    for day in [BIRTH, *DAYS]:
        found += [f for f in _date_forms(day) if f in text]
    return found


def _model(name: str) -> type:
    import pedbone.store as store

    model: type = getattr(store, name)
    return model


def _patient(client: Any, token: str) -> int:
    pid = new_patient(client, token, birth_date=BIRTH.isoformat(), mrn="MRN-LEAK-1")
    for day in DAYS:
        for kind in ("anthropometry", "dxa", "fracture", "lab", "medication", "treatment"):
            spec = FORMS[kind]
            data = form_data(spec.fields, _model(spec.model))
            data = {k: (day.isoformat() if v == "2020-06-01" else v) for k, v in data.items()}
            data |= _dynamic_choices(client.get(f"/patients/{pid}/records/{kind}").text, data)
            _post_ok(client, f"/patients/{pid}/records/{kind}", {**data, "csrf_token": token})
    return pid


def test_researcher_pages_show_no_real_date(client: Any, user_ids: Any) -> None:
    pid = _patient(client, sign_in(client, user_ids["doc"]))
    clinician_view = client.get(f"/patients/{pid}").text
    assert _leaks(clinician_view)  # the probe finds the dates where they are allowed
    sign_in(client, user_ids["res"])
    for path in ("/patients", f"/patients/{pid}", f"/patients/{pid}/treatment", "/harms",
                 f"/patients/{pid}/records"):  # fmt: skip
        r = client.get(path)
        if r.status_code == 200:
            assert _leaks(r.text) == [], path
            assert "MRN-LEAK-1" not in r.text
            assert "Peeters" not in r.text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_researcher_report_is_chosen_by_visit_number_and_named_by_pseudonym(
    client: Any, user_ids: Any, tmp_path: Path
) -> None:
    pid = _patient(client, sign_in(client, user_ids["doc"]))
    sign_in(client, user_ids["res"])
    page = client.get(f"/patients/{pid}").text
    assert '<select name="visit"' in page
    assert re.findall(r'<option value="(\d+)">', page) == ["1", "2"]
    # a date typed into the URL is refused: no probing for visit dates
    assert client.get(f"/patients/{pid}/report.pdf?on={DAYS[1].isoformat()}").status_code == 404
    r = client.get(f"/patients/{pid}/report.pdf?visit=2")
    assert r.status_code == 200
    disposition = r.headers["content-disposition"]
    assert re.fullmatch(
        r'attachment; filename="pedbone-report-P-[0-9A-F]{8}-visit-2\.pdf"', disposition
    )
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(r.content)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    assert _leaks(text) == []
    assert "MRN-LEAK-1" not in text
    assert client.get(f"/patients/{pid}/report.pdf?visit=3").status_code == 404
    # clinicians keep choosing by date, and their file names carry it
    sign_in(client, user_ids["doc"])
    r = client.get(f"/patients/{pid}/report.pdf?on={DAYS[0].isoformat()}")
    assert DAYS[0].isoformat() in r.headers["content-disposition"]


def test_researchers_get_no_calendar_file(client: Any, user_ids: Any) -> None:
    pid = _patient(client, sign_in(client, user_ids["doc"]))
    from pedbone.treatment import available_protocols

    protocol = available_protocols()[0].protocol.id
    ok = client.get(f"/patients/{pid}/treatment/course.ics?protocol={protocol}")
    sign_in(client, user_ids["res"])
    r = client.get(f"/patients/{pid}/treatment/course.ics?protocol={protocol}")
    assert r.status_code == 404
    assert _leaks(r.text) == []
    assert ok.status_code in (200, 404)  # clinicians: the plan, if this patient qualifies


def test_researcher_search_matches_the_whole_pseudonym_only(
    client: Any, user_ids: Any, db: Any
) -> None:
    from pedbone.store import Patient, pseudonym

    pid = _patient(client, sign_in(client, user_ids["doc"]))
    with db.session() as s:
        uid = s.get(Patient, pid).uid
    sign_in(client, user_ids["res"])
    code = pseudonym(uid)  # P-XXXXXXXX
    assert f">{code}<" in client.get("/patients", params={"q": code}).text
    assert f">{code}<" in client.get("/patients", params={"q": code.lower()}).text
    assert f">{code}<" in client.get("/patients", params={"q": code[2:]}).text
    for probe in (code[:5], uid[:4], uid, uid.replace("-", "")[:12], "P-", "0"):
        html = client.get("/patients", params={"q": probe}).text
        assert f">{code}<" not in html, probe  # no prefix of the pseudonym or the hidden UID


def test_the_pseudonymised_export_carries_no_free_text(client: Any, user_ids: Any) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = _patient(client, token)
    secret = "Jan Peeters fell off his bike at Kortrijk"
    for kind in ("fracture", "medication", "lab", "dxa", "note", "diagnosis", "treatment"):
        spec = FORMS[kind]
        model = _model(spec.model)
        data = form_data(spec.fields, model)
        data = {k: (secret[: column_length(model, k) or None] if f.kind in ("text", "textarea")
                    else data[k])
                for f in spec.fields for k in [f.name] if k in data}  # fmt: skip
        data |= _dynamic_choices(client.get(f"/patients/{pid}/records/{kind}").text, data)
        _post_ok(client, f"/patients/{pid}/records/{kind}", {**data, "csrf_token": token})
    for role in ("res", "doc"):
        sign_in(client, user_ids[role])
        body = client.get("/export/pseudonymised.json").text
        assert secret not in body, role
        assert _leaks(body) == [], role
        patients = json.loads(body)["patients"]
        assert patients


def test_every_text_column_is_dropped_unless_coded_or_generalised() -> None:
    from sqlalchemy import String

    from pedbone.store import Base
    from pedbone.store._pseudo import CODED_TEXT, GENERALISED_TEXT, HIDDEN_FIELDS

    shown = []
    for mapper in Base.registry.mappers:
        table = mapper.local_table.name
        for col in mapper.columns:
            if not isinstance(col.type, String) or col.key in HIDDEN_FIELDS:
                continue
            if col.key in mapper.validators:
                continue  # checked against a vocabulary by the store
            if (table, col.key) in CODED_TEXT or (table, col.key) in GENERALISED_TEXT:
                shown.append(f"{table}.{col.key}")
    # the complete list of unvalidated text columns a researcher sees (coded or generalised)
    assert sorted(shown) == [
        "anthropometry.height_method", "diagnoses.code", "diagnoses.icd10",
        "dxa_measurements.reference_group", "dxa_measurements.reference_pack",
        "dxa_measurements.region", "dxa_scans.manufacturer", "dxa_scans.software_version",
        "lab_results.unit", "treatments.drug", "treatments.protocol_id", "treatments.route",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        (("diagnoses", "icd10"), "E84.0", "E84.0"),
        (("diagnoses", "icd10"), "Jan Peeters", "other"),
        (("lab_results", "unit"), "nmol/L", "nmol/L"),
        (("lab_results", "unit"), "mL/min/1.73m²", "mL/min/1.73m²"),
        (("lab_results", "unit"), "%", "%"),
        (("lab_results", "unit"), "Dr Jan", "other"),
        (("dxa_scans", "software_version"), "13.6.0.7", "13.6.0.7"),
        (("dxa_scans", "software_version"), "Apex 4.5.3", "Apex 4.5.3"),
        (("dxa_scans", "software_version"), "enCORE 16", "enCORE 16"),
        (("dxa_scans", "software_version"), "Jan's scanner", "other"),
        (("treatments", "drug"), "Pamidronate", "pamidronate"),
        (("treatments", "drug"), "pamidronate for Jan", "other"),
    ],
)
def test_generalised_text(column: tuple[str, str], value: str, shown: str) -> None:
    from pedbone.store._pseudo import GENERALISED_TEXT

    assert GENERALISED_TEXT[column](value) == shown
