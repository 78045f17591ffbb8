"""DXA CSV import: preview with per-row errors first, then all rows or none."""

from __future__ import annotations

import re
from typing import Any

from .conftest import new_patient, sign_in


def _upload(client: Any, token: str, content: bytes, name: str = "dxa.csv") -> Any:
    return client.post(
        "/import/dxa",
        data={"csrf_token": token},
        files={"file": (name, content, "text/csv")},
    )


def _commit(client: Any, token: str, preview_html: str) -> Any:
    payload = re.search(r'name="preview" value="([^"]*)"', preview_html)
    signature = re.search(r'name="signature" value="([^"]*)"', preview_html)
    assert payload
    assert signature
    return client.post(
        "/import/dxa/commit",
        data={"csrf_token": token, "preview": payload[1], "signature": signature[1]},
    )


def _scans(client: Any, pid: int) -> int:
    html = client.get(f"/patients/{pid}").text
    return html.count("— DXA scan:")


def test_a_clean_file_is_previewed_then_imported(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    a = new_patient(client, token, mrn="MRN-1", family_name="Aerts")
    b = new_patient(client, token, mrn="MRN-2", family_name="Bosmans")
    csv = (
        b"mrn;scan_date;manufacturer;spine_abmd;leg_abmd;reference_group\n"
        b"MRN-1;2025-01-10;Hologic;0,612;0,700;white\n"
        b"MRN-2;3/02/2025;GE Lunar;0,701;;\n"
    )
    preview = _upload(client, token, csv)
    assert preview.status_code == 200
    assert "2 rows are ready to import." in preview.text
    assert "Aerts, Lotte" in preview.text
    assert _scans(client, a) == 0  # the preview wrote nothing
    done = _commit(client, token, preview.text)
    assert "2 scans were imported." in done.text
    assert _scans(client, a) == 1
    assert _scans(client, b) == 1
    assert "0.701 g/cm²" in client.get(f"/patients/{b}").text
    # importing the same file again: every row is now a duplicate
    again = _upload(client, token, csv)
    assert "2 rows have errors." in again.text
    assert again.text.count("A scan on this date is already recorded.") == 2


def test_errors_are_reported_per_row_and_nothing_is_written(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    a = new_patient(client, token, mrn="MRN-1")
    csv = (
        b"mrn,scan_date,manufacturer,spine_abmd\n"
        b"MRN-1,2025-01-10,Hologic,0.612\n"  # line 2: fine
        b"MRN-9,2025-01-10,Hologic,0.612\n"  # line 3: unknown patient
        b"MRN-1,2025-13-40,Hologic,abc\n"  # line 4: bad date and number
        b"MRN-1,2025-02-10,Siemens,0.6\n"  # line 5: unknown manufacturer
        b"MRN-1,2025-03-10,Hologic,\n"  # line 6: no value
    )
    preview = _upload(client, token, csv)
    html = preview.text
    assert "4 rows have errors." in html
    assert "Nothing was written." in html
    rows = {
        int(m[0]): m[1] for m in re.findall(r'<td class="num">(\d+)</td>(.*?)</tr>', html, re.S)
    }
    assert sorted(rows) == [2, 3, 4, 5, 6]
    assert "ok" in rows[2]
    assert "No patient with this record number." in rows[3]
    assert "Not a valid date" in rows[4]
    assert "Not a number." in rows[4]
    assert "Choose one of the options." in rows[5]
    assert "Enter at least one measured value." in rows[6]
    assert 'action="/import/dxa/commit"' not in html  # no way to write a file with errors
    assert _scans(client, a) == 0


def test_a_tampered_preview_is_refused(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    new_patient(client, token, mrn="MRN-1")
    preview = _upload(
        client, token, b"mrn,scan_date,manufacturer,spine_abmd\nMRN-1,2025-01-10,Hologic,0.6\n"
    )
    forged = preview.text.replace('name="signature" value="', 'name="signature" value="0')
    r = _commit(client, token, forged)
    assert r.status_code == 422
    assert "The preview has expired" in r.text


def test_file_level_problems_name_the_line(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    r = _upload(client, token, b"mrn,scan_date\nX,2025-01-01\n")
    assert r.status_code == 422
    assert "line 1: missing column(s) manufacturer" in r.text
    r = _upload(client, token, b"mrn,scan_date,manufacturer,colour\n")
    assert "line 1: unknown column(s) colour" in r.text
    r = _upload(client, token, b"mrn,scan_date,manufacturer\nA,2025-01-01,Hologic\nB,\xff\xfe,X\n")
    assert "line 3: not UTF-8 text" in r.text
    r = _upload(client, token, b"")
    assert "The file is empty." in r.text


def test_import_messages_in_dutch(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    client.post("/language", data={"language": "nl", "csrf_token": token})
    r = _upload(client, token, b"mrn,scan_date\nX,2025-01-01\n")
    assert "lijn 1: ontbrekende kolom(men) manufacturer" in r.text
