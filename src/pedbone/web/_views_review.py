"""Systematic-review pages: the screening page a reviewer lives in, conflicts, PRISMA.

Who sees what: members of a review's team (and admins) see it; a user with the ``reviewer``
role reaches these pages only (:func:`reviewer_may_reach`, called by the guard), never
patients. Votes shown to a person come from ``store.review.visible_votes`` (blind until both
reviewers have voted). Stored text becomes markup only through :func:`highlight`, which
escapes every piece of the text before wrapping protocol terms in ``<mark>``.

The pages are in English only for now (their texts are not yet in the translation catalogue).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pedbone.web._render import render
from pedbone.web._security import ForbiddenError, WebUser, current_user

__all__ = ["ReviewsOnlyError", "highlight", "reviewer_may_reach", "router"]

router = APIRouter()
Reader = Annotated[WebUser, Depends(current_user)]

#: Paths a user with the reviewer role may reach (everything else: not for reviewers).
REVIEWER_PATHS = ("/reviews", "/logout", "/language", "/login", "/health", "/static")
FILTERS = ("todo", "include", "exclude", "maybe", "all")


class ReviewsOnlyError(Exception):
    """A reviewer asked for a clinic page: send them to their reviews."""


def reviewer_may_reach(request: Request) -> None:
    """Refuse a reviewer-role user any page outside the review pages (called by the guard)."""
    path = request.url.path
    if any(
        path == p or path.startswith(p + "/") or path.startswith(p + ".") for p in REVIEWER_PATHS
    ):
        return
    if request.method == "GET":
        raise ReviewsOnlyError
    raise ForbiddenError


def highlight(text: str | None, include: tuple[str, ...], exclude: tuple[str, ...]) -> Markup:
    """``text`` escaped, with the protocol's include / exclude terms wrapped in ``<mark>``.

    The text is split at the matches; every piece (match or not) is escaped on its own, and
    only the fixed ``<mark class=...>`` tags are added — stored text never becomes markup.
    """
    if not text:
        return Markup("")
    terms = [(t, "inc") for t in include if t.strip()] + [(t, "exc") for t in exclude if t.strip()]
    if not terms:
        return Markup(escape(text))
    kinds = {t.casefold(): k for t, k in terms}
    pattern = re.compile(
        r"\b("
        + "|".join(re.escape(t) for t, _ in sorted(terms, key=lambda x: -len(x[0])))
        + r")\w*",
        re.IGNORECASE,
    )
    out: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        out.append(str(escape(text[last : m.start()])))
        kind = kinds.get(m.group(1).casefold(), "inc")
        out.append(f'<mark class="{kind}">{escape(m.group(0))}</mark>')
        last = m.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))  # every piece above was escaped


# --------------------------------------------------------------------------- helpers


def _actor(db: Any, user: WebUser) -> Any:
    from pedbone.web._data import _actor as actor

    return actor(db, user)


def _load(request: Request, user: WebUser, slug: str) -> tuple[Any, Any, str | None]:
    """The review, its document and the user's team role; 404 for a review the user may not
    see (whether it exists is not revealed)."""
    from pedbone.store import StoreError, review

    db = request.app.state.db
    with db.session(_actor(db, user)) as s:
        try:
            r = review.find_review(s, slug)
        except StoreError as exc:
            raise HTTPException(404) from exc
        role = review.member_role(s, r, user.id)
        if role is None and not user.is_admin:
            raise HTTPException(404)
        doc = review.review_document(s, r)
    return r, doc, role.value if role else None


def _stage(stage: str) -> Any:
    from pedbone.review import Stage

    try:
        return Stage(stage)
    except ValueError as exc:
        raise HTTPException(404) from exc


def _queue(doc: Any, stage: Any, username: str, flt: str) -> list[Any]:
    """Records at ``stage`` for this reviewer, filtered by their own decision."""
    out = []
    for e in doc.unique_records():
        if doc.outcome(e, stage) is None:
            continue
        own = next((v for v in doc.votes_for(e.id, stage) if v.reviewer == username), None)
        mine = own.decision.value if own is not None else None
        if (flt == "todo" and own is None) or flt == "all" or (mine is not None and mine == flt):
            out.append(e)
    return out


# --------------------------------------------------------------------------- pages


@router.get("/reviews")
def reviews_page(request: Request, user: Reader) -> Response:
    """The reviews the user is on (admins see all)."""
    from pedbone.review import prisma_counts
    from pedbone.store import review

    db = request.app.state.db
    rows = []
    with db.session(_actor(db, user)) as s:
        for r in review.reviews_for(s, user.id, admin=user.is_admin):
            doc = review.review_document(s, r)
            c = prisma_counts(doc)
            role = review.member_role(s, r, user.id)
            rows.append(
                {
                    "slug": r.slug,
                    "title": r.title,
                    "counts": c,
                    "simulated": r.simulated,
                    "role": role.value if role else "admin",
                }
            )
    return render(request, "review_list.html", reviews=rows)


@router.get("/reviews/{slug}")
def review_page(request: Request, slug: str, user: Reader) -> Response:
    """A review's overview: progress, agreement, conflicts, links to screening and PRISMA."""
    return _home(request, slug, user)


def _home(
    request: Request,
    slug: str,
    user: WebUser,
    imported: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    from pedbone.review import Stage, agreement, prisma_counts

    r, doc, role = _load(request, user, slug)
    counts = prisma_counts(doc)
    mine = {
        stage.value: (
            len(_queue(doc, stage, user.username, "todo")),
            len(_queue(doc, stage, user.username, "all")),
        )
        for stage in Stage
    }
    both_done = role == "arbiter" or user.is_admin or counts.provisional is False
    kappas = [a for st in Stage for a in agreement(doc.votes, st)] if both_done else []
    return render(
        request,
        "review_home.html",
        review=r,
        doc=doc,
        role=role,
        counts=counts,
        mine=mine,
        kappas=kappas,
        protocol=doc.protocol,
        imported=imported,
        today=dt.date.today().isoformat(),
        status_code=status_code,
    )


@router.post("/reviews/{slug}/import")
async def import_file(
    request: Request,
    slug: str,
    user: Reader,
    file: Annotated[UploadFile, File()],
    source: Annotated[str, Form()] = "",
    searched_on: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "database",
) -> Response:
    """Import one search's file (RIS, .nbib, EndNote XML, CSV): bad records listed by line."""
    from pedbone.review import MAX_IMPORT_BYTES, SourceKind
    from pedbone.store import StoreError, review

    r, _doc, role = _load(request, user, slug)
    if role is None and not user.is_admin:
        raise ForbiddenError
    data = await file.read(MAX_IMPORT_BYTES + 1)
    db = request.app.state.db
    try:
        day = dt.date.fromisoformat(searched_on)
        chosen = SourceKind(kind)
    except ValueError:
        result: dict[str, Any] = {
            "error": "give the search date (YYYY-MM-DD) and a source kind",
            "errors": [],
        }
        return _home(request, slug, user, imported=result, status_code=422)
    try:
        with db.unit_of_work(actor=_actor(db, user)) as s:
            done = review.import_search(
                s,
                review.find_review(s, r.slug),
                data,
                source=source,
                searched_on=day,
                filename=file.filename or "",
                kind=chosen,
            )
    except StoreError as exc:
        result = {"error": str(exc), "errors": []}
        return _home(request, slug, user, imported=result, status_code=422)
    result = {"count": done.imported, "errors": done.errors, "source": source}
    return _home(request, slug, user, imported=result)


@router.get("/reviews/{slug}/screen/{stage}")
def screen_page(
    request: Request,
    slug: str,
    stage: str,
    user: Reader,
    filter: str = "todo",
    record: int | None = None,
) -> Response:
    """One record at a time: title, abstract and keywords with the protocol's terms marked."""
    from pedbone.store import review

    st = _stage(stage)
    r, doc, role = _load(request, user, slug)
    if role != "reviewer":
        raise ForbiddenError
    flt = filter if filter in FILTERS else "todo"
    queue = _queue(doc, st, user.username, flt)
    current = None
    if record is not None:
        current = next((e for e in doc.unique_records() if e.id == record), None)
        if current is None or doc.outcome(current, st) is None:
            raise HTTPException(404)
    elif queue:
        current = queue[0]
    db = request.app.state.db
    own = None
    visible: list[Any] = []
    if current is not None:
        with db.session(_actor(db, user)) as s:
            visible = review.visible_votes(s, current.id, st)
        own = next((v for v in visible if v.reviewer == user.username), None)
    total = len(_queue(doc, st, user.username, "all"))
    done = total - len(_queue(doc, st, user.username, "todo"))
    position = next((i for i, e in enumerate(queue) if current and e.id == current.id), None)
    prev_id = queue[position - 1].id if position else None
    next_id = queue[position + 1].id if position is not None and position + 1 < len(queue) else None
    hl = doc.protocol.highlight
    marked = None
    if current is not None:
        rec = current.record
        marked = {
            "title": highlight(rec.title, hl.include, hl.exclude),
            "abstract": highlight(rec.abstract, hl.include, hl.exclude),
            "keywords": [highlight(k, hl.include, hl.exclude) for k in rec.keywords],
        }
    others_visible = len({v.reviewer for v in visible}) >= doc.protocol.reviewers_per_record
    return render(
        request,
        "review_screen.html",
        review=r,
        doc=doc,
        stage=st,
        entry=current,
        marked=marked,
        own=own,
        visible=visible if others_visible else [],
        flt=flt,
        filters=FILTERS,
        done=done,
        total=total,
        remaining=len(queue),
        prev_id=prev_id,
        next_id=next_id,
        reasons=doc.protocol.exclusion_reasons,
        search=doc.search(current.search_id) if current else None,
        error=request.query_params.get("error"),
    )


def _back(slug: str, stage: str, flt: str, record: int | None = None, error: str = "") -> str:
    from urllib.parse import urlencode

    params: dict[str, str] = {"filter": flt if flt in FILTERS else "todo"}
    if record is not None:
        params["record"] = str(record)
    if error:
        params["error"] = error[:300]
    return f"/reviews/{slug}/screen/{stage}?{urlencode(params)}"


@router.post("/reviews/{slug}/screen/{stage}/{record_id}/vote")
def vote(
    request: Request,
    slug: str,
    stage: str,
    record_id: int,
    user: Reader,
    decision: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    filter: Annotated[str, Form()] = "todo",
) -> Response:
    """Cast (or change, while the other reviewer has not voted) the user's vote."""
    from pedbone.store import StoreError, review

    st = _stage(stage)
    _r, _doc, role = _load(request, user, slug)
    if role != "reviewer":
        raise ForbiddenError
    db = request.app.state.db
    try:
        with db.unit_of_work(actor=_actor(db, user)) as s:
            review.cast_vote(s, record_id, st, decision, reason=reason or None)
    except (StoreError, ValueError) as exc:
        return RedirectResponse(_back(slug, stage, filter, record_id, str(exc)), status_code=303)
    if filter == "todo":
        return RedirectResponse(_back(slug, stage, filter), status_code=303)
    return RedirectResponse(_back(slug, stage, filter, record_id), status_code=303)


@router.post("/reviews/{slug}/screen/{stage}/{record_id}/undo")
def undo(
    request: Request,
    slug: str,
    stage: str,
    record_id: int,
    user: Reader,
    filter: Annotated[str, Form()] = "todo",
) -> Response:
    """Withdraw the user's vote (while the other reviewer has not voted)."""
    from pedbone.store import StoreError, review

    st = _stage(stage)
    _r, _doc, role = _load(request, user, slug)
    if role != "reviewer":
        raise ForbiddenError
    db = request.app.state.db
    try:
        with db.unit_of_work(actor=_actor(db, user)) as s:
            review.withdraw_vote(s, record_id, st)
    except StoreError as exc:
        return RedirectResponse(_back(slug, stage, filter, record_id, str(exc)), status_code=303)
    return RedirectResponse(_back(slug, stage, "todo", record_id), status_code=303)


@router.post("/reviews/{slug}/records/{record_id}/fulltext")
async def upload_fulltext(
    request: Request,
    slug: str,
    record_id: int,
    user: Reader,
    file: Annotated[UploadFile, File()],
    filter: Annotated[str, Form()] = "todo",
) -> Response:
    """Attach the record's full-text PDF."""
    from pedbone.store import StoreError, review
    from pedbone.store._review_models import MAX_FULLTEXT_BYTES

    _r, doc, role = _load(request, user, slug)
    if role is None:
        raise ForbiddenError
    content = await file.read(MAX_FULLTEXT_BYTES + 1)
    db = request.app.state.db
    try:
        _entry_in(doc, record_id)
        with db.unit_of_work(actor=_actor(db, user)) as s:
            review.attach_fulltext(
                s, record_id, file.filename or "fulltext.pdf", content, "application/pdf"
            )
    except StoreError as exc:
        return RedirectResponse(_back(slug, "full_text", filter, record_id, str(exc)), 303)
    return RedirectResponse(_back(slug, "full_text", filter, record_id), status_code=303)


def _entry_in(doc: Any, record_id: int) -> Any:
    for e in doc.records:
        if e.id == record_id:
            return e
    raise HTTPException(404)


@router.get("/reviews/{slug}/records/{record_id}/fulltext")
def get_fulltext(request: Request, slug: str, record_id: int, user: Reader) -> Response:
    """The attached PDF (as a download: never rendered in the page's origin)."""
    from pedbone.store import review

    _r, doc, _role = _load(request, user, slug)
    _entry_in(doc, record_id)
    db = request.app.state.db
    with db.session(_actor(db, user)) as s:
        found = review.fulltext(s, record_id)
    if found is None:
        raise HTTPException(404)
    name, _ctype, data = found
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[-100:] or "fulltext.pdf"
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "Content-Security-Policy": "sandbox",
        },
    )


@router.post("/reviews/{slug}/records/{record_id}/not-retrieved")
def not_retrieved(
    request: Request,
    slug: str,
    record_id: int,
    user: Reader,
    note: Annotated[str, Form()] = "",
    filter: Annotated[str, Form()] = "todo",
) -> Response:
    """Record that the full text could not be obtained (PRISMA: reports not retrieved)."""
    from pedbone.store import StoreError, review

    _r, doc, role = _load(request, user, slug)
    if role is None:
        raise ForbiddenError
    _entry_in(doc, record_id)
    db = request.app.state.db
    try:
        with db.unit_of_work(actor=_actor(db, user)) as s:
            review.mark_not_retrieved(s, record_id, note)
    except StoreError as exc:
        return RedirectResponse(_back(slug, "full_text", filter, record_id, str(exc)), 303)
    return RedirectResponse(_back(slug, "full_text", filter), status_code=303)


@router.get("/reviews/{slug}/conflicts")
def conflicts_page(request: Request, slug: str, user: Reader) -> Response:
    """Records whose two votes disagree (both votes are visible: both have voted)."""
    from pedbone.review import Stage, Status

    r, doc, role = _load(request, user, slug)
    items = []
    for e in doc.unique_records():
        for st in Stage:
            o = doc.outcome(e, st)
            if o is not None and o.status is Status.CONFLICT:
                votes = doc.votes_for(e.id, st)
                voters = {v.reviewer for v in votes}
                items.append(
                    {
                        "entry": e,
                        "stage": st,
                        "votes": votes,
                        "why": o.conflict,
                        "may_resolve": role == "arbiter" or user.username in voters,
                    }
                )
    resolved = list(doc.resolutions)
    titles = {e.id: e.record.title for e in doc.records}
    return render(
        request,
        "review_conflicts.html",
        review=r,
        items=items,
        role=role,
        reasons=doc.protocol.exclusion_reasons,
        resolved=resolved,
        titles=titles,
        error=request.query_params.get("error"),
    )


@router.post("/reviews/{slug}/conflicts/{record_id}/{stage}")
def resolve(
    request: Request,
    slug: str,
    record_id: int,
    stage: str,
    user: Reader,
    decision: Annotated[str, Form()],
    why: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Settle a conflict: the arbiter decides, or one of the two reviewers after discussion."""
    from urllib.parse import urlencode

    from pedbone.store import StoreError, review

    st = _stage(stage)
    _r, _doc, role = _load(request, user, slug)
    method = "arbiter" if role == "arbiter" else "discussion"
    db = request.app.state.db
    try:
        with db.unit_of_work(actor=_actor(db, user)) as s:
            review.resolve_conflict(
                s, record_id, st, decision, method=method, why=why, reason=reason or None
            )
    except (StoreError, ValueError) as exc:
        query = urlencode({"error": str(exc)[:300]})
        return RedirectResponse(f"/reviews/{slug}/conflicts?{query}", status_code=303)
    return RedirectResponse(f"/reviews/{slug}/conflicts?saved=1", status_code=303)


@router.get("/reviews/{slug}/prisma")
def prisma_page(request: Request, slug: str, user: Reader) -> Response:
    """The PRISMA 2020 flow diagram and its counts, as screening stands now."""
    from pedbone.review import prisma_counts

    r, doc, _role = _load(request, user, slug)
    return render(
        request,
        "review_prisma.html",
        review=r,
        counts=prisma_counts(doc),
        rows=prisma_counts(doc).as_row(),
    )


@router.get("/reviews/{slug}/prisma.{fmt}")
def prisma_file(request: Request, slug: str, fmt: str, user: Reader) -> Response:
    """The diagram as SVG or PDF, or the counts as CSV (PRISMA2020 package fields)."""
    from pedbone.review import prisma_counts, prisma_csv, prisma_pdf, prisma_svg

    r, doc, _role = _load(request, user, slug)
    counts = prisma_counts(doc)
    name = f"prisma-{r.slug}.{fmt}"
    if fmt == "svg":
        return Response(
            prisma_svg(counts, title=doc.protocol.title),
            media_type="image/svg+xml",
            headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
        )
    if fmt == "pdf":
        return Response(
            prisma_pdf(counts, title=doc.protocol.title),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    if fmt == "csv":
        return Response(
            prisma_csv(counts),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    raise HTTPException(404)


@router.get("/reviews/{slug}/duplicates")
def duplicates_page(request: Request, slug: str, user: Reader) -> Response:
    """Proposed duplicate pairs: queued ones to decide, merged ones (both records kept)."""
    from pedbone.review import PairStatus

    r, doc, role = _load(request, user, slug)
    records = {e.id: e for e in doc.records}
    pending = [p for p in doc.duplicate_pairs if p.status is PairStatus.PENDING]
    merged = [p for p in doc.duplicate_pairs if p.status is PairStatus.MERGED]
    ids = _pair_ids(request, r.id)
    return render(
        request,
        "review_duplicates.html",
        review=r,
        pending=pending,
        merged=merged,
        records=records,
        searches={s.id: s for s in doc.searches},
        ids=ids,
        may_edit=role is not None or user.is_admin,
    )


def _pair_ids(request: Request, review_id: int) -> dict[tuple[int, int], int]:
    from sqlalchemy import select

    from pedbone.store import ReviewDuplicatePair

    with request.app.state.db.session() as s:
        rows = s.execute(
            select(
                ReviewDuplicatePair.id,
                ReviewDuplicatePair.record_a_id,
                ReviewDuplicatePair.record_b_id,
            ).where(ReviewDuplicatePair.review_id == review_id)
        ).all()
    return {(int(a), int(b)): int(i) for i, a, b in rows}


@router.post("/reviews/{slug}/duplicates")
def run_dedupe(request: Request, slug: str, user: Reader) -> Response:
    """Look for duplicates again (pairs already judged are not proposed again)."""
    from pedbone.store import review

    r, _doc, role = _load(request, user, slug)
    if role is None and not user.is_admin:
        raise ForbiddenError
    db = request.app.state.db
    with db.unit_of_work(actor=_actor(db, user)) as s:
        review.run_dedupe(s, review.find_review(s, r.slug))
    return RedirectResponse(f"/reviews/{slug}/duplicates", status_code=303)


@router.post("/reviews/{slug}/duplicates/{pair_id}")
def decide_duplicate(
    request: Request,
    slug: str,
    pair_id: int,
    user: Reader,
    duplicate: Annotated[str, Form()],
) -> Response:
    """Merge a pair (both records stay; the later one counts as a duplicate) or keep apart."""
    from pedbone.store import ReviewDuplicatePair, review

    r, _doc, role = _load(request, user, slug)
    if role is None and not user.is_admin:
        raise ForbiddenError
    db = request.app.state.db
    with db.unit_of_work(actor=_actor(db, user)) as s:
        pair = s.get(ReviewDuplicatePair, pair_id)
        if pair is None or pair.review_id != r.id:
            raise HTTPException(404)
        review.decide_pair(s, pair_id, duplicate=duplicate == "yes")
    return RedirectResponse(f"/reviews/{slug}/duplicates", status_code=303)
