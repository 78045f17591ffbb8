"""The bundled example review: the seeds' question, real bibliographic records, simulated votes.

Records (``pedbone/review/data/example/``) are those of studies named in the domain digest,
with titles, authors, journals, years, DOIs and PMIDs exactly as sourced there (some titles
are abbreviated in the digest, e.g. "RCT"; missing fields are left empty; see
``docs/review.md`` for what is missing). The three "searches" were assembled by hand from the
digest, not run in any database, and are flagged ``simulated``. The two reviewers and the
arbiter are demo accounts whose votes and resolutions are flagged ``simulated`` too.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from pedbone.review import normalise_title, protocol_template
from pedbone.store._errors import ValidationError
from pedbone.store._models import User
from pedbone.store._review import (
    cast_vote,
    create_review,
    find_review,
    import_search,
    mark_not_retrieved,
    resolve_conflict,
    run_dedupe,
    set_study,
)
from pedbone.store._review_models import ReviewRecord, SystematicReview
from pedbone.store._security import create_user

__all__ = ["DEMO_REVIEW", "DEMO_TEAM", "ReviewDemo", "create_review_demo"]

DEMO_REVIEW = "example-bisphosphonates"
DEMO_TEAM = {"demo-reviewer1": "reviewer", "demo-reviewer2": "reviewer", "demo-arbiter": "arbiter"}
SEARCH_DAY = dt.date(2026, 11, 30)
R1, R2, ARB = "demo-reviewer1", "demo-reviewer2", "demo-arbiter"

# title start (folded) -> (TA votes r1, r2), TA resolution, (FT votes r1, r2), FT resolution,
# study label. Votes: I include, E exclude, M maybe, "E:code" exclude for a protocol reason;
# None = the record does not reach that stage. All simulated.
_PLAN: dict[
    str,
    tuple[
        tuple[str, str] | None,
        tuple[str, str] | None,
        tuple[str, str] | None,
        tuple[str, str] | None,
        str | None,
    ],
] = {
    "effects of once weekly oral alendronate": (("I", "I"), None, ("I", "I"), None, None),
    "attempted randomized controlled trial": (
        ("M", "E"),
        ("I", "an attempted RCT in children on glucocorticoids: read the full text"),
        ("I", "I"),
        None,
        None,
    ),
    "efficacy and safety of bisphosphonates in secondary": (("E", "E"), None, None, None, None),
    "intravenous neridronate in children": (("E", "E"), None, None, None, None),
    "treatment with neridronate": (("E", "E"), None, None, None, None),
    "dxa interpretation and reporting": (("E", "E"), None, None, None, None),
    "pamidronate treatment of pediatric fracture": (("I", "I"), None, ("I", "I"), None, None),
    "efficacy and safety of alendronate": (("I", "I"), None, ("I", "I"), None, None),
    "alendronate for the treatment of osteopenia": (
        ("I", "M"),
        None,
        ("I", "E:wrong_population"),
        (
            "I",
            "discussion: anorexia nervosa is a cause of secondary osteoporosis in the "
            "protocol's sense; kept",
        ),
        None,
    ),
    "bisphosphonates to treat osteopenia": (("I", "I"), None, ("I", "I"), None, None),
    "pamidronate therapy for preventing": (("I", "I"), None, ("I", "I"), None, None),
    "the efficacy of acute administration": (("I", "I"), None, ("I", "I"), None, "Klein 2005"),
    "pamidronate preserves bone mass": (("I", "I"), None, ("I", "I"), None, "Klein 2005"),
    "zoledronic acid vs placebo": (("I", "I"), None, ("I", "I"), None, None),
    "the prevention and treatment of glucocorticoid": (("I", "I"), None, ("I", "I"), None, None),
    "zoledronic acid improves bmd": (("I", "I"), None, ("I", "I"), None, None),
    "the use of intravenous bisphosphonate": (("M", "I"), None, ("I", "I"), None, None),
    "oral risedronate sodium improves": (("I", "M"), None, ("E:adults", "E:adults"), None, None),
    "long term outcomes of children": (("I", "I"), None, None, None, None),  # not retrieved
    "alendronate for the treatment of pediatric osteogenesis": (("E", "E"), None, None, None, None),
    "risedronate in children with osteogenesis": (("E", "E"), None, None, None, None),
    "bisphosphonate therapy for children and adolescents": (
        ("E", "I"),
        ("E", "a systematic review: its included studies are screened one by one"),
        None,
        None,
        None,
    ),
    "outcomes following intravenous bisphosphonate": (None, None, ("I", "I"), None, None),
    "short term safety of zoledronic acid": (
        None,
        None,
        ("E:wrong_population", "E:wrong_population"),
        None,
        None,
    ),
    "intravenous zoledronic acid given every": (None, None, ("I", "I"), None, None),
}
_NOT_RETRIEVED = {
    "long term outcomes of children": "simulated: the example marks this report as not retrieved"
}


@dataclass
class ReviewDemo:
    """What the demo created: the review, and the demo accounts' one-time passwords."""

    review_id: int
    created: bool
    passwords: dict[str, str] = field(default_factory=dict)


def _plan_for(title: str) -> str:
    folded = normalise_title(title)
    for key in _PLAN:
        if folded.startswith(key):
            return key
    raise ValidationError(f"example review: no simulated plan for {title!r}")


def _vote(code: str) -> tuple[str, str | None]:
    if code.startswith("E:"):
        return "exclude", code[2:]
    return {"I": "include", "E": "exclude", "M": "maybe"}[code], None


def create_review_demo(session: Session) -> ReviewDemo:
    """Create the example review (idempotent: a second call changes nothing)."""
    existing = session.scalar(select(SystematicReview).where(SystematicReview.slug == DEMO_REVIEW))
    if existing is not None:
        return ReviewDemo(existing.id, False)
    passwords: dict[str, str] = {}
    users: dict[str, User] = {}
    for name in DEMO_TEAM:
        user = session.scalar(select(User).where(User.username == name))
        if user is None:
            passwords[name] = secrets.token_urlsafe(12)
            label = "Demo arbiter" if name == ARB else f"Demo reviewer {name[-1]} (simulated)"
            user = create_user(session, name, passwords[name], "reviewer", full_name=label)
        users[name] = user
    text = protocol_template(
        DEMO_REVIEW,
        "Example: bisphosphonates for children with secondary osteoporosis (simulated screening)",
    )
    for old, new in (("reviewer1", R1), ("reviewer2", R2), ("arbiter", ARB)):
        text = text.replace(f"{{username: {old},", f"{{username: {new},")
    review = create_review(session, text, simulated=True)
    data = resources.files("pedbone.review") / "data" / "example"
    for name, source, kind in (
        ("medline_example.nbib", "MEDLINE (simulated search)", "database"),
        ("embase_style_example.ris", "Embase (simulated search)", "database"),
        (
            "reference_lists_example.ris",
            "Reference lists of included studies (simulated)",
            "citations",
        ),
    ):
        import_search(
            session,
            review,
            (data / name).read_bytes(),
            filename=name,
            source=source,
            kind=kind,
            searched_on=SEARCH_DAY,
            simulated=True,
            strategy="records assembled by hand from pedbone's domain digest",
        )
    run_dedupe(session, review)
    rows = list(
        session.scalars(
            select(ReviewRecord)
            .where(ReviewRecord.review_id == review.id, ReviewRecord.duplicate_of_id.is_(None))
            .order_by(ReviewRecord.id)
        )
    )
    actor = session.info.get("actor")
    try:
        for row in rows:
            session.info["actor"] = actor
            key = _plan_for(row.title)
            ta, ta_res, ft, ft_res, study = _PLAN[key]
            if study:
                set_study(session, [row.id], study)
            for stage, votes, res in (("title_abstract", ta, ta_res), ("full_text", ft, ft_res)):
                if stage == "full_text" and key in _NOT_RETRIEVED:
                    session.info["actor"] = actor
                    mark_not_retrieved(session, row.id, _NOT_RETRIEVED[key])
                    continue
                if votes is None:
                    continue
                for who, code in zip((R1, R2), votes, strict=True):
                    session.info["actor"] = users[who]
                    decision, reason = _vote(code)
                    cast_vote(session, row.id, stage, decision, reason=reason, simulated=True)
                if res is not None:
                    decision, reason = _vote(res[0])
                    method, why = "arbiter", res[1]
                    if why.startswith("discussion: "):
                        method, why = "discussion", why.removeprefix("discussion: ")
                    session.info["actor"] = users[ARB]
                    resolve_conflict(
                        session,
                        row.id,
                        stage,
                        decision,
                        method=method,
                        why=why,
                        reason=reason,
                        simulated=True,
                    )
    finally:
        session.info["actor"] = actor
    find_review(session, DEMO_REVIEW)
    return ReviewDemo(review.id, True, passwords)
