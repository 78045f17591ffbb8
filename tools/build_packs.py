"""Convert the original reference tables in ``../shared/refdata/`` into pedbone reference packs.

Run from the repository root (development only; the packs are committed as package data)::

    .venv/bin/python tools/build_packs.py            # (re)write src/pedbone/references/packs/
    .venv/bin/python tools/build_packs.py --check    # verify the committed packs, write nothing

What it does, per pack:

1. checks the sha256 of every source file against the table in its ``PROVENANCE.md``;
2. copies the L, M, S and age fields **as text, unchanged** into one ``table.csv`` with the
   columns ``measure,sex,group,age,L,M,S`` (sex coded ``M``/``F``; source coding 1/2 or
   male/female);
3. writes ``pack.yaml`` (metadata, see ``docs/reference-packs.md``) with the sha256 of
   ``table.csv``;
4. copies ``PROVENANCE.md`` beside the data and appends a section on the conversion.

No value is computed or rounded: the test-suite re-reads the originals and checks equality.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "refdata"
OUT = ROOT / "src" / "pedbone" / "references" / "packs"
HEADER = ["measure", "sex", "group", "age", "L", "M", "S"]

ANTHRO = "WorldHealthOrganization/anthro R package, R/z-score-helper.R and R/utils.R"
ANTHROPLUS = "WorldHealthOrganization/anthroplus R package, R/zscore-computation.R"
CDC_SAS = (
    "CDC 'A SAS Program for the 2000 CDC Growth Charts' (cdc-source-code.sas): "
    "l0 = l1 + dage*(l2 - l1)/ageint, i.e. linear interpolation between tabulated ages"
)
CHILDSDS = "cran/childsds R package, R/sdsvals.r: stats::approx(age, param, rule = 1)"

# pack id -> (source folder, metadata, [(source file, measure id, reader)])
PACKS: dict[str, dict[str, Any]] = {
    "cdc2000": {
        "folder": "cdc2000_growth_charts",
        "meta": {
            "title": "CDC 2000 Growth Charts (2-20 years): stature, weight and BMI for age",
            "citation": {
                "key": "CDC2000",
                "text": (
                    "Kuczmarski RJ, Ogden CL, Guo SS, et al. 2000 CDC Growth Charts for the "
                    "United States: methods and development. Vital Health Stat 11. "
                    "2002;(246):1-190."
                ),
                "doi": None,
                "url": "https://www.cdc.gov/growthcharts/percentile_data_files.htm",
            },
            "licence": "US government work (public domain); attribution expected",
            "population": "United States children, national surveys 1963-1994 (NHANES, NHES)",
            "age_unit": "months",
        },
        "measures": [
            ("statage.csv", "height", "Stature-for-age", "cm"),
            ("wtage.csv", "weight", "Weight-for-age", "kg"),
            ("bmiage.csv", "bmi", "BMI-for-age", "kg/m2"),
        ],
        "coverage": {"age_min": 24.0, "age_max": 240.0, "age_max_inclusive": True},
        "interpolation": "linear",
        "interpolation_source": CDC_SAS,
        "restricted": (),
    },
    "who2006": {
        "folder": "who2006_growth_standards",
        "meta": {
            "title": "WHO Child Growth Standards 2006 (0-5 years)",
            "citation": {
                "key": "WHO2006",
                "text": (
                    "WHO Multicentre Growth Reference Study Group. WHO Child Growth Standards "
                    "based on length/height, weight and age. Acta Paediatr Suppl 2006;450:76-85."
                ),
                "doi": "10.1111/j.1651-2227.2006.tb02378.x",
                "url": "https://www.who.int/tools/child-growth-standards",
            },
            "licence": "GPL-3 (WHO anthro R package data); WHO terms for the standards apply",
            "population": "WHO Multicentre Growth Reference Study (Brazil, Ghana, India, "
            "Norway, Oman, USA), breastfed children in healthy environments",
            "age_unit": "days",
        },
        "measures": [
            ("lenanthro.txt", "height", "Length/height-for-age (length < 731 d)", "cm"),
            ("weianthro.txt", "weight", "Weight-for-age", "kg"),
            ("bmianthro.txt", "bmi", "BMI-for-age", "kg/m2"),
            ("hcanthro.txt", "head_circumference", "Head circumference-for-age", "cm"),
        ],
        # anthro: z-scores only for age_in_months < 60 (i.e. days < 1826.25)
        "coverage": {"age_min": 0.0, "age_max": 1826.25, "age_max_inclusive": False},
        "interpolation": "nearest_round_half_up",
        "interpolation_source": (
            ANTHRO + ": age in days = months x 30.4375 rounded half up to a whole day, "
            "then the daily table row is used (no interpolation); ages in months < 60 only"
        ),
        "restricted": ("weight", "bmi"),
        "restricted_source": ANTHRO + ": compute_zscore_adjusted (weight-for-age, BMI-for-age)",
    },
    "who2007": {
        "folder": "who2007_growth_reference",
        "meta": {
            "title": "WHO Growth Reference 2007 (5-19 years)",
            "citation": {
                "key": "WHO2007",
                "text": (
                    "de Onis M, Onyango AW, Borghi E, Siyam A, Nishida C, Siekmann J. "
                    "Development of a WHO growth reference for school-aged children and "
                    "adolescents. Bull World Health Organ 2007;85:660-667."
                ),
                "doi": "10.2471/BLT.07.043497",
                "url": "https://www.who.int/tools/growth-reference-data-for-5to19-years",
            },
            "licence": "GPL (>= 3) (WHO anthroplus R package data); WHO terms apply",
            "population": "NCHS/WHO 1977 reference data merged with WHO 2006 under-fives",
            "age_unit": "months",
        },
        "measures": [
            ("hfawho2007.txt", "height", "Height-for-age", "cm"),
            ("wfawho2007.txt", "weight", "Weight-for-age (to 10 years)", "kg"),
            ("bfawho2007.txt", "bmi", "BMI-for-age", "kg/m2"),
        ],
        # anthroplus >= 1.1.0 (NEWS.md): 60 <= age_in_months < 229 (weight-for-age: < 121)
        "coverage": {"age_min": 60.0, "age_max": 229.0, "age_max_inclusive": False},
        "coverage_by_measure": {"weight": {"age_max": 121.0}},
        "interpolation": "linear",
        "interpolation_source": (
            ANTHROPLUS + ": linear interpolation of L, M, S between trunc(age) and "
            "trunc(age) + 1 completed months; 60 <= age < 229 months, weight-for-age < 121 "
            "(anthroplus 1.1.0, NEWS.md)"
        ),
        "restricted": ("weight", "bmi"),
        "restricted_source": ANTHROPLUS + ": anthro_api_compute_zscore_adjusted for "
        "weight-for-age and BMI-for-age",
    },
    "schafmeyer2022": {
        "folder": "schafmeyer2022_lower_limb_dxa",
        "meta": {
            "title": "Schafmeyer 2022 lower-limb DXA (NHANES 1999-2004, Hologic), 8-20 years",
            "citation": {
                "key": "SCHAFMEYER2022",
                "text": (
                    "Schafmeyer L, Linden T, Sill H, Rehberg M, Schoenau E, Duran I. Pediatric "
                    "Reference Centiles of Bone Mineral Density and Body Composition of Lower "
                    "Limbs. J Clin Densitom. 2022;25(1):73-80."
                ),
                "doi": "10.1016/j.jocd.2021.07.013",
                "url": None,
            },
            "licence": "GPL-3 (childsds R package data)",
            "population": "US NHANES 1999-2004: non-Hispanic white, non-Hispanic black, "
            "Mexican-American",
            "manufacturer": "Hologic",
            "scanner": "Hologic QDR-4500A fan beam (whole-body scans)",
            "age_unit": "years",
            "groups": ["white", "black", "mexican"],
            "notes": (
                "Lower limb (one leg by magnitude; left leg or mean of both not checked against "
                "the paper). Not a core ISCD site. BMC is in grams (the source package's info "
                "text says g/cm2, a typo)."
            ),
        },
        "measures": [
            ("BMD", "leg_abmd", "Lower-limb areal BMD", "g/cm2"),
            ("BMC", "leg_bmc", "Lower-limb BMC", "g"),
            ("LBM", "leg_lean_mass", "Lower-limb lean mass", "kg"),
            ("Fat", "leg_fat_mass", "Lower-limb fat mass", "kg"),
        ],
        "coverage": {"age_min": 8.0, "age_max": 20.0, "age_max_inclusive": True},
        "interpolation": "linear",
        "interpolation_source": CHILDSDS,
        "restricted": (),
    },
}

SEX = {"1": "M", "2": "F", "male": "M", "female": "F"}
GROUPS = {"white": "white", "black": "black", "Mexican": "mexican"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def provenance_hashes(text: str) -> dict[str, str]:
    """File name -> sha256 from the markdown table of a PROVENANCE.md."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        hexes = [c for c in cells if re.fullmatch(r"[0-9a-f]{64}", c)]
        if hexes and cells:
            out[cells[0]] = hexes[0]
    return out


def read_growth(path: Path) -> Iterator[tuple[str, str, str, str, str]]:
    """(sex, age, L, M, S) as text from a WHO (tab) or CDC (comma) file."""
    text = path.read_text(encoding="utf-8")
    delim = "\t" if path.suffix == ".txt" else ","
    rows = csv.reader(io.StringIO(text), delimiter=delim)
    header = [h.strip().lower() for h in next(rows)]
    ix = {name: header.index(name) for name in ("sex", "l", "m", "s")}
    ia = header.index("agemos") if "agemos" in header else header.index("age")
    for row in rows:
        if not row or not "".join(row).strip():
            continue
        if row[0].strip().lower() == "sex":  # CDC files repeat the header mid-file
            continue
        cells = [c.strip() for c in row]
        yield (
            SEX[cells[ix["sex"]]],
            cells[ia],
            cells[ix["l"]],
            cells[ix["m"]],
            cells[ix["s"]],
        )


def read_schafmeyer(path: Path, item: str) -> Iterator[tuple[str, str, str, str, str, str]]:
    """(sex, group, age, L, M, S) as text for one item prefix (BMD, BMC, LBM, Fat)."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(fh)
        for row in rows:
            name = row["item"]
            if not name.startswith(item) or name[len(item) :] not in GROUPS:
                continue
            if row["dist"] != "BCCG":
                raise ValueError(f"{path.name}: {name} has dist {row['dist']}, not BCCG (LMS)")
            yield (
                SEX[row["sex"]],
                GROUPS[name[len(item) :]],
                row["age"],
                row["L"],
                row["M"],
                row["S"],
            )


def build_rows(pack_id: str, spec: dict[str, Any], src: Path) -> list[list[str]]:
    rows: list[list[str]] = []
    for source, measure, _title, _unit in spec["measures"]:
        if pack_id == "schafmeyer2022":
            data = list(read_schafmeyer(src / "schafmeyer2022_lower_limb_lms.csv", source))
            # order: group, sex, age (file order within a block is ascending age)
            for group in spec["meta"]["groups"]:
                for sex in ("M", "F"):
                    for s, g, age, L, M, S in data:
                        if s == sex and g == group:
                            rows.append([measure, sex, group, age, L, M, S])
        else:
            for sex in ("M", "F"):
                for s, age, L, M, S in read_growth(src / source):
                    if s == sex:
                        rows.append([measure, sex, "", age, L, M, S])
    return rows


def pack_yaml(pack_id: str, spec: dict[str, Any], checksum: str, n_rows: int) -> str:
    meta: dict[str, Any] = {
        "format": "pedbone-reference-pack/1",
        "id": pack_id,
        **{k: v for k, v in spec["meta"].items() if k not in {"age_unit", "groups"}},
        "distribution": "LMS",
        "sex_coding": {"male": "M", "female": "F"},
        "groups": spec["meta"].get("groups", []),
        "age_unit": spec["meta"]["age_unit"],
        "table": "table.csv",
        "rows": n_rows,
        "checksum": f"sha256:{checksum}",
        "synthetic": False,
        "measures": {},
    }
    for source, measure, title, unit in spec["measures"]:
        cov = dict(spec["coverage"])
        cov.update(spec.get("coverage_by_measure", {}).get(measure, {}))
        entry: dict[str, Any] = {
            "title": title,
            **(
                {"site": measure.split("_", 1)[0], "quantity": measure.split("_", 1)[1]}
                if pack_id == "schafmeyer2022"
                else {}
            ),
            "unit": unit,
            "source_file": source,
            **cov,
            "interpolation": spec["interpolation"],
            "interpolation_source": spec["interpolation_source"],
            "restricted_tails": measure in spec["restricted"],
        }
        if measure in spec["restricted"]:
            entry["restricted_tails_source"] = spec["restricted_source"]
        meta["measures"][measure] = entry
    head = (
        f"# pedbone reference pack '{pack_id}' - generated by tools/build_packs.py from "
        f"../shared/refdata/{spec['folder']}/ (see PROVENANCE.md). Do not edit by hand.\n"
    )
    return head + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)


CONVERSION = """

## Conversion into a pedbone reference pack

Done by `tools/build_packs.py` (run from the repository root; `--check` re-verifies):

- the sha256 of each source file above was checked before conversion;
- rows were copied into `table.csv` (`measure,sex,group,age,L,M,S`) with the age, L, M and S
  fields **as text, unchanged** (no rounding, no unit change); sex recoded 1/male -> `M`,
  2/female -> `F`{groups};
- measures: {measures};
- `pack.yaml` holds the metadata, coverage, interpolation rule (with the source it follows) and
  the sha256 of `table.csv`; the test-suite re-reads the original files from `../shared/refdata/`
  and checks every value and the checksums.
"""


def build(check: bool) -> int:
    problems: list[str] = []
    for pack_id, spec in PACKS.items():
        src = SHARED / spec["folder"]
        prov = (src / "PROVENANCE.md").read_text(encoding="utf-8")
        for name, digest in provenance_hashes(prov).items():
            if sha256(src / name) != digest:
                problems.append(f"{pack_id}: sha256 of {name} differs from PROVENANCE.md")
        rows = build_rows(pack_id, spec, src)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
        table = buf.getvalue().encode("utf-8")
        checksum = hashlib.sha256(table).hexdigest()
        groups = spec["meta"].get("groups")
        measures = ", ".join(f"`{s}` -> `{m}` ({u})" for s, m, _t, u in spec["measures"])
        provenance = prov.rstrip("\n") + CONVERSION.format(
            groups=(
                "; NHANES groups recoded white -> `white`, black -> `black`, Mexican -> `mexican`"
                if groups
                else ""
            ),
            measures=measures,
        )
        files = {
            "table.csv": table,
            "pack.yaml": pack_yaml(pack_id, spec, checksum, len(rows)).encode("utf-8"),
            "PROVENANCE.md": provenance.encode("utf-8"),
        }
        out = OUT / pack_id
        for name, content in files.items():
            target = out / name
            if check:
                if not target.exists() or target.read_bytes() != content:
                    problems.append(f"{pack_id}: {name} is not what the build produces")
            else:
                out.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
        print(f"{pack_id}: {len(rows)} rows, sha256 {checksum[:16]}...")
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify, write nothing")
    args = parser.parse_args()
    return build(args.check)


if __name__ == "__main__":
    raise SystemExit(main())
