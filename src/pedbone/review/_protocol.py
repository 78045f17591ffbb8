"""A review protocol as data: question (PICO), eligibility, exclusion reasons, team, amendments.

The protocol is written in YAML (``pedbone review init`` writes a commented template), parsed
into frozen, validated models and versioned: :func:`amend` returns the next version with the
reason recorded, never an edited copy of the old one. Screening decisions and PRISMA counts
refer to the protocol's exclusion-reason codes and team usernames, so a protocol that could make
them ambiguous (duplicate codes, a member listed twice, no arbiter) is refused.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "Amendment",
    "Design",
    "Eligibility",
    "ExclusionReason",
    "Highlight",
    "Outcome",
    "Pico",
    "Protocol",
    "ProtocolError",
    "TeamMember",
    "TeamRole",
    "amend",
    "parse_protocol",
    "protocol_template",
    "protocol_to_yaml",
]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ProtocolError(ValueError):
    """A protocol file is broken; the message names the field and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Design(StrEnum):
    """Study designs an eligibility section may name (Cochrane Handbook design labels)."""

    RCT = "rct"
    QUASI_RCT = "quasi_rct"
    CCT = "cct"
    COHORT = "cohort"
    CASE_CONTROL = "case_control"
    CASE_SERIES = "case_series"
    CASE_REPORT = "case_report"


class TeamRole(StrEnum):
    """A reviewer screens; an arbiter settles conflicts (and may screen as well)."""

    REVIEWER = "reviewer"
    ARBITER = "arbiter"


class Pico(_Strict):
    """The review question."""

    population: str = Field(min_length=1)
    intervention: str = Field(min_length=1)
    comparator: str = Field(min_length=1)
    outcomes: str = Field(min_length=1)


class Outcome(_Strict):
    """One outcome of interest; ``harm`` outcomes may come from designs kept for harms only."""

    id: str
    label: str = Field(min_length=1)
    harm: bool = False

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"{value!r} must be lower-case letters, digits, '_' or '-'")
        return value


class Eligibility(_Strict):
    """Who, what and which designs are eligible. Ages are inclusive at both ends."""

    age_min_years: float = Field(default=0, ge=0, le=25)
    age_max_years: float = Field(default=18, gt=0, le=25)
    conditions: tuple[str, ...] = Field(min_length=1)
    designs: tuple[Design, ...] = Field(min_length=1)
    harms_only_designs: tuple[Design, ...] = ()
    interventions: tuple[str, ...] = Field(min_length=1)
    comparators: tuple[str, ...] = ()
    outcomes: tuple[Outcome, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Eligibility:
        if self.age_min_years > self.age_max_years:
            raise ValueError(
                f"age_min_years ({self.age_min_years:g}) is above age_max_years "
                f"({self.age_max_years:g})"
            )
        both = set(self.designs) & set(self.harms_only_designs)
        if both:
            raise ValueError(
                "designs listed both as eligible and as harms-only: "
                + ", ".join(sorted(d.value for d in both))
            )
        ids = [o.id for o in self.outcomes]
        if len(ids) != len(set(ids)):
            raise ValueError("outcome ids must be unique")
        return self


class ExclusionReason(_Strict):
    """A reason a full-text report may be excluded for (shown in the PRISMA diagram)."""

    code: str
    label: str = Field(min_length=1, max_length=120)

    @field_validator("code")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"{value!r} must be lower-case letters, digits, '_' or '-'")
        return value

    @field_validator("label")
    @classmethod
    def _no_separators(cls, value: str) -> str:
        # The PRISMA2020 CSV joins reasons as "Reason, n; Reason, n" (PRISMA2020 #77: a
        # malformed reason string silently corrupts the tallies), so a label may not carry ';'.
        if ";" in value:
            raise ValueError(f"{value!r} may not contain ';' (it separates reasons in PRISMA CSV)")
        return value.strip()


class TeamMember(_Strict):
    """A person on the review team, by pedbone username."""

    username: str = Field(min_length=1, max_length=64)
    role: TeamRole = TeamRole.REVIEWER


class Highlight(_Strict):
    """Terms highlighted on the screening page: green (include) and red (exclude) words."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


class Amendment(_Strict):
    """One change to the protocol: the version it produced, when, by whom and why."""

    version: int = Field(ge=2)
    date: dt.date
    author: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class Protocol(_Strict):
    """A systematic-review protocol (version ``version``; ``amendments`` lists how it got here)."""

    id: str
    title: str = Field(min_length=1, max_length=300)
    version: int = Field(default=1, ge=1)
    registration: str | None = None
    question: Pico
    eligibility: Eligibility
    exclusion_reasons: tuple[ExclusionReason, ...] = Field(min_length=1)
    team: tuple[TeamMember, ...] = Field(min_length=2)
    highlight: Highlight = Highlight()
    reviewers_per_record: int = Field(default=2, ge=1, le=2)
    amendments: tuple[Amendment, ...] = ()

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"{value!r} must be lower-case letters, digits, '_' or '-'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Protocol:
        codes = [r.code for r in self.exclusion_reasons]
        if len(codes) != len(set(codes)):
            raise ValueError("exclusion_reasons: codes must be unique")
        names = [m.username for m in self.team]
        if len(names) != len(set(names)):
            raise ValueError("team: each username may appear once")
        if not any(m.role is TeamRole.ARBITER for m in self.team):
            raise ValueError("team: name at least one arbiter (who settles conflicts)")
        screeners = [m for m in self.team if m.role is TeamRole.REVIEWER]
        if len(screeners) < self.reviewers_per_record:
            raise ValueError(
                f"team: {self.reviewers_per_record} reviewers screen each record, "
                f"but only {len(screeners)} have the reviewer role"
            )
        expected = list(range(2, self.version + 1))
        if [a.version for a in self.amendments] != expected:
            raise ValueError(
                f"amendments: version {self.version} needs one amendment for each of versions "
                f"{expected or 'none'}, in order"
            )
        return self

    def reason(self, code: str) -> ExclusionReason:
        """The exclusion reason with this code (:class:`ProtocolError` if unknown)."""
        for r in self.exclusion_reasons:
            if r.code == code:
                return r
        raise ProtocolError(
            f"exclusion reason {code!r} is not in the protocol; choose one of "
            + ", ".join(r.code for r in self.exclusion_reasons)
        )

    def role_of(self, username: str) -> TeamRole | None:
        """The username's role on the team, or ``None`` if not on it."""
        for m in self.team:
            if m.username == username:
                return m.role
        return None

    @property
    def reviewers(self) -> tuple[str, ...]:
        """Usernames with the reviewer role."""
        return tuple(m.username for m in self.team if m.role is TeamRole.REVIEWER)

    @property
    def arbiters(self) -> tuple[str, ...]:
        """Usernames with the arbiter role."""
        return tuple(m.username for m in self.team if m.role is TeamRole.ARBITER)


def _error_text(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "protocol"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_protocol(source: str | dict[str, Any]) -> Protocol:
    """Parse a protocol from YAML text or a mapping; :class:`ProtocolError` names each problem."""
    data: Any = source
    if isinstance(source, str):
        try:
            data = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ProtocolError(f"protocol is not valid YAML{where}: {exc}") from exc
    if not isinstance(data, dict):
        raise ProtocolError("protocol must be a YAML mapping (key: value lines)")
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(_error_text(exc)) from exc


def protocol_to_yaml(protocol: Protocol) -> str:
    """The protocol as YAML (comments of the template are not kept)."""
    return yaml.safe_dump(
        protocol.model_dump(mode="json", exclude_none=True), sort_keys=False, allow_unicode=True
    )


def amend(
    protocol: Protocol, changes: dict[str, Any], *, reason: str, author: str, on: dt.date
) -> Protocol:
    """The next version of ``protocol`` with ``changes`` applied and the amendment recorded.

    ``changes`` replaces top-level fields (``id``, ``version`` and ``amendments`` cannot be
    changed this way). The reason is required: an amendment without one is refused.
    """
    if not reason.strip():
        raise ProtocolError("an amendment needs a reason")
    forbidden = {"id", "version", "amendments"} & changes.keys()
    if forbidden:
        raise ProtocolError(f"an amendment cannot change {', '.join(sorted(forbidden))}")
    data = protocol.model_dump(mode="json")
    data.update(changes)
    data["version"] = protocol.version + 1
    data["amendments"] = [
        *data["amendments"],
        {
            "version": protocol.version + 1,
            "date": on.isoformat(),
            "author": author,
            "reason": reason.strip(),
        },
    ]
    return parse_protocol(data)


_TEMPLATE = """\
# pedbone systematic-review protocol (schema 1). Edit, then: pedbone review init --protocol FILE
# Lines starting with '#' are comments. Codes and ids: lower-case letters, digits, '_' or '-'.
id: {id}                      # short identifier of the review (used on the command line)
title: "{title}"
version: 1                    # raised by 'pedbone review amend'; never edit by hand
registration: null            # e.g. "PROSPERO CRD42..." once registered

question:                     # PICO
  population: >-
    Children and adolescents (0-18 years) with osteoporosis secondary to a chronic
    illness or its treatment
  intervention: "Bisphosphonates (any agent, dose or route)"
  comparator: "Placebo, no treatment, calcium and/or vitamin D, or another active treatment"
  outcomes: "Lumbar spine aBMD (percent change and Z-score change), fractures, harms"

eligibility:
  age_min_years: 0            # inclusive
  age_max_years: 18           # inclusive
  conditions:
    - secondary osteoporosis (chronic illness or its treatment, e.g. glucocorticoids, immobility)
  designs: [rct, quasi_rct, cct, cohort, case_control]   # eligible for all outcomes
  harms_only_designs: [case_series]                      # eligible for harm outcomes only
  interventions: [alendronate, risedronate, pamidronate, zoledronic acid, clodronate, neridronate]
  comparators: [placebo, no treatment, calcium, vitamin D, alfacalcidol]
  outcomes:
    - {{id: ls_abmd_pct, label: "Lumbar spine aBMD, percent change"}}
    - {{id: ls_abmd_z, label: "Lumbar spine aBMD Z-score, change"}}
    - {{id: fractures, label: "Fractures (vertebral and non-vertebral)"}}
    - {{id: harms, label: "Adverse events", harm: true}}

# Reasons offered when a full-text report is excluded; they appear in the PRISMA diagram.
exclusion_reasons:
  - {{code: wrong_population, label: "Wrong population (not children with secondary osteoporosis)"}}
  - {{code: adults, label: "Adults only or no paediatric results"}}
  - {{code: primary_osteoporosis, label: "Primary osteoporosis (e.g. osteogenesis imperfecta)"}}
  - {{code: wrong_intervention, label: "Not a bisphosphonate"}}
  - {{code: wrong_design, label: "Ineligible design"}}
  - {{code: no_outcome, label: "No eligible outcome reported"}}
  - {{code: duplicate_report, label: "Duplicate report of an included study"}}

# Team: pedbone usernames. Two reviewers screen every record independently; an arbiter
# settles conflicts. Being a clinician does not make someone a reviewer: only this list does.
team:
  - {{username: reviewer1, role: reviewer}}
  - {{username: reviewer2, role: reviewer}}
  - {{username: arbiter, role: arbiter}}
reviewers_per_record: 2

# Words highlighted on the screening page (case-insensitive).
highlight:
  include: [bisphosphonate, alendronate, risedronate, pamidronate, zoledronic, children,
            paediatric, pediatric, glucocorticoid]
  exclude: [adult, postmenopausal, osteogenesis imperfecta, rat, mice]

amendments: []                # filled in by 'pedbone review amend' (version, date, author, reason)
"""


def protocol_template(
    review_id: str = "bisphosphonates-secondary-op",
    title: str = "Bisphosphonates for children with secondary osteoporosis",
) -> str:
    """A commented YAML protocol that parses as it is (the seeds' question as an example)."""
    if not _SLUG.match(review_id):
        raise ProtocolError(f"id: {review_id!r} must be lower-case letters, digits, '_' or '-'")
    return _TEMPLATE.format(id=review_id, title=title.replace('"', "'"))
