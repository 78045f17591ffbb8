"""Foundation: version, CLI, bibliography, units, renal function."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import pedbone
from pedbone.bibliography import cite, sources
from pedbone.cli import app
from pedbone.clinical.renal import bedside_schwartz_egfr
from pedbone.units import creatinine_umol_to_mgdl, ohd_ngml_to_nmol, vitd_ug_to_iu

runner = CliRunner()
SRC = Path(__file__).resolve().parents[1] / "src" / "pedbone"


def test_version_flag() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"pedbone {pedbone.__version__}"


def test_one_source_for_the_version() -> None:
    # _version.py is the only place the version is written; the package metadata (hatch reads
    # _version.py) and CITATION.cff must agree with it.
    from importlib.metadata import version

    root = SRC.parents[1]
    assert version("pedbone") == pedbone.__version__
    cff = (root / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r"^version: (.+)$", cff, re.M).group(1).strip() == pedbone.__version__  # type: ignore[union-attr]
    assert re.search(r"^## \[(\d[^\]]*)\]", (root / "CHANGELOG.md").read_text(), re.M).group(1) == (  # type: ignore[union-attr]
        pedbone.__version__
    )


def test_help_lists_sources() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "sources" in result.stdout


def test_bibliography_has_iscd_and_methods() -> None:
    assert cite("S1").text.startswith("ISCD. 2013 ISCD Official Positions")
    assert cite("S72").text.startswith("Schwartz GJ")
    assert cite("S30b").text.startswith("Przkora R")  # a sub-key inside a line
    assert cite("CDC2000").kind == "methods"
    with pytest.raises(KeyError, match="unknown citation key"):
        cite("S999")


def test_sources_cli_json_and_unknown_key() -> None:
    result = runner.invoke(app, ["sources", "S1", "CDC2000", "--json"])
    assert result.exit_code == 0
    keys = [e["key"] for e in json.loads(result.stdout)]
    assert keys == ["S1", "CDC2000"]
    bad = runner.invoke(app, ["sources", "S999"])
    assert bad.exit_code == 2


CITE = re.compile(r"\[(S\d+[a-z]?)\]")


def test_every_clinical_key_cited_in_the_package_exists() -> None:
    """Any [Sn] written in package code or data must resolve in the bibliography."""
    known = set(sources())
    missing: list[str] = []
    for path in SRC.rglob("*"):
        if path.suffix not in {".py", ".yaml", ".yml", ".json", ".md", ".csv", ".toml"}:
            continue
        if path.name == "clinical_sources.yaml":
            continue
        for key in CITE.findall(path.read_text(encoding="utf-8", errors="replace")):
            if key not in known:
                missing.append(f"{path.relative_to(SRC)}: {key}")
    assert missing == []


def test_unit_conversions_hand_computed() -> None:
    assert creatinine_umol_to_mgdl(88.4) == pytest.approx(1.0)
    assert ohd_ngml_to_nmol(20.0) == pytest.approx(50.0)  # 20 ng/mL = 50 nmol/L [S68]
    assert vitd_ug_to_iu(10.0) == pytest.approx(400.0)  # 10 µg = 400 IU [S71]


def test_bedside_schwartz_hand_computed() -> None:
    # 0.413 * 140 / 0.7 = 82.6 mL/min/1.73 m² [S72]
    got = bedside_schwartz_egfr([140.0], [0.7], unit="mg/dL")
    np.testing.assert_allclose(got, [82.6], rtol=1e-12)
    # 61.88 µmol/L = 0.7 mg/dL
    np.testing.assert_allclose(bedside_schwartz_egfr(140.0, 61.88), 82.6, rtol=1e-12)
    assert np.isnan(bedside_schwartz_egfr([140.0], [0.0])).all()
    with pytest.raises(ValueError, match="unknown creatinine unit"):
        bedside_schwartz_egfr(140.0, 1.0, unit="mmol/L")  # type: ignore[arg-type]
