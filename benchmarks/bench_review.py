"""Review workflow speed on synthetic records (run on demand; never asserted in tests).

    .venv/bin/python benchmarks/bench_review.py [--records 5000]

Measures: RIS parsing, duplicate detection (exact + fuzzy, rapidfuzz cdist) and PRISMA counts
with two votes per record. Records are synthetic (random word titles, 3 % near-duplicates).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time

from pedbone.review import (
    Decision,
    Record,
    RecordEntry,
    ReviewDocument,
    Search,
    Stage,
    Vote,
    find_duplicates,
    parse_protocol,
    parse_records,
    prisma_counts,
    protocol_template,
    records_to_ris,
)

WORDS = [
    "bisphosphonate",
    "pamidronate",
    "alendronate",
    "zoledronic",
    "children",
    "adolescents",
    "bone",
    "density",
    "fracture",
    "glucocorticoid",
    "cerebral",
    "palsy",
    "renal",
    "transplant",
    "trial",
    "cohort",
    "randomised",
    "placebo",
    "vertebral",
    "lumbar",
    "spine",
    "osteoporosis",
    "secondary",
    "chronic",
    "illness",
    "nutrition",
    "vitamin",
    "calcium",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=5000)
    n = parser.parse_args().records
    rng = random.Random(20261201)
    records = []
    for i in range(n):
        if i and rng.random() < 0.03:
            base = records[rng.randrange(len(records))]
            records.append(base.model_copy(update={"title": base.title.upper() + "."}))
        else:
            title = " ".join(rng.choice(WORDS) for _ in range(12)) + f" {i}"
            records.append(Record(title=title, authors=(f"Author{i % 500} A",), year=1990 + i % 35))
    text = records_to_ris(records).encode()
    t0 = time.perf_counter()
    parsed = parse_records(text, "ris")
    t1 = time.perf_counter()
    pairs = find_duplicates(dict(enumerate(parsed.records, 1)))
    t2 = time.perf_counter()
    protocol = parse_protocol(protocol_template())
    search = Search(
        id=1,
        source="synthetic",
        searched_on=dt.date(2026, 12, 1),
        sha256="0" * 64,
        format="ris",
        records_found=n,
    )
    entries = tuple(
        RecordEntry(id=i, search_id=1, record=r) for i, r in enumerate(parsed.records, 1)
    )
    votes = tuple(
        Vote(
            record_id=i,
            stage=Stage.TITLE_ABSTRACT,
            reviewer=who,
            decision=rng.choice(list(Decision)),
        )
        for i in range(1, n + 1)
        for who in ("reviewer1", "reviewer2")
    )
    doc = ReviewDocument(protocol=protocol, searches=(search,), records=entries, votes=votes)
    t3 = time.perf_counter()
    counts = prisma_counts(doc)
    t4 = time.perf_counter()
    print(
        f"{n} records: parse RIS {t1 - t0:.2f} s; dedupe {t2 - t1:.2f} s "
        f"({len(pairs)} pairs); PRISMA counts {t4 - t3:.3f} s "
        f"(screened {counts.records_screened}, conflicts {counts.conflicts})"
    )


if __name__ == "__main__":
    main()
