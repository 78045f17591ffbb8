"""Systematic reviews in the store: create, import searches, dedupe, screen, resolve, export.

All rules are in ``pedbone.review``; this module persists and enforces them at the store level:

- **Team.** Only members of a review's team (``ReviewMember``, from the protocol) change its
  rows; a flush by anyone else is refused (admins and the system may). A clinician is not a
  reviewer unless on the team; a user with the ``reviewer`` role reads no patient data.
- **Blindness.** :func:`visible_votes` is the only way votes are read for a person: until every
  required reviewer has voted, it returns their own vote only. A vote is locked once the other
  reviewer has voted (changing it then would no longer be independent); conflicts are settled by
  :func:`resolve_conflict`, never by editing votes.
- **Nothing is lost.** A bad record is reported with its line and the rest import; a file
  whose SHA-256 was imported before into the review is refused; duplicates stay as rows.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, UOWTransaction

from pedbone.review import (
    Decision,
    Format,
    FullText,
    FullTextStatus,
    ImportFormatError,
    MatchKind,
    PairStatus,
    Protocol,
    ProtocolError,
    Record,
    RecordEntry,
    Resolution,
    ResolutionMethod,
    ReviewDocument,
    Search,
    SourceKind,
    Stage,
    Status,
    StoredPair,
    TeamRole,
    Vote,
    duplicate_groups,
    file_sha256,
    find_duplicates,
    parse_protocol,
    parse_records,
)
from pedbone.review import visible_votes as _visible
from pedbone.store._audit import actor_of
from pedbone.store._engine import StoreSession
from pedbone.store._errors import PermissionDeniedError, ValidationError
from pedbone.store._models import Role, User
from pedbone.store._review_models import (
    MAX_FULLTEXT_BYTES,
    ReviewDuplicatePair,
    ReviewFullText,
    ReviewMember,
    ReviewProtocolVersion,
    ReviewRecord,
    ReviewResolution,
    ReviewSearch,
    ReviewVote,
    SystematicReview,
)

__all__ = [
    "DedupeReport",
    "SearchImport",
    "amend_protocol",
    "attach_fulltext",
    "cast_vote",
    "counts_by_review",
    "create_review",
    "decide_pair",
    "find_review",
    "fulltext",
    "import_review_document",
    "import_search",
    "mark_not_retrieved",
    "member_role",
    "resolve_conflict",
    "review_document",
    "reviews_for",
    "run_dedupe",
    "set_study",
    "visible_votes",
    "withdraw_vote",
]


# --------------------------------------------------------------------------- guard


def _review_id_of(obj: Any) -> int | None:
    if isinstance(obj, SystematicReview):
        return obj.id
    return getattr(obj, "review_id", None)


@event.listens_for(StoreSession, "before_flush")
def _guard_reviews(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    actor = actor_of(session.info.get("actor"))
    if actor.is_system or actor.role == Role.ADMIN:
        return
    touched = [
        o
        for o in (*session.new, *session.dirty, *session.deleted)
        if getattr(type(o), "__review__", False)
        and (o not in session.dirty or session.is_modified(o, include_collections=False))
    ]
    if not touched:
        return
    ids: set[int | None] = {_review_id_of(o) for o in touched}
    with session.no_autoflush:
        member_of = set(
            session.scalars(
                select(ReviewMember.review_id).where(ReviewMember.user_id == actor.user_id)
            )
        )
    for rid in ids:
        if rid is None or rid not in member_of:
            raise PermissionDeniedError(
                f"user {actor.username!r} is not on this review's team; only its members "
                "(and admins) may change it"
            )


# --------------------------------------------------------------------------- helpers


def _user(session: Session, actor: Any) -> User | None:
    a = actor_of(actor)
    if a.user_id is None:
        return None
    return session.get(User, a.user_id)


def _protocol(review: SystematicReview) -> Protocol:
    return parse_protocol(review.protocol)


def find_review(session: Session, key: str | int) -> SystematicReview:
    """The review with this slug or id (:class:`ValidationError` if none)."""
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        review = session.get(SystematicReview, int(key))
    else:
        review = session.scalar(select(SystematicReview).where(SystematicReview.slug == key))
    if review is None:
        names = ", ".join(session.scalars(select(SystematicReview.slug))) or "none yet"
        raise ValidationError(f"review: no review {key!r} (reviews: {names})")
    return review


def member_role(session: Session, review: SystematicReview, user_id: int | None) -> TeamRole | None:
    """The user's role on the review's team, or ``None``."""
    if user_id is None:
        return None
    role = session.scalar(
        select(ReviewMember.team_role).where(
            ReviewMember.review_id == review.id, ReviewMember.user_id == user_id
        )
    )
    return TeamRole(role) if role else None


def reviews_for(session: Session, user_id: int, *, admin: bool = False) -> list[SystematicReview]:
    """Reviews the user is on the team of (all reviews for an admin)."""
    query = select(SystematicReview).order_by(SystematicReview.title)
    if not admin:
        query = query.join(ReviewMember, ReviewMember.review_id == SystematicReview.id).where(
            ReviewMember.user_id == user_id
        )
    return list(session.scalars(query))


def _sync_team(session: Session, review: SystematicReview, protocol: Protocol) -> None:
    names = [m.username for m in protocol.team]
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(names)))}
    missing = [n for n in names if n not in users]
    if missing:
        raise ValidationError(
            "team: no pedbone user named "
            + ", ".join(repr(n) for n in missing)
            + " (add them with 'pedbone user add' first)"
        )
    inactive = [n for n in names if not users[n].active]
    if inactive:
        raise ValidationError("team: user(s) deactivated: " + ", ".join(inactive))
    current = {
        m.user_id: m
        for m in session.scalars(select(ReviewMember).where(ReviewMember.review_id == review.id))
    }
    wanted = {users[m.username].id: m.role.value for m in protocol.team}
    for uid, member in current.items():
        if uid not in wanted:
            session.delete(member)
        elif member.team_role != wanted[uid]:
            member.team_role = wanted[uid]
    for uid, role in wanted.items():
        if uid not in current:
            session.add(ReviewMember(review_id=review.id, user_id=uid, team_role=role))


def create_review(
    session: Session, protocol: Protocol | str, *, simulated: bool = False
) -> SystematicReview:
    """Start a review from its protocol (version 1); team usernames must be pedbone users."""
    if isinstance(protocol, str):
        protocol = parse_protocol(protocol)
    if protocol.version != 1:
        raise ValidationError("protocol: a new review starts at protocol version 1")
    a = actor_of(session.info.get("actor"))
    if not (a.is_system or a.role == Role.ADMIN):
        raise PermissionDeniedError("only an admin (or the command line) starts a review")
    if session.scalar(select(SystematicReview.id).where(SystematicReview.slug == protocol.id)):
        raise ValidationError(f"id: a review {protocol.id!r} already exists")
    data = protocol.model_dump(mode="json")
    review = SystematicReview(
        slug=protocol.id,
        title=protocol.title,
        protocol_version=1,
        protocol=data,
        simulated=simulated,
    )
    session.add(review)
    session.flush()
    session.add(ReviewProtocolVersion(review_id=review.id, protocol_version=1, protocol=data))
    _sync_team(session, review, protocol)
    session.flush()
    return review


def amend_protocol(session: Session, review: SystematicReview, new: Protocol) -> None:
    """Store the next protocol version (made by :func:`pedbone.review.amend`)."""
    if new.id != review.slug:
        raise ValidationError(f"id: the amendment is for {new.id!r}, not {review.slug!r}")
    if new.version != review.protocol_version + 1:
        raise ValidationError(
            f"version: the review is at protocol version {review.protocol_version}; "
            f"an amendment makes version {review.protocol_version + 1}, not {new.version}"
        )
    data = new.model_dump(mode="json")
    _sync_team(session, review, new)
    session.add(
        ReviewProtocolVersion(review_id=review.id, protocol_version=new.version, protocol=data)
    )
    review.protocol = data
    review.protocol_version = new.version
    review.title = new.title
    session.flush()


# --------------------------------------------------------------------------- import


@dataclass
class SearchImport:
    """What one import did: the search, how many records, and the bad ones with lines."""

    search_id: int
    imported: int
    errors: list[str] = field(default_factory=list)


def import_search(
    session: Session,
    review: SystematicReview,
    data: bytes,
    *,
    source: str,
    searched_on: dt.date,
    filename: str = "",
    kind: SourceKind | str = SourceKind.DATABASE,
    fmt: Format | str | None = None,
    strategy: str | None = None,
    simulated: bool = False,
) -> SearchImport:
    """Import one search's file: good records are stored, bad ones reported by line.

    The same file (same SHA-256) imported again into the review is refused; so is a file
    in which no record could be read (nothing is stored then).
    """
    if not source.strip():
        raise ValidationError("source: name the database or source searched (e.g. MEDLINE)")
    if searched_on > dt.date.today():
        raise ValidationError(f"searched_on: {searched_on.isoformat()} is in the future")
    digest = file_sha256(data)
    earlier = session.scalar(
        select(ReviewSearch).where(
            ReviewSearch.review_id == review.id, ReviewSearch.sha256 == digest
        )
    )
    if earlier is not None:
        raise ValidationError(
            f"file: this file was already imported as search {earlier.id} "
            f"({earlier.source}, searched {earlier.searched_on.isoformat()}); nothing imported"
        )
    try:
        result = parse_records(data, fmt, filename)
    except ImportFormatError as exc:
        raise ValidationError(f"file: {exc}") from exc
    errors = [str(e) for e in result.errors]
    if not result.records:
        detail = ("; ".join(errors[:5])) if errors else "the file has no records"
        raise ValidationError(f"file: no record could be read ({detail}); nothing imported")
    search = ReviewSearch(
        review_id=review.id,
        source=source.strip(),
        kind=SourceKind(kind).value,
        searched_on=searched_on,
        filename=filename[-255:],
        sha256=digest,
        format=result.format.value,
        strategy=strategy,
        records_found=len(result.records),
        errors=errors,
        simulated=simulated,
    )
    session.add(search)
    session.flush()
    for record in result.records:
        session.add(_record_row(review.id, search.id, record))
    session.flush()
    return SearchImport(search.id, len(result.records), errors)


def _record_row(review_id: int, search_id: int, r: Record) -> ReviewRecord:
    return ReviewRecord(
        review_id=review_id,
        search_id=search_id,
        title=r.title,
        authors=list(r.authors),
        year=r.year,
        journal=r.journal[:500] if r.journal else None,
        volume=r.volume[:64] if r.volume else None,
        issue=r.issue[:64] if r.issue else None,
        pages=r.pages[:64] if r.pages else None,
        doi=r.doi[:255] if r.doi else None,
        pmid=r.pmid,
        abstract=r.abstract,
        keywords=list(r.keywords),
        url=r.url[:2000] if r.url else None,
        kind=r.kind[:64] if r.kind else None,
        line=r.line,
    )


def _record(row: ReviewRecord) -> Record:
    return Record(
        title=row.title,
        authors=tuple(row.authors or ()),
        year=row.year,
        journal=row.journal,
        volume=row.volume,
        issue=row.issue,
        pages=row.pages,
        doi=row.doi,
        pmid=row.pmid,
        abstract=row.abstract,
        keywords=tuple(row.keywords or ()),
        url=row.url,
        kind=row.kind,
        line=row.line,
    )


# --------------------------------------------------------------------------- dedupe


@dataclass
class DedupeReport:
    """What a deduplication run did."""

    merged: int
    queued: int


def _apply_merges(session: Session, review: SystematicReview) -> None:
    merged = session.execute(
        select(ReviewDuplicatePair.record_a_id, ReviewDuplicatePair.record_b_id).where(
            ReviewDuplicatePair.review_id == review.id,
            ReviewDuplicatePair.status == PairStatus.MERGED.value,
        )
    ).all()
    groups = duplicate_groups([(int(a), int(b)) for a, b in merged])
    rows = session.scalars(select(ReviewRecord).where(ReviewRecord.review_id == review.id))
    for row in rows:
        target = groups.get(row.id)
        if row.duplicate_of_id != target:
            row.duplicate_of_id = target


def run_dedupe(session: Session, review: SystematicReview) -> DedupeReport:
    """Find duplicates: certain pairs are merged (both rows kept), uncertain ones queued.

    Pairs judged before (merged or distinct) are never proposed or reset again.
    """
    rows = list(session.scalars(select(ReviewRecord).where(ReviewRecord.review_id == review.id)))
    records = {row.id: _record(row) for row in rows}
    decided = session.execute(
        select(ReviewDuplicatePair.record_a_id, ReviewDuplicatePair.record_b_id).where(
            ReviewDuplicatePair.review_id == review.id
        )
    ).all()
    pairs = find_duplicates(records, decided=[(int(a), int(b)) for a, b in decided])
    merged = queued = 0
    for p in pairs:
        session.add(
            ReviewDuplicatePair(
                review_id=review.id,
                record_a_id=p.a,
                record_b_id=p.b,
                match_kind=p.kind.value,
                score=p.score,
                reason=p.reason[:500],
                status=(PairStatus.MERGED if p.certain else PairStatus.PENDING).value,
                automatic=p.certain,
                decided_by="automatic" if p.certain else None,
            )
        )
        merged += p.certain
        queued += not p.certain
    session.flush()
    _apply_merges(session, review)
    session.flush()
    return DedupeReport(merged, queued)


def decide_pair(session: Session, pair_id: int, *, duplicate: bool) -> ReviewDuplicatePair:
    """Settle a queued pair: merge it (``duplicate=True``; both rows stay) or keep both apart.

    A merged pair may be split again (``duplicate=False``): the record then counts as unique.
    """
    pair = session.get(ReviewDuplicatePair, pair_id)
    if pair is None:
        raise ValidationError(f"pair: no duplicate pair {pair_id}")
    review = session.get(SystematicReview, pair.review_id)
    assert review is not None
    a = actor_of(session.info.get("actor"))
    pair.status = (PairStatus.MERGED if duplicate else PairStatus.DISTINCT).value
    pair.decided_by = a.username
    pair.automatic = False
    session.flush()
    _apply_merges(session, review)
    session.flush()
    return pair


# --------------------------------------------------------------------------- screening


def _reaches(doc: ReviewDocument, entry: RecordEntry, stage: Stage) -> bool:
    return doc.outcome(entry, stage) is not None


def _entry(doc: ReviewDocument, record_id: int) -> RecordEntry:
    for e in doc.records:
        if e.id == record_id:
            return e
    raise ValidationError(f"record: no record {record_id} in this review")


def _votes_of(session: Session, record_id: int, stage: Stage) -> list[ReviewVote]:
    return list(
        session.scalars(
            select(ReviewVote)
            .where(ReviewVote.record_id == record_id, ReviewVote.stage == stage.value)
            .order_by(ReviewVote.id)
        )
    )


def cast_vote(
    session: Session,
    record_id: int,
    stage: Stage | str,
    decision: Decision | str,
    *,
    reason: str | None = None,
    note: str | None = None,
    simulated: bool = False,
) -> ReviewVote:
    """The acting reviewer's vote on a record at a stage (changed while the other has not voted).

    Refused: a user not on the team as reviewer; a record that does not reach the stage; at
    full text, "maybe", or an exclusion without one of the protocol's reasons; a change after
    the other reviewer has voted.
    """
    stage, decision = Stage(stage), Decision(decision)
    user = _user(session, session.info.get("actor"))
    if user is None:
        raise PermissionDeniedError("a vote is cast by a signed-in reviewer, not the system")
    row = session.get(ReviewRecord, record_id)
    if row is None:
        raise ValidationError(f"record: no record {record_id}")
    review = session.get(SystematicReview, row.review_id)
    assert review is not None
    if member_role(session, review, user.id) is not TeamRole.REVIEWER:
        raise PermissionDeniedError(
            f"user {user.username!r} is not a reviewer on the team of {review.slug!r}"
        )
    protocol = _protocol(review)
    if stage is Stage.FULL_TEXT and decision is Decision.MAYBE:
        raise ValidationError("decision: at full text decide include or exclude (no maybe)")
    if decision is Decision.EXCLUDE and stage is Stage.FULL_TEXT:
        if not reason:
            raise ValidationError(
                "reason: a full-text exclusion needs one of the protocol's reasons: "
                + ", ".join(r.code for r in protocol.exclusion_reasons)
            )
        try:
            protocol.reason(reason)
        except ProtocolError as exc:
            raise ValidationError(f"reason: {exc}") from exc
    elif decision is not Decision.EXCLUDE:
        reason = None
    elif reason:
        try:
            protocol.reason(reason)
        except ProtocolError as exc:
            raise ValidationError(f"reason: {exc}") from exc
    doc = review_document(session, review)
    entry = _entry(doc, record_id)
    if not _reaches(doc, entry, stage):
        raise ValidationError(
            f"stage: record {record_id} is not at {stage.value.replace('_', '/')} screening "
            "(a duplicate, excluded earlier, not yet included, or its full text not retrieved)"
        )
    votes = _votes_of(session, record_id, stage)
    own = next((v for v in votes if v.reviewer_id == user.id), None)
    others = {v.reviewer_id for v in votes if v.reviewer_id != user.id}
    if own is not None and len(others) + 1 >= protocol.reviewers_per_record:
        raise ValidationError(
            "vote: locked — every reviewer has voted on this record at this stage; a "
            "disagreement is settled as a conflict, not by changing a vote"
        )
    if own is None:
        own = ReviewVote(
            review_id=review.id,
            record_id=record_id,
            stage=stage.value,
            reviewer_id=user.id,
            decision=decision.value,
            reason_code=reason,
            note=note,
            simulated=simulated,
        )
        session.add(own)
    else:
        own.decision, own.reason_code, own.note = decision.value, reason, note
    session.flush()
    return own


def withdraw_vote(session: Session, record_id: int, stage: Stage | str) -> bool:
    """Undo the acting reviewer's vote, while the other reviewer has not voted (audited)."""
    stage = Stage(stage)
    user = _user(session, session.info.get("actor"))
    if user is None:
        raise PermissionDeniedError("a vote is withdrawn by the reviewer who cast it")
    votes = _votes_of(session, record_id, stage)
    own = next((v for v in votes if v.reviewer_id == user.id), None)
    if own is None:
        return False
    review = session.get(SystematicReview, own.review_id)
    assert review is not None
    if len(votes) >= _protocol(review).reviewers_per_record:
        raise ValidationError(
            "vote: locked — every reviewer has voted on this record; it cannot be undone"
        )
    session.delete(own)
    session.flush()
    return True


def visible_votes(session: Session, record_id: int, stage: Stage | str) -> list[Vote]:
    """The votes on a record the acting person may see (blind until all required votes are in).

    The system (CLI export, PRISMA) sees all; a signed-in user sees only their own vote until
    the required number of reviewers have voted. Arbiters see a record's votes only then too.
    """
    stage = Stage(stage)
    a = actor_of(session.info.get("actor"))
    row = session.get(ReviewRecord, record_id)
    if row is None:
        raise ValidationError(f"record: no record {record_id}")
    review = session.get(SystematicReview, row.review_id)
    assert review is not None
    names = {int(i): str(n) for i, n in session.execute(select(User.id, User.username))}
    votes = [_vote(v, names) for v in _votes_of(session, record_id, stage)]
    if a.is_system:
        return votes
    if a.role != Role.ADMIN and member_role(session, review, a.user_id) is None:
        raise PermissionDeniedError(f"user {a.username!r} is not on the team of {review.slug!r}")
    return _visible(votes, a.username, required=_protocol(review).reviewers_per_record)


def _vote(v: ReviewVote, names: dict[int, str]) -> Vote:
    return Vote(
        record_id=v.record_id,
        stage=Stage(v.stage),
        reviewer=names.get(v.reviewer_id, f"user-{v.reviewer_id}"),
        decision=Decision(v.decision),
        reason=v.reason_code,
        note=v.note,
        at=v.updated_at,
        simulated=v.simulated,
    )


def resolve_conflict(
    session: Session,
    record_id: int,
    stage: Stage | str,
    decision: Decision | str,
    *,
    method: ResolutionMethod | str,
    why: str,
    reason: str | None = None,
    simulated: bool = False,
) -> ReviewResolution:
    """Settle a conflict: by the arbiter (``method="arbiter"``) or, after discussion, by one of
    the two reviewers or the arbiter (``"discussion"``); ``why`` is required."""
    stage, decision, method = Stage(stage), Decision(decision), ResolutionMethod(method)
    user = _user(session, session.info.get("actor"))
    a = actor_of(session.info.get("actor"))
    row = session.get(ReviewRecord, record_id)
    if row is None:
        raise ValidationError(f"record: no record {record_id}")
    review = session.get(SystematicReview, row.review_id)
    assert review is not None
    protocol = _protocol(review)
    role = member_role(session, review, user.id if user else None)
    voters = {v.reviewer_id for v in _votes_of(session, record_id, stage)}
    if method is ResolutionMethod.ARBITER and role is not TeamRole.ARBITER and not a.is_system:
        raise PermissionDeniedError(f"user {a.username!r} is not an arbiter of {review.slug!r}")
    if (
        method is ResolutionMethod.DISCUSSION
        and not a.is_system
        and role is not TeamRole.ARBITER
        and (user is None or user.id not in voters)
    ):
        raise PermissionDeniedError(
            "a conflict settled by discussion is recorded by one of its reviewers or the arbiter"
        )
    if not why.strip():
        raise ValidationError("why: say why the conflict was settled this way")
    if decision is Decision.MAYBE:
        raise ValidationError("decision: a resolution includes or excludes")
    if decision is Decision.EXCLUDE and stage is Stage.FULL_TEXT:
        if not reason:
            raise ValidationError(
                "reason: a full-text exclusion needs one of the protocol's reasons"
            )
        try:
            protocol.reason(reason)
        except ProtocolError as exc:
            raise ValidationError(f"reason: {exc}") from exc
    if decision is not Decision.EXCLUDE:
        reason = None
    doc = review_document(session, review)
    outcome = doc.outcome(_entry(doc, record_id), stage)
    if outcome is None or outcome.status is not Status.CONFLICT:
        raise ValidationError(
            f"record {record_id} has no open conflict at {stage.value.replace('_', '/')}"
        )
    res = ReviewResolution(
        review_id=review.id,
        record_id=record_id,
        stage=stage.value,
        decision=decision.value,
        reason_code=reason,
        method=method.value,
        resolved_by_id=user.id if user else None,
        resolved_by=a.username,
        why=why.strip()[:2000],
        simulated=simulated,
    )
    session.add(res)
    session.flush()
    return res


# --------------------------------------------------------------------------- full texts


def attach_fulltext(
    session: Session, record_id: int, filename: str, content: bytes, content_type: str
) -> ReviewRecord:
    """Attach (or replace) a record's full-text file; the record says it was retrieved."""
    row = session.get(ReviewRecord, record_id)
    if row is None:
        raise ValidationError(f"record: no record {record_id}")
    if not content:
        raise ValidationError("file: the file is empty")
    if len(content) > MAX_FULLTEXT_BYTES:
        raise ValidationError(
            f"file: {len(content) / 1e6:.1f} MB; at most {MAX_FULLTEXT_BYTES // 2**20} MB"
        )
    if content_type == "application/pdf" and not content.startswith(b"%PDF-"):
        raise ValidationError("file: not a PDF (it does not start with %PDF-)")
    existing = session.scalar(select(ReviewFullText).where(ReviewFullText.record_id == record_id))
    encoded = base64.b64encode(content).decode("ascii")
    if existing is None:
        session.add(
            ReviewFullText(
                record_id=record_id,
                content_type=content_type[:100],
                size=len(content),
                content_b64=encoded,
            )
        )
    else:
        existing.content_type, existing.size, existing.content_b64 = (
            content_type[:100],
            len(content),
            encoded,
        )
    row.fulltext_status = FullTextStatus.RETRIEVED.value
    row.fulltext_filename = filename[-255:] or "fulltext"
    row.fulltext_sha256 = file_sha256(content)
    session.flush()
    return row


def fulltext(session: Session, record_id: int) -> tuple[str, str, bytes] | None:
    """The record's full-text file as (filename, content type, bytes), or ``None``."""
    row = session.get(ReviewRecord, record_id)
    stored = session.scalar(select(ReviewFullText).where(ReviewFullText.record_id == record_id))
    if row is None or stored is None:
        return None
    return (
        row.fulltext_filename or "fulltext",
        stored.content_type,
        base64.b64decode(stored.content_b64),
    )


def mark_not_retrieved(session: Session, record_id: int, note: str) -> ReviewRecord:
    """Record that a sought report could not be retrieved (PRISMA "reports not retrieved")."""
    row = session.get(ReviewRecord, record_id)
    if row is None:
        raise ValidationError(f"record: no record {record_id}")
    if not note.strip():
        raise ValidationError("note: say what was tried (e.g. library request refused)")
    row.fulltext_status = FullTextStatus.NOT_RETRIEVED.value
    row.fulltext_note = note.strip()[:500]
    session.flush()
    return row


# --------------------------------------------------------------------------- document


def review_document(session: Session, review: SystematicReview) -> ReviewDocument:
    """The whole review as a :class:`pedbone.review.ReviewDocument` (all votes included).

    Callers that show votes to a person go through :func:`visible_votes` instead.
    """
    rid = review.id
    names = {int(i): str(n) for i, n in session.execute(select(User.id, User.username))}
    history = [
        parse_protocol(v.protocol)
        for v in session.scalars(
            select(ReviewProtocolVersion)
            .where(ReviewProtocolVersion.review_id == rid)
            .order_by(ReviewProtocolVersion.protocol_version)
        )
    ]
    searches = tuple(
        Search(
            id=s.id,
            source=s.source,
            kind=SourceKind(s.kind),
            searched_on=s.searched_on,
            filename=s.filename,
            sha256=s.sha256,
            format=Format(s.format),
            strategy=s.strategy,
            records_found=s.records_found,
            errors=tuple(s.errors or ()),
            simulated=s.simulated,
        )
        for s in session.scalars(
            select(ReviewSearch).where(ReviewSearch.review_id == rid).order_by(ReviewSearch.id)
        )
    )
    records = tuple(
        RecordEntry(
            id=r.id,
            search_id=r.search_id,
            record=_record(r),
            duplicate_of=r.duplicate_of_id,
            study=r.study,
            fulltext=FullText(
                status=FullTextStatus(r.fulltext_status),
                filename=r.fulltext_filename,
                sha256=r.fulltext_sha256,
                note=r.fulltext_note,
            ),
        )
        for r in session.scalars(
            select(ReviewRecord).where(ReviewRecord.review_id == rid).order_by(ReviewRecord.id)
        )
    )
    pairs = tuple(
        StoredPair(
            a=p.record_a_id,
            b=p.record_b_id,
            kind=MatchKind(p.match_kind),
            score=p.score,
            reason=p.reason,
            status=PairStatus(p.status),
            decided_by=p.decided_by,
            automatic=p.automatic,
        )
        for p in session.scalars(
            select(ReviewDuplicatePair)
            .where(ReviewDuplicatePair.review_id == rid)
            .order_by(ReviewDuplicatePair.id)
        )
    )
    votes = tuple(
        _vote(v, names)
        for v in session.scalars(
            select(ReviewVote).where(ReviewVote.review_id == rid).order_by(ReviewVote.id)
        )
    )
    resolutions = tuple(
        Resolution(
            record_id=r.record_id,
            stage=Stage(r.stage),
            decision=Decision(r.decision),
            reason=r.reason_code,
            method=ResolutionMethod(r.method),
            by=r.resolved_by,
            why=r.why,
            at=r.updated_at,
            simulated=r.simulated,
        )
        for r in session.scalars(
            select(ReviewResolution)
            .where(ReviewResolution.review_id == rid)
            .order_by(ReviewResolution.id)
        )
    )
    return ReviewDocument(
        protocol=_protocol(review),
        protocol_history=tuple(history[:-1]),
        searches=searches,
        records=records,
        duplicate_pairs=pairs,
        votes=votes,
        resolutions=resolutions,
    )


def import_review_document(
    session: Session, doc: ReviewDocument, *, slug: str | None = None
) -> SystematicReview:
    """Create a review from an exchange file (new ids; team usernames must exist here).

    Full-text files do not travel in the file (only their names and hashes); records whose
    full text was retrieved keep that status, and the PDFs can be attached again.
    """
    protocol = doc.protocol
    if slug:
        protocol = protocol.model_copy(update={"id": slug})
        try:
            protocol = parse_protocol(protocol.model_dump(mode="json"))
        except ProtocolError as exc:
            raise ValidationError(f"id: {exc}") from exc
    if session.scalar(select(SystematicReview.id).where(SystematicReview.slug == protocol.id)):
        raise ValidationError(
            f"id: a review {protocol.id!r} already exists here; import it under another id"
        )
    a = actor_of(session.info.get("actor"))
    if not (a.is_system or a.role == Role.ADMIN):
        raise PermissionDeniedError("only an admin (or the command line) imports a review")
    data = protocol.model_dump(mode="json")
    simulated = any(v.simulated for v in doc.votes) or any(s.simulated for s in doc.searches)
    review = SystematicReview(
        slug=protocol.id,
        title=protocol.title,
        protocol_version=protocol.version,
        protocol=data,
        simulated=simulated,
    )
    session.add(review)
    session.flush()
    for old in doc.protocol_history:
        session.add(
            ReviewProtocolVersion(
                review_id=review.id,
                protocol_version=old.version,
                protocol=old.model_copy(update={"id": protocol.id}).model_dump(mode="json"),
            )
        )
    session.add(
        ReviewProtocolVersion(review_id=review.id, protocol_version=protocol.version, protocol=data)
    )
    _sync_team(session, review, protocol)
    users = {
        u.username: u.id
        for u in session.scalars(
            select(User).where(User.username.in_([m.username for m in protocol.team]))
        )
    }
    search_ids: dict[int, int] = {}
    for s in doc.searches:
        row = ReviewSearch(
            review_id=review.id,
            source=s.source,
            kind=s.kind.value,
            searched_on=s.searched_on,
            filename=s.filename,
            sha256=s.sha256,
            format=s.format.value,
            strategy=s.strategy,
            records_found=s.records_found,
            errors=list(s.errors),
            simulated=s.simulated,
        )
        session.add(row)
        session.flush()
        search_ids[s.id] = row.id
    record_ids: dict[int, int] = {}
    rows: dict[int, ReviewRecord] = {}
    for e in doc.records:
        rec_row = _record_row(review.id, search_ids[e.search_id], e.record)
        rec_row.study = e.study
        rec_row.fulltext_status = e.fulltext.status.value
        rec_row.fulltext_filename = e.fulltext.filename
        rec_row.fulltext_sha256 = e.fulltext.sha256
        rec_row.fulltext_note = e.fulltext.note
        session.add(rec_row)
        session.flush()
        record_ids[e.id] = rec_row.id
        rows[e.id] = rec_row
    for e in doc.records:
        if e.duplicate_of is not None:
            rows[e.id].duplicate_of_id = record_ids[e.duplicate_of]
    for p in doc.duplicate_pairs:
        a_id, b_id = sorted((record_ids[p.a], record_ids[p.b]))
        session.add(
            ReviewDuplicatePair(
                review_id=review.id,
                record_a_id=a_id,
                record_b_id=b_id,
                match_kind=p.kind.value,
                score=p.score,
                reason=p.reason,
                status=p.status.value,
                automatic=p.automatic,
                decided_by=p.decided_by,
            )
        )
    seen: set[tuple[int, str, int]] = set()
    for v in reversed(doc.votes):  # the latest vote of each reviewer counts
        key = (record_ids[v.record_id], v.stage.value, users[v.reviewer])
        if key in seen:
            continue
        seen.add(key)
        session.add(
            ReviewVote(
                review_id=review.id,
                record_id=key[0],
                stage=key[1],
                reviewer_id=key[2],
                decision=v.decision.value,
                reason_code=v.reason,
                note=v.note,
                simulated=v.simulated,
            )
        )
    done: set[tuple[int, str]] = set()
    for r in reversed(doc.resolutions):
        rkey = (record_ids[r.record_id], r.stage.value)
        if rkey in done:
            continue
        done.add(rkey)
        session.add(
            ReviewResolution(
                review_id=review.id,
                record_id=rkey[0],
                stage=rkey[1],
                decision=r.decision.value,
                reason_code=r.reason,
                method=r.method.value,
                resolved_by_id=users.get(r.by),
                resolved_by=r.by,
                why=r.why,
                simulated=r.simulated,
            )
        )
    session.flush()
    return review


def set_study(session: Session, record_ids: Iterable[int], study: str | None) -> None:
    """Label reports as belonging to one study (PRISMA counts studies and reports apart)."""
    for rid in record_ids:
        row = session.get(ReviewRecord, rid)
        if row is None:
            raise ValidationError(f"record: no record {rid}")
        row.study = study.strip()[:120] if study and study.strip() else None
    session.flush()


def counts_by_review(session: Session) -> dict[int, int]:
    """Number of records per review id."""
    rows = session.execute(
        select(ReviewRecord.review_id, func.count()).group_by(ReviewRecord.review_id)
    ).all()
    return {int(r): int(n) for r, n in rows}
