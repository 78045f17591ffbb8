"""Finding duplicate records: exact identifiers first, then fuzzy title + first author + year.

Nothing is deleted here: :func:`find_duplicates` proposes pairs, each marked ``certain``
(merged automatically by the store, which keeps both records and both sources) or not
(queued for a person to decide). Pairs a person already judged are passed in ``decided`` and
never proposed again — Rayyan's "Detect duplicates" clears earlier resolutions, a complaint
librarians document (review-reference §2.4).

Rules (software rules of pedbone [PEDBONE_REVIEW_RULES], tuned on the crafted
near-duplicates of the tests):

- same DOI, or same PMID → certain, unless both records carry *different* DOIs or PMIDs
  (then queued: an erratum or a companion paper can share one identifier by error);
- title similarity (rapidfuzz ``token_sort_ratio`` on folded titles) ≥ ``CERTAIN_TITLE`` with
  the same first-author surname and the same year → certain;
- title similarity ≥ ``QUEUE_TITLE`` with years at most one apart → queued (epub vs print year,
  conference abstract vs article, a changed first author).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pedbone.review._records import Record, first_author_surname

__all__ = [
    "CERTAIN_TITLE",
    "QUEUE_TITLE",
    "DuplicatePair",
    "MatchKind",
    "find_duplicates",
    "normalise_title",
]

CERTAIN_TITLE = 97.0
QUEUE_TITLE = 85.0


class MatchKind(StrEnum):
    """Why two records were paired."""

    DOI = "doi"
    PMID = "pmid"
    FUZZY = "fuzzy"


@dataclass(frozen=True)
class DuplicatePair:
    """Two record keys (``a`` < ``b``), why they match, the title score, and whether certain."""

    a: int
    b: int
    kind: MatchKind
    score: float
    certain: bool
    reason: str


def normalise_title(title: str) -> str:
    """Case- and accent-folded title without punctuation or HTML tags, spaces collapsed."""
    text = re.sub(r"<[^>]+>", " ", title)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def find_duplicates(
    records: Mapping[int, Record],
    *,
    decided: Iterable[tuple[int, int]] = (),
    certain_title: float = CERTAIN_TITLE,
    queue_title: float = QUEUE_TITLE,
) -> list[DuplicatePair]:
    """Candidate duplicate pairs among ``records`` (key → record), best evidence first.

    ``decided`` holds pairs already judged (merged or kept apart); they are not proposed again.
    """
    from rapidfuzz import fuzz, process

    done = {_pair(a, b) for a, b in decided}
    keys = sorted(records)
    found: dict[tuple[int, int], DuplicatePair] = {}

    def add(pair: DuplicatePair) -> None:
        key = (pair.a, pair.b)
        if key in done or key in found:
            return
        found[key] = pair

    def conflicting(a: Record, b: Record) -> str | None:
        if a.doi and b.doi and a.doi != b.doi:
            return f"different DOIs ({a.doi} vs {b.doi})"
        if a.pmid and b.pmid and a.pmid != b.pmid:
            return f"different PMIDs ({a.pmid} vs {b.pmid})"
        return None

    for attr, kind in (("doi", MatchKind.DOI), ("pmid", MatchKind.PMID)):
        by_id: dict[str, list[int]] = {}
        for key in keys:
            value = getattr(records[key], attr)
            if value:
                by_id.setdefault(value, []).append(key)
        for value, group in by_id.items():
            for i, ka in enumerate(group):
                for kb in group[i + 1 :]:
                    a, b = _pair(ka, kb)
                    clash = conflicting(records[a], records[b])
                    score = fuzz.token_sort_ratio(
                        normalise_title(records[a].title), normalise_title(records[b].title)
                    )
                    add(
                        DuplicatePair(
                            a,
                            b,
                            kind,
                            float(score),
                            clash is None,
                            f"same {attr.upper()} {value}" + (f" but {clash}" if clash else ""),
                        )
                    )

    # token_sort_ratio = ratio of the titles with their words sorted: sort once, then compare
    # with the fast plain ratio; compare only within the same or the next year (a year apart
    # at most, as the rule says), records without a year against all.
    titles = [" ".join(sorted(normalise_title(records[k].title).split())) for k in keys]
    years = [records[k].year for k in keys]
    authors = [first_author_surname(records[k].first_author) for k in keys]
    by_year: dict[int | None, list[int]] = {}
    for i, y in enumerate(years):
        by_year.setdefault(y, []).append(i)
    blocks: list[tuple[list[int], list[int]]] = []
    for y, rows in by_year.items():
        if y is None:
            blocks.append((rows, list(range(len(keys)))))
        else:
            blocks.append((rows, rows + by_year.get(y + 1, [])))

    def consider(i: int, j: int, score: float) -> None:
        ya, yb = years[i], years[j]
        a, b = _pair(keys[i], keys[j])
        same_author = authors[i] is not None and authors[i] == authors[j]
        same_year = ya is not None and ya == yb
        clash = conflicting(records[a], records[b])
        certain = score >= certain_title and same_author and same_year and clash is None
        why = [f"titles {score:.0f}% alike"]
        why.append("same first author" if same_author else "first author differs or missing")
        why.append("same year" if same_year else "years differ or missing")
        if clash:
            why.append(clash)
        add(DuplicatePair(a, b, MatchKind.FUZZY, score, certain, "; ".join(why)))

    for rows, cols in blocks:
        if not rows or len(cols) < 2:
            continue
        matrix = process.cdist(
            [titles[i] for i in rows],
            [titles[j] for j in cols],
            scorer=fuzz.ratio,
            score_cutoff=queue_title,
            workers=1,
        )
        for r, c in zip(*(x.tolist() for x in matrix.nonzero()), strict=True):
            i, j = rows[r], cols[c]
            if i != j:
                consider(min(i, j), max(i, j), float(matrix[r, c]))
    order = {MatchKind.DOI: 0, MatchKind.PMID: 1, MatchKind.FUZZY: 2}
    return sorted(found.values(), key=lambda p: (not p.certain, order[p.kind], -p.score, p.a, p.b))


def duplicate_groups(pairs: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Map each duplicate to the first record (lowest key) of its group (union-find);
    the first records themselves are not keys."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            lo, hi = min(ra, rb), max(ra, rb)
            parent[hi] = lo
    return {x: root(x) for x in parent if root(x) != x}
