"""Fixtures for reference-pack tests (the pack writer `make_pack` is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "pedbone-data"
    monkeypatch.setenv("PEDBONE_DATA_DIR", str(d))
    return d
