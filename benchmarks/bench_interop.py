"""Benchmark: FHIR export / check of one patient, and reading a large DXA export.

Run from the repository root:  .venv/bin/python benchmarks/bench_interop.py [--rows 20000]

* FHIR: the demo patients are created in a temporary SQLite database; for each, the Bundle is
  built with every resource validated by fhir.resources R4B, then read back by the importer
  (validation, references, codes; nothing written). Median wall-clock time per patient.
* DXA: a synthetic DXA² merged table (``;``, decimal comma, Latin-1) with ``--rows`` rows is
  parsed and checked (no database). Wall-clock time and rows per second.

Never part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select


def bench_fhir() -> None:
    from pedbone.io import fhir_bundle, read_fhir_bundle
    from pedbone.store import Database, Patient, create_demo_patients

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        with db.unit_of_work() as session:
            create_demo_patients(session)
        export, check, sizes = [], [], []
        with db.session() as session:
            for patient in session.scalars(select(Patient)):
                t0 = time.perf_counter()
                bundle = fhir_bundle(patient)
                t1 = time.perf_counter()
                preview = read_fhir_bundle(bundle)
                t2 = time.perf_counter()
                assert preview.ok, preview.errors
                export.append(t1 - t0)
                check.append(t2 - t1)
                sizes.append(len(bundle["entry"]))
        db.dispose()
    print(
        f"FHIR: {len(sizes)} patients, {statistics.median(sizes):.0f} resources each (median); "
        f"export+validate {statistics.median(export) * 1000:.1f} ms, "
        f"import check {statistics.median(check) * 1000:.1f} ms per patient (median)"
    )


def bench_dxa(rows: int) -> None:
    from pedbone.io import read_dxa_export

    header = "Patients_ID;ScanDate;DOB;Height;L1L4BMD;L1L4BMC;L1L4ZScr;LLegBMD;RLegBMD;TotBMD\n"
    lines = [
        f"{i:07d};15/03/2025;02/05/2012;148,2;0,612;28,1;-2,4;0,690;0,701;0,861\n"
        for i in range(rows)
    ]
    data = (header + "".join(lines)).encode("latin-1")
    t0 = time.perf_counter()
    export = read_dxa_export(
        data, layout="dxa2-merged", encoding="latin-1", scanner={"manufacturer": "Hologic"}
    )
    elapsed = time.perf_counter() - t0
    assert len(export.records) == rows
    print(f"DXA: {rows} rows in {elapsed:.2f} s ({rows / elapsed:,.0f} rows/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    bench_fhir()
    bench_dxa(args.rows)


if __name__ == "__main__":
    main()
