"""Dual independent screening: votes, the outcome of a record at a stage, blindness, kappa.

Rules (software rules of pedbone [PEDBONE_REVIEW_RULES], documented in ``docs/review.md``):

- Two reviewers vote on each record at each stage (title/abstract, then full text).
- Title/abstract: include, exclude or maybe. "Maybe" counts as include for agreement and for
  moving to full text, as Covidence does (review-reference §2.1): include+maybe and maybe+maybe
  agree (to full text); include/maybe against exclude is a conflict.
- Full text: include or exclude; an exclusion names one of the protocol's reasons. Two
  exclusions with different reasons are a conflict too (PRISMA counts one reason per report;
  Covidence flags discrepant reasons the same way).
- A conflict is settled by a :class:`Resolution` (by discussion, or by the arbiter) with a
  reason; the resolution, never a changed vote, decides. Kappa is computed from the votes as
  cast, so resolving conflicts does not change agreement (as Covidence's IRR export).
- Blindness: a reviewer sees only their own vote on a record until every required vote on it
  is in (:func:`visible_votes`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Agreement",
    "Decision",
    "Outcome",
    "Resolution",
    "ResolutionMethod",
    "Stage",
    "Status",
    "Vote",
    "agreement",
    "cohen_kappa",
    "record_outcome",
    "visible_votes",
]


class Stage(StrEnum):
    """Screening stages, in order."""

    TITLE_ABSTRACT = "title_abstract"
    FULL_TEXT = "full_text"


class Decision(StrEnum):
    """A reviewer's vote."""

    INCLUDE = "include"
    EXCLUDE = "exclude"
    MAYBE = "maybe"


class ResolutionMethod(StrEnum):
    """How a conflict was settled."""

    DISCUSSION = "discussion"
    ARBITER = "arbiter"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Vote(_Frozen):
    """One reviewer's decision on one record at one stage. ``simulated`` marks example data."""

    record_id: int
    stage: Stage
    reviewer: str
    decision: Decision
    reason: str | None = None  # exclusion-reason code (full text)
    note: str | None = Field(default=None, max_length=2000)
    at: dt.datetime | None = None
    simulated: bool = False


class Resolution(_Frozen):
    """The settled decision on a conflict, who settled it, how and why."""

    record_id: int
    stage: Stage
    decision: Decision
    reason: str | None = None  # exclusion-reason code when the decision is exclude
    method: ResolutionMethod
    by: str
    why: str = Field(min_length=1, max_length=2000)
    at: dt.datetime | None = None
    simulated: bool = False


class Status(StrEnum):
    """Where a record stands at a stage."""

    AWAITING = "awaiting"  # fewer votes than required
    CONFLICT = "conflict"
    INCLUDED = "included"
    EXCLUDED = "excluded"


@dataclass(frozen=True)
class Outcome:
    """A record's status at a stage, and the exclusion reason when excluded at full text."""

    status: Status
    reason: str | None = None
    conflict: str | None = None  # what the reviewers disagree on
    resolved: bool = False


def _yes(decision: Decision) -> bool:
    return decision is not Decision.EXCLUDE


def record_outcome(
    votes: Sequence[Vote], resolution: Resolution | None = None, *, required: int = 2
) -> Outcome:
    """The outcome of one record at one stage from its votes (and resolution, if any)."""
    if resolution is not None:
        status = Status.EXCLUDED if resolution.decision is Decision.EXCLUDE else Status.INCLUDED
        return Outcome(status, resolution.reason, resolved=True)
    latest: dict[str, Vote] = {}
    for v in votes:
        latest[v.reviewer] = v
    if len(latest) < required:
        return Outcome(Status.AWAITING)
    cast = list(latest.values())
    yes = {_yes(v.decision) for v in cast}
    if len(yes) > 1:
        return Outcome(Status.CONFLICT, conflict="include vs exclude")
    if yes == {True}:
        return Outcome(Status.INCLUDED)
    reasons = {v.reason for v in cast}
    if len(reasons) > 1:
        return Outcome(
            Status.CONFLICT,
            conflict="exclusion reasons differ: " + " vs ".join(sorted(str(r) for r in reasons)),
        )
    return Outcome(Status.EXCLUDED, reasons.pop())


def visible_votes(votes: Sequence[Vote], viewer: str, *, required: int = 2) -> list[Vote]:
    """The votes on one record at one stage that ``viewer`` may see.

    Until ``required`` reviewers have voted, only the viewer's own vote; afterwards all of them.
    """
    reviewers = {v.reviewer for v in votes}
    if len(reviewers) >= required:
        return list(votes)
    return [v for v in votes if v.reviewer == viewer]


# --------------------------------------------------------------------------- agreement


@dataclass(frozen=True)
class Agreement:
    """Agreement of two reviewers at one stage over the ``n`` records both decided."""

    stage: Stage
    reviewer_a: str
    reviewer_b: str
    n: int
    percent_agreement: float
    kappa: float
    se: float
    ci_low: float
    ci_high: float
    categories: tuple[str, ...]
    table: tuple[tuple[int, ...], ...]  # rows: reviewer_a, columns: reviewer_b


def cohen_kappa(
    pairs: Sequence[tuple[str, str]],
    categories: Sequence[str] | None = None,
    *,
    level: float = 0.95,
) -> tuple[float, float, float, float, float, tuple[tuple[int, ...], ...]]:
    """Cohen's kappa of paired ratings, its standard error and CI, and the percent agreement.

    Returns ``(kappa, se, ci_low, ci_high, percent_agreement, table)``.
    κ = (p_o − p_e)/(1 − p_e) [COHEN1960]; the large-sample variance is that of Fleiss,
    Cohen & Everitt (1969) [FLEISS1969]:
    var = [Σ_i p_ii (1 − (p_i. + p_.i)(1 − κ))² + (1 − κ)² Σ_{i≠j} p_ij (p_.i + p_j.)²
    − (κ − p_e (1 − κ))²] / (n (1 − p_e)²), the variance ``psych::cohen.kappa`` reports;
    the CI is κ ± z·SE. With perfect chance agreement (p_e = 1) κ is undefined (NaN).
    """
    if not pairs:
        raise ValueError("kappa needs at least one record rated by both reviewers")
    cats = list(categories) if categories is not None else sorted({c for p in pairs for c in p})
    index = {c: i for i, c in enumerate(cats)}
    k = len(cats)
    counts = [[0] * k for _ in range(k)]
    for a, b in pairs:
        counts[index[a]][index[b]] += 1
    n = len(pairs)
    p = [[counts[i][j] / n for j in range(k)] for i in range(k)]
    row = [sum(p[i]) for i in range(k)]
    col = [sum(p[i][j] for i in range(k)) for j in range(k)]
    po = sum(p[i][i] for i in range(k))
    pe = sum(row[i] * col[i] for i in range(k))
    table = tuple(tuple(r) for r in counts)
    if math.isclose(pe, 1.0):
        nan = float("nan")
        return nan, nan, nan, nan, 100 * po, table
    kappa = (po - pe) / (1 - pe)
    term1 = sum(p[i][i] * (1 - (row[i] + col[i]) * (1 - kappa)) ** 2 for i in range(k))
    term2 = (1 - kappa) ** 2 * sum(
        p[i][j] * (col[i] + row[j]) ** 2 for i in range(k) for j in range(k) if i != j
    )
    term3 = (kappa - pe * (1 - kappa)) ** 2
    var = max((term1 + term2 - term3) / (n * (1 - pe) ** 2), 0.0)
    se = math.sqrt(var)
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    return kappa, se, kappa - z * se, kappa + z * se, 100 * po, table


def agreement(
    votes: Iterable[Vote], stage: Stage, *, maybe_as_include: bool = True
) -> list[Agreement]:
    """Kappa and percent agreement for every pair of reviewers who both voted at ``stage``.

    At title/abstract, "maybe" counts as include (``maybe_as_include=False`` keeps three
    categories). Only each reviewer's latest vote on a record counts.
    """
    latest: dict[tuple[int, str], Decision] = {}
    for v in votes:
        if v.stage is stage:
            latest[(v.record_id, v.reviewer)] = v.decision
    reviewers = sorted({r for _, r in latest})
    if stage is Stage.TITLE_ABSTRACT and not maybe_as_include:
        cats: tuple[str, ...] = ("include", "maybe", "exclude")
    else:
        cats = ("include", "exclude")

    def label(d: Decision) -> str:
        if d is Decision.MAYBE and (maybe_as_include or stage is Stage.FULL_TEXT):
            return "include"
        return d.value

    out = []
    for i, a in enumerate(reviewers):
        for b in reviewers[i + 1 :]:
            pairs = [
                (label(latest[(rid, a)]), label(latest[(rid, b)]))
                for (rid, r) in sorted(latest)
                if r == a and (rid, b) in latest
            ]
            if not pairs:
                continue
            kappa, se, lo, hi, pct, table = cohen_kappa(pairs, cats)
            out.append(Agreement(stage, a, b, len(pairs), pct, kappa, se, lo, hi, cats, table))
    return out
