"""Pre-infusion checklist: a go / hold decision with its reasons, each with its source.

Rules (§6.2 of the domain digest):

* before the first cycle (within 3 months): serum Ca, PO4, renal function (U&E), 25(OH)D [S54];
* 25(OH)D ≥ 50 nmol/L before infusion [S54] (repletion regimens from
  ``pedbone.clinical.nutrition`` [S56]);
* hypocalcaemia, vitamin D deficiency, pregnancy and bisphosphonate allergy are
  contraindications; renal impairment is a relative contraindication [S54];
* calcium and phosphate are judged against the lab's own interval when given, else the CALIPER
  interval for age and sex [S74] (``pedbone.clinical``). Calcium is taken as an
  albumin-corrected (or ionised-equivalent) value entered by the user: no sourced correction
  formula is in the digest, so pedbone does not correct it;
* bedside Schwartz eGFR [S72] is always reported; it blocks only where the protocol carries a
  sourced limit (zoledronic acid label: CrCl < 35 mL/min [S73]);
* dental review before treatment if known dental disease [S54]; a pregnancy test if there is any
  doubt [S54]; withhold zoledronic acid if dehydrated [S73];
* a previous acute-phase reaction is flagged with the advice of [S55];
* the weight must be recent (clinic setting ``max_weight_age_days``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pedbone import plausibility
from pedbone.clinical import caliper_interval
from pedbone.clinical.nutrition import vitamin_d_regimens, vitamin_d_status
from pedbone.clinical.renal import bedside_schwartz_egfr
from pedbone.treatment._advice import INTENDED_USE
from pedbone.treatment._dates import add_months, age_at
from pedbone.treatment._protocol import Protocol
from pedbone.treatment._settings import ClinicSettings

__all__ = ["ChecklistItem", "ChecklistResult", "LabResult", "PreInfusionInput", "run_checklist"]

Status = Literal["ok", "hold", "attention", "info"]

#: 25(OH)D required before an infusion, nmol/L [S54].
OHD_MIN_NMOL: float = 50.0
#: Bloods before the first cycle must be taken within this many months [S54].
FIRST_CYCLE_LAB_MONTHS: int = 3
#: Upper end of the sufficiency range "30–100 ng/mL" [S69], in nmol/L (× 2.5 [S68]).
OHD_SUFFICIENCY_MAX_NMOL: float = 100.0 * 2.5


def _refuse_implausible(inp: PreInfusionInput) -> None:
    """Impossible inputs are refused, not judged (``plausibility.ImplausibleValueError``)."""
    for quantity, lab in (
        ("calcium_mmol_l", inp.corrected_calcium_mmol_l),
        ("phosphate_mmol_l", inp.phosphate_mmol_l),
        ("ohd_nmol_l", inp.ohd_nmol_l),
        ("creatinine_umol_l", inp.creatinine_umol_l),
    ):
        if lab is not None:
            plausibility.check(quantity, lab.value)
    plausibility.check_optional("height_cm", inp.height_cm)
    plausibility.check_optional("age_years", inp.age_years)
    if inp.birth_date is not None and inp.birth_date > inp.dose_date:
        raise ValueError(f"birth date {inp.birth_date} is after the dose date {inp.dose_date}")


@dataclass(frozen=True, slots=True)
class LabResult:
    """A laboratory value with its date and, optionally, the lab's own reference interval."""

    value: float
    date: date
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True, slots=True)
class PreInfusionInput:
    """What the clinician enters before a dose. ``None`` means "not recorded"."""

    dose_date: date
    sex: Literal["M", "F"]
    first_cycle: bool = True
    birth_date: date | None = None
    age_years: float | None = None
    weight_date: date | None = None
    height_cm: float | None = None
    corrected_calcium_mmol_l: LabResult | None = None
    phosphate_mmol_l: LabResult | None = None
    ohd_nmol_l: LabResult | None = None
    creatinine_umol_l: LabResult | None = None
    dental_review_done: bool | None = None
    known_dental_disease: bool | None = None
    pregnancy_possible: bool | None = None
    pregnancy_test: Literal["negative", "positive", "not done"] | None = None
    bisphosphonate_allergy: bool | None = None
    previous_acute_phase_reaction: bool | None = None
    dehydrated: bool | None = None


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One checked item: status, the value shown, why, and the sources."""

    item: str
    status: Status
    detail: str
    sources: tuple[str, ...] = ()
    value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "item": self.item,
            "status": self.status,
            "value": self.value,
            "detail": self.detail,
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class ChecklistResult:
    """The checklist with its decision: 'go' only when no item says 'hold'."""

    protocol_id: str
    dose_date: date
    items: tuple[ChecklistItem, ...]
    intended_use: str = INTENDED_USE

    @property
    def decision(self) -> Literal["go", "hold"]:
        """'hold' if any item holds the dose."""
        return "hold" if any(i.status == "hold" for i in self.items) else "go"

    @property
    def reasons(self) -> list[str]:
        """Why the dose is held (empty for 'go')."""
        return [f"{i.item}: {i.detail}" for i in self.items if i.status == "hold"]

    @property
    def attention(self) -> list[str]:
        """Items that do not hold the dose but need a look."""
        return [f"{i.item}: {i.detail}" for i in self.items if i.status == "attention"]

    def item(self, name: str) -> ChecklistItem:
        """The item with this name (KeyError if absent)."""
        for i in self.items:
            if i.item == name:
                return i
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "intended_use": self.intended_use,
            "protocol": self.protocol_id,
            "dose_date": self.dose_date.isoformat(),
            "decision": self.decision,
            "reasons": self.reasons,
            "attention": self.attention,
            "items": [i.to_dict() for i in self.items],
        }

    def to_text(self) -> str:
        """Plain-text rendering."""
        mark = {"ok": "ok  ", "hold": "HOLD", "attention": "look", "info": "info"}
        lines = [
            f"Pre-infusion checklist, {self.protocol_id}, dose on {self.dose_date.isoformat()}"
        ]
        for i in self.items:
            src = "".join(f"[{k}]" for k in i.sources)
            val = f" = {i.value}" if i.value else ""
            lines.append(f"  [{mark[i.status]}] {i.item}{val}: {i.detail} {src}".rstrip())
        lines.append(f"Decision: {self.decision.upper()}")
        lines.extend(f"  - {r}" for r in self.reasons)
        lines.append(self.intended_use)
        return "\n".join(lines)


def _lab_age_item(name: str, lab: LabResult, inp: PreInfusionInput) -> ChecklistItem | None:
    if lab.date > inp.dose_date:
        return ChecklistItem(
            name, "hold", f"result dated {lab.date} is after the dose date", (), str(lab.value)
        )
    if inp.first_cycle:
        oldest = add_months(inp.dose_date, -FIRST_CYCLE_LAB_MONTHS)
        if lab.date < oldest:
            return ChecklistItem(
                name,
                "hold",
                f"taken {lab.date}, more than {FIRST_CYCLE_LAB_MONTHS} months before the first "
                "cycle; repeat it",
                ("S54",),
                str(lab.value),
            )
    return None


def _range_item(
    name: str,
    analyte: str,
    lab: LabResult,
    inp: PreInfusionInput,
    age: float | None,
    *,
    low_status: Status,
    low_reason: str,
    low_sources: tuple[str, ...],
) -> ChecklistItem:
    aged = _lab_age_item(name, lab, inp)
    if aged is not None:
        return aged
    lo, hi = lab.lower, lab.upper
    sources: tuple[str, ...] = ()
    if lo is not None and hi is not None:
        rng = f"lab interval {lo:g}-{hi:g} mmol/L"
    else:
        iv = caliper_interval(analyte, sex=inp.sex, age_years=age) if age is not None else None
        if iv is None:
            return ChecklistItem(
                name,
                "attention",
                "no reference interval: give the lab's interval or the age",
                (),
                f"{lab.value:g} mmol/L",
            )
        lo, hi, sources = iv.lower, iv.upper, (iv.source,)
        rng = f"CALIPER interval {lo:g}-{hi:g} mmol/L for age and sex"
    shown = f"{lab.value:g} mmol/L ({lab.date})"
    if lab.value < lo:
        return ChecklistItem(
            name, low_status, f"below {rng}: {low_reason}", sources + low_sources, shown
        )
    if lab.value > hi:
        return ChecklistItem(name, "attention", f"above {rng}", sources, shown)
    return ChecklistItem(name, "ok", f"within {rng}", sources, shown)


def _relative_renal_item(
    cr: LabResult, inp: PreInfusionInput, age: float | None, shown: str
) -> ChecklistItem:
    """No sourced paediatric eGFR limit: renal impairment is a relative contraindication [S54],
    seen as a creatinine above the lab's interval, else above the CALIPER interval [S74]."""
    name = "renal function"
    if cr.upper is not None:
        src: tuple[str, ...] = ()
        upper, rng = cr.upper, f"the lab's upper limit {cr.upper:g} µmol/L"
    else:
        iv = caliper_interval("creatinine", sex=inp.sex, age_years=age) if age is not None else None
        if iv is None:
            return ChecklistItem(
                name,
                "attention",
                "no reference interval for creatinine (give the lab's interval or the age); "
                "renal impairment is a relative contraindication [S54]: judge clinically",
                ("S72", "S54"),
                shown,
            )
        upper = iv.upper
        rng = f"the CALIPER upper limit {iv.upper:g} µmol/L for age and sex"
        src = (iv.source,)
    if cr.value > upper:
        return ChecklistItem(
            name,
            "attention",
            f"creatinine {cr.value:g} µmol/L is above {rng}: renal impairment is a relative "
            "contraindication (dose adjustment may be considered) [S54]; no sourced paediatric "
            "eGFR limit: decide and record why",
            ("S72", "S54", *src),
            shown,
        )
    return ChecklistItem(
        name,
        "ok",
        f"creatinine within {rng}; no sourced paediatric eGFR limit for this protocol",
        ("S72", "S54", *src),
        shown,
    )


def run_checklist(
    protocol: Protocol, inp: PreInfusionInput, settings: ClinicSettings | None = None
) -> ChecklistResult:
    """Check one planned dose of ``protocol``; see the module docstring for the rules.

    Raises :class:`pedbone.plausibility.ImplausibleValueError` (a ``ValueError``) for a value no
    patient can have (calcium 20 or -1 mmol/L, ...): such a value is refused, not judged.
    """
    _refuse_implausible(inp)
    settings = settings or ClinicSettings()
    items: list[ChecklistItem] = []
    if inp.birth_date is not None:
        age: float | None = age_at(inp.birth_date, inp.dose_date)
    else:
        age = inp.age_years

    # Weight --------------------------------------------------------------------------------------
    if inp.weight_date is None:
        items.append(ChecklistItem("weight", "hold", "no weight recorded; weigh before dosing"))
    else:
        days = (inp.dose_date - inp.weight_date).days
        if days < 0:
            items.append(ChecklistItem("weight", "hold", "weight dated after the dose date"))
        elif days > settings.max_weight_age_days:
            items.append(
                ChecklistItem(
                    "weight",
                    "hold",
                    f"{days} days old; limit {settings.max_weight_age_days} days (clinic "
                    f"setting, {settings.origin}); weigh again and recompute the dose",
                    value=str(inp.weight_date),
                )
            )
        else:
            items.append(
                ChecklistItem(
                    "weight",
                    "ok",
                    f"{days} days old (limit {settings.max_weight_age_days} days, clinic setting)",
                    value=str(inp.weight_date),
                )
            )

    required = inp.first_cycle
    missing_status: Status = "hold" if required else "attention"
    missing_why = (
        "not recorded; required before the first cycle"
        if required
        else "not recorded for this dose"
    )

    # Calcium -------------------------------------------------------------------------------------
    if inp.corrected_calcium_mmol_l is None:
        items.append(
            ChecklistItem(
                "corrected calcium",
                "hold",
                "not recorded; serum calcium is checked before each infusion",
                ("S54", "S57"),
            )
        )
    else:
        items.append(
            _range_item(
                "corrected calcium",
                "calcium",
                inp.corrected_calcium_mmol_l,
                inp,
                age,
                low_status="hold",
                low_reason="hypocalcaemia is a contraindication",
                low_sources=("S54",),
            )
        )

    # Phosphate -----------------------------------------------------------------------------------
    if inp.phosphate_mmol_l is None:
        items.append(ChecklistItem("phosphate", missing_status, missing_why, ("S54",)))
    else:
        items.append(
            _range_item(
                "phosphate",
                "phosphate",
                inp.phosphate_mmol_l,
                inp,
                age,
                low_status="attention",
                low_reason="low phosphate (no sourced hold rule; hypophosphataemia is a known "
                "harm of zoledronic acid)",
                low_sources=("S38",),
            )
        )

    # 25-OH-D -------------------------------------------------------------------------------------
    ohd = inp.ohd_nmol_l
    if ohd is None:
        items.append(
            ChecklistItem(
                "25-OH vitamin D", missing_status, missing_why + " (≥ 50 nmol/L)", ("S54",)
            )
        )
    else:
        aged = _lab_age_item("25-OH vitamin D", ohd, inp)
        status = vitamin_d_status(ohd.value, "nmol/L")
        shown = f"{ohd.value:g} nmol/L ({ohd.date}; {status.category} [{status.source}])"
        if aged is not None:
            items.append(aged)
        elif ohd.value < OHD_MIN_NMOL:
            detail = f"below {OHD_MIN_NMOL:g} nmol/L required before infusion"
            if age is not None:
                reps = [
                    r
                    for r in vitamin_d_regimens(age, ohd.value, before_bisphosphonate=True)
                    if r.source == "S56"
                ]
                for r in reps:
                    if r.vitamin_d_iu_per_day is not None:
                        detail += (
                            f"; {r.name}: colecalciferol {r.vitamin_d_iu_per_day[0]:g} IU/day "
                            f"for {r.duration} [{r.source}]"
                        )
            items.append(ChecklistItem("25-OH vitamin D", "hold", detail, ("S54",), shown))
        elif ohd.value > OHD_SUFFICIENCY_MAX_NMOL:
            items.append(
                ChecklistItem(
                    "25-OH vitamin D",
                    "attention",
                    f"≥ {OHD_MIN_NMOL:g} nmol/L [S54] but above the sufficiency range "
                    f"30–100 ng/mL ({OHD_SUFFICIENCY_MAX_NMOL:g} nmol/L) [S69]: check the "
                    "vitamin D dose",
                    ("S54", "S69"),
                    shown,
                )
            )
        else:
            items.append(
                ChecklistItem(
                    "25-OH vitamin D", "ok", f"≥ {OHD_MIN_NMOL:g} nmol/L", ("S54",), shown
                )
            )

    # Renal function ------------------------------------------------------------------------------
    limit = protocol.checks.renal_limit
    cr = inp.creatinine_umol_l
    if cr is None or inp.height_cm is None:
        what = "creatinine" if cr is None else "height"
        st: Status = "hold" if (required or limit is not None) else "attention"
        items.append(
            ChecklistItem(
                "renal function",
                st,
                f"no {what}: bedside Schwartz eGFR cannot be computed"
                + (" (renal function is required before the first cycle)" if required else "")
                + (" (the protocol has a renal limit)" if limit is not None else ""),
                ("S54", "S72"),
            )
        )
    else:
        aged = _lab_age_item("renal function", cr, inp)
        egfr = float(bedside_schwartz_egfr(inp.height_cm, cr.value, unit="umol/L"))
        shown = f"eGFR {egfr:.1f} mL/min/1.73 m² (creatinine {cr.value:g} µmol/L, {cr.date})"
        if aged is not None:
            items.append(aged)
        elif limit is not None and egfr < limit.min_value:
            items.append(
                ChecklistItem(
                    "renal function",
                    "hold",
                    f"below the protocol's limit of {limit.min_value:g} {limit.unit} "
                    f"({limit.measure}; bedside Schwartz eGFR is used in its place)",
                    ("S72", *limit.sources),
                    shown,
                )
            )
        elif limit is not None:
            items.append(
                ChecklistItem(
                    "renal function",
                    "ok",
                    f"at or above the protocol's limit of {limit.min_value:g} {limit.unit} "
                    f"({limit.measure})",
                    ("S72", *limit.sources),
                    shown,
                )
            )
        else:
            items.append(_relative_renal_item(cr, inp, age, shown))

    # Dental --------------------------------------------------------------------------------------
    if inp.known_dental_disease and not inp.dental_review_done:
        items.append(
            ChecklistItem(
                "dental review",
                "hold",
                "known dental disease: dental review before treatment",
                ("S54",),
            )
        )
    elif inp.dental_review_done:
        items.append(ChecklistItem("dental review", "ok", "done", ("S54",)))
    elif inp.known_dental_disease is None:
        items.append(
            ChecklistItem(
                "dental review",
                "attention",
                "not recorded whether there is known dental disease",
                ("S54",),
            )
        )
    else:
        items.append(ChecklistItem("dental review", "ok", "no known dental disease", ("S54",)))

    # Pregnancy -----------------------------------------------------------------------------------
    if inp.pregnancy_possible:
        if inp.pregnancy_test == "negative":
            items.append(ChecklistItem("pregnancy", "ok", "test negative", ("S54",)))
        elif inp.pregnancy_test == "positive":
            items.append(
                ChecklistItem(
                    "pregnancy", "hold", "positive test: pregnancy is a contraindication", ("S54",)
                )
            )
        else:
            items.append(
                ChecklistItem(
                    "pregnancy",
                    "hold",
                    "pregnancy possible and no negative test: test if there is any doubt",
                    ("S54",),
                )
            )
    elif inp.pregnancy_possible is None and inp.sex == "F":
        items.append(
            ChecklistItem(
                "pregnancy",
                "attention",
                "not recorded whether pregnancy is possible; test if there is any doubt",
                ("S54",),
            )
        )
    else:
        items.append(ChecklistItem("pregnancy", "info", "not relevant", ()))

    # Allergy -------------------------------------------------------------------------------------
    if inp.bisphosphonate_allergy:
        items.append(
            ChecklistItem(
                "bisphosphonate allergy", "hold", "allergy is a contraindication", ("S54",)
            )
        )
    elif inp.bisphosphonate_allergy is None:
        items.append(ChecklistItem("bisphosphonate allergy", "attention", "not recorded", ("S54",)))
    else:
        items.append(ChecklistItem("bisphosphonate allergy", "ok", "none known", ("S54",)))

    # Previous acute-phase reaction ---------------------------------------------------------------
    if inp.previous_acute_phase_reaction:
        items.append(
            ChecklistItem(
                "previous acute-phase reaction",
                "attention",
                "paracetamol for flu-like symptoms; symptoms are mainly after the first cycle",
                ("S55",),
            )
        )
    elif inp.previous_acute_phase_reaction is False:
        items.append(ChecklistItem("previous acute-phase reaction", "ok", "none", ()))
    elif not inp.first_cycle:
        items.append(
            ChecklistItem("previous acute-phase reaction", "attention", "not recorded", ())
        )

    # Hydration (protocols with a sourced rule) ----------------------------------------------------
    rule = protocol.checks.withhold_if_dehydrated
    if rule is not None:
        if inp.dehydrated:
            items.append(ChecklistItem("hydration", "hold", "dehydrated: withhold", rule.sources))
        elif inp.dehydrated is None:
            items.append(
                ChecklistItem(
                    "hydration", "attention", "not recorded; withhold if dehydrated", rule.sources
                )
            )
        else:
            items.append(ChecklistItem("hydration", "ok", "not dehydrated", rule.sources))

    return ChecklistResult(protocol.id, inp.dose_date, tuple(items))
