"""Fixtures shared by every test folder: small SYNTHETIC reference packs written to tmp_path."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

Row = tuple[str, str, str, float | str, float | str, float | str, float | str]


def write_pack(
    folder: Path,
    rows: list[Row],
    *,
    measures: dict[str, dict[str, Any]] | None = None,
    header: str = "measure,sex,group,age,L,M,S",
    checksum: str | None = None,
    **meta: Any,
) -> Path:
    """Write pack.yaml + table.csv; the checksum is computed unless given."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [header] + [",".join(str(c) for c in r) for r in rows]
    table = ("\n".join(lines) + "\n").encode()
    (folder / "table.csv").write_bytes(table)
    doc: dict[str, Any] = {
        "format": "pedbone-reference-pack/1",
        "id": "synthetic_test",
        "title": "Synthetic test pack (invented numbers, not a reference)",
        "citation": {"text": "synthetic; no source", "doi": None},
        "licence": "CC0",
        "population": "none (synthetic)",
        "distribution": "LMS",
        "sex_coding": {"male": "M", "female": "F"},
        "groups": [],
        "age_unit": "years",
        "table": "table.csv",
        "checksum": checksum or "sha256:" + hashlib.sha256(table).hexdigest(),
        "synthetic": True,
        "measures": measures
        or {
            "height": {
                "unit": "cm",
                "age_min": 0,
                "age_max": 3,
                "interpolation": "lagrange4",
            }
        },
    }
    doc.update(meta)
    (folder / "pack.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


@pytest.fixture
def make_pack(tmp_path: Path) -> Callable[..., Path]:
    def _make(rows: list[Row], name: str = "pack", **kw: Any) -> Path:
        return write_pack(tmp_path / name, rows, **kw)

    return _make
