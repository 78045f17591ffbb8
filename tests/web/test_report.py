"""The PDF visit report: WeasyPrint output read back with pdftotext."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import new_patient, sign_in

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    )
    return " ".join(out.stdout.split())


def _patient_with_data(client: Any, token: str) -> int:
    pid = new_patient(client, token, birth_date="2012-05-02", mrn="R-77")
    base = {"csrf_token": token}
    client.post(
        f"/patients/{pid}/records/anthropometry",
        data={**base, "measured_on": "2025-03-01", "height_cm": "140.5", "weight_kg": "33"},
    )
    for day, value in (("2024-03-05", "0.600"), ("2025-03-05", "0.612")):
        client.post(
            f"/patients/{pid}/records/dxa",
            data={
                **base, "scanned_on": day, "manufacturer": "Hologic", "spine_abmd": value,
                "spine_vendor_z": "-2.4", "precision_spine": "0.010",
            },
        )  # fmt: skip
    return pid


def test_english_report(client: Any, user_ids: dict[str, int], tmp_path: Path) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_data(client, token)
    r = client.get(f"/patients/{pid}/report.pdf?on=2025-03-05")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    text = _text(r.content, tmp_path)
    for expected in (
        "Bone health report",
        "Peeters, Lotte",  # identification
        "R-77",
        "05/03/2025",  # the visit
        "0.612 g/cm²",  # measurement
        "-2.4",  # the scanner's Z (the classification uses it: no spine reference shipped)
        "Low bone mass or bone density for chronological age",  # classification
        "Sources",
        "[S1]",
        "Intended use",
        "not a certified medical device",
        "Lumbar spine aBMD over time",  # chart titles
        "Height for age on the reference centiles",
    ):
        assert expected in text, expected
    # spine 0.600 -> 0.612 = +2.0 %, below the LSC 2.77 x 0.010 = 0.028 g/cm²
    assert "+2.0 %" in text
    assert "within the measurement error" in text


def test_report_of_an_earlier_visit_leaves_out_later_data(
    client: Any, user_ids: dict[str, int], tmp_path: Path
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_data(client, token)
    text = _text(client.get(f"/patients/{pid}/report.pdf?on=2024-03-05").content, tmp_path)
    assert "0.600 g/cm²" in text
    assert "0.612" not in text
    assert "Age at the visit 11.8 years" in text  # (2024-03-05 - 2012-05-02) / 365.25 = 11.84


def test_dutch_report(client: Any, user_ids: dict[str, int], tmp_path: Path) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_data(client, token)
    client.post("/language", data={"language": "nl", "csrf_token": token})
    text = _text(client.get(f"/patients/{pid}/report.pdf").content, tmp_path)
    for expected in (
        "Verslag botgezondheid",
        "0,612 g/cm²",
        "5/03/2025",
        "Lage botmassa of botdensiteit voor de chronologische leeftijd",
        "Beoogd gebruik",
        "Bronnen",
    ):
        assert expected in text, expected


def test_researcher_report_is_pseudonymised(
    client: Any, user_ids: dict[str, int], tmp_path: Path
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_data(client, token)
    sign_in(client, user_ids["res"])
    text = _text(client.get(f"/patients/{pid}/report.pdf").content, tmp_path)
    assert "Peeters" not in text
    assert "R-77" not in text
    assert "P-" in text


def test_report_of_unknown_patient_is_404(client: Any, user_ids: dict[str, int]) -> None:
    sign_in(client, user_ids["doc"])
    assert client.get("/patients/4242/report.pdf").status_code == 404
