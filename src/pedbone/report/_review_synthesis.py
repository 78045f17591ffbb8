"""Part 2 of a review as a file: studies, effects, risk of bias, harms, GRADE — loaded and computed.

A *synthesis file* (YAML, ``format: pedbone-review-synthesis``) holds what the reviewers
extracted and judged after screening. :func:`load_synthesis` validates it (a bad field is named
with its path) and computes everything the report shows with ``pedbone.review``'s domain
functions: the effect of each study where its numbers allow (each derivation named), the pooling
decision per comparison, SWiM vote counting with the sign test, pooled harm proportions (first
infusion apart from later ones), RoB 2 proposals from the signalling answers, ROBINS-I overall
judgements and GRADE certainty. Nothing is filled in: a study without the numbers enters by its
direction or is listed as not extractable.

The bundled example (:func:`example_synthesis`) holds only numbers of pedbone's domain digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pedbone.evidence import rma
from pedbone.review.synthesis import (
    ROBINS_I_DOMAINS,
    Direction,
    GradeResult,
    PoolingDecision,
    ProportionPool,
    Rob2Domain,
    Rob2Judgement,
    RobError,
    RobinsJudgement,
    Scale,
    StudyEffect,
    VoteCount,
    grade,
    pool_proportions,
    pooling_decision,
    rob2_domain,
    rob2_overall,
    robins_i_overall,
    vote_count,
)

__all__ = [
    "SYNTHESIS_FORMAT",
    "ComparisonResult",
    "EffectRow",
    "HarmResult",
    "RobRow",
    "Synthesis",
    "SynthesisFileError",
    "example_synthesis",
    "example_synthesis_data",
    "load_synthesis",
    "synthesis_from_mapping",
    "with_practice_data",
]

SYNTHESIS_FORMAT = "pedbone-review-synthesis"
#: Normal quantile for a 95 % CI → SE (large-sample rule, Cochrane Handbook §6.3.1 [COCHRANE_HB6]).
_Z95 = 1.959963984540054


class SynthesisFileError(ValueError):
    """A synthesis file that cannot be used (the message names the field and why)."""


# --------------------------------------------------------------------------- file schema


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Study(_M):
    id: str = Field(min_length=1, max_length=120)
    design: str = Field(min_length=1, max_length=300)
    randomised: bool
    population: str = ""
    participants: str = ""
    intervention: str = ""
    comparator: str = ""
    n: str = ""
    follow_up: str = ""
    sources: tuple[str, ...] = ()
    note: str = ""
    harms_only: bool = False


class _NotExtractable(_M):
    study: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class _Arms(_M):
    m1: float
    m2: float
    se1: float | None = Field(default=None, gt=0)
    se2: float | None = Field(default=None, gt=0)
    sd1: float | None = Field(default=None, gt=0)
    sd2: float | None = Field(default=None, gt=0)
    n1: int | None = Field(default=None, ge=1)
    n2: int | None = Field(default=None, ge=1)


class _Contrast(_M):
    md: float
    ci_lb: float
    ci_ub: float


class _Effect(_M):
    study: str = Field(min_length=1)
    measure: str = Field(min_length=1)
    scale: Scale
    timepoint_months: float | None = Field(default=None, gt=0, le=600)
    drug: str = ""
    arms: _Arms | None = None
    contrast: _Contrast | None = None
    direction: Direction | None = None
    source: str = ""


class _Comparison(_M):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    outcome: str = Field(min_length=1)
    higher_is_better: bool = True
    effects: tuple[_Effect, ...] = Field(min_length=1)


class _DirectionCell(_M):
    direction: Direction
    note: str = ""
    source: str = ""


class _DirectionOutcome(_M):
    outcome: str = Field(min_length=1)
    rows: dict[str, _DirectionCell]


class _HarmCount(_M):
    study: str = Field(min_length=1)
    infusion: Literal["first", "later", "any"]
    events: int = Field(ge=0)
    total: int = Field(ge=1)
    note: str = ""
    source: str = ""


class _Harm(_M):
    harm: str = Field(min_length=1)
    rows: tuple[_HarmCount, ...] = Field(min_length=1)


class _HarmNote(_M):
    study: str
    note: str
    source: str = ""


class _RobDomain(_M):
    answers: dict[str, str] = Field(default_factory=dict)
    override: Rob2Judgement | None = None
    reason: str = ""


class _RobinsDomain(_M):
    judgement: RobinsJudgement
    reason: str = Field(min_length=1)


class _PracticeData(_M):
    """The clinic's own treated cohort (``pedbone.store.clinic_cohort_row``): practice data."""

    study: str = Field(min_length=1)
    n: int = Field(ge=0)
    follow_up_months: float = Field(gt=0)
    n_z: int = Field(ge=0)
    z_change_mean: float | None = None
    z_change_sd: float | None = Field(default=None, ge=0)
    children_with_fracture: int = Field(ge=0)
    fractures: int = Field(ge=0)
    notes: tuple[str, ...] = ()
    simulated: bool = False
    harms: tuple[_HarmCount, ...] = ()


class _Grade(_M):
    outcome: str = Field(min_length=1)
    randomised: bool
    studies: int = Field(ge=1)
    down: dict[str, tuple[int, str]] = Field(default_factory=dict)
    up: dict[str, tuple[int, str]] = Field(default_factory=dict)


class _File(_M):
    format: Literal["pedbone-review-synthesis"]
    version: Literal[1] = 1
    review: str = ""
    simulated_judgements: bool = False
    studies: tuple[_Study, ...] = Field(min_length=1)
    not_extractable: tuple[_NotExtractable, ...] = ()
    comparisons: tuple[_Comparison, ...] = ()
    directions: tuple[_DirectionOutcome, ...] = ()
    harms: tuple[_Harm, ...] = ()
    harms_without_counts: tuple[_HarmNote, ...] = ()
    rob2: dict[str, dict[str, _RobDomain]] = Field(default_factory=dict)
    robins_i: dict[str, dict[str, _RobinsDomain]] = Field(default_factory=dict)
    grade: tuple[_Grade, ...] = ()
    practice_data: tuple[_PracticeData, ...] = ()
    references: tuple[str, ...] = ()


# --------------------------------------------------------------------------- computed view


@dataclass(frozen=True, slots=True)
class EffectRow:
    study: str
    measure: str
    scale: str
    timepoint: str
    drug: str
    yi: float | None
    vi: float | None
    direction: Direction
    method: str  # how yi/vi were obtained, or why not
    source: str


@dataclass(frozen=True, slots=True)
class ComparisonResult:
    id: str
    title: str
    outcome: str
    rows: tuple[EffectRow, ...]
    decision: PoolingDecision
    vote: VoteCount
    pooled_text: str  # the meta-analysis result when pooled, else ""
    effects: tuple[StudyEffect, ...]


@dataclass(frozen=True, slots=True)
class HarmResult:
    harm: str
    infusion: str  # "first", "later", "any"
    k: int
    events: int
    total: int
    pool: ProportionPool | None  # None for a single study (its own proportion is shown)
    studies: tuple[str, ...]

    @property
    def proportion(self) -> float:
        return self.pool.proportion if self.pool is not None else self.events / self.total


@dataclass(frozen=True, slots=True)
class RobRow:
    study: str
    tool: str  # "RoB 2" or "ROBINS-I"
    domains: tuple[str, ...]
    judgements: tuple[str | None, ...]  # None: not assessed
    reasons: tuple[str, ...]
    overall: str | None  # None until every domain is assessed


@dataclass(frozen=True, slots=True)
class Synthesis:
    """Everything the review report shows after screening (computed on load)."""

    review: str
    simulated_judgements: bool
    studies: tuple[_Study, ...]
    not_extractable: tuple[_NotExtractable, ...]
    comparisons: tuple[ComparisonResult, ...]
    directions: tuple[_DirectionOutcome, ...]
    harms: tuple[HarmResult, ...]
    harm_rows: tuple[_Harm, ...]
    harms_without_counts: tuple[_HarmNote, ...]
    rob2: tuple[RobRow, ...]
    robins_i: tuple[RobRow, ...]
    grade: tuple[tuple[GradeResult, int], ...]
    references: tuple[str, ...]
    practice_data: tuple[_PracticeData, ...] = ()

    def most_frequent_harm(self) -> HarmResult | None:
        """The harm at the first infusion reported by the most studies (then most children)."""
        first = [h for h in self.harms if h.infusion == "first"]
        if not first:
            return None
        return max(first, key=lambda h: (h.k, h.events))


def _effect_row(e: _Effect, higher_is_better: bool) -> tuple[EffectRow, StudyEffect]:
    yi: float | None = None
    vi: float | None = None
    if e.arms is not None and e.contrast is not None:
        raise SynthesisFileError(f"{e.study}: give arms or a contrast, not both")
    a = e.arms
    if a is not None:
        yi = a.m1 - a.m2
        if a.se1 is not None and a.se2 is not None:
            vi = a.se1**2 + a.se2**2
            method = "mean difference from arm means ± SE: vi = SE1² + SE2²"
        elif None not in (a.sd1, a.sd2, a.n1, a.n2):
            assert a.sd1 is not None
            assert a.sd2 is not None
            assert a.n1 is not None
            assert a.n2 is not None
            vi = a.sd1**2 / a.n1 + a.sd2**2 / a.n2
            method = "mean difference from arm means ± SD: vi = SD1²/n1 + SD2²/n2"
        else:
            missing = "arm sizes" if a.sd1 is not None else "SDs or SEs"
            method = f"difference of arm means only ({missing} not reported): direction only"
    elif e.contrast is not None:
        c = e.contrast
        if not c.ci_lb < c.md < c.ci_ub:
            raise SynthesisFileError(f"{e.study}: the CI must contain the estimate")
        yi = c.md
        se = (c.ci_ub - c.ci_lb) / (2 * _Z95)
        vi = se**2
        method = "reported difference; SE = (upper − lower) / (2 × 1.96) [COCHRANE_HB6]"
    else:
        method = (
            "direction as reported (no values)"
            if e.direction is not None
            else "no values and no direction reported"
        )
    effect = StudyEffect(
        study=e.study,
        outcome="",  # filled by the caller
        scale=e.scale,
        timepoint_months=e.timepoint_months,
        drug=e.drug,
        yi=yi,
        vi=vi,
        direction=e.direction if yi is None else None,
    )
    if yi is None and e.direction is None:
        direction = Direction.UNCLEAR
    elif yi is None:
        assert e.direction is not None
        direction = e.direction
    elif yi == 0:
        direction = Direction.UNCLEAR
    else:
        direction = Direction.BENEFIT if (yi > 0) == higher_is_better else Direction.HARM
    row = EffectRow(
        study=e.study,
        measure=e.measure,
        scale=e.scale.value.replace("_", " "),
        timepoint="not reported" if e.timepoint_months is None else f"{e.timepoint_months:g} mo",
        drug=e.drug,
        yi=yi,
        vi=vi,
        direction=direction,
        method=method,
        source=e.source,
    )
    return row, effect


def _comparison(c: _Comparison, populations: dict[str, str]) -> ComparisonResult:
    rows: list[EffectRow] = []
    effects: list[StudyEffect] = []
    for e in c.effects:
        row, eff = _effect_row(e, c.higher_is_better)
        rows.append(row)
        effects.append(
            StudyEffect(
                study=eff.study,
                outcome=c.outcome,
                scale=eff.scale,
                timepoint_months=eff.timepoint_months,
                population=populations.get(eff.study, ""),
                drug=eff.drug,
                yi=eff.yi,
                vi=eff.vi,
                direction=eff.direction,
            )
        )
    decision = pooling_decision(effects)
    votes = vote_count(effects, higher_is_better=c.higher_is_better)
    pooled = ""
    if decision.pool:
        yi = [e.yi for e in effects if e.yi is not None]
        vi = [e.vi for e in effects if e.vi is not None]
        res = rma(yi, vi, method="REML")
        est, lb, ub = (float(np.ravel(v)[0]) for v in (res.beta, res.ci_lb, res.ci_ub))
        pooled = (
            f"random-effects (REML) estimate {est:.2f} (95 % CI {lb:.2f} to {ub:.2f}), "
            f"k = {len(yi)}"
        )
    return ComparisonResult(
        c.id, c.title, c.outcome, tuple(rows), decision, votes, pooled, tuple(effects)
    )


def _harms(harms: tuple[_Harm, ...]) -> tuple[HarmResult, ...]:
    out: list[HarmResult] = []
    for h in harms:
        for infusion in ("first", "later", "any"):
            rows = [r for r in h.rows if r.infusion == infusion]
            if not rows:
                continue
            events = [r.events for r in rows]
            totals = [r.total for r in rows]
            for r in rows:
                if r.events > r.total:
                    raise SynthesisFileError(f"{h.harm}, {r.study}: more events than children")
            pool = pool_proportions(events, totals, measure="PLO") if len(rows) > 1 else None
            out.append(
                HarmResult(
                    h.harm,
                    infusion,
                    len(rows),
                    sum(events),
                    sum(totals),
                    pool,
                    tuple(r.study for r in rows),
                )
            )
    return tuple(out)


_ROB2_ORDER = (
    Rob2Domain.RANDOMISATION,
    Rob2Domain.DEVIATIONS_ASSIGNMENT,
    Rob2Domain.MISSING_DATA,
    Rob2Domain.MEASUREMENT,
    Rob2Domain.SELECTION,
)


def _rob2(rob: dict[str, dict[str, _RobDomain]]) -> tuple[RobRow, ...]:
    out: list[RobRow] = []
    for study, domains in rob.items():
        judgements: list[str | None] = []
        reasons: list[str] = []
        labels: list[str] = []
        for d in _ROB2_ORDER:
            key = d.value
            given = domains.get(key)
            if given is None and d is Rob2Domain.DEVIATIONS_ASSIGNMENT:
                given = domains.get(Rob2Domain.DEVIATIONS_ADHERENCE.value)
                d = Rob2Domain.DEVIATIONS_ADHERENCE if given is not None else d
            labels.append(d.value.split("_")[0])
            if given is None:
                judgements.append(None)
                reasons.append("not assessed: no information in the sources held")
                continue
            try:
                proposed = rob2_domain(d, given.answers)
            except RobError as exc:
                raise SynthesisFileError(f"rob2, {study}, {d.value}: {exc}") from None
            if given.override is not None:
                if not given.reason.strip():
                    raise SynthesisFileError(f"rob2, {study}, {d.value}: override needs a reason")
                judgements.append(given.override.value)
                reasons.append(
                    f"proposed {proposed.value.replace('_', ' ')}, overridden: {given.reason}"
                )
            else:
                judgements.append(proposed.value)
                answers = ", ".join(f"{q} {a}" for q, a in sorted(given.answers.items()))
                reasons.append(f"{answers}: {given.reason}" if given.reason else answers)
        unknown = set(domains) - {d.value for d in Rob2Domain}
        if unknown:
            raise SynthesisFileError(f"rob2, {study}: unknown domains {sorted(unknown)}")
        overall = (
            rob2_overall([Rob2Judgement(j) for j in judgements if j is not None]).value
            if all(j is not None for j in judgements)
            else None
        )
        out.append(
            RobRow(study, "RoB 2", tuple(labels), tuple(judgements), tuple(reasons), overall)
        )
    return tuple(out)


def _robins(rob: dict[str, dict[str, _RobinsDomain]]) -> tuple[RobRow, ...]:
    out: list[RobRow] = []
    for study, domains in rob.items():
        unknown = set(domains) - set(ROBINS_I_DOMAINS)
        if unknown:
            raise SynthesisFileError(f"robins_i, {study}: unknown domains {sorted(unknown)}")
        judgements = tuple(
            domains[d].judgement.value if d in domains else None for d in ROBINS_I_DOMAINS
        )
        reasons = tuple(
            domains[d].reason if d in domains else "not assessed" for d in ROBINS_I_DOMAINS
        )
        overall = (
            robins_i_overall({d: domains[d].judgement for d in ROBINS_I_DOMAINS}).value
            if len(domains) == len(ROBINS_I_DOMAINS)
            else None
        )
        labels = tuple(f"D{i}" for i in range(1, len(ROBINS_I_DOMAINS) + 1))
        out.append(RobRow(study, "ROBINS-I", labels, judgements, reasons, overall))
    return tuple(out)


def _from_data(data: Any, where: str) -> Synthesis:
    try:
        f = _File.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise SynthesisFileError(
            f"{where}: {loc}: {first['msg']} ({exc.error_count()} problem(s))"
        ) from None
    ids = [s.id for s in f.studies]
    if len(ids) != len(set(ids)):
        raise SynthesisFileError(f"{where}: studies: each id may appear once")
    known = set(ids)
    named = [e.study for c in f.comparisons for e in c.effects]
    named += [r.study for h in f.harms for r in h.rows]
    named += [s for d in f.directions for s in d.rows]
    named += list(f.rob2) + list(f.robins_i)
    for s in named:
        if s not in known:
            raise SynthesisFileError(f"{where}: {s!r} is not in studies")
    populations = {s.id: s.population for s in f.studies}
    try:
        comparisons = tuple(_comparison(c, populations) for c in f.comparisons)
        grades = tuple(
            (
                grade(g.outcome, randomised=g.randomised, down=dict(g.down), up=dict(g.up)),
                g.studies,
            )
            for g in f.grade
        )
        harms = _harms(f.harms)
    except SynthesisFileError as exc:
        raise SynthesisFileError(f"{where}: {exc}") from None
    except ValueError as exc:  # domain errors (GradeError, SynthesisError, RobError)
        raise SynthesisFileError(f"{where}: {exc}") from None
    return Synthesis(
        review=f.review,
        simulated_judgements=f.simulated_judgements,
        studies=f.studies,
        not_extractable=f.not_extractable,
        comparisons=comparisons,
        directions=f.directions,
        harms=harms,
        harm_rows=f.harms,
        harms_without_counts=f.harms_without_counts,
        rob2=_rob2(f.rob2),
        robins_i=_robins(f.robins_i),
        grade=grades,
        references=f.references,
        practice_data=f.practice_data,
    )


def load_synthesis(source: str | Path) -> Synthesis:
    """Load and compute a synthesis file (a path, or YAML text when ``source`` is a str
    containing a newline)."""
    if isinstance(source, Path) or "\n" not in source:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SynthesisFileError(f"{path.name}: cannot read ({exc.strerror})") from None
        where = path.name
    else:
        text, where = source, "synthesis"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise SynthesisFileError(f"{where}:{line} not valid YAML") from None
    if not isinstance(data, dict):
        raise SynthesisFileError(f"{where}: expected a mapping with format: {SYNTHESIS_FORMAT}")
    return _from_data(data, where)


def synthesis_from_mapping(data: Any, where: str = "synthesis") -> Synthesis:
    """Compute a synthesis from already-parsed data (e.g. a review file's extensions)."""
    if not isinstance(data, dict):
        raise SynthesisFileError(f"{where}: expected a mapping with format: {SYNTHESIS_FORMAT}")
    return _from_data(data, where)


def example_synthesis_data() -> dict[str, Any]:
    """The bundled example's synthesis file as parsed YAML (to extend before computing)."""
    text = (
        resources.files("pedbone.review")
        .joinpath("data/example/synthesis.yaml")
        .read_text(encoding="utf-8")
    )
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def example_synthesis() -> Synthesis:
    """The bundled example review's part 2 (numbers only from pedbone's domain digest)."""
    return _from_data(example_synthesis_data(), "example synthesis.yaml")


def with_practice_data(data: dict[str, Any], cohort: Any) -> dict[str, Any]:
    """``data`` (a parsed synthesis file) plus the clinic's cohort row
    (:class:`pedbone.store.ClinicCohortRow`): its study, harm rows and practice-data summary."""
    out = dict(data)
    parts = cohort.as_synthesis()
    out["studies"] = [*out.get("studies", []), parts["study"]]
    # Practice data stand beside the published series, never in their pooled proportions.
    harm_rows = [{**r, "note": h["harm"]} for h in parts["harms"] for r in h["rows"]]
    out["practice_data"] = [
        *out.get("practice_data", []),
        {
            "study": cohort.label,
            "n": cohort.n,
            "follow_up_months": cohort.follow_up_months,
            "n_z": cohort.n_z,
            "z_change_mean": cohort.z_change_mean,
            "z_change_sd": cohort.z_change_sd,
            "children_with_fracture": cohort.children_with_fracture,
            "fractures": cohort.fractures,
            "notes": list(cohort.notes),
            "simulated": cohort.simulated,
            "harms": harm_rows,
        },
    ]
    return out
