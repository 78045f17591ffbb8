"""Scanner exports through the DXA import page: layout choice, mapping file, same preview."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .conftest import new_patient, sign_in

F = Path(__file__).parents[1] / "io" / "fixtures" / "dxa"


def _upload(
    client: Any, token: str, name: str, *, mapping: str | None = None, **fields: str
) -> Any:
    files: dict[str, Any] = {"file": (name, (F / name).read_bytes(), "text/csv")}
    if mapping:
        files["mapping"] = (mapping, (F / mapping).read_bytes(), "application/yaml")
    return client.post("/import/dxa", data={"csrf_token": token, **fields}, files=files)


def _commit(client: Any, token: str, html: str, **override: str) -> Any:
    fields = {
        k: re.search(rf'name="{k}" value="([^"]*)"', html)
        for k in ("preview", "options", "signature")
    }
    data = {k: m[1].replace("&#34;", '"').replace("&quot;", '"') for k, m in fields.items() if m}
    return client.post("/import/dxa/commit", data={"csrf_token": token, **data, **override})


def test_clinic_export_with_its_mapping_file(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(
        client, token, mrn="0012345", family_name="Synthetic", birth_date="2012-05-02"
    )
    page = client.get("/import/dxa").text
    assert 'name="layout"' in page
    assert "My clinic&#39;s mapping file" in page or "My clinic's mapping file" in page
    preview = _upload(
        client,
        token,
        "synthetic_clinic_export_cp1252.csv",
        mapping="synthetic_clinic_mapping.yaml",
        layout="mapping",
    )
    assert preview.status_code == 200, preview.text
    assert "1 row is ready to import." in preview.text
    assert "Synthetic, Lotte" in preview.text
    assert "0.612" in preview.text
    assert '<span class="small muted sites">spine L1-L4, leg left, leg right</span>' in preview.text
    info = re.search(r'<p class="small" id="import-info">(.*?)</p>', preview.text, re.S)
    assert info
    assert "File read as mapping: cp1252, &#39;;&#39; separated, decimal &#39;,&#39;" in info[1]
    assert "Recognised, not stored: Naam, L1-L4 T-score, Opmerking." in info[1]
    done = _commit(client, token, preview.text)
    assert "1 scan was imported." in done.text, done.text
    overview = client.get(f"/patients/{pid}").text
    assert "schafmeyer2022 (white)" in overview  # Z recomputed from the raw leg values


def test_file_errors_say_how_to_declare(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    r = _upload(
        client,
        token,
        "synthetic_dxa2_merged_be_latin1.csv",
        layout="dxa2-merged",
        manufacturer="Hologic",
    )
    assert r.status_code == 422
    assert "declare the encoding" in r.text
    r = _upload(
        client,
        token,
        "synthetic_dxa2_merged_be_latin1.csv",
        layout="dxa2-merged",
        encoding="latin-1",
    )
    assert r.status_code == 422
    assert "manufacturer is not in the file" in r.text
    r = _upload(client, token, "synthetic_clinic_export_cp1252.csv", layout="mapping")
    assert r.status_code == 422
    assert "Choose the mapping file" in r.text


def test_values_from_the_file_are_inert_in_the_preview(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    new_patient(client, token, mrn="0012345")
    content = (
        b"Patients_ID;ScanDate;L1L4BMD\n"
        b"0012345;<img src=x onerror=alert(1)>;0,612\n"
        b"0012345;50%;0,612\n"
    )
    r = client.post(
        "/import/dxa",
        data={"csrf_token": token, "layout": "dxa2-merged", "manufacturer": "Hologic"},
        files={"file": ("x.csv", content, "text/csv")},
    )
    assert r.status_code == 200
    assert "<img src=x" not in r.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in r.text
    assert "&#39;50%&#39; is not a date" in r.text
    assert "2 rows have errors." in r.text


def test_tampered_options_are_refused_at_commit(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    new_patient(client, token, mrn="0012345", birth_date="2012-05-02")
    preview = _upload(
        client,
        token,
        "synthetic_clinic_export_cp1252.csv",
        mapping="synthetic_clinic_mapping.yaml",
        layout="mapping",
    )
    r = _commit(client, token, preview.text, options='{"layout": "nhanes"}')
    assert r.status_code == 422
    assert "The preview has expired" in r.text
