"""Validation fixtures are never edited silently: each one's sha256 is recorded."""

from __future__ import annotations

import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "fixture_manifest.py"


def test_validation_fixtures_match_the_manifest() -> None:
    spec = importlib.util.spec_from_file_location("fixture_manifest", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    problems = module.differences()
    assert problems == [], (
        "validation fixtures differ from tests/fixtures.sha256; regenerate them with their "
        "script and run `python tools/fixture_manifest.py --update`, giving the reason in the "
        f"commit: {problems}"
    )
