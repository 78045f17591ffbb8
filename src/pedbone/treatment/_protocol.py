"""Bisphosphonate protocols as data: the YAML schema, validation and the protocol registry.

Protocols ship as package data (``pedbone/treatment/protocols/*.yaml``). A clinic adds or
overrides protocols by putting YAML files in its own folder (``PEDBONE_PROTOCOLS_DIR`` or the
platformdirs user data folder ``.../pedbone/protocols``); a local file with the same ``id`` as a
shipped one replaces it. Every number in a protocol carries the citation keys it came from.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pedbone.bibliography import sources as _bibliography

__all__ = [
    "PROTOCOLS_ENV",
    "Band",
    "CourseSpec",
    "DoseSpec",
    "FirstCycle",
    "Interval",
    "Protocol",
    "ProtocolError",
    "ProtocolInfo",
    "Regimen",
    "RenalLimit",
    "available_protocols",
    "get_protocol",
    "load_protocol_file",
    "parse_protocol",
    "user_protocols_dir",
]

#: Environment variable naming a clinic's protocol folder.
PROTOCOLS_ENV = "PEDBONE_PROTOCOLS_DIR"
SCHEMA_VERSION = 1

DoseUnit = Literal["mg/kg", "mg/m2", "mg"]
IntervalUnit = Literal["days", "weeks", "months", "years"]


class ProtocolError(ValueError):
    """A protocol is unknown, or a protocol file is broken (the message says where and why)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Interval(_Strict):
    """A calendar interval, e.g. ``{every: 3, unit: months}``."""

    every: int = Field(gt=0)
    unit: IntervalUnit

    def length(self) -> str:
        """Human-readable length, e.g. '1 year', '3 months'."""
        return f"{self.every} {self.unit[:-1] if self.every == 1 else self.unit}"

    def describe(self) -> str:
        """Human-readable form, e.g. 'every 3 months'."""
        if self.every == 1:
            return f"every {self.unit[:-1]}"
        return f"every {self.every} {self.unit}"


class DoseSpec(_Strict):
    """An amount with its unit: mg per kg body weight, per m² body surface area, or fixed mg."""

    amount: float = Field(gt=0)
    unit: DoseUnit


class Band(_Strict):
    """A range of age (years) or weight (kg) a regimen applies to, with each edge open or closed
    exactly as the source writes it.

    ``"2.5 mg daily (10–30 kg), 5 mg daily (> 30 kg)"`` [S49] is
    ``{min: 10, min_inclusive: true, max: 30, max_inclusive: true}`` and
    ``{min: 30, min_inclusive: false}``: 30.0 kg gets 2.5 mg. Every given edge must say whether it
    is included (no default), so a protocol file cannot leave an edge to a guess.
    """

    min: float | None = Field(default=None, ge=0)
    min_inclusive: bool | None = None
    max: float | None = Field(default=None, gt=0)
    max_inclusive: bool | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.min is None and self.max is None:
            raise ValueError("a band needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"band min ({self.min}) must be below max ({self.max})")
        if self.min is not None and self.min_inclusive is None:
            raise ValueError(
                "'min' needs 'min_inclusive: true' (the source says '≥' or 'from') or "
                "'min_inclusive: false' (the source says '>')"
            )
        if self.max is not None and self.max_inclusive is None:
            raise ValueError(
                "'max' needs 'max_inclusive: true' (the source says '≤' or 'to', as in "
                "'10–30 kg') or 'max_inclusive: false' (the source says '<')"
            )
        if self.min is None and self.min_inclusive is not None:
            raise ValueError("'min_inclusive' without 'min'")
        if self.max is None and self.max_inclusive is not None:
            raise ValueError("'max_inclusive' without 'max'")
        return self

    def contains(self, x: float) -> bool:
        """True when ``x`` is inside the band, each edge open or closed as written."""
        if self.min is not None and (x < self.min or (x == self.min and not self.min_inclusive)):
            return False
        return not (
            self.max is not None and (x > self.max or (x == self.max and not self.max_inclusive))
        )

    def describe(self, unit: str) -> str:
        """Human-readable form with the edges as written, e.g. '10 to ≤30 kg', '>30 kg'."""
        lo = "" if self.min is None else f"{'≥' if self.min_inclusive else '>'}{self.min:g}"
        hi = "" if self.max is None else f"{'≤' if self.max_inclusive else '<'}{self.max:g}"
        if lo and hi:
            return f"{lo} and {hi} {unit}"
        return f"{lo or hi} {unit}"


def _bands_partition(bands: Sequence[Band], what: str) -> None:
    """Bands of one protocol must not overlap, and a shared edge belongs to exactly one band."""
    ordered = sorted(bands, key=lambda b: -math.inf if b.min is None else b.min)
    for a, b in itertools.pairwise(ordered):
        a_hi = math.inf if a.max is None else a.max
        b_lo = -math.inf if b.min is None else b.min
        if a_hi > b_lo:
            raise ValueError(f"{what} bands overlap ({a.describe('')} and {b.describe('')})")
        if a_hi == b_lo and bool(a.max_inclusive) == bool(b.min_inclusive):
            state = "both include" if a.max_inclusive else "neither includes"
            raise ValueError(
                f"{what} bands meet at {b_lo:g} and {state} it: exactly one must "
                "(set max_inclusive / min_inclusive as the source writes the edge)"
            )


class Regimen(_Strict):
    """One dosing line of a protocol, optionally restricted to an age or weight band.

    Either ``dose`` (per treatment day) with an ``interval`` between cycles, or ``annual_dose``
    split into equal cycles (the number of cycles per year is then the protocol's
    ``cycles_per_year`` or, when the source does not give it, a clinic choice at planning time).
    """

    label: str | None = None
    age_years: Band | None = None
    weight_kg: Band | None = None
    dose: DoseSpec | None = None
    annual_dose: DoseSpec | None = None
    cycles_per_year: int | None = Field(default=None, gt=0)
    days_per_cycle: int = Field(default=1, gt=0)
    interval: Interval | None = None
    min_dose_mg: float | None = Field(default=None, gt=0)
    max_dose_mg: float | None = Field(default=None, gt=0)
    sources: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Regimen:
        if (self.dose is None) == (self.annual_dose is None):
            raise ValueError("give exactly one of 'dose' or 'annual_dose'")
        if self.dose is not None and self.interval is None:
            raise ValueError("a 'dose' regimen needs an 'interval' between cycles")
        if self.annual_dose is not None and self.annual_dose.unit == "mg":
            raise ValueError("'annual_dose' must be per kg or per m² (unit mg/kg or mg/m2)")
        if self.annual_dose is not None and self.interval is not None:
            raise ValueError("an 'annual_dose' regimen derives its interval from cycles_per_year")
        if self.cycles_per_year is not None and self.annual_dose is None:
            raise ValueError("'cycles_per_year' only applies to an 'annual_dose' regimen")
        if (
            self.min_dose_mg is not None
            and self.max_dose_mg is not None
            and self.min_dose_mg > self.max_dose_mg
        ):
            raise ValueError("min_dose_mg is above max_dose_mg")
        return self

    @property
    def basis(self) -> DoseUnit:
        """The dose unit: what the dose is computed from."""
        spec = self.dose or self.annual_dose
        assert spec is not None
        return spec.unit


class CourseSpec(_Strict):
    """Length of the course as the source gives it; a review is due at its end."""

    duration: Interval | None = None
    cycles: int | None = Field(default=None, gt=0)
    sources: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _something(self) -> CourseSpec:
        if self.duration is None and self.cycles is None:
            raise ValueError("give 'duration' or 'cycles' (or leave 'course' out)")
        return self


class FirstCycle(_Strict):
    """A protocol-defined change to the first treatment day of the first cycle."""

    first_day_dose: DoseSpec
    sources: tuple[str, ...] = Field(min_length=1)


class RenalLimit(_Strict):
    """Hold the infusion when kidney function is below ``min_value`` (sourced limits only)."""

    min_value: float = Field(gt=0)
    unit: Literal["mL/min", "mL/min/1.73m2"]
    measure: str
    sources: tuple[str, ...] = Field(min_length=1)


class SourcedRule(_Strict):
    """A yes/no rule with its source keys."""

    sources: tuple[str, ...] = Field(min_length=1)


class Checks(_Strict):
    """Protocol-specific pre-dose checks beyond the common checklist."""

    renal_limit: RenalLimit | None = None
    withhold_if_dehydrated: SourcedRule | None = None


class Protocol(_Strict):
    """A versioned bisphosphonate protocol (one YAML file)."""

    schema_version: Literal[1]
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    version: str = Field(min_length=1)
    title: str = Field(min_length=1)
    drug: str = Field(pattern=r"^[a-z][a-z ]*$")
    route: Literal["iv", "oral"]
    sources: tuple[str, ...] = Field(min_length=1)
    local_sources: dict[str, str] = Field(default_factory=dict)
    population: str | None = None
    notes: tuple[str, ...] = ()
    regimens: tuple[Regimen, ...] = Field(min_length=1)
    band_by: Literal["age", "weight"] | None = None
    #: Operational: round doses of this protocol to this step (mg) unless the clinic sets a
    #: step for the drug. Not a clinical number; no source needed.
    rounding_step_mg: float | None = Field(default=None, gt=0)
    max_mg_per_year: float | None = Field(default=None, gt=0)
    max_mg_per_year_sources: tuple[str, ...] = ()
    first_cycle: FirstCycle | None = None
    course: CourseSpec | None = None
    checks: Checks = Checks()

    @field_validator("local_sources")
    @classmethod
    def _local_keys(cls, v: dict[str, str]) -> dict[str, str]:
        for key, text in v.items():
            if not str(text).strip():
                raise ValueError(f"local source {key!r} has no text")
        return v

    @model_validator(mode="after")
    def _bands_and_sources(self) -> Protocol:
        if len(self.regimens) > 1 and self.band_by is None:
            raise ValueError("several regimens need 'band_by: age' or 'band_by: weight'")
        for i, r in enumerate(self.regimens):
            if self.band_by == "age" and r.age_years is None:
                raise ValueError(f"regimens[{i}] needs 'age_years' (band_by: age)")
            if self.band_by == "weight" and r.weight_kg is None:
                raise ValueError(f"regimens[{i}] needs 'weight_kg' (band_by: weight)")
        if self.band_by == "age":
            _bands_partition([r.age_years for r in self.regimens if r.age_years], "age")
        if self.band_by == "weight":
            _bands_partition([r.weight_kg for r in self.regimens if r.weight_kg], "weight")
        if self.max_mg_per_year is not None and not self.max_mg_per_year_sources:
            raise ValueError("'max_mg_per_year' needs 'max_mg_per_year_sources'")
        known = set(_bibliography()) | set(self.local_sources)
        unknown = sorted({k for k in self.all_source_keys() if k not in known})
        if unknown:
            raise ValueError(
                f"unknown source key(s) {', '.join(unknown)}: cite a key from `pedbone sources` "
                "or define it under 'local_sources'"
            )
        return self

    def all_source_keys(self) -> tuple[str, ...]:
        """Every citation key used anywhere in the protocol, in order of first use."""
        keys: list[str] = list(self.sources)
        for r in self.regimens:
            keys.extend(r.sources)
        keys.extend(self.max_mg_per_year_sources)
        if self.first_cycle:
            keys.extend(self.first_cycle.sources)
        if self.course:
            keys.extend(self.course.sources)
        if self.checks.renal_limit:
            keys.extend(self.checks.renal_limit.sources)
        if self.checks.withhold_if_dehydrated:
            keys.extend(self.checks.withhold_if_dehydrated.sources)
        return tuple(dict.fromkeys(keys))

    def source_text(self, key: str) -> str:
        """The bibliography text for a key (local sources first)."""
        if key in self.local_sources:
            return self.local_sources[key]
        return _bibliography()[key].text

    def describe(self) -> list[str]:
        """Lines describing the regimen, each with its sources."""
        lines = []
        for r in self.regimens:
            band = ""
            if r.age_years is not None:
                band = f"age {r.age_years.describe('y')}: "
            elif r.weight_kg is not None:
                band = f"weight {r.weight_kg.describe('kg')}: "
            if r.dose is not None:
                assert r.interval is not None
                if r.interval.every == 1 and r.interval.unit == "days":
                    what = f"{r.dose.amount:g} {r.dose.unit} daily"
                elif r.days_per_cycle == 1:
                    what = f"{r.dose.amount:g} {r.dose.unit} per dose, {r.interval.describe()}"
                else:
                    what = f"{r.dose.amount:g} {r.dose.unit}/day × {r.days_per_cycle} days"
                    what += f", {r.interval.describe()}"
            else:
                assert r.annual_dose is not None
                split = (
                    f"in {r.cycles_per_year} equal cycles"
                    if r.cycles_per_year
                    else "split into cycles chosen by the clinic (not given by the source)"
                )
                what = f"{r.annual_dose.amount:g} {r.annual_dose.unit}/year, {split}"
            caps = []
            if r.min_dose_mg is not None:
                caps.append(f"not < {r.min_dose_mg:g} mg")
            if r.max_dose_mg is not None:
                caps.append(f"max {r.max_dose_mg:g} mg")
            cap = f" ({', '.join(caps)} per dose)" if caps else ""
            src = "".join(f"[{k}]" for k in r.sources)
            lines.append(f"{band}{what}{cap} {src}")
        if self.max_mg_per_year is not None:
            src = "".join(f"[{k}]" for k in self.max_mg_per_year_sources)
            lines.append(f"max {self.max_mg_per_year:g} mg per year {src}")
        if self.first_cycle is not None:
            fd = self.first_cycle.first_day_dose
            src = "".join(f"[{k}]" for k in self.first_cycle.sources)
            lines.append(f"first cycle, day 1: {fd.amount:g} {fd.unit} {src}")
        if self.course is not None:
            parts = []
            if self.course.cycles:
                parts.append(f"{self.course.cycles} cycles")
            if self.course.duration:
                parts.append(self.course.duration.length())
            src = "".join(f"[{k}]" for k in self.course.sources)
            lines.append(f"course: {', '.join(parts)}, then review {src}")
        if self.checks.renal_limit is not None:
            rl = self.checks.renal_limit
            src = "".join(f"[{k}]" for k in rl.sources)
            lines.append(f"hold if {rl.measure} < {rl.min_value:g} {rl.unit} {src}")
        if self.checks.withhold_if_dehydrated is not None:
            src = "".join(f"[{k}]" for k in self.checks.withhold_if_dehydrated.sources)
            lines.append(f"withhold if dehydrated {src}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the web pages and ``--json``)."""
        return self.model_dump(mode="json", exclude_none=True)


# --------------------------------------------------------------------------------------------
# Loading with clear errors


def _node_line(root: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """Line number (1-based) of the YAML node at a pydantic error location, best effort."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    nxt = v
                    line = k.start_mark.line + 1
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
            if node is not None:
                line = node.start_mark.line + 1
        else:
            break
        if node is None:
            break
    return line


def _format_errors(name: str, exc: ValidationError, root: yaml.Node | None) -> str:
    errors = exc.errors()
    # A list whose only item failed also reports "too short": drop that echo.
    deeper = {
        tuple(e["loc"][:i])
        for e in errors
        if e["type"] != "too_short"
        for i in range(1, len(e["loc"]))
    }
    errors = [e for e in errors if not (e["type"] == "too_short" and tuple(e["loc"]) in deeper)]
    lines = [f"{name}: invalid protocol ({len(errors)} problem(s)):"]
    for err in errors:
        loc = [p for p in err["loc"] if isinstance(p, (int, str))]
        where = ".".join(str(p) for p in loc) or "(top level)"
        line = _node_line(root, loc)
        at = f"line {line}, " if line is not None else ""
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (not part of the protocol schema; check the spelling)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif err["type"] == "literal_error":
            msg = f"{msg} (got {err.get('input')!r})"
        lines.append(f"  {at}{where}: {msg}")
    return "\n".join(lines)


def parse_protocol(text: str, name: str = "<protocol>") -> Protocol:
    """Parse and validate protocol YAML text; raise :class:`ProtocolError` with line numbers."""
    try:
        root = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProtocolError(f"{name}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ProtocolError(f"{name}: a protocol file must be a YAML mapping")
    try:
        return Protocol.model_validate(raw)
    except ValidationError as exc:
        raise ProtocolError(_format_errors(name, exc, root)) from None


def load_protocol_file(path: str | os.PathLike[str]) -> Protocol:
    """Load and validate one protocol file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProtocolError(f"{p}: cannot read: {exc.strerror}") from None
    return parse_protocol(text, str(p))


# --------------------------------------------------------------------------------------------
# Registry


@dataclass(frozen=True, slots=True)
class ProtocolInfo:
    """A protocol with where it came from (``shipped`` or the path of a clinic file)."""

    protocol: Protocol
    origin: str
    overrides_shipped: bool = False


def user_protocols_dir() -> Path:
    """The clinic protocol folder: ``$PEDBONE_PROTOCOLS_DIR`` or the platformdirs user folder."""
    env = os.environ.get(PROTOCOLS_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("pedbone", appauthor=False)) / "protocols"


@cache
def _shipped() -> dict[str, Protocol]:
    out: dict[str, Protocol] = {}
    folder = resources.files("pedbone.treatment") / "protocols"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            proto = parse_protocol(entry.read_text(encoding="utf-8"), f"shipped {entry.name}")
            if proto.id in out:
                raise ProtocolError(f"duplicate shipped protocol id {proto.id!r}")
            out[proto.id] = proto
    return out


def _local(folder: Path) -> dict[str, tuple[Protocol, str]]:
    out: dict[str, tuple[Protocol, str]] = {}
    if not folder.is_dir():
        return out
    files: Iterable[Path] = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    for f in files:
        if f.name == "clinic.yaml":  # clinic settings live beside the protocols
            continue
        proto = load_protocol_file(f)
        if proto.id in out:
            first = out[proto.id][1]
            raise ProtocolError(f"{f}: protocol id {proto.id!r} already defined in {first}")
        out[proto.id] = (proto, str(f))
    return out


def available_protocols(protocols_dir: str | os.PathLike[str] | None = None) -> list[ProtocolInfo]:
    """Shipped protocols merged with the clinic folder (clinic files override by ``id``)."""
    shipped = _shipped()
    folder = Path(protocols_dir) if protocols_dir is not None else user_protocols_dir()
    local = _local(folder)
    infos = {pid: ProtocolInfo(p, "shipped") for pid, p in shipped.items()}
    for pid, (proto, origin) in local.items():
        infos[pid] = ProtocolInfo(proto, origin, overrides_shipped=pid in shipped)
    return [infos[k] for k in sorted(infos)]


def get_protocol(protocol_id: str, protocols_dir: str | os.PathLike[str] | None = None) -> Protocol:
    """The protocol with this id (a clinic file overrides a shipped one); unknown ids raise."""
    infos = {i.protocol.id: i for i in available_protocols(protocols_dir)}
    if protocol_id not in infos:
        raise ProtocolError(
            f"unknown protocol {protocol_id!r}; known: {', '.join(sorted(infos))} "
            "(see `pedbone protocols list`)"
        )
    return infos[protocol_id].protocol
