"""Without PostgreSQL the PostgreSQL tests skip loudly locally, and FAIL under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TEST = "tests/store/test_migrations.py::test_empty_database_has_no_revision"
ROOT = Path(__file__).resolve().parents[2]


def _run(ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PEDBONE_TEST_POSTGRES_URL", "CI"}}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_missing_postgres_skips_loudly_locally_and_fails_in_ci() -> None:
    local = _run(None)
    assert local.returncode == 0, local.stdout
    assert "1 passed, 1 skipped" in local.stdout
    assert "PostgreSQL store tests were SKIPPED" in local.stdout
    ci = _run("true")
    assert ci.returncode == 1, ci.stdout
    assert "1 passed, 1 error" in ci.stdout  # the fixture fails: reported as an error
    assert "CI=true: PostgreSQL tests must run" in ci.stdout
