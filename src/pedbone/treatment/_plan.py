"""Course planning: doses from the current weight (or BSA), caps, rounding, cumulative dose.

Every dose line carries the protocol id and the citation keys of the numbers it used, and a
readable calculation ("1 mg/kg × 23.4 kg = 23.4 mg"). A computed dose above a cap is capped and
says so. No dose is computed without a recent weight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pedbone import plausibility
from pedbone.treatment._advice import INTENDED_USE, Advice, first_infusion_advice, general_advice
from pedbone.treatment._dates import add_interval, add_months, age_at
from pedbone.treatment._protocol import Interval, Protocol, Regimen
from pedbone.treatment._settings import ClinicSettings

__all__ = [
    "DoseLine",
    "PlanError",
    "ReviewPrompt",
    "TreatmentPlan",
    "mosteller_bsa",
    "plan_course",
]

_EPS = 1e-9
_Date = date  # a field called ``date`` shadows the type inside the dataclasses


class PlanError(ValueError):
    """A plan cannot be made safely (missing or old weight, weight outside the bands, ...)."""


def _plausible(quantity: str, value: float) -> None:
    """Refuse a value outside its plausibility limit: nothing is planned from it."""
    try:
        plausibility.check(quantity, value)
    except plausibility.ImplausibleValueError as exc:
        raise PlanError(f"{exc} Nothing was planned.") from None


def mosteller_bsa(height_cm: float, weight_kg: float) -> float:
    """Body surface area (m²) = √(height cm × weight kg / 3600) [MOSTELLER1987]."""
    if height_cm <= 0 or weight_kg <= 0:
        raise PlanError("height and weight must be positive to compute body surface area")
    return math.sqrt(height_cm * weight_kg / 3600.0)


@dataclass(frozen=True, slots=True)
class DoseLine:
    """One planned administration (or, for continuous oral regimens, a repeated daily dose)."""

    date: date
    cycle: int
    day: int
    days_in_cycle: int
    regimen: str
    calculation: str
    computed_mg: float
    dose_mg: float
    mg_per_kg: float
    cumulative_mg: float
    notes: tuple[str, ...]
    sources: tuple[str, ...]
    capped: bool = False
    first_dose: bool = False
    repeat: Interval | None = None
    until: _Date | None = None
    count: int = 1

    @property
    def total_mg(self) -> float:
        """mg given by this line (dose × count)."""
        return self.dose_mg * self.count

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {
            "date": self.date.isoformat(),
            "cycle": self.cycle,
            "day": self.day,
            "days_in_cycle": self.days_in_cycle,
            "regimen": self.regimen,
            "calculation": self.calculation,
            "computed_mg": round(self.computed_mg, 6),
            "dose_mg": round(self.dose_mg, 6),
            "mg_per_kg": round(self.mg_per_kg, 6),
            "cumulative_mg": round(self.cumulative_mg, 6),
            "capped": self.capped,
            "first_dose": self.first_dose,
            "notes": list(self.notes),
            "sources": list(self.sources),
        }
        if self.repeat is not None:
            out["repeat"] = self.repeat.describe()
            out["until"] = self.until.isoformat() if self.until else None
            out["count"] = self.count
            out["total_mg"] = round(self.total_mg, 6)
        return out


@dataclass(frozen=True, slots=True)
class ReviewPrompt:
    """A date to review whether to continue, with its reason and sources."""

    date: date
    reason: str
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"date": self.date.isoformat(), "reason": self.reason, "sources": list(self.sources)}


@dataclass(frozen=True)
class TreatmentPlan:
    """A planned course. ``to_dict()`` is what the CLI (``--json``) and web pages show."""

    protocol: Protocol
    start: date
    weight_kg: float
    weight_date: date
    doses: tuple[DoseLine, ...]
    reviews: tuple[ReviewPrompt, ...]
    advice: tuple[Advice, ...]
    warnings: tuple[str, ...]
    settings: ClinicSettings
    prior_cumulative_mg: float = 0.0
    age_years: float | None = None
    bsa_m2: float | None = None
    bsa_source: str | None = None
    intended_use: str = INTENDED_USE
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total_mg(self) -> float:
        """mg planned in this course (without the prior cumulative dose)."""
        return sum(d.total_mg for d in self.doses)

    @property
    def cumulative_mg(self) -> float:
        """Prior cumulative dose plus this course."""
        return self.prior_cumulative_mg + self.total_mg

    def mg_per_year(self) -> dict[int, float]:
        """mg planned in each plan year (year 1 starts on the start date)."""
        out: dict[int, float] = {}
        for d in self.doses:
            if d.repeat is None:
                y = _plan_year(self.start, d.date)
                out[y] = out.get(y, 0.0) + d.dose_mg
            else:
                cur = d.date
                for _ in range(d.count):
                    y = _plan_year(self.start, cur)
                    out[y] = out.get(y, 0.0) + d.dose_mg
                    cur = add_interval(cur, d.repeat)
        return out

    def sources(self) -> tuple[str, ...]:
        """Every citation key behind the plan."""
        keys: list[str] = list(self.protocol.sources)
        for d in self.doses:
            keys.extend(d.sources)
        for r in self.reviews:
            keys.extend(r.sources)
        for a in self.advice:
            keys.extend(a.sources)
        if self.bsa_source:
            keys.append(self.bsa_source)
        return tuple(dict.fromkeys(keys))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the whole plan."""
        p = self.protocol
        return {
            "intended_use": self.intended_use,
            "protocol": {
                "id": p.id,
                "version": p.version,
                "title": p.title,
                "drug": p.drug,
                "route": p.route,
                "sources": list(p.sources),
                "regimen": p.describe(),
            },
            "patient": {
                "weight_kg": self.weight_kg,
                "weight_date": self.weight_date.isoformat(),
                "age_years_at_start": None if self.age_years is None else round(self.age_years, 3),
                "bsa_m2": None if self.bsa_m2 is None else round(self.bsa_m2, 4),
                "bsa_source": self.bsa_source,
            },
            "start": self.start.isoformat(),
            "doses": [d.to_dict() for d in self.doses],
            "total_mg": round(self.total_mg, 6),
            "prior_cumulative_mg": self.prior_cumulative_mg,
            "cumulative_mg": round(self.cumulative_mg, 6),
            "mg_per_year": {str(k): round(v, 6) for k, v in self.mg_per_year().items()},
            "reviews": [r.to_dict() for r in self.reviews],
            "advice": [a.to_dict() for a in self.advice],
            "warnings": list(self.warnings),
            "settings": self.settings.to_dict(),
            "sources": list(self.sources()),
            **self.extra,
        }

    def to_text(self) -> str:
        """Plain-text rendering for the terminal."""
        p = self.protocol
        lines = [
            f"Plan: {p.title}",
            f"Protocol {p.id} v{p.version} {''.join(f'[{k}]' for k in p.sources)}",
            f"Weight {self.weight_kg:g} kg on {self.weight_date.isoformat()}; start "
            f"{self.start.isoformat()}",
        ]
        if self.age_years is not None:
            lines.append(f"Age at start {self.age_years:.2f} y")
        if self.bsa_m2 is not None:
            lines.append(f"Body surface area {self.bsa_m2:.3f} m² [{self.bsa_source}]")
        lines.append("")
        for d in self.doses:
            src = "".join(f"[{k}]" for k in d.sources)
            when = d.date.isoformat()
            if d.repeat is not None and d.until is not None:
                when += f" {d.repeat.describe()} to {d.until.isoformat()} ({d.count} doses)"
            else:
                when += f" cycle {d.cycle} day {d.day}/{d.days_in_cycle}"
            if p.band_by is not None:
                when += f" [{d.regimen}]"
            lines.append(f"  {when}: {d.dose_mg:g} mg  ({d.calculation}) {src} [{p.id}]")
            lines.extend(f"      ! {n}" for n in d.notes)
        lines.append("")
        lines.append(
            f"Total this course {self.total_mg:g} mg; cumulative {self.cumulative_mg:g} mg "
            f"(prior {self.prior_cumulative_mg:g} mg)"
        )
        for r in self.reviews:
            src = "".join(f"[{k}]" for k in r.sources)
            lines.append(f"Review {r.date.isoformat()}: {r.reason} {src}")
        if self.advice:
            lines.append("Advice:")
            lines.extend(f"  - {a}" for a in self.advice)
        for w in self.warnings:
            lines.append(f"WARNING: {w}")
        lines.append("")
        lines.append(self.intended_use)
        return "\n".join(lines)


def _plan_year(start: date, d: date) -> int:
    """1 for [start, start + 1 year), 2 for the next year, ..."""
    year = 1
    while d >= add_months(start, 12 * year, start.day):
        year += 1
    return year


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _round_to_step(value: float, step: float, lo: float | None, hi: float | None) -> float:
    """Nearest multiple of ``step``, kept inside [lo, hi] by rounding towards the inside."""
    q = value / step
    r = math.floor(q + 0.5 + _EPS) * step
    if hi is not None and r > hi + _EPS:
        r = math.floor(hi / step + _EPS) * step
    if lo is not None and r < lo - _EPS:
        r = math.ceil(lo / step - _EPS) * step
    return round(r, 10)


def _choose_regimen(protocol: Protocol, *, age: float | None, weight_kg: float) -> Regimen:
    if protocol.band_by is None:
        return protocol.regimens[0]
    if protocol.band_by == "age":
        if age is None:
            raise PlanError(
                f"protocol {protocol.id} doses by age band: give the birth date or the age"
            )
        for r in protocol.regimens:
            assert r.age_years is not None
            if r.age_years.contains(age):
                return r
        raise PlanError(f"age {age:.2f} y is outside every age band of protocol {protocol.id}")
    for r in protocol.regimens:
        assert r.weight_kg is not None
        if r.weight_kg.contains(weight_kg):
            return r
    bands = ", ".join(r.weight_kg.describe("kg") for r in protocol.regimens if r.weight_kg)
    raise PlanError(
        f"weight {weight_kg:g} kg is outside the weight bands of protocol {protocol.id} "
        f"({bands}); the protocol gives no dose for this weight"
    )


def _label(r: Regimen) -> str:
    if r.label:
        return r.label
    if r.age_years is not None:
        return f"age {r.age_years.describe('y')}"
    if r.weight_kg is not None:
        return f"weight {r.weight_kg.describe('kg')}"
    return "all"


def plan_course(
    protocol: Protocol,
    *,
    weight_kg: float | None,
    weight_date: date | None,
    start: date,
    birth_date: date | None = None,
    age_years: float | None = None,
    height_cm: float | None = None,
    bsa_m2: float | None = None,
    settings: ClinicSettings | None = None,
    cycles: int | None = None,
    cycles_per_year: int | None = None,
    days_per_cycle: int | None = None,
    prior_cumulative_mg: float = 0.0,
    bisphosphonate_naive: bool = True,
    on_glucocorticoids: bool = False,
    today: date | None = None,
) -> TreatmentPlan:
    """Plan a course of ``protocol`` from ``start``.

    The dose of each treatment day is computed from the current weight (or body surface area
    for mg/m² protocols), then the protocol's per-dose floor and cap, the clinic's rounding
    step, and any per-year cap are applied, in that order. ``cycles`` overrides the course
    length; otherwise the protocol's sourced course, otherwise the clinic's planning horizon.
    Annual-dose protocols whose source does not give the split need ``cycles_per_year``
    (1, 2, 3, 4, 6 or 12) and optionally ``days_per_cycle`` (default 1).

    Raises :class:`PlanError` for a missing, future or too old weight, a weight or age outside
    the protocol's bands, or missing inputs.
    """
    settings = settings or ClinicSettings()
    today = today or date.today()
    warnings: list[str] = []

    # -- weight: present, plausible, recent -------------------------------------------------
    if weight_kg is None or weight_date is None:
        raise PlanError("no dose is computed without a weight and the date it was measured")
    _plausible("weight_kg", weight_kg)
    if height_cm is not None:
        _plausible("height_cm", height_cm)
    if weight_date > today:
        raise PlanError(f"weight date {weight_date} is in the future (today is {today})")
    if weight_date > start:
        raise PlanError(f"weight date {weight_date} is after the start date {start}")
    age_of_weight = (start - weight_date).days
    if age_of_weight > settings.max_weight_age_days:
        raise PlanError(
            f"the weight is {age_of_weight} days old on the start date {start}; the limit is "
            f"{settings.max_weight_age_days} days (clinic setting max_weight_age_days, "
            f"from {settings.origin}). Weigh the child again before planning."
        )
    if prior_cumulative_mg < 0:
        raise PlanError("prior cumulative dose cannot be negative")

    # -- age -----------------------------------------------------------------------------------
    if birth_date is not None:
        if birth_date > start:
            raise PlanError(f"birth date {birth_date} is after the start date {start}")
        age_start = age_at(birth_date, start)
        _plausible("age_years", age_start)
        age0: float | None = age_start
    elif age_years is not None:
        _plausible("age_years", age_years)
        age0 = age_years
    else:
        age0 = None

    def age_on(d: date) -> float | None:
        if birth_date is not None:
            return age_at(birth_date, d)
        if age0 is None:
            return None
        return age0 + (d - start).days / 365.25

    # -- body surface area, only when a regimen is per m² -------------------------------------
    needs_bsa = any(r.basis == "mg/m2" for r in protocol.regimens) or (
        protocol.first_cycle is not None and protocol.first_cycle.first_day_dose.unit == "mg/m2"
    )
    bsa_source: str | None = None
    if needs_bsa:
        if bsa_m2 is not None:
            _plausible("bsa_m2", bsa_m2)
            bsa_source = "given"
        elif height_cm is not None:
            bsa_m2 = mosteller_bsa(height_cm, weight_kg)
            bsa_source = "MOSTELLER1987"
        else:
            raise PlanError(
                f"protocol {protocol.id} doses per m²: give the body surface area or the height"
            )
    else:
        bsa_m2 = None

    # -- course length -------------------------------------------------------------------------
    course_end: date | None = None
    n_cycles: int | None = cycles
    review_sources: tuple[str, ...] = ()
    if n_cycles is not None and n_cycles <= 0:
        raise PlanError("number of cycles must be positive")
    if n_cycles is None and protocol.course is not None:
        review_sources = protocol.course.sources
        n_cycles = protocol.course.cycles
        if n_cycles is None and protocol.course.duration is not None:
            course_end = add_interval(start, protocol.course.duration, start.day)
    if n_cycles is None and course_end is None:
        course_end = add_months(start, settings.planning_horizon_months, start.day)
        if protocol.course is None:
            warnings.append(
                f"the source gives no course length; planned {settings.planning_horizon_months} "
                "months ahead (clinic setting planning_horizon_months) and no review date is "
                "proposed: decide the review with the clinical team"
            )

    step = settings.rounding_step(protocol.drug, protocol.rounding_step_mg)
    if protocol.drug in settings.rounding_step_mg_by_drug:
        step_origin = f"clinic setting for {protocol.drug}, {settings.origin}"
    elif protocol.rounding_step_mg is not None:
        step_origin = f"protocol {protocol.id}"
    else:
        step_origin = f"clinic setting, {settings.origin}"
    doses: list[DoseLine] = []
    cumulative = prior_cumulative_mg
    per_year: dict[int, float] = {}
    cycle_date = start
    cycle = 0
    while True:
        if n_cycles is not None and cycle >= n_cycles:
            break
        if course_end is not None and cycle_date >= course_end:
            break
        cycle += 1
        regimen = _choose_regimen(protocol, age=age_on(cycle_date), weight_kg=weight_kg)
        label = _label(regimen)

        # Interval and treatment days of this cycle
        if regimen.dose is not None:
            assert regimen.interval is not None
            interval = regimen.interval
            n_days = regimen.days_per_cycle
            per_day_spec = regimen.dose
            per_day_amount = per_day_spec.amount
            split_note = ""
        else:
            assert regimen.annual_dose is not None
            cpy = regimen.cycles_per_year or cycles_per_year
            if cpy is None:
                raise PlanError(
                    f"protocol {protocol.id} gives an annual dose only; choose cycles_per_year "
                    "(--cycles-per-year: 1, 2, 3, 4, 6 or 12)"
                )
            if cpy not in (1, 2, 3, 4, 6, 12):
                raise PlanError("cycles_per_year must be 1, 2, 3, 4, 6 or 12")
            if regimen.cycles_per_year is not None and cycles_per_year not in (None, cpy):
                raise PlanError(
                    f"protocol {protocol.id} fixes {regimen.cycles_per_year} cycles per year"
                )
            interval = Interval(every=12 // cpy, unit="months")
            n_days = days_per_cycle or regimen.days_per_cycle
            per_day_spec = regimen.annual_dose
            per_day_amount = regimen.annual_dose.amount / cpy / n_days
            ann = regimen.annual_dose
            split_note = f"{ann.amount:g} {ann.unit}/year ÷ {cpy} cycles"
            if n_days > 1:
                split_note += f" ÷ {n_days} days"
            split_note += f" = {_fmt(per_day_amount)} {per_day_spec.unit}; "
            if regimen.cycles_per_year is None:
                split_note = "clinic split: " + split_note

        continuous = protocol.route == "oral"
        if continuous and protocol.max_mg_per_year is not None:
            raise PlanError(
                f"protocol {protocol.id}: a per-year cap on a continuous oral regimen is not "
                "supported; express the oral dose per day"
            )
        for day in range(1, n_days + 1):
            d = cycle_date + timedelta(days=day - 1)
            amount, unit = per_day_amount, per_day_spec.unit
            sources = list(regimen.sources)
            notes: list[str] = []
            is_first = bisphosphonate_naive and cycle == 1 and day == 1
            if is_first and protocol.first_cycle is not None:
                amount = protocol.first_cycle.first_day_dose.amount
                unit = protocol.first_cycle.first_day_dose.unit
                sources.extend(protocol.first_cycle.sources)
                notes.append("first-cycle day-1 dose defined by the protocol")
                calc_prefix = ""
            else:
                calc_prefix = split_note
            if unit == "mg/kg":
                computed = amount * weight_kg
                calc = f"{calc_prefix}{_fmt(amount)} mg/kg × {weight_kg:g} kg = {_fmt(computed)} mg"
            elif unit == "mg/m2":
                assert bsa_m2 is not None
                computed = amount * bsa_m2
                calc = f"{calc_prefix}{_fmt(amount)} mg/m² × {bsa_m2:.3f} m² = {_fmt(computed)} mg"
            else:
                computed = amount
                calc = f"{_fmt(amount)} mg fixed dose"
            dose = computed
            capped = False
            rsrc = "".join(f"[{k}]" for k in regimen.sources)
            if regimen.min_dose_mg is not None and dose < regimen.min_dose_mg - _EPS:
                notes.append(
                    f"raised from {_fmt(dose)} mg to the protocol minimum of "
                    f"{regimen.min_dose_mg:g} mg per dose {rsrc}"
                )
                dose = regimen.min_dose_mg
                capped = True
            if regimen.max_dose_mg is not None and dose > regimen.max_dose_mg + _EPS:
                notes.append(
                    f"CAPPED: computed {_fmt(dose)} mg is above the protocol maximum of "
                    f"{regimen.max_dose_mg:g} mg per dose {rsrc}"
                )
                dose = regimen.max_dose_mg
                capped = True
            if step is not None and unit != "mg":
                rounded = _round_to_step(dose, step, regimen.min_dose_mg, regimen.max_dose_mg)
                if abs(rounded - dose) > _EPS:
                    notes.append(
                        f"rounded {_fmt(dose)} → {_fmt(rounded)} mg (rounding step {step:g} mg: "
                        f"{step_origin})"
                    )
                dose = rounded
            if (d - weight_date).days > settings.max_weight_age_days and not continuous:
                notes.append(
                    f"provisional: the weight will be {(d - weight_date).days} days old on this "
                    "date; weigh again and recompute before this dose"
                )
            year = _plan_year(start, d)
            if protocol.max_mg_per_year is not None and not continuous:
                used = per_year.get(year, 0.0)
                room = max(protocol.max_mg_per_year - used, 0.0)
                if dose > room + _EPS:
                    ysrc = "".join(f"[{k}]" for k in protocol.max_mg_per_year_sources)
                    new = room
                    if step is not None:
                        new = math.floor(room / step + _EPS) * step
                    notes.append(
                        f"CAPPED: {_fmt(dose)} mg would exceed the protocol maximum of "
                        f"{protocol.max_mg_per_year:g} mg in plan year {year} ({_fmt(used)} mg "
                        f"already planned); reduced to {_fmt(new)} mg {ysrc}"
                    )
                    sources.extend(protocol.max_mg_per_year_sources)
                    dose = new
                    capped = True
            if dose <= 0:
                warnings.append(f"{d}: no dose left within the per-year cap; dose omitted")
                continue
            if continuous:
                end = course_end
                if end is None:
                    assert n_cycles is not None
                    end = cycle_date
                    for _ in range(n_cycles):
                        end = add_interval(end, interval)
                count = 0
                cur = d
                last = d
                while cur < end:
                    count += 1
                    last = cur
                    cur = add_interval(cur, interval)
                cumulative += dose * count
                doses.append(
                    DoseLine(
                        date=d,
                        cycle=1,
                        day=1,
                        days_in_cycle=1,
                        regimen=label,
                        calculation=calc,
                        computed_mg=computed,
                        dose_mg=dose,
                        mg_per_kg=dose / weight_kg,
                        cumulative_mg=cumulative,
                        notes=tuple(notes),
                        sources=tuple(dict.fromkeys(sources)),
                        capped=capped,
                        first_dose=is_first,
                        repeat=interval,
                        until=last,
                        count=count,
                    )
                )
                continue
            per_year[year] = per_year.get(year, 0.0) + dose
            cumulative += dose
            doses.append(
                DoseLine(
                    date=d,
                    cycle=cycle,
                    day=day,
                    days_in_cycle=n_days,
                    regimen=label,
                    calculation=calc,
                    computed_mg=computed,
                    dose_mg=dose,
                    mg_per_kg=dose / weight_kg,
                    cumulative_mg=cumulative,
                    notes=tuple(notes),
                    sources=tuple(dict.fromkeys(sources)),
                    capped=capped,
                    first_dose=is_first,
                )
            )
        if continuous:
            break
        cycle_date = add_interval(cycle_date, interval, start.day)

    if not doses:
        raise PlanError("the plan has no doses (check the course length and caps)")

    reviews: list[ReviewPrompt] = []
    if protocol.course is not None and cycles is None:
        if protocol.course.duration is not None:
            rdate = add_interval(start, protocol.course.duration, start.day)
            what = f"end of the {protocol.course.duration.length()} course"
        else:
            rdate = max(d.until or d.date for d in doses)
            what = f"after the {protocol.course.cycles} cycles of the course"
        reviews.append(
            ReviewPrompt(
                rdate,
                f"{what} as given by the source: review whether to continue",
                review_sources,
            )
        )
    elif protocol.course is not None:
        warnings.append(
            "the course length was set by hand: no sourced review date is proposed; decide the "
            "review with the clinical team"
        )

    advice: list[Advice] = []
    if bisphosphonate_naive:
        advice.extend(first_infusion_advice(protocol, on_glucocorticoids=on_glucocorticoids))
    advice.extend(general_advice(protocol))
    if weight_kg and any(d.capped for d in doses):
        warnings.append("at least one computed dose was capped or raised; see the dose notes")

    return TreatmentPlan(
        protocol=protocol,
        start=start,
        weight_kg=weight_kg,
        weight_date=weight_date,
        doses=tuple(doses),
        reviews=tuple(reviews),
        advice=tuple(advice),
        warnings=tuple(warnings),
        settings=settings,
        prior_cumulative_mg=prior_cumulative_mg,
        age_years=age0,
        bsa_m2=bsa_m2,
        bsa_source=bsa_source,
    )
