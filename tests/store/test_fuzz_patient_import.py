"""Seeded, bounded fuzz of the patient import (hazard H38): whatever a row holds, the import
stores it whole or refuses it with its row number and a reason, and a refusal writes nothing.

Each case takes the complete fictional patient of ``full_patient_data`` (a row in every clinical
table), puts hostile values into a few fields (over-long and control-character text, numbers
written loosely, impossible dates, wrong types, unknown fields) and imports it among valid rows.
"""

from __future__ import annotations

import copy
import os
import random
import re
from typing import Any

from sqlalchemy import func, select

from pedbone.store import Base, Database, ImportRowError, import_patients

from .conftest import full_patient_data

#: Cases per backend in the default run (PEDBONE_FUZZ_CASES raises it for a longer hunt).
CASES = int(os.environ.get("PEDBONE_FUZZ_CASES", "60"))
SEED = 20261201

HOSTILE: tuple[Any, ...] = (
    "",
    " ",
    "x" * 65,
    "y" * 201,
    "z" * 5000,
    "nul\x00byte",
    "bell\x07",
    "line\nbreak",
    "\ud800",
    "🦴" * 70,
    "1_00",
    "١٢",
    "inf",
    "nan",
    "-0",
    "1e308",
    "1e999",
    "0x1F",
    "2012-02-30",
    "1899-12-31",
    "9999-12-31",
    "2012-05-16",  # the day before the fixture's birth
    "yes",
    "=1+1",
    "<script>alert(1)</script>",
    "50% displaced",
    "'; DROP TABLE patients; --",
    -1,
    0,
    2**31,
    -(2**63),
    1.5,
    float("nan"),
    float("inf"),
    True,
    None,
    [],
    {},
    {"nested": "dict"},
    ["a", "list"],
)


#: A reason that names its field: ``name: ...`` or ``dxa_scans[1].model: ...``.
_NAMED = re.compile(r"^[a-z_]+(\[\d+\]\.[a-z_0-9]+)*: \S")


def _fields(data: dict[str, Any]) -> list[tuple[list[Any], str]]:
    """Every (container, key) of the nested patient record, scalar fields only."""
    out: list[tuple[list[Any], str]] = []

    def walk(node: dict[str, Any], path: list[Any]) -> None:
        for key, value in node.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                for child in value:
                    walk(child, [*path, key])
            else:
                out.append(([node], key))

    walk(data, [])
    return out


def _mutate(rng: random.Random, data: dict[str, Any], number: int) -> dict[str, Any]:
    row = copy.deepcopy(data)
    row["mrn"] = f"FUZZ-{number}"
    fields = _fields(row)
    for _ in range(rng.randint(1, 4)):
        [node], key = rng.choice(fields)
        node[key] = rng.choice(HOSTILE)
    if rng.random() < 0.1:
        row["no_such_field"] = "x"
    return row


def _counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as connection:
        return {
            t.name: int(connection.execute(select(func.count()).select_from(t)).scalar_one())
            for t in Base.metadata.sorted_tables
        }


def test_fuzzed_patient_imports_are_whole_or_refused_with_row_and_reason(db: Database) -> None:
    rng = random.Random(SEED)
    base = full_patient_data()
    stored = refused = 0
    reasons: set[str] = set()
    for case in range(CASES):
        before = _counts(db)
        batch = [copy.deepcopy(base) for _ in range(rng.randint(0, 2))]
        for index, row in enumerate(batch):
            row["mrn"] = f"OK-{case}-{index}"
        bad_at = len(batch) + 1
        batch.append(_mutate(rng, base, case))
        refusal: ImportRowError | None = None
        try:
            count = import_patients(db, batch)
        except ImportRowError as exc:
            refusal = exc
        if refusal is not None:
            refused += 1
            reasons.add(refusal.detail)
            assert refusal.row == bad_at, (case, str(refusal))
            assert str(refusal).startswith(f"row {bad_at}: "), str(refusal)
            assert _NAMED.match(refusal.detail), (case, "the reason names the field", refusal)
            assert "nothing was imported" in str(refusal)
            assert _counts(db) == before, (case, "a refused import wrote something")
        else:
            stored += 1
            assert count == len(batch)
            after = _counts(db)
            assert after["patients"] == before["patients"] + len(batch)
    if os.environ.get("PEDBONE_FUZZ_SHOW"):
        print("\n".join(sorted(reasons)))  # noqa: T201 - opt-in listing of refusal reasons
    assert refused > CASES // 2  # the generator mostly produces bad rows...
    assert stored > 0  # ...and some that are merely unusual
