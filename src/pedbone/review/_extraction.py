"""Dual independent data extraction: forms as data, field-by-field comparison, consensus.

An :class:`ExtractionForm` lists the fields a review extracts (study design, setting,
population and diagnosis mix, arms with drug, dose, route and schedule, n randomised / analysed,
follow-up, outcomes by site / measure / time point with whatever the report gives, harms by type
and grade). Two reviewers fill it independently (:class:`Extraction`); :func:`compare` lists
every field on which they differ; a :class:`ConsensusValue` records the agreed value with who
decided and why. Every value may carry where it was found in the report (page, table, figure).

Numbers are compared exactly after parsing (``1.50`` equals ``1.5``); text after trimming and
case-folding. A field left empty by one reviewer and filled by the other is a discrepancy.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "DEFAULT_FORM",
    "ConsensusValue",
    "Discrepancy",
    "Extraction",
    "ExtractionError",
    "ExtractionForm",
    "FieldKind",
    "FieldSpec",
    "Value",
    "compare",
    "consensus",
]


class ExtractionError(ValueError):
    """An extraction that does not fit its form (with the field)."""


class FieldKind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    INTEGER = "integer"
    CHOICE = "choice"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    key: str  # e.g. "arm1.n_randomised", "outcome.ls_abmd.z_change.12m.mean"
    label: str
    kind: FieldKind = FieldKind.TEXT
    choices: tuple[str, ...] = ()
    unit: str = ""


@dataclass(frozen=True, slots=True)
class ExtractionForm:
    name: str
    fields: tuple[FieldSpec, ...]

    def spec(self, key: str) -> FieldSpec:
        for f in self.fields:
            if f.key == key:
                return f
        raise ExtractionError(f"the form {self.name!r} has no field {key!r}")


def _f(
    key: str, label: str, kind: FieldKind = FieldKind.TEXT, *choices: str, unit: str = ""
) -> FieldSpec:
    return FieldSpec(key, label, kind, tuple(choices), unit)


_DESIGNS = ("RCT", "quasi-RCT", "CCT", "cohort", "case-control", "case series")
_ROUTES = ("oral", "intravenous")


def _arm(i: int) -> tuple[FieldSpec, ...]:
    p = f"arm{i}"
    return (
        _f(f"{p}.label", f"Arm {i}: label"),
        _f(f"{p}.drug", f"Arm {i}: drug (or placebo / control)"),
        _f(f"{p}.dose", f"Arm {i}: dose", unit="as reported"),
        _f(f"{p}.route", f"Arm {i}: route", FieldKind.CHOICE, *_ROUTES),
        _f(f"{p}.schedule", f"Arm {i}: schedule"),
        _f(f"{p}.n_randomised", f"Arm {i}: n randomised", FieldKind.INTEGER),
        _f(f"{p}.n_analysed", f"Arm {i}: n analysed", FieldKind.INTEGER),
    )


def _outcome(site: str, scale: str, arm: int) -> tuple[FieldSpec, ...]:
    p = f"outcome.{site}.{scale}.arm{arm}"
    label = f"{site} {scale.replace('_', ' ')}, arm {arm}"
    return tuple(
        _f(f"{p}.{stat}", f"{label}: {stat.replace('_', ' ')}", FieldKind.NUMBER)
        for stat in ("mean", "sd", "se", "ci_lb", "ci_ub", "median", "q1", "q3", "min", "max", "n")
    )


#: The form for the seed question (bisphosphonates for secondary osteoporosis in children).
DEFAULT_FORM = ExtractionForm(
    "bisphosphonates-secondary-osteoporosis",
    (
        _f("design", "Study design", FieldKind.CHOICE, *_DESIGNS),
        _f("setting", "Setting (country, centres)"),
        _f("population", "Population and diagnosis mix"),
        _f("age_range", "Age range (years)"),
        _f("follow_up_months", "Follow-up", FieldKind.NUMBER, unit="months"),
        *_arm(1),
        *_arm(2),
        _f("outcome.timepoint_months", "Outcome time point", FieldKind.NUMBER, unit="months"),
        *_outcome("ls_abmd", "percent_change", 1),
        *_outcome("ls_abmd", "percent_change", 2),
        *_outcome("ls_abmd", "z_change", 1),
        *_outcome("ls_abmd", "z_change", 2),
        _f("outcome.ls_abmd.p_between", "LS aBMD: p-value between groups", FieldKind.NUMBER),
        _f(
            "fractures.arm1.events", "Fractures, arm 1: children with a fracture", FieldKind.INTEGER
        ),
        _f(
            "fractures.arm2.events", "Fractures, arm 2: children with a fracture", FieldKind.INTEGER
        ),
        _f(
            "harms.acute_phase.events", "Acute-phase reaction: children affected", FieldKind.INTEGER
        ),
        _f(
            "harms.acute_phase.first_infusion",
            "Acute-phase reaction at the first infusion",
            FieldKind.INTEGER,
        ),
        _f("harms.gi.events", "Gastrointestinal complaints: children affected", FieldKind.INTEGER),
        _f(
            "harms.bone_muscle_pain.events",
            "Bone/muscle pain: children affected",
            FieldKind.INTEGER,
        ),
        _f("harms.hypocalcaemia.events", "Hypocalcaemia: children affected", FieldKind.INTEGER),
        _f("harms.max_grade", "Highest CTCAE grade reported", FieldKind.INTEGER),
    ),
)


@dataclass(frozen=True, slots=True)
class Value:
    """One extracted value and where it was found."""

    raw: str
    location: str = ""  # "p. 4, Table 2"

    def parsed(self, spec: FieldSpec) -> str | float | int | None:
        text = self.raw.strip()
        if not text:
            return None
        if spec.kind is FieldKind.TEXT:
            return " ".join(text.split()).casefold()
        if spec.kind is FieldKind.CHOICE:
            for c in spec.choices:
                if c.casefold() == text.casefold():
                    return c
            raise ExtractionError(
                f"{spec.key}: {self.raw!r} is not one of {', '.join(spec.choices)}"
            )
        if re.fullmatch(r"-?\d{1,3}(,\d{3})+", text):
            raise ExtractionError(
                f"{spec.key}: {self.raw!r} is ambiguous (thousands or a decimal comma?): "
                "write it without the comma, or with a decimal point"
            )
        number = text.replace(",", ".") if text.count(",") == 1 and "." not in text else text
        try:
            x = float(number)
        except ValueError:
            raise ExtractionError(f"{spec.key}: {self.raw!r} is not a number") from None
        if not math.isfinite(x):
            raise ExtractionError(f"{spec.key}: {self.raw!r} is not a finite number")
        if spec.kind is FieldKind.INTEGER:
            if x != int(x) or x < 0:
                raise ExtractionError(f"{spec.key}: {self.raw!r} is not a whole count")
            return int(x)
        return x


@dataclass(frozen=True, slots=True)
class Extraction:
    """One reviewer's extraction of one study."""

    study: str
    reviewer: str
    values: Mapping[str, Value]
    form: ExtractionForm = DEFAULT_FORM

    def __post_init__(self) -> None:
        for key, value in self.values.items():
            value.parsed(self.form.spec(key))  # raises on an unknown field or a bad value


@dataclass(frozen=True, slots=True)
class Discrepancy:
    key: str
    label: str
    first: Value | None
    second: Value | None


def compare(a: Extraction, b: Extraction) -> list[Discrepancy]:
    """Every field on which two independent extractions of one study differ, in form order."""
    if a.study != b.study:
        raise ExtractionError(f"two different studies: {a.study!r} and {b.study!r}")
    if a.reviewer == b.reviewer:
        raise ExtractionError("dual extraction needs two different reviewers")
    if a.form != b.form:
        raise ExtractionError("the two extractions use different forms")
    out: list[Discrepancy] = []
    for spec in a.form.fields:
        va, vb = a.values.get(spec.key), b.values.get(spec.key)
        pa = va.parsed(spec) if va else None
        pb = vb.parsed(spec) if vb else None
        if pa != pb:
            out.append(Discrepancy(spec.key, spec.label, va, vb))
    return out


@dataclass(frozen=True, slots=True)
class ConsensusValue:
    key: str
    value: Value
    decided_by: str
    reason: str
    decided_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def consensus(
    a: Extraction, b: Extraction, decisions: Sequence[ConsensusValue]
) -> dict[str, Value]:
    """The agreed extraction: values both reviewers gave, plus a decision for every discrepancy.

    Raises :class:`ExtractionError` naming the discrepancies that have no decision yet, or a
    decision without a reason.
    """
    open_keys = {d.key for d in compare(a, b)}
    decided = {c.key: c for c in decisions}
    for c in decisions:
        if not c.reason.strip():
            raise ExtractionError(f"{c.key}: a consensus decision needs a reason")
        if not c.decided_by.strip():
            raise ExtractionError(f"{c.key}: say who decided")
        c.value.parsed(a.form.spec(c.key))
    missing = sorted(open_keys - decided.keys())
    if missing:
        raise ExtractionError(f"discrepancies without a decision: {', '.join(missing)}")
    agreed: dict[str, Value] = {}
    for spec in a.form.fields:
        if spec.key in decided:
            agreed[spec.key] = decided[spec.key].value
        elif spec.key in a.values and a.values[spec.key].raw.strip():
            agreed[spec.key] = a.values[spec.key]
    return agreed
