"""The built-in packs equal the original files in ../shared/refdata (values and sha256).

Reads the originals independently of tools/build_packs.py (plain csv parsing here), so a bug in
the build tool or the pack reader shows up as a mismatch.
"""

from __future__ import annotations

import csv
import hashlib
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import yaml

from pedbone.references import reference, validate

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "refdata"
PACKS = resources.files("pedbone.references") / "packs"

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason="../shared/refdata is not beside the checkout"
)

# pack id -> shared folder, {source file or item prefix: measure}
SOURCES = {
    "cdc2000": (
        "cdc2000_growth_charts",
        {"statage.csv": "height", "wtage.csv": "weight", "bmiage.csv": "bmi"},
    ),
    "who2006": (
        "who2006_growth_standards",
        {
            "lenanthro.txt": "height",
            "weianthro.txt": "weight",
            "bmianthro.txt": "bmi",
            "hcanthro.txt": "head_circumference",
        },
    ),
    "who2007": (
        "who2007_growth_reference",
        {"hfawho2007.txt": "height", "wfawho2007.txt": "weight", "bfawho2007.txt": "bmi"},
    ),
}


def _original_rows(path: Path) -> list[tuple[str, float, float, float, float]]:
    """(sex M/F, age, L, M, S) from a WHO .txt or CDC .csv original."""
    delim = "\t" if path.suffix == ".txt" else ","
    out = []
    with path.open(newline="") as fh:
        for row in csv.reader(fh, delimiter=delim):
            if not row or row[0].strip().lower() == "sex":
                continue
            sex = {"1": "M", "2": "F"}[row[0].strip()]
            out.append((sex, *(float(x) for x in row[1:5])))
    return out


def _pack_rows(pack_id: str) -> list[list[str]]:
    text = (PACKS / pack_id / "table.csv").read_text("utf-8")
    return list(csv.reader(text.splitlines()))[1:]


@needs_shared
@pytest.mark.parametrize("pack_id", ["cdc2000", "who2006", "who2007"])
def test_growth_pack_equals_original_files(pack_id: str) -> None:
    folder, files = SOURCES[pack_id]
    rows = _pack_rows(pack_id)
    for fname, measure in files.items():
        orig = sorted(_original_rows(SHARED / folder / fname))
        mine = sorted(
            (r[1], float(r[3]), float(r[4]), float(r[5]), float(r[6]))
            for r in rows
            if r[0] == measure
        )
        assert mine == orig, f"{pack_id}/{measure} differs from {fname}"
        # and the loaded engine holds the same numbers (M at every table age, z = 0)
        ref = reference(pack_id)
        if pack_id == "cdc2000":  # coverage 24-240 months; check rows inside it
            orig = [o for o in orig if 24 <= o[1] <= 240]
        ages = np.array([o[1] for o in orig]) / ref.meta.years_to_table
        sexes = np.array([o[0] for o in orig])
        inside = ages < ref.coverage_years(measure)[1]
        m = ref.value(measure, sex=sexes[inside], age_years=ages[inside], z=0.0)
        np.testing.assert_allclose(
            m, [o[3] for o, k in zip(orig, inside, strict=True) if k], rtol=1e-12
        )


@needs_shared
def test_schafmeyer_pack_equals_original_csv() -> None:
    items = {"BMD": "leg_abmd", "BMC": "leg_bmc", "LBM": "leg_lean_mass", "Fat": "leg_fat_mass"}
    groups = {"white": "white", "black": "black", "Mexican": "mexican"}
    orig = []
    path = SHARED / "schafmeyer2022_lower_limb_dxa" / "schafmeyer2022_lower_limb_lms.csv"
    with path.open(newline="") as fh:
        for r in csv.DictReader(fh):
            m = re.fullmatch(r"(BMD|BMC|LBM|Fat)(white|black|Mexican)", r["item"])
            assert m, r["item"]
            sex = {"male": "M", "female": "F"}[r["sex"]]
            vals = tuple(float(r[k]) for k in ("age", "L", "M", "S"))
            orig.append((items[m.group(1)], sex, groups[m.group(2)], *vals))
    mine = [
        (r[0], r[1], r[2], float(r[3]), float(r[4]), float(r[5]), float(r[6]))
        for r in _pack_rows("schafmeyer2022")
    ]
    assert sorted(mine) == sorted(orig)
    assert len(mine) == 600


def _provenance_hashes(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        for c in cells:
            if re.fullmatch(r"[0-9a-f]{64}", c):
                out[cells[0]] = c
    return out


@needs_shared
@pytest.mark.parametrize("pack_id", ["cdc2000", "who2006", "who2007", "schafmeyer2022"])
def test_originals_match_provenance_sha256(pack_id: str) -> None:
    folder = {
        "cdc2000": "cdc2000_growth_charts",
        "who2006": "who2006_growth_standards",
        "who2007": "who2007_growth_reference",
        "schafmeyer2022": "schafmeyer2022_lower_limb_dxa",
    }[pack_id]
    shipped = (PACKS / pack_id / "PROVENANCE.md").read_text("utf-8")
    hashes = _provenance_hashes(shipped)
    assert hashes, "PROVENANCE.md beside the pack lists the sha256 of the originals"
    for name, digest in hashes.items():
        assert hashlib.sha256((SHARED / folder / name).read_bytes()).hexdigest() == digest
    # the shipped PROVENANCE starts with the original one, then says how we converted
    original = (SHARED / folder / "PROVENANCE.md").read_text("utf-8").rstrip("\n")
    assert shipped.startswith(original)
    assert "## Conversion into a pedbone reference pack" in shipped


@pytest.mark.parametrize("pack_id", ["cdc2000", "who2006", "who2007", "schafmeyer2022"])
def test_pack_checksum_and_validation(pack_id: str) -> None:
    meta = yaml.safe_load((PACKS / pack_id / "pack.yaml").read_text("utf-8"))
    table = (PACKS / pack_id / "table.csv").read_bytes()
    assert meta["checksum"] == "sha256:" + hashlib.sha256(table).hexdigest()
    assert meta["citation"]["key"] in {"CDC2000", "WHO2006", "WHO2007", "SCHAFMEYER2022"}
    with resources.as_file(PACKS / pack_id) as folder:
        assert validate(folder) == []


@needs_shared
def test_build_tool_check_mode_reproduces_committed_packs() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_packs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


@needs_shared
@pytest.mark.parametrize(
    ("fname", "measure"),
    [("statage.csv", "height"), ("wtage.csv", "weight"), ("bmiage.csv", "bmi")],
)
def test_cdc2000_published_percentile_columns(fname: str, measure: str) -> None:
    # CDC's files also publish the 3rd-97th percentiles (P3, P5, ... P97) computed by CDC from
    # the same LMS values: an independent check of our inverse at every tabulated age (they
    # agree to < 1e-8 relative, the precision CDC used for the z of each percentile).
    from scipy.special import ndtri

    ref = reference("cdc2000")
    path = SHARED / "cdc2000_growth_charts" / fname
    with path.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["Sex"] != "Sex"]
    pcols = [c for c in rows[0] if re.fullmatch(r"P\d+", c)]
    assert len(pcols) >= 9
    rows = [r for r in rows if 24 <= float(r["Agemos"]) <= 240]
    sex = np.array([{"1": "M", "2": "F"}[r["Sex"]] for r in rows])
    age = np.array([float(r["Agemos"]) for r in rows]) / 12.0
    for col in pcols:
        want = np.array([float(r[col]) for r in rows])
        z = ndtri(int(col[1:]) / 100.0)
        got = ref.value(measure, sex=sex, age_years=age, z=z)
        np.testing.assert_allclose(got, want, rtol=1e-8, err_msg=f"{fname} {col}")
