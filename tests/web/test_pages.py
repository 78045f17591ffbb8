"""Patient pages: create, record forms with validation, Z-scores, charts, list filters."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

import pedbone

from .conftest import new_patient, sign_in


def _post(client: Any, url: str, token: str, **data: str) -> Any:
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def _dxa(client: Any, token: str, pid: int, **values: str) -> Any:
    data = {"manufacturer": "Hologic", **values}
    return _post(client, f"/patients/{pid}/records/dxa", token, **data)


def test_new_patient_form_validates_each_field(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    r = _post(
        client, "/patients/new", token, family_name="", given_name="Lotte",
        birth_date="31/02/2015", sex="X",
    )  # fmt: skip
    assert r.status_code == 422
    html = r.text
    # the message sits next to its field, and what was typed is kept
    assert re.search(r'id="e-family_name"[^>]*>This field is required\.', html)
    assert re.search(r'id="e-birth_date"[^>]*>Not a valid date', html)
    assert re.search(r'id="e-sex"[^>]*>Choose one of the options\.', html)
    assert 'value="Lotte"' in html
    assert "0 patients" in client.get("/patients").text  # nothing written


def test_anthropometry_and_dxa_show_z_scores(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token, birth_date="2012-05-02", mrn="A-1")
    assert _post(
        client, f"/patients/{pid}/records/anthropometry", token,
        measured_on="2024-03-01", height_cm="140,5", weight_kg="33",
    ).status_code == 303  # fmt: skip
    assert _dxa(
        client, token, pid, scanned_on="2024-03-05", leg_abmd="0.700", reference_group="white",
        spine_abmd="0,600", precision_spine="0.010",
    ).status_code == 303  # fmt: skip
    assert _dxa(
        client, token, pid, scanned_on="2025-03-05", leg_abmd="0.760", reference_group="white",
        spine_abmd="0.630", precision_spine="0.010",
    ).status_code == 303  # fmt: skip
    html = client.get(f"/patients/{pid}").text
    # the leg Z-score as the reference engine computes it (age = days / 365.25)
    age = (np.datetime64("2025-03-05") - np.datetime64("2012-05-02")).astype(int) / 365.25
    z = float(
        pedbone.reference("schafmeyer2022").zscore(
            "leg_abmd", sex="F", age_years=age, value=0.760, group="white"
        )
    )
    assert f"{z:+.1f}".replace("+", "") in html.replace("+", "")
    assert "schafmeyer2022 (white)" in html
    # BMI 33 / 1.405^2 = 16.717 -> 16.7
    assert ">16.7<" in html
    # spine change 0.600 -> 0.630 = +5.0 %; LSC = 2.77 x 0.010 = 0.0277 -> 0.028; 0.030 >= LSC
    assert "+5.0 %" in html
    assert "0.028 g/cm²" in html
    assert "real change" in html
    # the three charts are inline SVG with the data drawn
    for chart in ("chart-bmd", "chart-z", "chart-growth"):
        block = html.split(f'id="{chart}"')[1].split("</svg>")[0]
        assert "<svg" in block
        assert "<circle" in block  # at least one data point
    assert "Least significant change around the first scan" in html
    # the assessment ran and cites its sources
    assert "Classification" in html
    assert "[S1]" in html


def test_the_overview_in_dutch_uses_decimal_commas(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token, birth_date="2012-05-02")
    _dxa(client, token, pid, scanned_on="2026-03-05", spine_abmd="0.734")
    _post(client, "/language", token, language="nl")
    html = client.get(f"/patients/{pid}").text
    assert "0,734 g/cm²" in html
    assert "5/03/2026" in html
    assert "Laatste beoordeling" in html


def test_record_form_errors_are_shown_and_nothing_is_saved(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    r = _post(
        client, f"/patients/{pid}/records/anthropometry", token,
        measured_on="2024-03-01", height_cm="abc", weight_kg="900",
    )  # fmt: skip
    assert r.status_code == 422
    assert re.search(r'id="e-height_cm"[^>]*>Not a number\.', r.text)
    # the domain's plausibility message (software rule [PEDBONE_PLAUSIBILITY]), as in the CLI
    assert re.search(
        r'id="e-weight_kg"[^>]*>weight 900 kg is not plausible: pedbone accepts 0.2–250 kg', r.text
    )
    r = _dxa(client, token, pid, scanned_on="2024-03-01")
    assert r.status_code == 422
    assert "Enter at least one measured value." in r.text
    assert "No height or weight recorded." in client.get(f"/patients/{pid}").text


def test_every_record_form_renders_and_saves(client: Any, user_ids: dict[str, int]) -> None:
    from pedbone.web._forms import FORMS

    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    samples = {
        "text": "x", "textarea": "a note", "date": "2024-01-02", "number": "1",
        "integer": "2", "bool": "on",
    }  # fmt: skip
    for kind, spec in FORMS.items():
        assert client.get(f"/patients/{pid}/records/{kind}").status_code == 200, kind
        data = {}
        for f in spec.fields:
            if f.name == "treatment_id":  # the infusion form offers this patient's treatments
                form = client.get(f"/patients/{pid}/records/{kind}").text
                data[f.name] = re.findall(r'<option value="(\d+)"', form)[0]
            elif f.kind == "choice" and not f.name.startswith("grade_"):
                data[f.name] = f.choices[0][0]
            elif f.required:
                data[f.name] = samples[f.kind]
        if kind == "dxa":
            data.update(spine_abmd="0.6", leg_abmd="0.7", tblh_bmc="900")
        if kind == "lab":
            data.update(unit="nmol/L", value="50")
        if kind == "anthropometry":
            data.update(height_cm="140")
        if kind == "vertebral":
            data.update(grade_T8="2", grade_L1="0.5")
        r = _post(client, f"/patients/{pid}/records/{kind}", token, **data)
        assert r.status_code == 303, (kind, r.text[-2000:])
    html = client.get(f"/patients/{pid}").text
    assert "Vertebral fracture assessment</span>" in html or "T8 2, L1 0.5" in html
    assert "Infusion" in html


def test_list_search_and_filters(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    a = new_patient(client, token, family_name="Janssens", mrn="J-1")
    b = new_patient(client, token, family_name="Maes", diagnosis="epilepsy", mrn="M-2")
    _post(
        client, f"/patients/{b}/records/treatment", token,
        drug="zoledronic acid", route="iv", start_date="2024-01-01", status="active",
    )  # fmt: skip
    # a recent DXA for a (not overdue), none for b (overdue)
    _dxa(client, token, a, scanned_on="2026-01-05", spine_abmd="0.7")
    assert "Janssens" in client.get("/patients?q=jans").text
    assert "Maes" not in client.get("/patients?q=jans").text
    assert "Janssens" in client.get("/patients?q=J-1").text
    only_epilepsy = client.get("/patients?diagnosis=epilepsy").text
    assert "Maes" in only_epilepsy
    assert "Janssens" not in only_epilepsy
    treated = client.get("/patients?on_treatment=true").text
    assert "Maes" in treated
    assert "Janssens" not in treated
    overdue = client.get("/patients?overdue_dxa=true").text
    assert "Maes" in overdue
    assert "Janssens" not in overdue
    # HTMX asks for the table only
    part = client.get("/patients?q=maes", headers={"HX-Request": "true", "HX-Target": "results"})
    assert "<html" not in part.text
    assert "Maes" in part.text


def test_low_bmd_filter_uses_recomputed_z_scores(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    low = new_patient(client, token, family_name="Laag", birth_date="2010-01-01")
    normal = new_patient(client, token, family_name="Normaal", birth_date="2010-01-01")
    ref = pedbone.reference("schafmeyer2022")
    age = (np.datetime64("2025-01-01") - np.datetime64("2010-01-01")).astype(int) / 365.25
    # values at Z = -2.5 and Z = 0 for a 15-year-old girl (white reference group)
    v_low = float(ref.value("leg_abmd", sex="F", age_years=age, z=-2.5, group="white"))
    v_norm = float(ref.value("leg_abmd", sex="F", age_years=age, z=0.0, group="white"))
    assert "0 patients" in client.get("/patients?low_bmd=true").text  # (result now cached)
    for pid, value in ((low, v_low), (normal, v_norm)):
        r = _dxa(
            client, token, pid, scanned_on="2025-01-01", leg_abmd=f"{value:.4f}",
            reference_group="white",
        )  # fmt: skip
        assert r.status_code == 303
    html = client.get("/patients?low_bmd=true").text
    assert "Laag" in html
    assert "Normaal" not in html


def test_unknown_patient_is_a_404(client: Any, user_ids: dict[str, int]) -> None:
    sign_in(client, user_ids["doc"])
    r = client.get("/patients/999")
    assert r.status_code == 404
    assert "This page or record does not exist" in r.text


def test_one_z_truth_filter_overview_and_chart(client: Any, user_ids: dict[str, int]) -> None:
    # No pack has spine reference data, so the scanner's spine Z is the classification Z; Z
    # −2.3 ≤ −2.0 [S1][S3] puts the child in "Low BMD (Z ≤ −2)" and the overview says so.
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token, family_name="Vendorlaag", birth_date="2010-01-01")
    r = _dxa(client, token, pid, scanned_on="2025-01-01", spine_abmd="0.6", spine_vendor_z="-2.3")
    assert r.status_code == 303
    assert "Vendorlaag" in client.get("/patients?low_bmd=true").text
    page = client.get(f"/patients/{pid}").text
    assert "Low bone mass/density for chronological age: Z-score -2.30" in page
    assert "Z used for classification" in page
    assert "never used for classification" not in page


def test_lab_form_refuses_an_impossible_value(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    r = _post(
        client, f"/patients/{pid}/records/lab", token,
        sampled_on="2024-03-01", analyte="calcium", value="20", unit="mmol/L",
    )  # fmt: skip
    assert r.status_code == 422
    assert "calcium 20 mmol/L is not plausible" in r.text
