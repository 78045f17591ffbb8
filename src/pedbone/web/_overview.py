"""The patient overview: everything the overview page and the visit report show.

Collected in one database session and returned as plain values; Z-scores come from
:mod:`pedbone.references`, the assessment from :func:`pedbone.assess`, changes and the least
significant change from :mod:`pedbone.clinical.monitoring`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from statistics import NormalDist
from typing import Any

import numpy as np

from pedbone.report.charts import Band, Chart, Series, decimal_year, render_chart
from pedbone.web._i18n import format_month, format_number, translations
from pedbone.web._load import load_patient
from pedbone.web._security import WebUser
from pedbone.web._zscores import (
    LOW_Z,
    ZRequest,
    ZValue,
    assess_options_for,
    dxa_pack_for,
    growth_pack_for,
    zscores,
)

__all__ = ["DxaRow", "GrowthRow", "Overview", "build_overview"]


@dataclass(frozen=True, slots=True)
class GrowthRow:
    """One anthropometry visit with Z-scores."""

    day: dt.date
    age_years: float
    height_cm: float | None
    weight_kg: float | None
    bmi: float | None
    height_z: ZValue
    weight_z: ZValue
    bmi_z: ZValue


@dataclass(frozen=True, slots=True)
class DxaValue:
    """One DXA measure (site and quantity) with its Z-score."""

    measure: str  # e.g. spine_abmd
    site: str
    quantity: str
    value: float
    unit: str
    z: ZValue
    vendor_z: float | None
    group: str | None

    @property
    def low(self) -> bool:
        """Z at or below the reporting threshold [S1][S3]."""
        return self.z.z is not None and self.z.z <= LOW_Z


@dataclass(frozen=True, slots=True)
class DxaRow:
    """One DXA scan."""

    id: int
    day: dt.date
    age_years: float
    scanner: str
    precision: float | None
    lsc: float | None
    values: tuple[DxaValue, ...]
    change_pct: float | None  # spine (else first) aBMD change from the previous scan
    change_significant: bool | None


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the timeline."""

    day: dt.date
    kind: str
    text: str


@dataclass(slots=True)
class Overview:
    """What the overview page and the report show for one patient."""

    id: int
    version: int
    label: str
    sex: str
    birth_date: dt.date | None
    age_years: float
    mrn: str | None
    demo: bool
    diagnoses: list[dict[str, Any]]
    growth: list[GrowthRow]
    dxa: list[DxaRow]
    events: list[Event]
    treatments: list[dict[str, Any]]
    fractures: list[dict[str, Any]]
    medications: list[dict[str, Any]]
    labs: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    assessment: Any = None
    #: The Z the classification uses at each scan (``pedbone.clinical.classification_z``).
    chosen_z: list[Any] = field(default_factory=list)
    assessment_error: str | None = None
    skipped: list[str] = field(default_factory=list)
    charts: dict[str, str] = field(default_factory=dict)
    as_of: dt.date | None = None
    #: Researchers' view: dates are shown as ages (``reference_birth`` is never displayed).
    pseudonymised: bool = False
    reference_birth: dt.date = dt.date(2000, 1, 1)

    @property
    def visit_dates(self) -> list[dt.date]:
        """Dates with a measurement (candidate report visits), newest first."""
        days = {g.day for g in self.growth} | {d.day for d in self.dxa}
        return sorted(days, reverse=True)

    @property
    def latest_dxa(self) -> DxaRow | None:
        """The most recent scan."""
        return self.dxa[-1] if self.dxa else None


NO_Z = ZValue(None, None, None, "")
_UNITS = {"abmd": "g/cm²", "bmc": "g", "lean_mass": "g", "fat_mass": "g", "area": "cm²"}


def _age(birth: dt.date, day: dt.date) -> float:
    return (day - birth).days / 365.25


def build_overview(
    db: Any, user: WebUser, patient_id: int, *, as_of: dt.date | None = None, language: str = "en"
) -> Overview | None:
    """Collect the overview of one patient (``None`` if there is no such patient)."""
    from pedbone.store import pseudonym

    with db.session() as session:
        patient = load_patient(session, patient_id)
        if patient is None:
            return None

        def keep(day: dt.date | None) -> bool:
            return as_of is None or day is None or day <= as_of

        sex, birth = patient.sex, patient.birth_date
        growth = _growth_rows([a for a in patient.anthropometry if keep(a.measured_on)], sex, birth)
        dxa = _dxa_rows([s for s in patient.dxa_scans if keep(s.scanned_on)], sex, birth)
        events = [Event(g.day, "growth", "anthropometry") for g in growth]
        events += [Event(d.day, "dxa", d.scanner) for d in dxa]
        events += [
            Event(f.occurred_on, "fracture", f.bone or f.site)
            for f in patient.fractures
            if keep(f.occurred_on)
        ]
        events += [
            Event(t.start_date, "treatment", t.drug)
            for t in patient.treatments
            if keep(t.start_date)
        ]
        events += [
            Event(lab.sampled_on, "lab", lab.analyte)
            for lab in patient.labs
            if keep(lab.sampled_on)
        ]
        events += [
            Event(m.start_date, "medication", m.name)
            for m in patient.medications
            if m.start_date is not None and keep(m.start_date)
        ]
        events += [
            Event(
                va.assessed_on,
                "vertebral",
                ", ".join(f"{v.level} {v.genant_grade:g}" for v in va.vertebrae if v.genant_grade),
            )
            for va in patient.vertebral_assessments
            if keep(va.assessed_on)
        ]
        events += [
            Event(i.given_on, "infusion", t.drug)
            for t in patient.treatments
            for i in t.infusions
            if i.given and keep(i.given_on)  # planned infusions are not events yet
        ]
        events += [
            Event(ae.occurred_on, "adverse_event", ae.category)
            for ae in patient.adverse_events
            if keep(ae.occurred_on)
        ]
        events.sort(key=lambda e: e.day, reverse=True)
        ov = Overview(
            id=patient.id,
            version=patient.version,
            label=pseudonym(patient.uid) if user.pseudonymised else patient.display_name,
            sex=sex,
            birth_date=None if user.pseudonymised else birth,
            age_years=_age(birth, as_of or dt.date.today()),
            mrn=None if user.pseudonymised else patient.mrn,
            demo=bool(patient.demo),
            diagnoses=[
                {"code": d.code, "text": None if user.pseudonymised else d.text}
                for d in patient.diagnoses
            ],
            growth=growth,
            dxa=dxa,
            events=events,
            treatments=[
                {
                    "drug": t.drug,
                    "route": t.route,
                    "start": t.start_date,
                    "stop": t.stop_date,
                    "status": t.status,
                    "interval": t.interval_months,
                }
                for t in patient.treatments
                if keep(t.start_date)
            ],
            fractures=[
                {
                    "day": f.occurred_on,
                    "site": f.site,
                    "detail": f.bone,
                    "trauma": f.trauma,
                    "level": f.vertebral_level,
                    "grade": f.genant_grade,
                }
                for f in patient.fractures
                if keep(f.occurred_on)
            ],
            medications=[
                {
                    "name": m.name,
                    "class": m.drug_class,
                    "start": m.start_date,
                    "stop": m.stop_date,
                    "pred": m.prednisone_eq_mg_per_kg_day,
                }
                for m in patient.medications
                if keep(m.start_date)
            ],
            labs=[
                {
                    "day": lab.sampled_on,
                    "analyte": lab.analyte,
                    "value": lab.value,
                    "unit": lab.unit,
                    "comparator": lab.comparator,
                }
                for lab in patient.labs
                if keep(lab.sampled_on)
            ],
            notes=[]
            if user.pseudonymised
            else [{"at": n.written_at, "text": n.text} for n in patient.notes],
            as_of=as_of,
            pseudonymised=user.pseudonymised,
            reference_birth=birth,
        )
        try:
            import pedbone
            from pedbone.clinical import classification_z
            from pedbone.store import to_clinical

            record, ov.skipped = to_clinical(patient, as_of=as_of)
            options = assess_options_for(patient)
            ov.assessment = pedbone.assess(record, as_of=as_of, options=options)
            ov.chosen_z = classification_z(record, as_of=as_of, options=options)
        except NotImplementedError:
            ov.assessment_error = "engine"
        except Exception as exc:  # the page must still show the data
            ov.assessment_error = f"{type(exc).__name__}: {exc}"
    ov.charts = build_charts(ov, language)
    return ov


def _growth_rows(rows: list[Any], sex: str, birth: dt.date) -> list[GrowthRow]:
    requests: list[ZRequest] = []
    base: list[tuple[dt.date, float, float | None, float | None, float | None]] = []
    for a in rows:
        age = _age(birth, a.measured_on)
        height, weight = a.height_cm, a.weight_kg
        bmi = weight / (height / 100.0) ** 2 if height and weight else None
        pack = growth_pack_for(age)
        base.append((a.measured_on, age, height, weight, bmi))
        requests += [
            ZRequest(pack, "height", sex, age, height),
            ZRequest(pack, "weight", sex, age, weight),
            ZRequest(pack, "bmi", sex, age, bmi),
        ]
    z = zscores(requests)
    return [
        GrowthRow(day, age, h, w, bmi, z[3 * i], z[3 * i + 1], z[3 * i + 2])
        for i, (day, age, h, w, bmi) in enumerate(base)
    ]


def _dxa_rows(scans: list[Any], sex: str, birth: dt.date) -> list[DxaRow]:
    from pedbone.clinical.monitoring import least_significant_change, percent_change

    rows: list[DxaRow] = []
    previous: dict[str, float] = {}
    for scan in scans:
        age = _age(birth, scan.scanned_on)
        values: list[DxaValue] = []
        packs = {m.site: m.reference_pack for m in scan.measurements if m.reference_pack}
        for meas in scan.measurements:
            for quantity, raw in (
                ("abmd", meas.abmd_g_cm2),
                ("bmc", meas.bmc_g),
                ("area", meas.area_cm2),
                ("lean_mass", meas.lean_mass_g),
                ("fat_mass", meas.fat_mass_g),
            ):
                if raw is None:
                    continue
                measure = f"{meas.site}_{quantity}"
                values.append(
                    DxaValue(
                        measure=measure,
                        site=meas.site,
                        quantity=quantity,
                        value=raw,
                        unit=_UNITS[quantity],
                        z=NO_Z,
                        vendor_z=(
                            meas.vendor_z_abmd
                            if quantity == "abmd"
                            else meas.vendor_z_bmc
                            if quantity == "bmc"
                            else None
                        ),
                        group=meas.reference_group,
                    )
                )
        requests = [
            ZRequest(
                None if v.quantity == "area" else dxa_pack_for(v.measure, packs.get(v.site)),
                v.measure,
                sex,
                age,
                None if v.quantity == "area" else v.value,
                v.group,
            )
            for v in values
        ]
        values = [
            dataclasses.replace(v, z=z) for v, z in zip(values, zscores(requests), strict=True)
        ]
        lsc = None
        precision = (scan.precision_rms_sd or {}).get("spine_abmd")
        if precision:
            try:
                lsc = least_significant_change(precision)
            except ValueError:
                lsc = None
        change_pct = None
        significant = None
        key = next((v for v in values if v.measure == "spine_abmd"), None) or next(
            (v for v in values if v.quantity == "abmd"), None
        )
        if key is not None and key.measure in previous:
            before = previous[key.measure]
            change_pct = percent_change(before, key.value)
            if lsc is not None and key.measure == "spine_abmd":
                significant = abs(key.value - before) >= lsc
        for v in values:
            if v.quantity == "abmd":
                previous[v.measure] = v.value
        scanner = " ".join(x for x in (scan.manufacturer, scan.model) if x)
        rows.append(
            DxaRow(
                id=scan.id,
                day=scan.scanned_on,
                age_years=age,
                scanner=scanner,
                precision=precision,
                lsc=lsc,
                values=tuple(values),
                change_pct=change_pct,
                change_significant=significant,
            )
        )
    return rows


# --------------------------------------------------------------------------- charts

_CENTILES = (3, 10, 25, 50, 75, 90, 97)  # display convention of growth charts


def build_charts(ov: Overview, language: str) -> dict[str, str]:
    """The three charts (aBMD with LSC band, Z-scores, growth on centiles) as SVG."""
    gettext = translations(language).gettext

    def fmt_year(v: float) -> str:
        return (
            format_number(v, language, 0)
            if abs(v - round(v)) < 1e-6
            else format_number(v, language, 1)
        )

    def fmt_date(v: float) -> str:
        year = int(v)
        start = dt.date(year, 1, 1)
        day = start + dt.timedelta(days=round((v - year) * 365.25))
        return format_month(day, language)

    def fmt(decimals: int) -> Callable[[float], str]:
        return lambda v: format_number(v, language, decimals)

    charts: dict[str, str] = {}
    if ov.pseudonymised:  # researchers see ages, never dates

        def xof(day: dt.date) -> float:
            return (day - ov.reference_birth).days / 365.25

        x_format, x_title = fmt_year, gettext("Age (years)")
    else:
        xof, x_format, x_title = decimal_year, fmt_date, ""
    # aBMD over time (spine if present, else the first aBMD measure)
    measures = [v.measure for d in ov.dxa for v in d.values if v.quantity == "abmd"]
    main = "spine_abmd" if "spine_abmd" in measures else (measures[0] if measures else None)
    site_names = {
        "spine_abmd": gettext("Lumbar spine aBMD"),
        "tblh_abmd": gettext("Total body less head aBMD"),
        "leg_abmd": gettext("Lower limb aBMD"),
    }
    bmd_points = [(xof(d.day), v.value) for d in ov.dxa for v in d.values if v.measure == main]
    bands = []
    baseline = next((d for d in ov.dxa for v in d.values if v.measure == main), None)
    lsc = next((d.lsc for d in reversed(ov.dxa) if d.lsc), None)
    if bmd_points and lsc and main == "spine_abmd":
        b0 = bmd_points[0][1]
        bands.append(
            Band(gettext("Least significant change around the first scan"), b0 - lsc, b0 + lsc)
        )
    charts["bmd"] = render_chart(
        Chart(
            title=site_names.get(main or "", gettext("Areal BMD")) + " " + gettext("over time"),
            x_label=x_title or gettext("Scan date"),
            y_label="g/cm²",
            series=[Series(site_names.get(main or "", "aBMD"), bmd_points)] if bmd_points else [],
            bands=bands,
            format_x=x_format,
            format_y=fmt(3),
            min_x_span=1.0,
            empty_text=gettext("No DXA scan yet"),
        )
    )
    del baseline
    # Z-scores over time: the Z the classification uses at each scan (the domain's choice,
    # pedbone.clinical.classification_z), and the height-for-age Z
    zseries: dict[str, list[tuple[float, float | None]]] = {}
    for cz in ov.chosen_z:
        zseries.setdefault("classification", []).append((xof(cz.scan_date), cz.value))
    for g in ov.growth:
        if g.height_z.z is not None:
            zseries.setdefault("height", []).append((xof(g.day), g.height_z.z))
    names = {
        **site_names,
        "classification": gettext("Z used for classification"),
        "height": gettext("Height"),
        "spine_bmc": gettext("Lumbar spine BMC"),
        "tblh_bmc": gettext("Total body less head BMC"),
        "leg_bmc": gettext("Lower limb BMC"),
    }
    palette = ("#1f5f8b", "#2e7d4f", "#a86400", "#6a4c93", "#b3261e")
    charts["z"] = render_chart(
        Chart(
            title=gettext("Z-scores over time"),
            x_label=x_title or gettext("Date"),
            y_label="Z",
            series=[
                Series(names.get(m, m), pts, color=palette[i % len(palette)])
                for i, (m, pts) in enumerate(zseries.items())
            ],
            hlines=[(0.0, "0", "#5b6877"), (LOW_Z, format_number(LOW_Z, language, 1), "#b3261e")],
            format_x=x_format,
            format_y=fmt(1),
            min_x_span=1.0,
            empty_text=gettext("No Z-scores yet"),
        )
    )
    charts["growth"] = _growth_chart(ov, language, gettext, fmt_year, fmt(0))
    return charts


def _growth_chart(
    ov: Overview,
    language: str,
    gettext: Callable[[str], str],
    fmt_year: Callable[[float], str],
    fmt_y: Callable[[float], str],
) -> str:

    pts = [(g.age_years, g.height_cm) for g in ov.growth if g.height_cm is not None]
    series: list[Series] = []
    if pts:
        # whole years around the data, so that curves are shared between patients (cache)
        lo = max(0, int(np.floor(min(a for a, _ in pts) - 1.0)))
        hi = int(np.ceil(max(a for a, _ in pts) + 1.0))
        for c, curve in zip(_CENTILES, _centile_curves(ov.sex, lo, hi), strict=True):
            if any(v is not None for _, v in curve):
                series.append(
                    Series(
                        f"P{c}",
                        curve,
                        color="#2e7d4f" if c == 50 else "#9fb7cb",
                        markers=False,
                        dashed=c != 50,
                        width=1.6 if c == 50 else 1.0,
                    )
                )
        series.append(Series(gettext("Height"), pts, color="#1f5f8b", line=True))
    return render_chart(
        Chart(
            title=gettext("Height for age on the reference centiles"),
            x_label=gettext("Age (years)"),
            y_label=gettext("Height (cm)"),
            series=series,
            format_x=fmt_year,
            format_y=fmt_y,
            end_labels=True,
            empty_text=gettext("No height measured yet"),
        )
    )


@lru_cache(maxsize=512)
def _centile_curves(
    sex: str, lo: int, hi: int
) -> tuple[tuple[tuple[float, float | None], ...], ...]:
    """Height centile curves from ``lo`` to ``hi`` years (41 points; one vectorised reference
    call per pack and centile). Ages outside every pack give ``None`` (a gap in the line).
    The centile's Z is ``statistics.NormalDist().inv_cdf`` (exact to ~1e-15; importing
    ``scipy.stats`` here cost the first overview after a start ~2 s)."""

    ages = np.linspace(lo, hi, 41)
    packs = np.array([growth_pack_for(float(a)) for a in ages])
    curves = []
    for c in _CENTILES:
        values = np.full(ages.shape, np.nan)
        for pack_id in np.unique(packs):
            mask = packs == pack_id
            try:
                values[mask] = _ref(str(pack_id)).value(
                    "height",
                    sex=[sex] * int(mask.sum()),
                    age_years=ages[mask],
                    z=_STD_NORMAL.inv_cdf(c / 100),
                )
            except Exception:  # a pack that cannot answer leaves a gap
                continue
        curves.append(
            tuple(
                (float(a), float(v) if np.isfinite(v) else None)
                for a, v in zip(ages, values, strict=True)
            )
        )
    return tuple(curves)


_STD_NORMAL = NormalDist()


def _ref(pack_id: str) -> Any:
    import pedbone

    return pedbone.reference(pack_id)
