"""Risk of bias: RoB 2 for randomised trials, ROBINS-I for non-randomised studies.

RoB 2 (version of 22 August 2019) [ROB2_2019]: each domain's signalling questions are answered
Y / PY / PN / N / NI (NA for a conditional question that does not apply); the published decision
diagram of each domain maps the answers to a *proposed* judgement (Low / Some concerns / High),
which the reviewer may override with a written reason. The overall proposal is the worst
domain; RoB 2's second route to an overall High ("some concerns for multiple domains in a way
that substantially lowers confidence in the result") is a judgement, so it is an override with a
reason, never automatic (review-reference §3.1: the crossover "reference implementation" that
hard-codes "≥ 2 Some concerns → High" differs from the guidance).

The signalling questions are stored by identifier with a short paraphrase of pedbone's own: the
official text is CC BY-NC-ND 4.0 and is not shipped (review-reference §3.1).

ROBINS-I (2016) [ROBINSI_2016]: seven domains judged Low / Moderate / Serious / Critical / No
information by the reviewers (the 2016 tool has no algorithms); the overall judgement follows the
tool's summary table: Low only if low in every domain; Moderate if low or moderate in every
domain; Serious if serious in at least one domain and critical in none; Critical if critical in at
least one; No information if no domain is serious or critical and information is lacking in one
or more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "ROB2_DOMAINS",
    "ROB2_QUESTIONS",
    "ROB2_VERSION",
    "ROBINS_I_DOMAINS",
    "Answer",
    "DomainAssessment",
    "Rob2Assessment",
    "Rob2Domain",
    "Rob2Judgement",
    "RobError",
    "RobinsJudgement",
    "rob2_domain",
    "rob2_overall",
    "robins_i_overall",
]

#: The RoB 2 version whose diagrams are encoded here.
ROB2_VERSION = "RoB 2, 22 August 2019 [ROB2_2019]"


class RobError(ValueError):
    """Answers that the decision diagram cannot use (missing or not allowed), with the question."""


class Answer(StrEnum):
    """Responses to a signalling question."""

    Y = "Y"  # yes
    PY = "PY"  # probably yes
    PN = "PN"  # probably no
    N = "N"  # no
    NI = "NI"  # no information
    NA = "NA"  # not applicable (conditional questions only)


class Rob2Judgement(StrEnum):
    LOW = "low"
    SOME_CONCERNS = "some_concerns"
    HIGH = "high"


class Rob2Domain(StrEnum):
    RANDOMISATION = "D1"
    DEVIATIONS_ASSIGNMENT = "D2_assignment"  # effect of assignment to intervention (ITT)
    DEVIATIONS_ADHERENCE = "D2_adherence"  # effect of adhering to intervention (per protocol)
    MISSING_DATA = "D3"
    MEASUREMENT = "D4"
    SELECTION = "D5"


#: The five domains of one assessment: D2 is either the assignment or the adherence variant.
ROB2_DOMAINS = (
    Rob2Domain.RANDOMISATION,
    Rob2Domain.DEVIATIONS_ASSIGNMENT,
    Rob2Domain.DEVIATIONS_ADHERENCE,
    Rob2Domain.MISSING_DATA,
    Rob2Domain.MEASUREMENT,
    Rob2Domain.SELECTION,
)

#: Signalling questions by identifier, with pedbone's own short paraphrase (not the official
#: wording, which is CC BY-NC-ND).
ROB2_QUESTIONS: Mapping[Rob2Domain, Mapping[str, str]] = {
    Rob2Domain.RANDOMISATION: {
        "1.1": "allocation sequence random",
        "1.2": "allocation concealed until assignment",
        "1.3": "baseline imbalances suggesting a problem with randomisation",
    },
    Rob2Domain.DEVIATIONS_ASSIGNMENT: {
        "2.1": "participants aware of their assigned intervention",
        "2.2": "carers/deliverers aware of the assignment",
        "2.3": "deviations from intended intervention because of the trial context",
        "2.4": "those deviations likely to have affected the outcome",
        "2.5": "those deviations balanced between groups",
        "2.6": "analysis appropriate to estimate the effect of assignment",
        "2.7": "potential for substantial impact of analysing in the wrong group",
    },
    Rob2Domain.DEVIATIONS_ADHERENCE: {
        "2.1": "participants aware of their assigned intervention",
        "2.2": "carers/deliverers aware of the assignment",
        "2.3": "important non-protocol interventions balanced between groups",
        "2.4": "failures in implementing the intervention that could affect the outcome",
        "2.5": "non-adherence that could affect the outcome",
        "2.6": "analysis appropriate to estimate the effect of adhering",
    },
    Rob2Domain.MISSING_DATA: {
        "3.1": "outcome data available for (nearly) all participants",
        "3.2": "evidence that the result is not biased by missing data",
        "3.3": "missingness could depend on the true value",
        "3.4": "missingness likely depends on the true value",
    },
    Rob2Domain.MEASUREMENT: {
        "4.1": "method of measuring the outcome inappropriate",
        "4.2": "measurement could differ between groups",
        "4.3": "outcome assessors aware of the intervention received",
        "4.4": "assessment could be influenced by that knowledge",
        "4.5": "assessment likely influenced by that knowledge",
    },
    Rob2Domain.SELECTION: {
        "5.1": "analysis per a pre-specified plan finalised before unblinded data",
        "5.2": "result selected from multiple eligible outcome measurements",
        "5.3": "result selected from multiple eligible analyses",
    },
}

_YES = frozenset({Answer.Y, Answer.PY})
_NO = frozenset({Answer.N, Answer.PN})

_L, _S, _H = Rob2Judgement.LOW, Rob2Judgement.SOME_CONCERNS, Rob2Judgement.HIGH
_ORDER = {_L: 0, _S: 1, _H: 2}


class _Answers:
    """Answers of one domain, read question by question so a missing one names itself."""

    def __init__(self, domain: Rob2Domain, answers: Mapping[str, Answer | str]) -> None:
        self.domain = domain
        known = ROB2_QUESTIONS[domain]
        self._a: dict[str, Answer] = {}
        for q, a in answers.items():
            if q not in known:
                raise RobError(f"{domain.value}: no signalling question {q!r} in RoB 2")
            try:
                self._a[q] = Answer(str(a).strip().upper())
            except ValueError:
                raise RobError(
                    f"{domain.value} {q}: {a!r} is not an answer (Y, PY, PN, N, NI, NA)"
                ) from None

    def __call__(self, q: str, *, na_allowed: bool = False) -> Answer:
        if q not in self._a:
            raise RobError(
                f"{self.domain.value}: answer question {q} ({ROB2_QUESTIONS[self.domain][q]})"
            )
        a = self._a[q]
        if a is Answer.NA and not na_allowed:
            raise RobError(f"{self.domain.value} {q}: NA is not allowed for this question here")
        return a


def _d1(a: _Answers) -> Rob2Judgement:
    q12 = a("1.2")
    if q12 in _NO:
        return _H
    if q12 in _YES:
        if a("1.1") in _NO:
            return _S
        return _S if a("1.3") in _YES else _L
    # 1.2 NI
    return _H if a("1.3") in _YES else _S


def _d2_assignment(a: _Answers) -> Rob2Judgement:
    part1: Rob2Judgement
    if a("2.1") in _NO and a("2.2") in _NO:
        part1 = _L
    else:
        q23 = a("2.3")
        if q23 in _NO:
            part1 = _L
        elif q23 is Answer.NI or a("2.4") in _NO:
            part1 = _S
        else:
            part1 = _S if a("2.5") in _YES else _H
    part2 = _L if a("2.6") in _YES else _S if a("2.7") in _NO else _H
    return max(part1, part2, key=_ORDER.__getitem__)


def _d2_adherence(a: _Answers) -> Rob2Judgement:
    check_implementation: bool
    if a("2.1") in _NO and a("2.2") in _NO:
        check_implementation = True
    else:
        check_implementation = a("2.3", na_allowed=True) in (_YES | {Answer.NA})
    if check_implementation:
        q24 = a("2.4", na_allowed=True)
        q25 = a("2.5", na_allowed=True)
        fine = _NO | {Answer.NA}
        if q24 in fine and q25 in fine:
            return _L
    return _S if a("2.6") in _YES else _H


def _d3(a: _Answers) -> Rob2Judgement:
    if a("3.1") in _YES:
        return _L
    if a("3.2") in _YES:
        return _L
    if a("3.3") in _NO:
        return _L
    return _S if a("3.4") in _NO else _H


def _d4(a: _Answers) -> Rob2Judgement:
    if a("4.1") in _YES:
        return _H
    q42 = a("4.2")
    if q42 in _YES:
        return _H
    # 4.2 N/PN, or NI: the same chain, where NI turns every Low into Some concerns.
    low = _L if q42 in _NO else _S
    if a("4.3") in _NO:
        return low
    if a("4.4") in _NO:
        return low
    return _S if a("4.5") in _NO else _H


def _d5(a: _Answers) -> Rob2Judgement:
    q52, q53 = a("5.2"), a("5.3")
    if q52 in _YES or q53 in _YES:
        return _H
    if Answer.NI in (q52, q53):
        return _S
    return _L if a("5.1") in _YES else _S


_DIAGRAMS = {
    Rob2Domain.RANDOMISATION: _d1,
    Rob2Domain.DEVIATIONS_ASSIGNMENT: _d2_assignment,
    Rob2Domain.DEVIATIONS_ADHERENCE: _d2_adherence,
    Rob2Domain.MISSING_DATA: _d3,
    Rob2Domain.MEASUREMENT: _d4,
    Rob2Domain.SELECTION: _d5,
}


def rob2_domain(domain: Rob2Domain | str, answers: Mapping[str, Answer | str]) -> Rob2Judgement:
    """The judgement the domain's published decision diagram proposes for these answers.

    Only the questions the diagram reaches are needed; a missing one raises :class:`RobError`
    naming it. Answers are the strings ``Y PY PN N NI NA`` (any case).
    """
    d = Rob2Domain(domain)
    return _DIAGRAMS[d](_Answers(d, answers))


@dataclass(frozen=True, slots=True)
class DomainAssessment:
    """One domain: the answers, the proposal, and the reviewer's override (with its reason)."""

    domain: Rob2Domain
    answers: Mapping[str, Answer | str]
    override: Rob2Judgement | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.override is not None and not self.reason.strip():
            raise RobError(f"{self.domain.value}: an override needs a written reason")

    @property
    def proposed(self) -> Rob2Judgement:
        return rob2_domain(self.domain, self.answers)

    @property
    def judgement(self) -> Rob2Judgement:
        return self.override if self.override is not None else self.proposed


@dataclass(frozen=True, slots=True)
class Rob2Assessment:
    """A result's RoB 2 assessment: five domains (D2 in one of its two variants)."""

    domains: tuple[DomainAssessment, ...]
    overall_override: Rob2Judgement | None = None
    overall_reason: str = ""
    version: str = field(default=ROB2_VERSION)

    def __post_init__(self) -> None:
        got = [d.domain for d in self.domains]
        d2 = [d for d in got if d.value.startswith("D2")]
        others = {d for d in got if not d.value.startswith("D2")}
        expected = {
            Rob2Domain.RANDOMISATION,
            Rob2Domain.MISSING_DATA,
            Rob2Domain.MEASUREMENT,
            Rob2Domain.SELECTION,
        }
        if len(d2) != 1 or others != expected or len(got) != 5:
            raise RobError("a RoB 2 assessment has D1, one D2 variant, D3, D4 and D5, once each")
        if self.overall_override is not None and not self.overall_reason.strip():
            raise RobError("overall: an override needs a written reason")

    @property
    def proposed_overall(self) -> Rob2Judgement:
        return rob2_overall([d.judgement for d in self.domains])

    @property
    def overall(self) -> Rob2Judgement:
        return self.overall_override if self.overall_override is not None else self.proposed_overall


def rob2_overall(judgements: list[Rob2Judgement] | tuple[Rob2Judgement, ...]) -> Rob2Judgement:
    """Low if low in every domain; High if high in any; otherwise Some concerns [ROB2_2019].

    The guidance's second route to High (several domains with some concerns that together
    substantially lower confidence) is the reviewer's call: record it as an override.
    """
    if not judgements:
        raise RobError("no domain judgements")
    return max((Rob2Judgement(j) for j in judgements), key=_ORDER.__getitem__)


class RobinsJudgement(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    SERIOUS = "serious"
    CRITICAL = "critical"
    NO_INFORMATION = "no_information"


#: The seven ROBINS-I (2016) domains [ROBINSI_2016].
ROBINS_I_DOMAINS = (
    "confounding",
    "selection of participants",
    "classification of interventions",
    "deviations from intended interventions",
    "missing data",
    "measurement of outcomes",
    "selection of the reported result",
)


def robins_i_overall(judgements: Mapping[str, RobinsJudgement | str]) -> RobinsJudgement:
    """The overall ROBINS-I judgement from the seven domain judgements [ROBINSI_2016]."""
    missing = [d for d in ROBINS_I_DOMAINS if d not in judgements]
    extra = [d for d in judgements if d not in ROBINS_I_DOMAINS]
    if missing or extra:
        raise RobError(f"ROBINS-I domains: missing {missing}, unknown {extra}")
    js = {RobinsJudgement(str(v)) for v in judgements.values()}
    if RobinsJudgement.CRITICAL in js:
        return RobinsJudgement.CRITICAL
    if RobinsJudgement.SERIOUS in js:
        return RobinsJudgement.SERIOUS
    if RobinsJudgement.NO_INFORMATION in js:
        return RobinsJudgement.NO_INFORMATION
    if RobinsJudgement.MODERATE in js:
        return RobinsJudgement.MODERATE
    return RobinsJudgement.LOW
