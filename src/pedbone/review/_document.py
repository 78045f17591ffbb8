"""A whole review as one value: the portable exchange document and what is derived from it.

:class:`ReviewDocument` is what ``pedbone review export`` writes (JSON, schema from
:func:`review_json_schema`) and ``import-review`` reads; the store builds the same value from
its tables, so PRISMA counts, status and exports are computed by one code path whatever the
review's origin. Part 2 (extraction, risk of bias, synthesis, GRADE) adds sections here
(``extensions`` keeps unknown sections of newer files instead of dropping them).
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pedbone.review._dedupe import MatchKind
from pedbone.review._protocol import Protocol
from pedbone.review._records import Format, Record
from pedbone.review._screening import (
    Outcome,
    Resolution,
    Stage,
    Status,
    Vote,
    record_outcome,
)

__all__ = [
    "DOCUMENT_FORMAT",
    "SCHEMA_VERSION",
    "DocumentError",
    "FullText",
    "FullTextStatus",
    "PairStatus",
    "RecordEntry",
    "ReviewDocument",
    "Search",
    "SourceKind",
    "StoredPair",
    "document_from_json",
    "review_json_schema",
]

DOCUMENT_FORMAT = "pedbone-review"
SCHEMA_VERSION = 1


class DocumentError(ValueError):
    """A review file is not a valid pedbone review (the message says where)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceKind(StrEnum):
    """Where a search ran — the PRISMA 2020 identification boxes."""

    DATABASE = "database"
    REGISTER = "register"
    WEBSITE = "website"
    ORGANISATION = "organisation"
    CITATIONS = "citations"

    @property
    def other_methods(self) -> bool:
        """Websites, organisations and citation searching: PRISMA's "other methods" column,
        whose records go to full-text retrieval without title/abstract screening."""
        return self in (SourceKind.WEBSITE, SourceKind.ORGANISATION, SourceKind.CITATIONS)


class Search(_Frozen):
    """One import: a search of one source on one date, from one file (``sha256``)."""

    id: int
    source: str = Field(min_length=1, max_length=200)
    kind: SourceKind = SourceKind.DATABASE
    searched_on: dt.date
    filename: str = Field(default="", max_length=255)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    format: Format
    strategy: str | None = None
    records_found: int = Field(ge=0)
    errors: tuple[str, ...] = ()
    simulated: bool = False


class FullTextStatus(StrEnum):
    """Retrieval of a report's full text."""

    NOT_SOUGHT = "not_sought"
    RETRIEVED = "retrieved"
    NOT_RETRIEVED = "not_retrieved"


class FullText(_Frozen):
    """The full-text file of a record (its bytes stay in the store; the hash travels)."""

    status: FullTextStatus = FullTextStatus.NOT_SOUGHT
    filename: str | None = None
    sha256: str | None = None
    note: str | None = None


class RecordEntry(_Frozen):
    """A record in the review: which search found it, and whether it duplicates another."""

    id: int
    search_id: int
    record: Record
    duplicate_of: int | None = None
    study: str | None = Field(default=None, max_length=120)  # reports of one study share it
    fulltext: FullText = FullText()


class PairStatus(StrEnum):
    """A proposed duplicate pair: waiting, merged (duplicate) or judged distinct."""

    PENDING = "pending"
    MERGED = "merged"
    DISTINCT = "distinct"


class StoredPair(_Frozen):
    """A duplicate candidate and what became of it."""

    a: int
    b: int
    kind: MatchKind
    score: float
    reason: str
    status: PairStatus = PairStatus.PENDING
    decided_by: str | None = None
    automatic: bool = False


class ReviewDocument(_Frozen):
    """A whole review: protocol (and its history), searches, records, duplicates, screening."""

    format: Literal["pedbone-review"] = "pedbone-review"
    schema_version: Literal[1] = 1
    exported_at: dt.datetime | None = None
    protocol: Protocol
    protocol_history: tuple[Protocol, ...] = ()
    searches: tuple[Search, ...] = ()
    records: tuple[RecordEntry, ...] = ()
    duplicate_pairs: tuple[StoredPair, ...] = ()
    votes: tuple[Vote, ...] = ()
    resolutions: tuple[Resolution, ...] = ()
    extensions: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references(self) -> ReviewDocument:
        search_ids = {s.id for s in self.searches}
        record_ids = {r.id for r in self.records}
        if len(search_ids) != len(self.searches):
            raise ValueError("searches: ids must be unique")
        if len(record_ids) != len(self.records):
            raise ValueError("records: ids must be unique")
        for r in self.records:
            if r.search_id not in search_ids:
                raise ValueError(f"record {r.id}: search {r.search_id} does not exist")
            if r.duplicate_of is not None and r.duplicate_of not in record_ids:
                raise ValueError(f"record {r.id}: duplicate_of {r.duplicate_of} does not exist")
        team = {m.username for m in self.protocol.team}
        for v in self.votes:
            if v.record_id not in record_ids:
                raise ValueError(f"vote on record {v.record_id}, which does not exist")
            if v.reviewer not in team:
                raise ValueError(f"vote by {v.reviewer!r}, who is not on the review team")
        for res in self.resolutions:
            if res.record_id not in record_ids:
                raise ValueError(f"resolution of record {res.record_id}, which does not exist")
        return self

    # ---------------------------------------------------------------- derived views

    @property
    def _index(self) -> _Index:
        # Built once per document. Kept with the sections it was built from and rebuilt when
        # they differ: ``model_copy(update=...)`` copies the instance dict, index included.
        cached = self.__dict__.get("_index_cache")
        if cached is None or not cached.built_from(self):
            cached = _Index(self)
            self.__dict__["_index_cache"] = cached
        return cached

    def search(self, search_id: int) -> Search:
        """The search with this id."""
        return self._index.searches[search_id]

    def unique_records(self) -> list[RecordEntry]:
        """Records that are not duplicates of another (what is screened)."""
        return [r for r in self.records if r.duplicate_of is None]

    def votes_for(self, record_id: int, stage: Stage) -> list[Vote]:
        """Votes on a record at a stage, oldest first."""
        return list(self._index.votes.get((record_id, stage), ()))

    def resolution_for(self, record_id: int, stage: Stage) -> Resolution | None:
        """The latest resolution of a record at a stage, if any."""
        return self._index.resolutions.get((record_id, stage))

    def outcome(self, entry: RecordEntry, stage: Stage) -> Outcome | None:
        """The record's outcome at ``stage``; ``None`` when it never reaches that stage.

        Records of "other methods" sources skip title/abstract screening (PRISMA 2020 layout);
        a record reaches full text when included at title/abstract, and is assessed only when
        its full text was not reported as not retrieved.
        """
        other = self.search(entry.search_id).kind.other_methods
        required = self.protocol.reviewers_per_record
        if stage is Stage.TITLE_ABSTRACT:
            if other or entry.duplicate_of is not None:
                return None
            return record_outcome(
                self.votes_for(entry.id, stage),
                self.resolution_for(entry.id, stage),
                required=required,
            )
        if entry.duplicate_of is not None:
            return None
        if not other:
            first = self.outcome(entry, Stage.TITLE_ABSTRACT)
            if first is None or first.status is not Status.INCLUDED:
                return None
        if entry.fulltext.status is FullTextStatus.NOT_RETRIEVED:
            return None
        return record_outcome(
            self.votes_for(entry.id, stage),
            self.resolution_for(entry.id, stage),
            required=required,
        )

    def included(self) -> list[RecordEntry]:
        """Reports included after full-text assessment."""
        out = []
        for entry in self.unique_records():
            o = self.outcome(entry, Stage.FULL_TEXT)
            if o is not None and o.status is Status.INCLUDED:
                out.append(entry)
        return out

    def to_json(self) -> str:
        """The document as indented JSON."""
        return self.model_dump_json(indent=2, exclude_none=True)


class _Index:
    """Lookups by id built once per (immutable) document: pages and PRISMA stay linear."""

    def __init__(self, doc: ReviewDocument) -> None:
        self.sections = (doc.searches, doc.votes, doc.resolutions)
        self.searches = {s.id: s for s in doc.searches}
        self.votes: dict[tuple[int, Stage], list[Vote]] = {}
        for v in doc.votes:
            self.votes.setdefault((v.record_id, v.stage), []).append(v)
        self.resolutions: dict[tuple[int, Stage], Resolution] = {}
        for res in doc.resolutions:
            self.resolutions[(res.record_id, res.stage)] = res  # the latest wins

    def built_from(self, doc: ReviewDocument) -> bool:
        """Whether this index was built from ``doc``'s very sections (identity, not equality)."""
        return all(
            a is b
            for a, b in zip(self.sections, (doc.searches, doc.votes, doc.resolutions), strict=True)
        )


def review_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the review exchange file."""
    schema = ReviewDocument.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://pedbone.org/schema/review-1.json"
    schema["title"] = "pedbone review exchange file (schema version 1)"
    return schema


def document_from_json(text: str | bytes) -> ReviewDocument:
    """Read a review file; :class:`DocumentError` names each problem with its place."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    if not isinstance(data, dict) or data.get("format") != DOCUMENT_FORMAT:
        raise DocumentError(f'not a pedbone review file ("format" is not {DOCUMENT_FORMAT!r})')
    if data.get("schema_version") != SCHEMA_VERSION:
        raise DocumentError(
            f"schema_version {data.get('schema_version')!r} is not supported "
            f"(this pedbone reads {SCHEMA_VERSION})"
        )
    try:
        return ReviewDocument.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:10]:
            where = ".".join(str(p) for p in err["loc"]) or "document"
            parts.append(f"{where}: {err['msg']}")
        raise DocumentError("; ".join(parts)) from exc
