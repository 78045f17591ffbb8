"""Import plausibility (hazard H37): a scan before birth and a repeated column are refused,
aBMD far from BMC / area is flagged, "1_00" is not read as 100 — on the import and the forms."""

from __future__ import annotations

import html
import re
from typing import Any

from .conftest import new_patient, sign_in


def _upload(client: Any, token: str, content: bytes) -> Any:
    return client.post(
        "/import/dxa", data={"csrf_token": token}, files={"file": ("d.csv", content, "text/csv")}
    )


def test_a_scan_before_birth_is_refused(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token, mrn="MRN-1", birth_date="2012-05-02")
    r = _upload(
        client, token, b"mrn,scan_date,manufacturer,spine_abmd\nMRN-1,2012-05-01,Hologic,0.6\n"
    )
    assert "1 row has an error." in r.text
    assert "The scan is dated before the patient's birth." in html.unescape(r.text)
    assert 'name="preview"' not in r.text  # nothing to commit
    form = {"csrf_token": token, "scanned_on": "2011-01-01", "manufacturer": "Hologic",
            "spine_abmd": "0.6"}  # fmt: skip
    r = client.post(f"/patients/{pid}/records/dxa", data=form)
    assert r.status_code == 422
    error = re.search(r'id="e-scanned_on" role="alert">([^<]*)<', r.text)
    assert error
    assert html.unescape(error[1]) == (
        "scanned_on: 2011-01-01 is before the patient's birth date (2012-05-02)"
    )
    # the birth date day itself is fine
    r = client.post(
        f"/patients/{pid}/records/dxa", data={**form, "scanned_on": "2012-05-02"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303


def test_a_repeated_column_refuses_the_file(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    new_patient(client, token, mrn="MRN-1")
    new_patient(client, token, mrn="MRN-2")
    csv = b"mrn,scan_date,manufacturer,spine_abmd,MRN\nMRN-1,2025-01-10,Hologic,0.6,MRN-2\n"
    r = _upload(client, token, csv)
    assert r.status_code == 422
    assert "line 1: column(s) mrn appear more than once" in r.text


def test_abmd_far_from_bmc_over_area_is_flagged(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    new_patient(client, token, mrn="MRN-1")
    new_patient(client, token, mrn="MRN-2")
    csv = (
        b"mrn;scan_date;manufacturer;spine_abmd;spine_bmc;spine_area\n"
        b"MRN-1;2025-01-10;Hologic;0,698;31,5;45,1\n"  # 31.5 / 45.1 = 0.698: consistent
        b"MRN-2;2025-01-10;Hologic;0,698;45,1;31,5\n"  # swapped: 45.1 / 31.5 = 1.432
    )
    r = _upload(client, token, csv)
    assert r.status_code == 200
    assert "2 rows are ready to import." in r.text  # a flag, not a refusal
    flags = re.findall(r'class="warn-text"><code>spine_abmd</code>: ([^<]*)<', r.text)
    # |0.698 - 1.432| / 0.698 = 1.051 -> 105 %
    assert flags == [
        "aBMD 0.698 differs from BMC / area = 1.432 by 105 % (more than 5 %): "
        "check the columns before importing."
    ]


def test_digit_group_underscores_are_not_numbers(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token, mrn="MRN-1")
    for text in ("1_00", "١٢", "0x10", "1e999"):
        csv = f"mrn,scan_date,manufacturer,spine_bmc\nMRN-1,2025-01-10,Hologic,{text}\n"
        r = _upload(client, token, csv.encode())
        assert "1 row has an error." in r.text, text
        assert "Not a number." in r.text, text
    form = {"csrf_token": token, "measured_on": "2025-01-01", "weight_kg": "3_5"}
    r = client.post(f"/patients/{pid}/records/anthropometry", data=form)
    assert r.status_code == 422
    assert re.search(r'id="e-weight_kg" role="alert">Not a number.<', r.text)
