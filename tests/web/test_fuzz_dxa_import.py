"""Seeded, bounded fuzz of the DXA CSV import (hazard H38): no 500, no partial write, every
refused row names its line and reason, every refused file says why.

Each case starts from a valid export for three patients and breaks it: hostile cells (over-long
text, NUL and control characters, loose numbers, impossible dates), repeated, missing and
unknown columns, extra values, another delimiter, a byte-order mark, bytes that are not UTF-8,
a file cut short. The preview must answer 200 (with a per-row report) or 422 (with a reason);
a clean preview is committed and must store every row or, refused, nothing.
"""

from __future__ import annotations

import os
import random
import re
from typing import Any

from sqlalchemy import func, select

from .conftest import new_patient, sign_in

CASES = int(os.environ.get("PEDBONE_FUZZ_CASES", "60"))
SEED = 20261202

HEADER = ["mrn", "scan_date", "manufacturer", "model", "spine_abmd", "spine_bmc", "spine_area",
          "tblh_abmd", "height_cm", "comment"]  # fmt: skip
CELLS = (
    "", " ", "x" * 65, "y" * 2001, "nul\x00byte", "bell\x07", "tab\there", "\u202egnp.exe",
    "1_00", "١٢", "inf", "nan", "-1", "0", "1e308", "0,5", "0.5", "1.2.3", "2012-02-30",
    "1899-12-31", "2999-01-01", "2012-05-01", "31/12/2024", "=HYPERLINK(\"x\")", "@SUM(A1)",
    "<img src=x onerror=alert(1)>", "50% displaced", '"quoted, with comma"', "MRN-1", "MRN-404",
    "🦴" * 40,
)  # fmt: skip


def _valid_rows() -> list[list[str]]:
    return [
        ["MRN-1", "2024-01-10", "Hologic", "Horizon A", "0.698", "31.5", "45.1", "0.8", "140", ""],
        ["MRN-2", "2024-02-11", "GE Lunar", "iDXA", "0.701", "", "", "", "", "ok"],
        ["MRN-3", "2024-03-12", "Hologic", "", "0.650", "", "", "0.7", "", ""],
    ]


def _file(rng: random.Random) -> bytes:
    header = list(HEADER)
    rows = _valid_rows()
    for _ in range(rng.randint(1, 5)):
        rows[rng.randrange(len(rows))][rng.randrange(len(header))] = rng.choice(CELLS)
    roll = rng.random()
    if roll < 0.08:
        header[rng.randrange(len(header))] = rng.choice(["mrn", "spine_abmd", "MRN "])  # repeated
    elif roll < 0.12:
        header[rng.randrange(len(header))] = "unknown_column"
    elif roll < 0.16:
        del header[0]  # mrn missing
    elif roll < 0.2:
        rows[0].append("one too many")
    delimiter = ";" if rng.random() < 0.3 else ","
    lines = [delimiter.join(header)]
    for row in rows:
        lines.append(delimiter.join(f'"{c}"' if delimiter in c or '"' in c else c for c in row))
    data = ("\n".join(lines) + "\n").encode()
    roll = rng.random()
    if roll < 0.05:
        data = b"\xef\xbb\xbf" + data
    elif roll < 0.1:
        data = data.replace(b"Hologic", b"Hol\xffogic", 1)  # not UTF-8
    elif roll < 0.15:
        data = data[: rng.randrange(1, len(data))]  # cut short
    elif roll < 0.17:
        data = b""
    return data


def _count(db: Any) -> int:
    from pedbone.store import DxaScan

    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(DxaScan)) or 0)


def test_fuzzed_dxa_imports_never_fail_and_never_write_partly(
    client: Any, user_ids: dict[str, int], db: Any
) -> None:
    token = sign_in(client, user_ids["doc"])
    for n in (1, 2, 3):
        new_patient(client, token, mrn=f"MRN-{n}", birth_date="2012-05-02")
    rng = random.Random(SEED)
    outcomes = {"file refused": 0, "rows refused": 0, "imported": 0, "commit refused": 0}
    for case in range(CASES):
        data = _file(rng)
        before = _count(db)
        r = client.post(
            "/import/dxa", data={"csrf_token": token}, files={"file": ("f.csv", data, "text/csv")}
        )  # a server error would raise here (the test client re-raises it)
        assert r.status_code in (200, 422), (case, r.status_code)
        assert _count(db) == before, (case, "the preview wrote")
        if r.status_code == 422:
            outcomes["file refused"] += 1
            reason = re.search(r'class="alert error" role="alert">([^<]+)<', r.text)
            assert reason, (case, "a refused file says why")
            assert re.match(r"(line \d+: \S|The file is empty\.|Choose a CSV file\.)", reason[1])
            continue
        rows = re.findall(r'<tr class="(rowerr|)">\s*<td class="num">(\d+)</td>(.*?)</tr>',
                          r.text, flags=re.S)  # fmt: skip
        for kind, line, rest in rows:
            assert int(line) >= 2, (case, "a row names its line")
            if kind == "rowerr":
                assert 'class="error-text"' in rest, (case, line, "a refused row gives a reason")
        if any(kind == "rowerr" for kind, _line, _rest in rows) or not rows:
            outcomes["rows refused"] += 1
            assert 'name="preview"' not in r.text, (case, "a file with errors cannot be committed")
            continue
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', r.text))
        done = client.post("/import/dxa/commit", data=fields)
        assert done.status_code in (200, 409, 422), (case, done.status_code)
        if done.status_code == 200:
            outcomes["imported"] += 1
            assert _count(db) == before + len(rows), (case, "all rows or none")
        else:
            outcomes["commit refused"] += 1
            assert _count(db) == before, (case, "a refused commit wrote")
    assert outcomes["file refused"] > 0, outcomes
    assert outcomes["rows refused"] > 0, outcomes
    assert outcomes["imported"] > 0, outcomes
