"""The assessment engine: data quality, growth, densitometry, ISCD classification, vertebral
fractures, risk profile, DXA plan, vitamin D and calcium, laboratory and renal function.

Every rule cites the domain digest's keys. Values that fail a data check are reported as a
data-quality finding naming the field and are left out; the rest of the assessment still runs.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pedbone import plausibility
from pedbone.clinical import nutrition
from pedbone.clinical._dates import age_years, birthday
from pedbone.clinical._findings import Category, Finding, Severity
from pedbone.clinical._markers import caliper_interval
from pedbone.clinical._model import (
    DiagnosisCode,
    DxaScan,
    DxaSite,
    DxaSiteResult,
    Fracture,
    FractureSite,
    LabAnalyte,
    LabValue,
    Patient,
    TraumaLevel,
    VertebralAssessment,
)
from pedbone.clinical._options import AssessOptions
from pedbone.clinical._vertebral import VertebraGrade, genant_grade
from pedbone.references import bmad_zscore, haz_adjusted_zscore, reference
from pedbone.units import creatinine_mgdl_to_umol

#: What a configured reference pack can raise: an unknown pack id or measure (LookupError), a
#: broken pack or an unusable input (ValueError, incl. PackError), an unreadable file (OSError).
#: The finding then says the pack was unavailable; anything else is a bug and propagates.
REFERENCE_ERRORS = (LookupError, ValueError, OSError)

__all__ = ["ABMD_PLAUSIBLE", "HEIGHT_PLAUSIBLE"]

#: pedbone's own plausibility range for a paediatric aBMD (g/cm²) and a height (cm): read from
#: :mod:`pedbone.plausibility` (software rule PEDBONE_PLAUSIBILITY), not clinical thresholds.
ABMD_PLAUSIBLE = (plausibility.LIMITS["abmd_g_cm2"].low, plausibility.LIMITS["abmd_g_cm2"].high)
HEIGHT_PLAUSIBLE = (plausibility.LIMITS["height_cm"].low, plausibility.LIMITS["height_cm"].high)
#: Relative tolerance for aBMD against BMC / area (vendors round each value): the import's own
#: (one truth, :data:`pedbone.plausibility.ABMD_CONSISTENCY_TOLERANCE`).
ABMD_CONSISTENCY = plausibility.ABMD_CONSISTENCY_TOLERANCE
#: A height is paired with a creatinine for bedside Schwartz if measured within this many days.
HEIGHT_PAIRING_DAYS = 92

#: ISCD: "BMC/BMD Z-score ≤ −2.0" [S1]; reported as "low bone mass or bone density" [S3].
#: The one definition: the store, forms, list filter, charts and report all read it.
LOW_Z: float = -2.0
_LOW_Z = LOW_Z
#: Under this age the growth reference is WHO 2006 [WHO2006] whatever the clinic's growth pack:
#: the shipped CDC 2000 stature tables start at 2 years [CDC2000] (a coverage rule of pedbone's
#: packs, PEDBONE_SOFTWARE).
WHO2006_BELOW_YEARS: float = 2.0


def is_low_z(z: float | None) -> bool:
    """True when a Z-score is at or below :data:`LOW_Z` (rounded to 6 decimals) [S1][S3]."""
    return z is not None and round(z, 6) <= LOW_Z


def growth_pack_for(age_years: float, options: AssessOptions | None = None) -> str:
    """The growth reference for a child of this age: WHO 2006 under 2 years, else the clinic's
    ``AssessOptions.growth_pack`` (CDC 2000 by default). The assessment, the patient page, the
    growth charts and the report all call this."""
    if age_years < WHO2006_BELOW_YEARS:
        return "who2006"
    return (options or AssessOptions()).growth_pack


_SIZE_CODES = {
    DiagnosisCode.SHORT_STATURE,
    DiagnosisCode.GROWTH_DELAY,
    DiagnosisCode.DELAYED_PUBERTY,
    DiagnosisCode.HYPOGONADISM,
    DiagnosisCode.PREMATURE_OVARIAN_INSUFFICIENCY,
}

Classification = Literal["osteoporosis", "low_bone_density", "not_low", "insufficient_data"]


@dataclass
class _Z:
    """A Z-score candidate for one site."""

    site: DxaSite
    value: float
    kind: str  # 'haz_adjusted', 'bmad', 'pack', 'vendor'
    quantity: str  # 'abmd' or 'bmc'
    reference: str
    path: str


@dataclass
class _Ctx:
    patient: Patient
    as_of: dt.date
    today: dt.date
    options: AssessOptions
    findings: list[Finding] = field(default_factory=list)
    excluded: set[str] = field(default_factory=set)
    risk_groups: dict[str, list[str]] = field(default_factory=dict)
    haz: float | None = None
    height_cm: float | None = None

    @property
    def sex(self) -> Literal["M", "F"]:
        return self.patient.demographics.sex

    @property
    def birth(self) -> dt.date:
        return self.patient.demographics.birth_date

    def age(self, on: dt.date | None = None) -> float:
        return age_years(self.birth, on or self.as_of)

    def add(
        self,
        code: str,
        severity: Severity,
        category: Category,
        en: str,
        nl: str,
        *,
        inputs: dict[str, Any] | None = None,
        sources: Iterable[str] = (),
        field: str | None = None,
        group: str | None = None,
    ) -> Finding:
        keys = tuple(dict.fromkeys(sources))
        if not keys:  # every finding cites a key: a software rule cites the project's own
            keys = (
                "PEDBONE_DATA_QUALITY" if category == Category.DATA_QUALITY else "PEDBONE_SOFTWARE",
            )
        f = Finding(
            code=code,
            severity=severity,
            category=category,
            message_en=en,
            message_nl=_DECIMAL_POINT.sub(",", nl),
            inputs=_jsonable(inputs or {}),
            sources=keys,
            field=field,
        )
        self.findings.append(f)
        if group is not None:
            self.risk_groups.setdefault(group, []).append(code)
        return f

    def dq(
        self,
        code: str,
        path: str,
        en: str,
        nl: str,
        *,
        severity: Severity = Severity.WARNING,
        inputs: dict[str, Any] | None = None,
        sources: Iterable[str] = (),
    ) -> None:
        self.excluded.add(path)
        self.add(
            f"data_quality.{code}",
            severity,
            Category.DATA_QUALITY,
            f"{path}: {en}",
            f"{path}: {nl}",
            inputs=inputs,
            sources=sources,
            field=path,
        )

    def ok(self, path: str) -> bool:
        return path not in self.excluded


#: Dutch (Belgian) messages use a decimal comma; ISO dates and codes contain no "digit.digit".
_DECIMAL_POINT = re.compile(r"(?<=\d)\.(?=\d)")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if hasattr(value, "value") and not isinstance(value, int | str):
        return value.value
    return value


def _fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


def _nl_z(x: float) -> str:
    """A signed Z-score with a decimal comma, e.g. '+1,25'."""
    return f"{x:+.2f}".replace(".", ",")


def _nl_num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


# ---------------------------------------------------------------------------------------------
# Dated records and data quality
# ---------------------------------------------------------------------------------------------


def _dated(p: Patient) -> Iterator[tuple[str, dt.date]]:
    groups: list[tuple[str, Iterable[Any], str]] = [
        ("anthropometry", p.anthropometry, "date"),
        ("puberty", p.puberty, "date"),
        ("medications", p.medications, "start"),
        ("mobility", p.mobility, "date"),
        ("sun_exposure", p.sun_exposure, "date"),
        ("calcium_intake", p.calcium_intake, "date"),
        ("labs", p.labs, "date"),
        ("fractures", p.fractures, "date"),
        ("vertebral_assessments", p.vertebral_assessments, "date"),
        ("dxa_scans", p.dxa_scans, "date"),
        ("symptoms", p.symptoms, "date"),
    ]
    for name, items, attr in groups:
        for i, item in enumerate(items):
            yield f"{name}[{i}]", getattr(item, attr)


_WHAT: dict[str, tuple[str, str]] = {
    "anthropometry": ("measurement", "meting"),
    "puberty": ("puberty observation", "puberteitsobservatie"),
    "medications": ("medication start", "start van de medicatie"),
    "mobility": ("mobility record", "mobiliteitsgegeven"),
    "sun_exposure": ("sun-exposure record", "gegeven over zonblootstelling"),
    "calcium_intake": ("calcium intake", "calciuminname"),
    "labs": ("laboratory result", "labowaarde"),
    "fractures": ("fracture", "fractuur"),
    "vertebral_assessments": ("vertebral assessment", "wervelbeoordeling"),
    "dxa_scans": ("DXA scan", "DXA-scan"),
    "symptoms": ("symptom", "symptoom"),
}


def _date_checks(p: Patient, today: dt.date) -> list[tuple[str, str, str, str, str]]:
    """(code, path, en, nl, record-path) for dates before birth or in the future."""
    birth = p.demographics.birth_date
    out: list[tuple[str, str, str, str, str]] = []
    if birth > today:
        out.append(
            (
                "birth_date_in_future",
                "demographics.birth_date",
                f"birth date {birth} is in the future (today is {today})",
                f"geboortedatum {birth} ligt in de toekomst (vandaag is {today})",
                "demographics",
            )
        )
    for path, day in _dated(p):
        name = path.split("[")[0]
        what_en, what_nl = _WHAT[name]
        fieldpath = f"{path}.{'start' if name == 'medications' else 'date'}"
        if day < birth:
            out.append(
                (
                    "before_birth",
                    fieldpath,
                    f"{what_en} dated {day} is before the birth date {birth}; left out",
                    f"{what_nl} gedateerd {day} ligt vóór de geboortedatum {birth}; niet gebruikt",
                    path,
                )
            )
        elif day > today and name == "medications":
            out.append(
                (
                    "planned",
                    fieldpath,
                    f"{what_en} starting {day} is planned (after today, {today}); not part of "
                    "this assessment",
                    f"{what_nl} met start op {day} is gepland (na vandaag, {today}); geen deel "
                    "van deze beoordeling",
                    path,
                )
            )
        elif day > today:
            out.append(
                (
                    "in_future",
                    fieldpath,
                    f"{what_en} dated {day} is in the future (today is {today}); left out",
                    f"{what_nl} gedateerd {day} ligt in de toekomst (vandaag is {today}); "
                    "niet gebruikt",
                    path,
                )
            )
    return out


def _value_checks(ctx: _Ctx) -> None:
    p = ctx.patient
    for i, a in enumerate(p.anthropometry):
        path = f"anthropometry[{i}]"
        if not ctx.ok(path):
            continue
        for name, value in (("height_cm", a.height_cm), ("weight_kg", a.weight_kg)):
            if value is not None and not plausibility.is_plausible(name, value):
                _implausible(ctx, f"{path}.{name}", name, value)
        if (
            a.height_cm is not None
            and a.weight_kg is not None
            and ctx.ok(f"{path}.height_cm")
            and ctx.ok(f"{path}.weight_kg")
        ):
            bmi = a.weight_kg / (a.height_cm / 100.0) ** 2
            if not plausibility.is_plausible("bmi_kg_m2", bmi):
                _implausible(ctx, f"{path}.weight_kg", "bmi_kg_m2", round(bmi, 1))
    for i, m in enumerate(p.medications):
        if m.end is not None and m.end < m.start:
            ctx.dq(
                "end_before_start",
                f"medications[{i}].end",
                f"{m.name}: end {m.end} is before start {m.start}",
                f"{m.name}: einddatum {m.end} ligt vóór de startdatum {m.start}",
            )
    for i, po in enumerate(p.puberty):
        if po.menarche_date is not None and ctx.sex == "M":
            ctx.dq(
                "menarche_in_male",
                f"puberty[{i}].menarche_date",
                "a menarche date is recorded for a male patient; left out",
                "menarchedatum geregistreerd bij een jongen; niet gebruikt",
            )
    for i, c in enumerate(p.calcium_intake):
        if c.mg_per_day < 0:
            ctx.dq(
                "negative_intake",
                f"calcium_intake[{i}].mg_per_day",
                f"calcium intake {c.mg_per_day:g} mg/day is negative; left out",
                f"calciuminname {c.mg_per_day:g} mg/dag is negatief; niet gebruikt",
            )
    for i, s in enumerate(p.dxa_scans):
        if not ctx.ok(f"dxa_scans[{i}]"):
            continue
        for j, r in enumerate(s.sites):
            _dxa_value_checks(ctx, f"dxa_scans[{i}].sites[{j}]", r)
    for i, lab in enumerate(p.labs):
        if ctx.ok(f"labs[{i}]"):
            _lab_value_checks(ctx, f"labs[{i}]", lab)
    for i, va in enumerate(p.vertebral_assessments):
        for j, v in enumerate(va.vertebrae):
            for name in ("anterior_mm", "middle_mm", "posterior_mm", "reference_height_mm"):
                h = getattr(v, name)
                if h is not None and not h > 0:
                    ctx.dq(
                        "nonpositive_vertebral_height",
                        f"vertebral_assessments[{i}].vertebrae[{j}].{name}",
                        f"{v.level}: height {h:g} mm is not positive; vertebra not graded",
                        f"{v.level}: hoogte {h:g} mm is niet positief; wervel niet gegradeerd",
                    )


#: Dutch labels of the plausibility quantities, for data-quality messages.
_LIMIT_NL: dict[str, str] = {
    "height_cm": "lengte",
    "weight_kg": "gewicht",
    "bmi_kg_m2": "BMI",
    "calcium_mmol_l": "calcium",
    "phosphate_mmol_l": "fosfaat",
    "magnesium_mmol_l": "magnesium",
    "alp_u_l": "alkalische fosfatase",
    "ohd_nmol_l": "25-OH-vitamine D",
    "ohd_ng_ml": "25-OH-vitamine D",
    "pth_pmol_l": "PTH",
    "pth_pg_ml": "PTH",
    "creatinine_umol_l": "creatinine",
    "creatinine_mg_dl": "creatinine",
    "abmd_g_cm2": "aBMD",
    "calcium_mg_day": "calciuminname",
}


def _implausible(
    ctx: _Ctx, path: str, quantity: str, value: float, unit: str | None = None
) -> None:
    """A value outside its plausibility limit: a data-quality finding, the value left out."""
    lim = plausibility.limit_for(quantity, unit)
    assert lim is not None
    u = f" {lim.unit}" if lim.unit else ""
    ctx.dq(
        f"implausible_{lim.quantity.split('_')[0]}",
        path,
        f"{plausibility.message(lim, value)} Left out",
        f"{_LIMIT_NL.get(lim.quantity, lim.label)} {value:g}{u} is niet aannemelijk: pedbone "
        f"aanvaardt {lim.low:g}–{lim.high:g}{u} (softwareregel [{lim.source}]); niet gebruikt. "
        "Controleer de waarde en de eenheid",
        inputs={"value": value, "low": lim.low, "high": lim.high, "unit": lim.unit},
        sources=(lim.source,),
    )


def _dxa_value_checks(ctx: _Ctx, path: str, r: DxaSiteResult) -> None:
    lo, hi = ABMD_PLAUSIBLE
    if r.abmd_g_cm2 is not None and not lo <= r.abmd_g_cm2 <= hi:
        site_nl = SITE_NL.get(r.site.value, r.site.value)
        ctx.dq(
            "implausible_abmd",
            f"{path}.abmd_g_cm2",
            f"{r.site.value} aBMD {r.abmd_g_cm2:g} g/cm² is implausible (pedbone's data check: "
            f"{lo:g}–{hi:g} g/cm², software rule); this site's values and Z-scores are left out",
            f"aBMD van {site_nl} {r.abmd_g_cm2:g} g/cm² is niet aannemelijk (datacontrole van "
            f"pedbone: {lo:g}–{hi:g} g/cm², softwareregel); de waarden en Z-scores van deze "
            "plaats worden niet gebruikt",
            sources=(plausibility.PLAUSIBILITY_SOURCE,),
        )
        ctx.excluded.add(path)
        return
    for name, label in (("bmc_g", "BMC"), ("area_cm2", "area")):
        v = getattr(r, name)
        if v is not None and not v > 0:
            ctx.dq(
                f"nonpositive_{name.split('_')[0]}",
                f"{path}.{name}",
                f"{r.site.value} {label} {v:g} is not positive; left out",
                f"{r.site.value} {label} {v:g} is niet positief; niet gebruikt",
            )
    if (
        r.abmd_g_cm2 is not None
        and r.bmc_g is not None
        and r.area_cm2 is not None
        and r.bmc_g > 0
        and r.area_cm2 > 0
    ):
        expected = r.bmc_g / r.area_cm2
        if abs(r.abmd_g_cm2 - expected) > ABMD_CONSISTENCY * expected:
            ctx.dq(
                "inconsistent_abmd",
                f"{path}.abmd_g_cm2",
                f"{r.site.value} aBMD {r.abmd_g_cm2:g} g/cm² does not match BMC/area "
                f"({r.bmc_g:g}/{r.area_cm2:g} = {expected:.3f} g/cm²); check the transcription",
                f"{r.site.value} aBMD {r.abmd_g_cm2:g} g/cm² komt niet overeen met BMC/oppervlakte "
                f"({r.bmc_g:g}/{r.area_cm2:g} = {_nl_num(expected, 3)} g/cm²); controleer de "
                "overname",
                severity=Severity.NOTICE,
            )
            ctx.excluded.discard(f"{path}.abmd_g_cm2")


#: Lab analytes with a plausibility limit (checked only when the unit is the limit's unit).
_LAB_QUANTITY: dict[LabAnalyte, str] = {
    LabAnalyte.VITAMIN_D_25OH: "ohd",
    LabAnalyte.CREATININE: "creatinine",
    LabAnalyte.CALCIUM: "calcium",
    LabAnalyte.PHOSPHATE: "phosphate",
    LabAnalyte.MAGNESIUM: "magnesium",
    LabAnalyte.ALP: "alp",
    LabAnalyte.PTH: "pth",
}


def _unit_matches(limit_unit: str, unit: str) -> bool:
    return _norm_unit(limit_unit).replace(" ", "") == unit.replace(" ", "")


def _norm_unit(unit: str) -> str:
    return unit.strip().lower().replace("µ", "u").replace("μ", "u")


def _lab_value_checks(ctx: _Ctx, path: str, lab: LabValue) -> None:
    unit = _norm_unit(lab.unit)
    if lab.value < 0:
        ctx.dq(
            "negative_lab_value",
            f"{path}.value",
            f"{lab.analyte.value} {lab.value:g} {lab.unit} is negative; left out",
            f"{lab.analyte.value} {lab.value:g} {lab.unit} is negatief; niet gebruikt",
        )
        return
    quantity = _LAB_QUANTITY.get(lab.analyte)
    if quantity is not None and lab.analyte != LabAnalyte.CREATININE:
        lim = plausibility.limit_for(quantity, lab.unit)
        if lim is not None and _unit_matches(lim.unit, unit) and not lim.contains(lab.value):
            _implausible(ctx, f"{path}.value", lim.quantity, lab.value)
            return
    if lab.analyte == LabAnalyte.VITAMIN_D_25OH:
        try:
            nutrition.to_nmol_per_l(lab.value, lab.unit)
        except ValueError:
            ctx.dq(
                "unknown_unit",
                f"{path}.unit",
                f"25-OH vitamin D unit {lab.unit!r} is not 'nmol/L' or 'ng/mL'; left out",
                f"eenheid {lab.unit!r} van 25-OH-vitamine D is niet 'nmol/L' of 'ng/mL'; "
                "niet gebruikt",
            )
    elif lab.analyte == LabAnalyte.CREATININE:
        if unit not in ("umol/l", "mg/dl"):
            ctx.dq(
                "unknown_unit",
                f"{path}.unit",
                f"creatinine unit {lab.unit!r} is not 'umol/L' or 'mg/dL'; left out",
                f"eenheid {lab.unit!r} van creatinine is niet 'umol/L' of 'mg/dL'; niet gebruikt",
            )
            return
        iv = caliper_interval("creatinine", sex=ctx.sex, age_years=ctx.age(lab.date))
        if iv is None or lab.value <= 0:
            if lab.value <= 0:
                ctx.dq(
                    "nonpositive_creatinine",
                    f"{path}.value",
                    "creatinine must be positive; left out",
                    "creatinine moet positief zijn; niet gebruikt",
                )
            return
        as_umol = lab.value if unit == "umol/l" else creatinine_mgdl_to_umol(lab.value)
        other = creatinine_mgdl_to_umol(lab.value) if unit == "umol/l" else lab.value
        other_unit = "mg/dL" if unit == "umol/l" else "umol/L"
        outside = not iv.lower <= as_umol <= iv.upper
        if outside and iv.lower <= other <= iv.upper:
            ctx.dq(
                "creatinine_wrong_unit",
                f"{path}.unit",
                f"creatinine {lab.value:g} {lab.unit} looks like the wrong unit: read as "
                f"{other_unit} it would be {other:.0f} µmol/L, inside the age interval "
                f"{iv.lower:g}–{iv.upper:g} µmol/L [S74]; left out until the unit is confirmed",
                f"creatinine {lab.value:g} {lab.unit} lijkt in de verkeerde eenheid te staan: als "
                f"{other_unit} gelezen is het {other:.0f} µmol/L, binnen het leeftijdsinterval "
                f"{iv.lower:g}–{iv.upper:g} µmol/L [S74]; niet gebruikt tot de eenheid "
                "bevestigd is",
                inputs={"value": lab.value, "unit": lab.unit, "interval": [iv.lower, iv.upper]},
                sources=("S74", "S72b"),
            )
            return
        if not plausibility.is_plausible("creatinine", lab.value, lab.unit):
            _implausible(ctx, f"{path}.value", "creatinine", lab.value, lab.unit)


# ---------------------------------------------------------------------------------------------
# Selection helpers
# ---------------------------------------------------------------------------------------------


def _valid(ctx: _Ctx, name: str, items: Iterable[Any], attr: str = "date") -> list[tuple[int, Any]]:
    out = []
    for i, item in enumerate(items):
        if ctx.ok(f"{name}[{i}]") and getattr(item, attr) <= ctx.as_of:
            out.append((i, item))
    return out


def _latest(pairs: list[tuple[int, Any]], attr: str = "date") -> tuple[int, Any] | None:
    if not pairs:
        return None
    return max(pairs, key=lambda p: (getattr(p[1], attr), p[0]))


def _has(ctx: _Ctx, *codes: DiagnosisCode) -> bool:
    return any(d.code in codes for d in ctx.patient.diagnoses)


def _active(start: dt.date | None, end: dt.date | None, on: dt.date) -> bool:
    return (start is None or start <= on) and (end is None or end >= on)


# ---------------------------------------------------------------------------------------------
# Growth
# ---------------------------------------------------------------------------------------------


def _growth(ctx: _Ctx) -> None:
    pairs = [
        (i, a)
        for i, a in _valid(ctx, "anthropometry", ctx.patient.anthropometry)
        if a.height_cm is not None and ctx.ok(f"anthropometry[{i}].height_cm")
    ]
    last = _latest(pairs)
    if last is None:
        return
    i, a = last
    assert a.height_cm is not None
    ctx.height_cm = a.height_cm
    age = ctx.age(a.date)
    pack_id = growth_pack_for(age, ctx.options)
    try:
        pack = reference(pack_id)
        z = float(pack.zscore("height", sex=[ctx.sex], age_years=[age], value=[a.height_cm])[0])
    except REFERENCE_ERRORS as exc:
        ctx.add(
            "growth.haz_unavailable",
            Severity.INFO,
            Category.GROWTH,
            f"Height {a.height_cm:g} cm on {a.date}; height-for-age Z not available "
            f"({pack_id}: {type(exc).__name__}).",
            f"Lengte {a.height_cm:g} cm op {a.date}; lengte-voor-leeftijd Z niet beschikbaar "
            f"({pack_id}: {type(exc).__name__}).",
            inputs={"height_cm": a.height_cm, "date": a.date, "pack": pack_id},
        )
        return
    if math.isnan(z):
        ctx.add(
            "growth.haz_out_of_range",
            Severity.INFO,
            Category.GROWTH,
            f"Height {a.height_cm:g} cm at {age:.2f} y: outside the age range of {pack_id}.",
            f"Lengte {a.height_cm:g} cm op {_nl_num(age)} jaar: buiten het leeftijdsbereik van "
            f"{pack_id}.",
            inputs={"height_cm": a.height_cm, "age_years": age, "pack": pack_id},
        )
        return
    ctx.haz = z
    ctx.add(
        "growth.haz",
        Severity.INFO,
        Category.GROWTH,
        f"Height {a.height_cm:g} cm at {age:.2f} y: height-for-age Z {z:+.2f} ({pack_id}).",
        f"Lengte {a.height_cm:g} cm op {_nl_num(age)} jaar: lengte-voor-leeftijd Z "
        f"{_nl_z(z)} ({pack_id}).",
        inputs={
            "height_cm": a.height_cm,
            "age_years": age,
            "haz": z,
            "pack": pack_id,
            "field": f"anthropometry[{i}]",
        },
        sources=_pack_citation(pack_id),
    )


def _pack_citation(pack_id: str) -> tuple[str, ...]:
    """The bibliography key of a built-in reference pack (e.g. 'CDC2000'), if there is one."""
    from pedbone.bibliography import sources

    key = pack_id.upper()
    return (key,) if key in sources() else ()


def _bmi_and_puberty(ctx: _Ctx) -> None:
    """BMI-for-age Z at the latest visit with height and weight, and the latest Tanner stage:
    shown without judgement (the sources give no cut-off for either)."""
    pairs = [
        (i, a)
        for i, a in _valid(ctx, "anthropometry", ctx.patient.anthropometry)
        if a.height_cm is not None
        and a.weight_kg is not None
        and ctx.ok(f"anthropometry[{i}].height_cm")
        and ctx.ok(f"anthropometry[{i}].weight_kg")
    ]
    last = _latest(pairs)
    if last is not None:
        i, a = last
        assert a.height_cm is not None
        assert a.weight_kg is not None
        bmi = a.weight_kg / (a.height_cm / 100.0) ** 2
        age = ctx.age(a.date)
        pack_id = growth_pack_for(age, ctx.options)
        z: float | None
        try:
            z = float(
                reference(pack_id).zscore("bmi", sex=[ctx.sex], age_years=[age], value=[bmi])[0]
            )
            if math.isnan(z):
                z = None
        except REFERENCE_ERRORS:
            z = None
        zt_en = f", BMI-for-age Z {z:+.2f} ({pack_id})" if z is not None else ""
        zt_nl = f", BMI-voor-leeftijd Z {_nl_z(z)} ({pack_id})" if z is not None else ""
        ctx.add(
            "growth.bmi",
            Severity.INFO,
            Category.GROWTH,
            f"Weight {a.weight_kg:g} kg on {a.date}: BMI {bmi:.1f} kg/m²{zt_en}.",
            f"Gewicht {a.weight_kg:g} kg op {a.date}: BMI {bmi:.1f} kg/m²{zt_nl}.",
            inputs={"field": f"anthropometry[{i}]", "bmi": bmi, "bmi_z": z, "pack": pack_id},
            sources=_pack_citation(pack_id) if z is not None else (),
        )
    pub = _latest(
        [(i, po) for i, po in _valid(ctx, "puberty", ctx.patient.puberty) if po.tanner_stage]
    )
    if pub is not None:
        i, po = pub
        men = [
            q.menarche_date
            for j, q in enumerate(ctx.patient.puberty)
            if q.menarche_date is not None and ctx.ok(f"puberty[{j}].menarche_date")
        ]
        m_en = f"; menarche {min(men)}" if men else ""
        m_nl = f"; menarche {min(men)}" if men else ""
        ctx.add(
            "growth.puberty",
            Severity.INFO,
            Category.GROWTH,
            f"Tanner stage {po.tanner_stage} on {po.date} (age {ctx.age(po.date):.1f} y){m_en}.",
            f"Tannerstadium {po.tanner_stage} op {po.date} (leeftijd "
            f"{_nl_num(ctx.age(po.date), 1)} jaar){m_nl}.",
            inputs={"field": f"puberty[{i}]", "tanner_stage": po.tanner_stage},
        )


def _size_adjustment_reason(ctx: _Ctx) -> tuple[str, str] | None:
    """Why the child counts as short or late-maturing (English, Dutch), or None."""
    codes = [d.code.value for d in ctx.patient.diagnoses if d.code in _SIZE_CODES]
    if codes:
        return "recorded: " + ", ".join(codes), "geregistreerd: " + ", ".join(codes)
    cut = ctx.options.short_stature_haz
    if cut is not None and ctx.haz is not None and ctx.haz <= cut:
        return (
            f"HAZ {ctx.haz:+.2f} ≤ clinic cut-off {cut:+.2f} (clinic setting short_stature_haz; "
            "the sources give no cut-off [PEDBONE_CLINIC_SETTING])",
            f"HAZ {_nl_z(ctx.haz)} ≤ grenswaarde van de kliniek {_nl_z(cut)} (kliniekinstelling; "
            "de bronnen geven geen grenswaarde [PEDBONE_CLINIC_SETTING])",
        )
    return None


# ---------------------------------------------------------------------------------------------
# Densitometry: which Z-score
# ---------------------------------------------------------------------------------------------


def _group_kw(ctx: _Ctx, pack_id: str, site: str) -> dict[str, Any]:
    """``group=`` for a pack with population groups (``AssessOptions.dxa_groups``)."""
    group = ctx.options.dxa_groups.get(site)
    return {"group": [group]} if group and reference(pack_id).groups else {}


def _pack_z(ctx: _Ctx, pack_id: str, scan: DxaScan, measure: str, value: float) -> float | None:
    """Z of one raw value from a configured pack (None: measure not in the pack, or no Z)."""
    site = measure.rsplit("_", 1)[0]
    pack = reference(pack_id)
    if pack.groups and not ctx.options.dxa_groups.get(site):
        raise LookupError(f"{pack_id} needs a population group ({', '.join(pack.groups)})")
    z = float(
        pack.zscore(
            measure,
            sex=[ctx.sex],
            age_years=[ctx.age(scan.date)],
            value=[value],
            **_group_kw(ctx, pack_id, site),
        )[0]
    )
    return None if math.isnan(z) else z


def _site_zs(ctx: _Ctx, scan: DxaScan, si: int) -> list[_Z]:
    """Every Z-score candidate of a scan: reported (vendor, HAZ-adjusted, BMAD) and computed
    from the raw aBMD and BMC with the site's configured pack. A |Z| beyond the plausibility
    bound is a data-quality finding, not a candidate."""
    raw: list[_Z] = []
    vendor_ref = scan.reference or f"{scan.scanner.manufacturer} (reference not recorded)"
    for j, r in enumerate(scan.sites):
        path = f"dxa_scans[{si}].sites[{j}]"
        if not ctx.ok(path):
            continue
        if r.haz_adjusted_z_abmd is not None:
            raw.append(
                _Z(
                    r.site,
                    r.haz_adjusted_z_abmd,
                    "haz_adjusted",
                    "abmd",
                    vendor_ref,
                    f"{path}.haz_adjusted_z_abmd",
                )
            )
        if r.bmad_z is not None:
            raw.append(_Z(r.site, r.bmad_z, "bmad", "bmad", vendor_ref, f"{path}.bmad_z"))
        pack_id = ctx.options.dxa_packs.get(r.site.value)
        if pack_id and r.abmd_g_cm2 is not None and ctx.ok(f"{path}.abmd_g_cm2"):
            try:
                z = _pack_z(ctx, pack_id, scan, f"{r.site.value}_abmd", r.abmd_g_cm2)
                if z is not None:
                    raw.append(_Z(r.site, z, "pack", "abmd", pack_id, f"{path}.abmd_g_cm2"))
            except REFERENCE_ERRORS as exc:
                ctx.add(
                    "densitometry.pack_unavailable",
                    Severity.INFO,
                    Category.DENSITOMETRY,
                    f"Reference pack {pack_id!r} could not score {r.site.value} aBMD "
                    f"({type(exc).__name__}: {exc}); the scanner's Z-score is used where there "
                    "is one.",
                    f"Referentiepakket {pack_id!r} kon {r.site.value}-aBMD niet scoren "
                    f"({type(exc).__name__}: {exc}); de Z-score van de scanner wordt gebruikt "
                    "als die er is.",
                    inputs={"pack": pack_id, "site": r.site.value},
                    sources=("PEDBONE_SOFTWARE",),
                )
        if pack_id and r.bmc_g is not None and r.bmc_g > 0 and ctx.ok(f"{path}.bmc_g"):
            try:
                z = _pack_z(ctx, pack_id, scan, f"{r.site.value}_bmc", r.bmc_g)
            except REFERENCE_ERRORS:  # a pack without this site's BMC: no candidate
                z = None
            if z is not None:
                raw.append(_Z(r.site, z, "pack", "bmc", pack_id, f"{path}.bmc_g"))
        if pack_id and r.abmd_g_cm2 is not None and ctx.ok(f"{path}.abmd_g_cm2"):
            height = _height_near(ctx, scan.date)
            if height is not None:
                hz = _haz_adjusted_z(ctx, pack_id, scan, r.site, r.abmd_g_cm2, height)
                if hz is not None:
                    raw.append(
                        _Z(r.site, hz, "haz_adjusted", "abmd", pack_id, f"{path}.abmd_g_cm2")
                    )
        if pack_id and r.bmc_g and r.area_cm2 and r.bmc_g > 0 and r.area_cm2 > 0:
            bz = _bmad_z(ctx, pack_id, scan, r.site, r.bmc_g, r.area_cm2)
            if bz is not None:
                raw.append(_Z(r.site, bz, "bmad", "bmad", pack_id, f"{path}.bmc_g"))
        if r.vendor_z_abmd is not None:
            raw.append(
                _Z(r.site, r.vendor_z_abmd, "vendor", "abmd", vendor_ref, f"{path}.vendor_z_abmd")
            )
        if r.vendor_z_bmc is not None:
            raw.append(
                _Z(r.site, r.vendor_z_bmc, "vendor", "bmc", vendor_ref, f"{path}.vendor_z_bmc")
            )
    out: list[_Z] = []
    for cand in raw:
        if plausibility.is_plausible("z_score", cand.value):
            out.append(cand)
            continue
        _implausible_z(ctx, cand)
    return out


def _implausible_z(ctx: _Ctx, z: _Z) -> None:
    lim = plausibility.LIMITS["z_score"]
    ctx.add(
        "data_quality.implausible_z",
        Severity.WARNING,
        Category.DATA_QUALITY,
        f"{z.path}: {z.site.value} {z.quantity} Z-score {z.value:+.2f} ({z.kind}) is "
        f"outside ±{lim.high:g} ({lim.reason}); it is not shown or used",
        f"{z.path}: {SITE_NL.get(z.site.value, z.site.value)} {z.quantity}-Z-score "
        f"{_nl_z(z.value)} valt buiten ±{lim.high:g} (buiten dit bereik is een LMS-curve "
        "ver voorbij haar gegevens geëxtrapoleerd: een gegevensfout); niet getoond of "
        "gebruikt",
        inputs={"z": z.value, "site": z.site.value, "kind": z.kind, "bound": lim.high},
        sources=(plausibility.PLAUSIBILITY_SOURCE,),
        field=z.path,
    )


def _height_near(ctx: _Ctx, day: dt.date) -> float | None:
    """The height measured closest to ``day``, within HEIGHT_PAIRING_DAYS."""
    best: tuple[int, float] | None = None
    for i, a in enumerate(ctx.patient.anthropometry):
        if a.height_cm is None or not ctx.ok(f"anthropometry[{i}]"):
            continue
        if not ctx.ok(f"anthropometry[{i}].height_cm"):
            continue
        gap = abs((a.date - day).days)
        if gap <= HEIGHT_PAIRING_DAYS and (best is None or gap < best[0]):
            best = (gap, a.height_cm)
    return None if best is None else best[1]


def _haz_adjusted_z(
    ctx: _Ctx, pack_id: str, scan: DxaScan, site: DxaSite, abmd: float, height: float
) -> float | None:
    """HAZ-adjusted aBMD Z (Zemel 2010 method [S11]) from the pack's own adjustment equations,
    via the reference engine; None when the pack has none for this measure and sex."""
    measure = f"{site.value}_abmd"
    try:
        if not any(eq.measure == measure for eq in reference(pack_id).meta.haz_equations):
            return None  # the pack has no equation for this measure: nothing to compute
    except REFERENCE_ERRORS:
        return None
    try:
        res = haz_adjusted_zscore(
            pack_id,
            f"{site.value}_abmd",
            sex=[ctx.sex],
            age_years=[ctx.age(scan.date)],
            value=[abmd],
            height=[height],
            **_group_kw(ctx, pack_id, site.value),
        )
        z = float(res.z[0])
    except REFERENCE_ERRORS:
        return None
    return None if math.isnan(z) else z


def _bmad_z(
    ctx: _Ctx, pack_id: str, scan: DxaScan, site: DxaSite, bmc: float, area: float
) -> float | None:
    """BMAD Z-score (spine BMC / area^1.5 [S13]) from the pack's ``<site>_bmad`` table, via the
    reference engine; None when the pack has no such table."""
    try:
        res = bmad_zscore(
            pack_id,
            site.value,
            sex=[ctx.sex],
            age_years=[ctx.age(scan.date)],
            bmc=[bmc],
            area=[area],
            **_group_kw(ctx, pack_id, site.value),
        )
        z = float(res.z[0])
    except REFERENCE_ERRORS:
        return None
    return None if math.isnan(z) else z


_ADJUSTED_ORDER = ("haz_adjusted", "bmad", "pack", "vendor")
_PLAIN_ORDER = ("pack", "vendor", "haz_adjusted", "bmad")
_SIZE_ADJUSTED = ("haz_adjusted", "bmad")
_PREFERRED_SITES = (DxaSite.SPINE, DxaSite.TBLH)


def _family(z: _Z) -> str:
    """'content' for BMC, 'density' for aBMD and BMAD: each site has up to two measures."""
    return "content" if z.quantity == "bmc" else "density"


def _choose_z(ctx: _Ctx, zs: list[_Z], adjust: bool) -> tuple[_Z | None, list[_Z]]:
    """The Z the classification uses, and the best candidate of every site and measure.

    ISCD: "BMC/BMD Z-score ≤ −2.0" [S1], "low BMC or BMD for chronological age" [S3]: every
    measured site and both measures (BMC, BMD) count, so the lowest best candidate decides. Per
    site and measure the candidates are ranked by kind: reference-pack, then the scanner's own,
    for a child of ordinary size; size-adjusted first (HAZ-adjusted, BMAD) for a short or
    late-maturing child [S3][S11], and then, where a size-adjusted Z exists for any site, only
    size-adjusted Z-scores decide (an unadjusted Z underestimates a short child's bone).
    """
    order = _ADJUSTED_ORDER if adjust else _PLAIN_ORDER
    best: dict[tuple[DxaSite, str], _Z] = {}
    for key in sorted({(z.site, _family(z)) for z in zs}, key=lambda k: (k[0].value, k[1])):
        cands = [z for z in zs if (z.site, _family(z)) == key]
        cands.sort(key=lambda z: (order.index(z.kind), 0 if z.quantity == "abmd" else 1))
        best[key] = cands[0]
    per = list(best.values())
    if not per:
        return None, []
    pool = per
    if adjust:
        adjusted = [z for z in per if z.kind in _SIZE_ADJUSTED]
        if adjusted:
            pool = adjusted
    return min(pool, key=lambda z: (z.value, z.path)), per


#: Dutch names of the DXA sites for messages.
SITE_NL: dict[str, str] = {
    "spine": "lumbale wervelkolom",
    "tblh": "totaal lichaam zonder hoofd",
    "total_body": "totaal lichaam",
    "femoral_neck": "femurhals",
    "total_hip": "totale heup",
    "forearm": "voorarm",
    "lateral_distal_femur": "lateraal distaal femur",
    "leg": "been",
}

_KIND_TEXT: dict[str, tuple[str, str]] = {
    "haz_adjusted": ("height-for-age-Z-adjusted", "gecorrigeerd voor lengte-Z (HAZ)"),
    "bmad": ("BMAD", "BMAD"),
    "pack": ("reference-pack", "uit het referentiepakket"),
    "vendor": ("scanner's", "van de scanner"),
}


def _zlabel(z: _Z) -> str:
    return f"{z.site.value} {'aBMD' if z.quantity == 'abmd' else z.quantity.upper()}"


def _zlabel_nl(z: _Z) -> str:
    q = "aBMD" if z.quantity == "abmd" else z.quantity.upper()
    return f"{q} {SITE_NL.get(z.site.value, z.site.value)}"


def _densitometry(ctx: _Ctx) -> tuple[_Z | None, DxaScan | None]:
    scans = _valid(ctx, "dxa_scans", ctx.patient.dxa_scans)
    last = _latest(scans)
    if last is None:
        return None, None
    si, scan = last
    return _densitometry_of(ctx, si, scan, report=True), scan


def _densitometry_of(ctx: _Ctx, si: int, scan: DxaScan, *, report: bool) -> _Z | None:
    zs = _site_zs(ctx, scan, si)
    reasons = _size_adjustment_reason(ctx)
    chosen, per_site = _choose_z(ctx, zs, adjust=reasons is not None)
    if not report:
        return chosen
    if chosen is None:
        ctx.add(
            "densitometry.no_z",
            Severity.NOTICE,
            Category.DENSITOMETRY,
            f"DXA of {scan.date} has no usable Z-score.",
            f"DXA van {scan.date} heeft geen bruikbare Z-score.",
            inputs={"scan": f"dxa_scans[{si}]"},
            sources=("S1", "S3"),
        )
        return None
    kind_en, kind_nl = _KIND_TEXT[chosen.kind]
    why_en: list[str] = []
    why_nl: list[str] = []
    sources = ["S1", "S3"]
    if len(per_site) > 1:
        why_en.append(
            "the lowest of every measured site and measure, BMC and BMD "
            f"({len(per_site)} candidates) [S1][S3]"
        )
        why_nl.append(
            "de laagste van elke gemeten plaats en maat, BMC en BMD "
            f"({len(per_site)} kandidaten) [S1][S3]"
        )
    if chosen.site not in _PREFERRED_SITES:
        why_en.append("not a recommended site (spine, TBLH [S3]); see the other sites below")
        why_nl.append("geen aanbevolen plaats (wervelkolom, TBLH [S3]); zie de andere plaatsen")
        sources.append("S6")
    adjusted_any = [z for z in per_site if z.kind in _SIZE_ADJUSTED]
    if reasons is not None:
        reason, reason_nl = reasons
        sources.append("S11")
        if "PEDBONE_CLINIC_SETTING" in reason:
            sources.append("PEDBONE_CLINIC_SETTING")
        if chosen.kind in _SIZE_ADJUSTED:
            why_en.append(
                f"size-adjusted because the child is short or late-maturing ({reason}); an "
                "unadjusted Z underestimates bone density in a short child [S3][S11]"
            )
            why_nl.append(
                f"gecorrigeerd voor lichaamsgrootte omdat het kind klein of laat rijpend is "
                f"({reason_nl}); een niet-gecorrigeerde Z onderschat de botdensiteit bij een "
                "klein kind [S3][S11]"
            )
        else:
            ctx.add(
                "densitometry.size_adjustment_unavailable",
                Severity.NOTICE,
                Category.DENSITOMETRY,
                f"Size adjustment (BMAD or HAZ-adjusted Z) is recommended ({reason}) but this "
                "scan has none at any site; the unadjusted Z-score underestimates bone density "
                "in a short or late-maturing child.",
                f"Correctie voor lichaamsgrootte (BMAD of voor lengte-Z gecorrigeerde Z) is "
                f"aangewezen ({reason_nl}) maar deze scan heeft er op geen enkele plaats een; de "
                "niet-gecorrigeerde Z-score onderschat de botdensiteit bij een klein of laat "
                "rijpend kind.",
                inputs={"reason": reason},
                sources=("S3", "S11"),
            )
    elif ctx.haz is not None and ctx.haz < 0:
        cut = "no short-stature cut-off is set (clinic setting short_stature_haz)"
        cut_nl = "er is geen grenswaarde voor kleine gestalte ingesteld (kliniekinstelling)"
        why_en.append(
            f"HAZ {ctx.haz:+.2f} and {cut}; unadjusted Z-scores remain associated with height "
            "Z [S11]"
            + (f"; a size-adjusted {_zlabel(adjusted_any[0])} Z exists" if adjusted_any else "")
        )
        why_nl.append(
            f"HAZ {_nl_z(ctx.haz)} en {cut_nl}; niet-gecorrigeerde Z-scores blijven "
            "geassocieerd met de lengte-Z [S11]"
            + (
                f"; er is een voor grootte gecorrigeerde Z ({_zlabel_nl(adjusted_any[0])})"
                if adjusted_any
                else ""
            )
        )
        sources += ["S11", "PEDBONE_CLINIC_SETTING"]
    if chosen.kind == "vendor":
        why_en.append(
            f"the scanner's own Z-score (reference '{chosen.reference}') is used: no Z-score "
            "was computed from the raw values with a configured reference pack"
        )
        why_nl.append(
            f"de Z-score van de scanner zelf (referentie '{chosen.reference}') wordt gebruikt: "
            "er is geen Z-score uit de ruwe waarden berekend met een ingesteld referentiepakket"
        )
    others = [z for z in per_site if z is not chosen]
    also_en = ", ".join(f"{_zlabel(z)} {z.value:+.2f} ({_KIND_TEXT[z.kind][0]})" for z in others)
    also_nl = ", ".join(
        f"{_zlabel_nl(z)} {_nl_z(z.value)} ({_KIND_TEXT[z.kind][1]})" for z in others
    )
    ctx.add(
        "densitometry.z_used",
        Severity.INFO,
        Category.DENSITOMETRY,
        f"DXA {scan.date}: classification uses the {kind_en} {_zlabel(chosen)} Z-score "
        f"{chosen.value:+.2f}"
        + (f" ({'; '.join(why_en)})" if why_en else "")
        + "."
        + (f" Other sites and measures: {also_en}." if others else ""),
        f"DXA {scan.date}: de classificatie gebruikt de Z-score ({kind_nl}) van "
        f"{_zlabel_nl(chosen)}: {_nl_z(chosen.value)}"
        + (f" ({'; '.join(why_nl)})" if why_nl else "")
        + "."
        + (f" Andere plaatsen en maten: {also_nl}." if others else ""),
        inputs={
            "scan_date": scan.date,
            "site": chosen.site.value,
            "z": chosen.value,
            "kind": chosen.kind,
            "quantity": chosen.quantity,
            "reference": chosen.reference,
            "field": chosen.path,
            "per_site": [
                {"site": z.site.value, "z": z.value, "kind": z.kind, "quantity": z.quantity}
                for z in per_site
            ],
            "haz": ctx.haz,
        },
        sources=sources,
    )
    return chosen


# ---------------------------------------------------------------------------------------------
# Vertebral fractures
# ---------------------------------------------------------------------------------------------


@dataclass
class _VF:
    level: str
    grade: float
    ftype: str | None
    source: str  # 'morphometry' | 'reader' | 'fracture_record'
    date: dt.date
    counts_for_iscd: bool
    trauma: TraumaLevel


def _vertebral(ctx: _Ctx) -> tuple[list[_VF], int | None]:
    vfs: list[_VF] = []
    assessments = _valid(ctx, "vertebral_assessments", ctx.patient.vertebral_assessments)
    latest_count: int | None = None
    last = _latest(assessments)
    for i, va in assessments:
        graded = _grade_assessment(ctx, i, va)
        for level, grade, ftype, how in graded:
            if grade >= 1:
                vfs.append(
                    _VF(
                        level,
                        grade,
                        ftype,
                        how,
                        va.date,
                        va.trauma != TraumaLevel.HIGH and not va.local_disease,
                        va.trauma,
                    )
                )
        if last is not None and last[0] == i:
            latest_count = sum(1 for _, g, _, _ in graded if g >= 1)
            frac = [
                f"{lv} (grade {g:g}{', ' + t if t else ''})" for lv, g, t, _ in graded if g >= 1
            ]
            frac_nl = [
                f"{lv} (graad {_nl_num(g, 0) if g == int(g) else _nl_num(g, 1)}"
                f"{', ' + _TYPE_NL[t] if t else ''})"
                for lv, g, t, _ in graded
                if g >= 1
            ]
            borderline = [lv for lv, g, _, _ in graded if g == 0.5]
            sev = Severity.ALERT if latest_count else Severity.INFO
            en = (
                f"{va.method.capitalize() if va.method == 'radiograph' else 'VFA'} of {va.date}: "
                f"{latest_count} {'vertebra' if latest_count == 1 else 'vertebrae'} with a "
                "fracture (Genant grade ≥ 1)" + (f": {', '.join(frac)}" if frac else "") + "."
            )
            nl = (
                f"{'Radiografie' if va.method == 'radiograph' else 'VFA'} van {va.date}: "
                f"{latest_count} {'wervel' if latest_count == 1 else 'wervels'} met een fractuur "
                "(Genant-graad ≥ 1)" + (f": {', '.join(frac_nl)}" if frac_nl else "") + "."
            )
            if borderline:
                en += f" Borderline (grade 0.5): {', '.join(borderline)}."
                nl += f" Twijfelachtig (graad 0,5): {', '.join(borderline)}."
            ctx.add(
                "vertebral.count",
                sev,
                Category.VERTEBRAL,
                en,
                nl,
                inputs={
                    "date": va.date,
                    "count": latest_count,
                    "vertebrae": [
                        {"level": lv, "grade": g, "type": t, "from": how}
                        for lv, g, t, how in graded
                    ],
                },
                sources=("S16",),
            )
    for _i, fx in _valid(ctx, "fractures", ctx.patient.fractures):
        if fx.site == FractureSite.VERTEBRAL:
            vfs.append(
                _VF(
                    fx.bone or "vertebra",
                    1,
                    None,
                    "fracture_record",
                    fx.date,
                    fx.trauma != TraumaLevel.HIGH and not fx.local_disease,
                    fx.trauma,
                )
            )
    return vfs, latest_count


_TYPE_NL = {"wedge": "wigvormig", "biconcave": "biconcaaf", "crush": "compressie"}


def _grade_assessment(
    ctx: _Ctx, i: int, va: VertebralAssessment
) -> list[tuple[str, float, str | None, str]]:
    out: list[tuple[str, float, str | None, str]] = []
    for j, v in enumerate(va.vertebrae):
        base = f"vertebral_assessments[{i}].vertebrae[{j}]"
        morph: VertebraGrade | None = None
        heights = (v.anterior_mm, v.middle_mm, v.posterior_mm)
        bad = any(
            not ctx.ok(f"{base}.{n}")
            for n in ("anterior_mm", "middle_mm", "posterior_mm", "reference_height_mm")
        )
        if all(h is not None for h in heights) and not bad:
            assert v.anterior_mm is not None
            assert v.middle_mm is not None
            assert v.posterior_mm is not None
            morph = genant_grade(
                v.level, v.anterior_mm, v.middle_mm, v.posterior_mm, v.reference_height_mm
            )
        elif any(h is not None for h in heights) and not bad:
            ctx.add(
                "vertebral.incomplete_morphometry",
                Severity.NOTICE,
                Category.VERTEBRAL,
                f"{v.level}: anterior, middle and posterior heights are all needed for grading.",
                f"{v.level}: voorste, middelste en achterste hoogte zijn alle nodig voor "
                "gradering.",
                inputs={"field": base},
                sources=("S16",),
            )
        if v.reader_grade is not None:
            if morph is not None and morph.grade != v.reader_grade and v.reader_grade != 0.5:
                ctx.add(
                    "vertebral.reader_disagrees",
                    Severity.NOTICE,
                    Category.VERTEBRAL,
                    f"{v.level}: reader grade {v.reader_grade:g} differs from the morphometric "
                    f"grade {morph.grade} ({morph.loss_percent:.1f} % height loss); the reader's "
                    "grade is used.",
                    f"{v.level}: graad van de beoordelaar {v.reader_grade:g} verschilt van de "
                    f"morfometrische graad {morph.grade} ({_nl_num(morph.loss_percent, 1)} % "
                    "hoogteverlies); de graad van de beoordelaar wordt gebruikt.",
                    inputs={"field": base, "loss_percent": morph.loss_percent},
                    sources=("S16",),
                )
            out.append((v.level, float(v.reader_grade), v.reader_type, "reader"))
        elif morph is not None:
            out.append((v.level, float(morph.grade), morph.fracture_type, "morphometry"))
    return out


# ---------------------------------------------------------------------------------------------
# ISCD classification
# ---------------------------------------------------------------------------------------------


def _long_bone(ctx: _Ctx) -> tuple[list[tuple[int, Fracture]], int, int]:
    lbs = [
        (i, f)
        for i, f in _valid(ctx, "fractures", ctx.patient.fractures)
        if f.site in (FractureSite.LONG_BONE_UPPER, FractureSite.LONG_BONE_LOWER)
    ]
    by10 = sum(1 for _, f in lbs if f.date <= birthday(ctx.birth, 10))
    by19 = sum(1 for _, f in lbs if f.date <= birthday(ctx.birth, 19))
    return lbs, by10, by19


def _classify(ctx: _Ctx, z: _Z | None, vfs: list[_VF]) -> Classification:
    lbs, by10, by19 = _long_bone(ctx)
    significant = by10 >= 2 or by19 >= 3
    low = z is not None and round(z.value, 6) <= _LOW_Z
    counting = [v for v in vfs if v.counts_for_iscd]
    fx_inputs = {
        "long_bone_fractures": [
            {"date": f.date, "bone": f.bone, "trauma": f.trauma} for _, f in lbs
        ],
        "long_bone_by_age_10": by10,
        "long_bone_by_age_19": by19,
        "z": None if z is None else z.value,
        "z_kind": None if z is None else z.kind,
        "z_site": None if z is None else z.site.value,
    }
    excluded_vf = [v for v in vfs if not v.counts_for_iscd]
    if excluded_vf:
        ctx.add(
            "iscd.vertebral_fracture_excluded",
            Severity.NOTICE,
            Category.CLASSIFICATION,
            f"{len(excluded_vf)} vertebral fracture{'' if len(excluded_vf) == 1 else 's'} with "
            "high-energy trauma or local disease do not count towards osteoporosis.",
            f"{len(excluded_vf)} {'wervelfractuur' if len(excluded_vf) == 1 else 'wervelfracturen'}"
            " met hoogenergetisch trauma of lokale botziekte tellen niet mee voor osteoporose.",
            inputs={"levels": [v.level for v in excluded_vf]},
            sources=("S1",),
        )
    if counting:
        unknown = [v.level for v in counting if v.trauma == TraumaLevel.UNKNOWN]
        levels = sorted({v.level for v in counting})
        n = len(levels)
        en = (
            f"Osteoporosis: {n} vertebra{'' if n == 1 else 'e'} with a low-energy compression "
            f"fracture ({', '.join(levels)}); BMD is not required for this route."
        )
        nl = (
            f"Osteoporose: {n} {'wervel' if n == 1 else 'wervels'} met een compressiefractuur "
            f"zonder hoogenergetisch trauma ({', '.join(levels)}); een botdensitometrie is voor "
            "deze route niet vereist."
        )
        if unknown:
            en += " Trauma level not recorded: confirm there was no high-energy trauma."
            nl += (
                " Traumaniveau niet geregistreerd: bevestig dat er geen hoogenergetisch trauma was."
            )
        ctx.add(
            "iscd.osteoporosis.vertebral",
            Severity.ALERT,
            Category.CLASSIFICATION,
            en,
            nl,
            inputs={
                **fx_inputs,
                "vertebral_fractures": [
                    {"level": v.level, "grade": v.grade, "from": v.source, "date": v.date}
                    for v in counting
                ],
            },
            sources=("S1", "S16"),
        )
        return "osteoporosis"
    high = [f for _, f in lbs if f.trauma == TraumaLevel.HIGH]
    hist_en = f"{by10} long-bone fracture{'' if by10 == 1 else 's'} by age 10 y, {by19} by age 19 y"
    hist_nl = (
        f"{by10} {'fractuur' if by10 == 1 else 'fracturen'} van lange beenderen tot 10 jaar, "
        f"{by19} tot 19 jaar"
    )
    no_vf_en = "no vertebral fracture that counts" if excluded_vf else "no vertebral fracture"
    no_vf_nl = "geen wervelfractuur die meetelt" if excluded_vf else "geen wervelfractuur"
    if significant and low:
        assert z is not None
        en = (
            f"Osteoporosis: clinically significant fracture history ({hist_en}) and Z-score "
            f"{z.value:+.2f} ≤ −2.0."
        )
        nl = (
            f"Osteoporose: klinisch significante fractuuranamnese ({hist_nl}) en Z-score "
            f"{_nl_z(z.value)} ≤ −2,0."
        )
        if high:
            en += (
                f" {len(high)} of these fractures followed high-energy trauma; the degree of "
                "trauma modifies fracture-risk prediction."
            )
            nl += (
                f" {len(high)} van deze fracturen volgden op hoogenergetisch trauma; de graad van "
                "trauma beïnvloedt de voorspelling van het fractuurrisico."
            )
        ctx.add(
            "iscd.osteoporosis.long_bone",
            Severity.ALERT,
            Category.CLASSIFICATION,
            en,
            nl,
            inputs=fx_inputs,
            sources=("S1", "S2") if high else ("S1",),
        )
        return "osteoporosis"
    if low:
        assert z is not None
        en = (
            f"Low bone mass/density for chronological age: Z-score {z.value:+.2f} ≤ −2.0. "
            f"Not osteoporosis: densitometry alone never makes that diagnosis ({hist_en}; "
            f"{no_vf_en})."
        )
        nl = (
            f"Lage botmassa/botdensiteit voor de chronologische leeftijd: Z-score "
            f"{_nl_z(z.value)} ≤ −2,0. Geen osteoporose: densitometrie alleen volstaat nooit "
            f"voor die diagnose ({hist_nl}; {no_vf_nl})."
        )
        ctx.add(
            "iscd.low_bone_density",
            Severity.WARNING,
            Category.CLASSIFICATION,
            en,
            nl,
            inputs=fx_inputs,
            sources=("S1", "S3", "S9"),
        )
        return "low_bone_density"
    if z is not None:
        en = (
            f"Z-score {z.value:+.2f} is above −2.0 and there is {no_vf_en}: no "
            "osteoporosis by the ISCD definition. A Z-score above −2.0 does not exclude skeletal "
            "fragility."
        )
        nl = (
            f"Z-score {_nl_z(z.value)} ligt boven −2,0 en er is {no_vf_nl}: geen "
            "osteoporose volgens de ISCD-definitie. Een Z-score boven −2,0 sluit botfragiliteit "
            "niet uit."
        )
        if significant:
            en += f" Note the clinically significant fracture history ({hist_en})."
            nl += f" Let op de klinisch significante fractuuranamnese ({hist_nl})."
        ctx.add(
            "iscd.not_low",
            Severity.NOTICE if significant else Severity.INFO,
            Category.CLASSIFICATION,
            en,
            nl,
            inputs=fx_inputs,
            sources=("S1",),
        )
        return "not_low"
    en = f"No usable DXA Z-score and {no_vf_en}: the ISCD classification needs a DXA."
    nl = f"Geen bruikbare DXA-Z-score en {no_vf_nl}: voor de ISCD-classificatie is een DXA nodig."
    if significant:
        en += f" The fracture history is clinically significant ({hist_en})."
        nl += f" De fractuuranamnese is klinisch significant ({hist_nl})."
    ctx.add(
        "iscd.insufficient_data",
        Severity.NOTICE if significant else Severity.INFO,
        Category.CLASSIFICATION,
        en,
        nl,
        inputs=fx_inputs,
        sources=("S1",),
    )
    return "insufficient_data"
