"""Risk profile, DXA plan, vitamin D / calcium, laboratory, renal function, monitoring and
symptoms. Each rule cites the domain digest's keys."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pedbone.clinical import monitoring, nutrition
from pedbone.clinical._dates import add_months, birthday
from pedbone.clinical._engine import (
    _Z,
    HEIGHT_PAIRING_DAYS,
    _active,
    _Ctx,
    _has,
    _latest,
    _nl_num,
    _nl_z,
    _norm_unit,
    _valid,
)
from pedbone.clinical._findings import Category, Severity
from pedbone.clinical._markers import caliper_interval
from pedbone.clinical._model import (
    DiagnosisCode,
    DietKind,
    DxaScan,
    DxaSite,
    LabAnalyte,
    LabValue,
    MedicationClass,
    MobilityStatus,
    SymptomKind,
    TraumaLevel,
)
from pedbone.clinical.renal import bedside_schwartz_egfr

__all__ = [
    "dxa_plan",
    "laboratory",
    "monitoring_changes",
    "nutrition_findings",
    "renal",
    "risk_profile",
    "symptoms",
]

R = Category.RISK


# ---------------------------------------------------------------------------------------------
# Risk profile (groups of the clinic seed: nutritional, lifestyle, hormonal, iatrogenic,
# disease-specific)
# ---------------------------------------------------------------------------------------------

_DISEASE: dict[DiagnosisCode, tuple[str, str, tuple[str, ...]]] = {
    DiagnosisCode.PHENYLKETONURIA: (
        "phenylketonuria: pooled Z-scores in a meta-analysis TB −0.45, LS −0.70, FN −0.96 (judged "
        "not clinically important by standard definitions)",
        "fenylketonurie: gepoolde Z-scores in een meta-analyse TB −0,45, LS −0,70, FN −0,96 "
        "(volgens standaarddefinities niet klinisch relevant)",
        ("S64",),
    ),
    DiagnosisCode.GALACTOSAEMIA: (
        "classic galactosaemia: pooled Z LS −0.70, total hip −0.89, FN −0.63; low IGF-1 and "
        "hypogonadism/POI contribute",
        "klassieke galactosemie: gepoolde Z LS −0,70, totale heup −0,89, FN −0,63; lage IGF-1 en "
        "hypogonadisme/POI dragen bij",
        ("S66",),
    ),
    DiagnosisCode.GLYCOGEN_STORAGE_DISEASE_1: (
        "glycogen storage disease type 1: bone complications appear universal",
        "glycogenose type 1: botcomplicaties lijken universeel",
        ("S67",),
    ),
    DiagnosisCode.DUCHENNE: (
        "Duchenne muscular dystrophy: disease-specific bone monitoring",
        "ziekte van Duchenne: ziektespecifieke botopvolging",
        ("S59", "S40"),
    ),
    DiagnosisCode.CEREBRAL_PALSY: (
        "cerebral palsy: immobility-related secondary osteoporosis",
        "cerebrale parese: secundaire osteoporose door immobiliteit",
        ("S59", "S29"),
    ),
    DiagnosisCode.NEUROMUSCULAR_DISEASE: (
        "neuromuscular disease: muscle weakness and immobilisation",
        "neuromusculaire aandoening: spierzwakte en immobilisatie",
        ("S61", "S24"),
    ),
    DiagnosisCode.RETT_SYNDROME: (
        "Rett syndrome: disease-specific bone monitoring",
        "syndroom van Rett: ziektespecifieke botopvolging",
        ("S59",),
    ),
    DiagnosisCode.BURNS: (
        "severe burns: loss of bone mass after the burn",
        "ernstige brandwonden: verlies van botmassa na de brandwonde",
        ("S30",),
    ),
    DiagnosisCode.ANOREXIA_NERVOSA: (
        "anorexia nervosa: undernutrition and low body weight",
        "anorexia nervosa: ondervoeding en laag lichaamsgewicht",
        ("S25", "S59", "S60"),
    ),
    DiagnosisCode.RHEUMATIC_INFLAMMATORY: (
        "rheumatic/inflammatory disease: vertebral fractures in 7 % within 30 days of starting "
        "glucocorticoids, 12.4 % over 3 years",
        "reumatische/inflammatoire aandoening: wervelfracturen bij 7 % binnen 30 dagen na start "
        "van glucocorticoïden, 12,4 % over 3 jaar",
        ("S17", "S18", "S59"),
    ),
    DiagnosisCode.JUVENILE_IDIOPATHIC_ARTHRITIS: (
        "juvenile idiopathic arthritis: disease activity and glucocorticoids",
        "juveniele idiopathische artritis: ziekteactiviteit en glucocorticoïden",
        ("S59", "S61"),
    ),
    DiagnosisCode.INFLAMMATORY_BOWEL_DISEASE: (
        "inflammatory bowel disease: inflammatory cytokines, undernutrition, glucocorticoids",
        "inflammatoire darmziekte: inflammatoire cytokines, ondervoeding, glucocorticoïden",
        ("S59", "S60"),
    ),
    DiagnosisCode.COELIAC_DISEASE: (
        "coeliac disease: disease-specific DXA rule",
        "coeliakie: ziektespecifieke DXA-regel",
        ("S59",),
    ),
    DiagnosisCode.RENAL_DISEASE: (
        "renal disease: monitor bone density following disease-specific guidelines",
        "nieraandoening: botdensiteit opvolgen volgens ziektespecifieke richtlijnen",
        ("S59",),
    ),
    DiagnosisCode.RENAL_TRANSPLANT: (
        "renal transplant: renal disease and immunosuppression including glucocorticoids",
        "niertransplantatie: nieraandoening en immunosuppressie met glucocorticoïden",
        ("S59",),
    ),
    DiagnosisCode.LEUKAEMIA: (
        "leukaemia: osteotoxic chemotherapy and glucocorticoids",
        "leukemie: osteotoxische chemotherapie en glucocorticoïden",
        ("S59",),
    ),
    DiagnosisCode.OTHER_NEOPLASM: (
        "neoplasm: osteotoxic chemotherapy / HSCT",
        "neoplasie: osteotoxische chemotherapie / HSCT",
        ("S59",),
    ),
    DiagnosisCode.EPILEPSY: (
        "epilepsy: antiepileptic therapy and reduced mobility",
        "epilepsie: anti-epileptische behandeling en beperkte mobiliteit",
        ("S59",),
    ),
    DiagnosisCode.CYSTIC_FIBROSIS: (
        "cystic fibrosis: disease-specific DXA rule",
        "cystische fibrose: ziektespecifieke DXA-regel",
        ("S59",),
    ),
    DiagnosisCode.THALASSAEMIA: (
        "thalassaemia: DXA every 2 years from adolescence",
        "thalassemie: DXA om de 2 jaar vanaf de adolescentie",
        ("S59",),
    ),
}


def risk_profile(ctx: _Ctx, vitamin_d_code: str | None, calcium_code: str | None) -> None:
    """Add risk-factor findings grouped as the clinic seed groups them."""
    on = ctx.as_of
    p = ctx.patient
    # nutritional
    if vitamin_d_code is not None:
        ctx.risk_groups.setdefault("nutritional", []).append(vitamin_d_code)
    if calcium_code is not None:
        ctx.risk_groups.setdefault("nutritional", []).append(calcium_code)
    if _has(ctx, DiagnosisCode.ANOREXIA_NERVOSA, DiagnosisCode.MALNUTRITION):
        ctx.add(
            "risk.nutritional.undernutrition",
            Severity.NOTICE,
            R,
            "Nutritional: undernutrition / low body weight (recorded diagnosis).",
            "Nutritioneel: ondervoeding / laag lichaamsgewicht (geregistreerde diagnose).",
            inputs={
                "diagnoses": [
                    d.code
                    for d in p.diagnoses
                    if d.code in (DiagnosisCode.ANOREXIA_NERVOSA, DiagnosisCode.MALNUTRITION)
                ]
            },
            sources=("S60", "S59"),
            group="nutritional",
        )
    # lifestyle
    mob = _latest(_valid(ctx, "mobility", p.mobility))
    if mob is not None and mob[1].status != MobilityStatus.AMBULATORY:
        m = mob[1]
        gm = f", GMFCS {m.gmfcs}" if m.gmfcs else ""
        ctx.add(
            "risk.lifestyle.immobility",
            Severity.NOTICE,
            R,
            f"Lifestyle: reduced mobility ({m.status.value.replace('_', '-')}{gm}, {m.date}).",
            f"Levensstijl: beperkte mobiliteit ({_MOB_NL[m.status]}{gm}, {m.date}).",
            inputs={"status": m.status, "gmfcs": m.gmfcs, "date": m.date},
            sources=("S60", "S61", "S59"),
            group="lifestyle",
        )
    sun = _latest(_valid(ctx, "sun_exposure", p.sun_exposure))
    if sun is not None and sun[1].level != "adequate":
        s = sun[1]
        ctx.add(
            "risk.lifestyle.little_sun",
            Severity.NOTICE,
            R,
            f"Lifestyle: little sun exposure ({s.level}, {s.date}); the source advises a few "
            "minutes of sunlight on hands, face and arms daily.",
            f"Levensstijl: weinig zonblootstelling ({_SUN_NL[s.level]}, {s.date}); de bron raadt "
            "dagelijks enkele minuten zonlicht op handen, gezicht en armen aan.",
            inputs={"level": s.level, "date": s.date},
            sources=("S59",),
            group="lifestyle",
        )
    # hormonal
    _hormone_lab(ctx, LabAnalyte.IGF1, "low_igf1", "low IGF-1", "lage IGF-1", ("S66", "S67"))
    for analyte in (LabAnalyte.OESTRADIOL, LabAnalyte.TESTOSTERONE):
        _hormone_lab(
            ctx,
            analyte,
            "sex_steroid_deficiency",
            f"low {analyte.value}",
            f"laag {analyte.value}",
            ("S60", "S66"),
        )
    hormonal_dx = {
        DiagnosisCode.DELAYED_PUBERTY: ("delayed puberty", "vertraagde puberteit", ("S60", "S61")),
        DiagnosisCode.HYPOGONADISM: ("hypogonadism", "hypogonadisme", ("S60", "S66")),
        DiagnosisCode.PREMATURE_OVARIAN_INSUFFICIENCY: (
            "premature ovarian insufficiency",
            "prematuur ovarieel falen",
            ("S66",),
        ),
        DiagnosisCode.GROWTH_HORMONE_DEFICIENCY: (
            "growth hormone deficiency",
            "groeihormoondeficiëntie",
            ("S60", "S59"),
        ),
    }
    for code, (en, nl, src) in hormonal_dx.items():
        if _has(ctx, code):
            ctx.add(
                f"risk.hormonal.{code.value}",
                Severity.NOTICE,
                R,
                f"Hormonal: {en} (recorded diagnosis).",
                f"Hormonaal: {nl} (geregistreerde diagnose).",
                inputs={"diagnosis": code},
                sources=src,
                group="hormonal",
            )
    # iatrogenic
    _iatrogenic(ctx, on)
    # disease-specific
    for d in p.diagnoses:
        if d.code in _DISEASE:
            en, nl, src = _DISEASE[d.code]
            ctx.add(
                f"risk.disease.{d.code.value}",
                Severity.NOTICE,
                R,
                f"Disease-specific: {en}.",
                f"Ziektespecifiek: {nl}.",
                inputs={"diagnosis": d.code, "text": d.text},
                sources=src,
                group="disease_specific",
            )
    _risk_summary(ctx)


_MOB_NL = {
    MobilityStatus.AMBULATORY: "ambulant",
    MobilityStatus.LIMITED: "beperkt ambulant",
    MobilityStatus.NON_AMBULATORY: "niet ambulant",
    MobilityStatus.BEDRIDDEN: "bedlegerig",
}
_SUN_NL = {"adequate": "voldoende", "limited": "beperkt", "minimal": "minimaal"}


_GROUP_NAMES = {
    "nutritional": ("nutritional", "nutritioneel"),
    "lifestyle": ("lifestyle", "levensstijl"),
    "hormonal": ("hormonal", "hormonaal"),
    "iatrogenic": ("iatrogenic", "iatrogeen"),
    "disease_specific": ("disease-specific", "ziektespecifiek"),
}


def _risk_summary(ctx: _Ctx) -> None:
    groups = [g for g in _GROUP_NAMES if g in ctx.risk_groups]
    if groups:
        en = ", ".join(f"{_GROUP_NAMES[g][0]} ({len(ctx.risk_groups[g])})" for g in groups)
        nl = ", ".join(f"{_GROUP_NAMES[g][1]} ({len(ctx.risk_groups[g])})" for g in groups)
        ctx.add(
            "risk.summary",
            Severity.NOTICE,
            R,
            f"Risk factors for secondary osteoporosis present: {en}.",
            f"Aanwezige risicofactoren voor secundaire osteoporose: {nl}.",
            inputs={"groups": {g: ctx.risk_groups[g] for g in groups}},
            sources=("S60", "S61", "S59", "SEED_NL"),
        )
    else:
        ctx.add(
            "risk.none_recorded",
            Severity.INFO,
            R,
            "No risk factor for secondary osteoporosis is recorded.",
            "Er is geen risicofactor voor secundaire osteoporose geregistreerd.",
            sources=("PEDBONE_SOFTWARE", "SEED_NL"),
        )


def _hormone_lab(
    ctx: _Ctx, analyte: LabAnalyte, code: str, en: str, nl: str, src: tuple[str, ...]
) -> None:
    labs = [(i, lab) for i, lab in _valid(ctx, "labs", ctx.patient.labs) if lab.analyte == analyte]
    last = _latest(labs)
    if last is None:
        return
    i, lab = last
    low = lab.flag == "low" or (lab.reference_low is not None and lab.value < lab.reference_low)
    judged = lab.flag is not None or lab.reference_low is not None
    ref = (
        f"lab range {lab.reference_low:g}–{lab.reference_high:g} {lab.unit}"
        if lab.reference_low is not None and lab.reference_high is not None
        else (f"lab flag '{lab.flag}'" if lab.flag else "")
    )
    ref_nl = ref.replace("lab range", "labo-referentie").replace("lab flag", "labovlag")
    if low:
        ctx.add(
            f"risk.hormonal.{code}",
            Severity.NOTICE,
            R,
            f"Hormonal: {en} ({lab.value:g} {lab.unit}, {lab.date}; judged by the {ref}; the "
            "sources give no general threshold).",
            f"Hormonaal: {nl} ({_nl_num(lab.value, 3).rstrip('0').rstrip(',')} {lab.unit}, "
            f"{lab.date}; beoordeeld volgens de {ref_nl}; de bronnen geven geen algemene "
            "grenswaarde).",
            inputs={
                "field": f"labs[{i}]",
                "value": lab.value,
                "unit": lab.unit,
                "flag": lab.flag,
                "reference": [lab.reference_low, lab.reference_high],
            },
            sources=src,
            group="hormonal",
        )
    elif not judged:
        ctx.add(
            f"laboratory.{analyte.value}.unjudged",
            Severity.INFO,
            Category.LABORATORY,
            f"{analyte.value} {lab.value:g} {lab.unit} ({lab.date}) has no lab reference range or "
            "flag; pedbone does not judge it because the sources give no general threshold.",
            f"{analyte.value} {lab.value:g} {lab.unit} ({lab.date}) heeft geen "
            "labo-referentiewaarden of -vlag; pedbone beoordeelt dit niet omdat de bronnen geen "
            "algemene grenswaarde geven.",
            inputs={"field": f"labs[{i}]"},
        )


def _iatrogenic(ctx: _Ctx, on: dt.date) -> None:
    meds = _valid(ctx, "medications", ctx.patient.medications, attr="start")
    gcs = [m for _, m in meds if m.drug_class == MedicationClass.GLUCOCORTICOID]
    if gcs:
        active = [m for m in gcs if _active(m.start, m.end, on)]
        doses = [
            m.prednisone_equivalent_mg_per_kg_day
            for m in gcs
            if m.prednisone_equivalent_mg_per_kg_day is not None
        ]
        cumulative = [m.cumulative_dose_mg for m in gcs if m.cumulative_dose_mg is not None]
        days = sum(
            ((m.end or on) if (m.end or on) <= on else on).toordinal() - m.start.toordinal() + 1
            for m in gcs
        )
        en = (
            f"Iatrogenic: glucocorticoids ({'ongoing' if active else 'past'}; "
            f"{len(gcs)} {'course' if len(gcs) == 1 else 'courses'}, {days} days in total"
        )
        nl = (
            f"Iatrogeen: glucocorticoïden ({'lopend' if active else 'vroeger'}; "
            f"{len(gcs)} {'kuur' if len(gcs) == 1 else 'kuren'}, in totaal {days} dagen"
        )
        if cumulative:
            en += f", cumulative {sum(cumulative):g} mg prednisone-equivalent"
            nl += f", cumulatief {sum(cumulative):g} mg prednisonequivalent"
        if doses:
            en += f", average daily dose up to {max(doses):g} mg/kg/day"
            nl += f", gemiddelde dagdosis tot {_nl_num(max(doses), 2)} mg/kg/dag"
        en += (
            "). In STOPP each 0.5 mg/kg/day higher average prednisone-equivalent dose doubled the "
            "hazard of vertebral fracture (HR 2.0, 95 % CI 1.1–3.5)."
        )
        nl += (
            "). In STOPP verdubbelde elke 0,5 mg/kg/dag hogere gemiddelde prednisonequivalente "
            "dosis het risico op een wervelfractuur (HR 2,0; 95 %-BI 1,1–3,5)."
        )
        ctx.add(
            "risk.iatrogenic.glucocorticoids",
            Severity.NOTICE,
            R,
            en,
            nl,
            inputs={
                "courses": [m.name for m in gcs],
                "ongoing": bool(active),
                "days": days,
                "cumulative_mg": sum(cumulative) if cumulative else None,
                "max_mg_per_kg_day": max(doses) if doses else None,
            },
            sources=("S18", "S61", "S62", "S59"),
            group="iatrogenic",
        )
    for cls, code, en_name, nl_name in (
        (MedicationClass.ANTIEPILEPTIC, "antiepileptics", "antiepileptic drugs", "anti-epileptica"),
        (MedicationClass.CHEMOTHERAPY, "chemotherapy", "chemotherapy", "chemotherapie"),
    ):
        ms = [m for _, m in meds if m.drug_class == cls]
        if ms:
            ongoing = any(_active(m.start, m.end, on) for m in ms)
            ctx.add(
                f"risk.iatrogenic.{code}",
                Severity.NOTICE,
                R,
                f"Iatrogenic: {en_name} ({', '.join(m.name for m in ms)}; "
                f"{'ongoing' if ongoing else 'past'}).",
                f"Iatrogeen: {nl_name} ({', '.join(m.name for m in ms)}; "
                f"{'lopend' if ongoing else 'vroeger'}).",
                inputs={"medications": [m.name for m in ms], "ongoing": ongoing},
                sources=("S59",),
                group="iatrogenic",
            )
    diets = [d for d in ctx.patient.diets if _active(d.start, d.end, on)]
    if diets:
        names_en = {
            DietKind.PROTEIN_RESTRICTED: "protein-restricted",
            DietKind.LACTOSE_FREE: "lactose-free",
            DietKind.GALACTOSE_RESTRICTED: "galactose-restricted",
            DietKind.OTHER_RESTRICTION: "other restriction",
        }
        names_nl = {
            DietKind.PROTEIN_RESTRICTED: "eiwitarm",
            DietKind.LACTOSE_FREE: "lactosevrij",
            DietKind.GALACTOSE_RESTRICTED: "galactosebeperkt",
            DietKind.OTHER_RESTRICTION: "andere beperking",
        }
        ctx.add(
            "risk.iatrogenic.restrictive_diet",
            Severity.NOTICE,
            R,
            f"Iatrogenic: restrictive diet ({', '.join(names_en[d.kind] for d in diets)}); the "
            "diet must still meet calcium and vitamin D needs (dietary evaluation).",
            f"Iatrogeen: opgelegd dieet ({', '.join(names_nl[d.kind] for d in diets)}); het dieet "
            "moet toch voldoen aan de calcium- en vitamine D-behoefte (diëtistische evaluatie).",
            inputs={"diets": [d.kind for d in diets]},
            sources=("S59", "S66"),
            group="iatrogenic",
        )


# ---------------------------------------------------------------------------------------------
# Vitamin D and calcium
# ---------------------------------------------------------------------------------------------

_VD_NL = {
    "deficiency": "deficiëntie",
    "insufficiency": "insufficiëntie",
    "sufficiency": "voldoende",
    "above_range": "boven het referentiebereik",
}


#: Dutch names of the source regimens of ``nutrition.vitamin_d_regimens``.
_REGIMEN_NL: dict[str, str] = {
    "SPEG treatment of deficiency": "SPEG-behandeling van een tekort",
    "Global Consensus treatment of nutritional rickets": (
        "behandeling van nutritionele rachitis volgens de Global Consensus"
    ),
    "Endocrine Society treatment, 0–1 y": "behandeling volgens de Endocrine Society, 0–1 jaar",
    "SPEG insufficiency: age-appropriate supplement": (
        "SPEG bij insufficiëntie: supplement aangepast aan de leeftijd"
    ),
    "Recommended intake for age": "aanbevolen inname voor de leeftijd",
    "Pre-bisphosphonate repletion (OUH protocol)": (
        "aanvulling vóór een bisfosfonaat (OUH-protocol)"
    ),
}


def nutrition_findings(ctx: _Ctx) -> tuple[str | None, str | None]:
    """25-OH-D status and calcium intake. Returns the risk-triggering finding codes."""
    vd_code: str | None = None
    ca_code: str | None = None
    labs = [
        (i, lab)
        for i, lab in _valid(ctx, "labs", ctx.patient.labs)
        if lab.analyte == LabAnalyte.VITAMIN_D_25OH
        and ctx.ok(f"labs[{i}].unit")
        and ctx.ok(f"labs[{i}].value")
    ]
    last = _latest(labs)
    scheme = ctx.options.vitamin_d_scheme
    unusable = [
        f"labs[{i}]"
        for i, lab in _valid(ctx, "labs", ctx.patient.labs)
        if lab.analyte == LabAnalyte.VITAMIN_D_25OH
        and not (ctx.ok(f"labs[{i}].unit") and ctx.ok(f"labs[{i}].value"))
    ]
    if last is None and unusable:
        ctx.add(
            "nutrition.vitamin_d.unusable",
            Severity.NOTICE,
            Category.NUTRITION,
            f"A 25-OH vitamin D level is recorded ({', '.join(unusable)}) but could not be used "
            "(see the data-quality findings); no vitamin D status is given.",
            f"Er is een 25-OH-vitamine D-spiegel geregistreerd ({', '.join(unusable)}) maar "
            "die kon niet gebruikt worden (zie de bevindingen over datakwaliteit); er wordt geen "
            "vitamine D-status gegeven.",
            inputs={"records": unusable},
            sources=("PEDBONE_DATA_QUALITY",),
        )
    elif last is None:
        ctx.add(
            "nutrition.vitamin_d.missing",
            Severity.INFO,
            Category.NUTRITION,
            "No 25-OH vitamin D level recorded.",
            "Geen 25-OH-vitamine D-spiegel geregistreerd.",
            sources=("PEDBONE_SOFTWARE",),
        )
    else:
        i, lab = last
        st = nutrition.vitamin_d_status(lab.value, lab.unit, scheme=scheme)
        age = ctx.age(lab.date)
        regimens = nutrition.vitamin_d_regimens(age, st.nmol_per_l)
        sev = {
            "deficiency": Severity.WARNING,
            "insufficiency": Severity.NOTICE,
            "sufficiency": Severity.INFO,
            "above_range": Severity.NOTICE,
        }[st.category]
        lo, hi = st.thresholds_nmol_per_l
        reg_en = ""
        reg_nl = ""
        if st.category in ("deficiency", "insufficiency") and regimens:
            r = regimens[0]
            assert r.vitamin_d_iu_per_day is not None
            a, b = r.vitamin_d_iu_per_day
            dose = f"{a:g} IU/day" if a == b else f"{a:g}–{b:g} IU/day"
            reg_en = f" Source regimen for age: {r.name}, {dose} [{r.source}]."
            dose_nl = dose.replace("day", "dag")
            reg_nl = (
                f" Schema volgens de bron voor deze leeftijd: {_REGIMEN_NL.get(r.name, r.name)}, "
                f"{dose_nl} [{r.source}]."
            )
        code = f"nutrition.vitamin_d.{st.category}"
        ctx.add(
            code,
            sev,
            Category.NUTRITION,
            f"25-OH vitamin D {st.nmol_per_l:g} nmol/L ({st.ng_per_ml:g} ng/mL) on {lab.date}: "
            f"{st.category.replace('_', ' ')} (cut-offs {lo:g} and {hi:g} nmol/L).{reg_en}",
            f"25-OH-vitamine D {_nl_num(st.nmol_per_l, 1)} nmol/L ({_nl_num(st.ng_per_ml, 1)} "
            f"ng/mL) op {lab.date}: {_VD_NL[st.category]} (grenswaarden {lo:g} en {hi:g} "
            f"nmol/L).{reg_nl}",
            inputs={
                "field": f"labs[{i}]",
                "value": lab.value,
                "unit": lab.unit,
                "nmol_per_l": st.nmol_per_l,
                "scheme": scheme,
                "regimens": [
                    {"name": r.name, "iu_per_day": r.vitamin_d_iu_per_day, "source": r.source}
                    for r in regimens
                ],
            },
            sources=(st.source, *(r.source for r in regimens)),
        )
        if st.category in ("deficiency", "insufficiency"):
            vd_code = code
    intakes = _valid(ctx, "calcium_intake", ctx.patient.calcium_intake)
    intakes = [(i, c) for i, c in intakes if ctx.ok(f"calcium_intake[{i}].mg_per_day")]
    lc = _latest(intakes)
    if lc is not None:
        i, c = lc
        res = nutrition.assess_calcium_intake(
            c.mg_per_day, ctx.age(c.date), body=ctx.options.intake_body
        )
        if res is None:
            ctx.add(
                "nutrition.calcium.no_reference",
                Severity.INFO,
                Category.NUTRITION,
                f"Calcium intake {c.mg_per_day:g} mg/day: no recommended intake for this age in "
                f"the {ctx.options.intake_body.upper()} table.",
                f"Calciuminname {c.mg_per_day:g} mg/dag: geen aanbevolen inname voor deze leeftijd "
                f"in de tabel van {ctx.options.intake_body.upper()}.",
            )
        else:
            rec = res.recommended
            inputs = {
                "field": f"calcium_intake[{i}]",
                "mg_per_day": c.mg_per_day,
                "recommended": rec.amount,
                "kind": rec.kind,
                "band": rec.band,
                "body": rec.body,
            }
            if res.above_upper_limit and res.upper_limit is not None:
                ul = res.upper_limit
                ctx.add(
                    "nutrition.calcium.above_upper_limit",
                    Severity.WARNING,
                    Category.NUTRITION,
                    f"Calcium intake {c.mg_per_day:g} mg/day is above the tolerable upper "
                    f"intake level {ul.amount:g} mg/day for age {ul.band}.",
                    f"Calciuminname {c.mg_per_day:g} mg/dag ligt boven de aanvaardbare "
                    f"bovengrens {ul.amount:g} mg/dag voor de leeftijd {ul.band_label('nl')}.",
                    inputs=inputs,
                    sources=(ul.source,),
                )
            elif res.below_recommended:
                ca_code = "nutrition.calcium.below_recommended"
                ctx.add(
                    ca_code,
                    Severity.NOTICE,
                    Category.NUTRITION,
                    f"Calcium intake {c.mg_per_day:g} mg/day is below the recommended "
                    f"{rec.amount:g} mg/day ({rec.body.upper()} {rec.kind}, age {rec.band}).",
                    f"Calciuminname {c.mg_per_day:g} mg/dag ligt onder de aanbevolen "
                    f"{rec.amount:g} mg/dag ({rec.body.upper()} {rec.kind}, leeftijd "
                    f"{rec.band_label('nl')}).",
                    inputs=inputs,
                    sources=(rec.source, "S60"),
                )
            else:
                ctx.add(
                    "nutrition.calcium.meets_recommended",
                    Severity.INFO,
                    Category.NUTRITION,
                    f"Calcium intake {c.mg_per_day:g} mg/day meets the recommended "
                    f"{rec.amount:g} mg/day ({rec.body.upper()} {rec.kind}, age {rec.band}).",
                    f"Calciuminname {c.mg_per_day:g} mg/dag bereikt de aanbevolen "
                    f"{rec.amount:g} mg/dag ({rec.body.upper()} {rec.kind}, leeftijd "
                    f"{rec.band_label('nl')}).",
                    inputs=inputs,
                    sources=(rec.source,),
                )
    return vd_code, ca_code


# ---------------------------------------------------------------------------------------------
# Laboratory (bone profile and turnover markers) and renal function
# ---------------------------------------------------------------------------------------------

_CALIPER_UNITS = {
    LabAnalyte.ALP: ("alp", "u/l"),
    LabAnalyte.CALCIUM: ("calcium", "mmol/l"),
    LabAnalyte.PHOSPHATE: ("phosphate", "mmol/l"),
    LabAnalyte.MAGNESIUM: ("magnesium", "mmol/l"),
    LabAnalyte.CREATININE: ("creatinine", "umol/l"),
}
_UNJUDGED = {
    LabAnalyte.BONE_ALP,
    LabAnalyte.P1NP,
    LabAnalyte.CTX,
    LabAnalyte.NTX,
    LabAnalyte.OSTEOCALCIN,
    LabAnalyte.PTH,
    LabAnalyte.OTHER,
}


_ANALYTE_NAMES: dict[LabAnalyte, str] = {
    LabAnalyte.ALP: "ALP",
    LabAnalyte.BONE_ALP: "bone ALP",
    LabAnalyte.P1NP: "P1NP",
    LabAnalyte.CTX: "CTX",
    LabAnalyte.NTX: "NTX",
    LabAnalyte.OSTEOCALCIN: "osteocalcin",
    LabAnalyte.PTH: "PTH",
    LabAnalyte.CALCIUM: "calcium",
    LabAnalyte.PHOSPHATE: "phosphate",
    LabAnalyte.MAGNESIUM: "magnesium",
    LabAnalyte.CREATININE: "creatinine",
}


_ANALYTE_NAMES_NL: dict[LabAnalyte, str] = {
    LabAnalyte.ALP: "alkalische fosfatase",
    LabAnalyte.BONE_ALP: "botspecifieke alkalische fosfatase",
    LabAnalyte.OSTEOCALCIN: "osteocalcine",
    LabAnalyte.PHOSPHATE: "fosfaat",
}


def laboratory(ctx: _Ctx) -> None:
    """Latest value per analyte: CALIPER interval where sourced, otherwise shown as recorded."""
    latest: dict[str, tuple[int, LabValue]] = {}
    for i, lab in _valid(ctx, "labs", ctx.patient.labs):
        if not (ctx.ok(f"labs[{i}].unit") and ctx.ok(f"labs[{i}].value")):
            continue
        key = lab.analyte.value if lab.analyte != LabAnalyte.OTHER else f"other:{lab.name}"
        if key not in latest or lab.date >= latest[key][1].date:
            latest[key] = (i, lab)
    for _key, (i, lab) in sorted(latest.items()):
        lab_ref = ""
        if lab.reference_low is not None or lab.reference_high is not None or lab.flag:
            lab_ref = (
                f"; lab: {lab.reference_low if lab.reference_low is not None else '…'}–"
                f"{lab.reference_high if lab.reference_high is not None else '…'}"
                f"{', flag ' + lab.flag if lab.flag else ''}"
            )
        name = lab.name or _ANALYTE_NAMES.get(lab.analyte, lab.analyte.value)
        name_nl = lab.name or _ANALYTE_NAMES_NL.get(lab.analyte, name)
        if lab.analyte in _CALIPER_UNITS:
            analyte, unit = _CALIPER_UNITS[lab.analyte]
            value = lab.value
            u = _norm_unit(lab.unit)
            if lab.analyte == LabAnalyte.CREATININE and u == "mg/dl":
                value, u = lab.value * 88.4, "umol/l"
            iv = caliper_interval(analyte, sex=ctx.sex, age_years=ctx.age(lab.date))
            if iv is None or u != unit:
                why = (
                    "no sourced interval for this age"
                    if iv is None
                    else f"unit {lab.unit} is not {iv.unit}"
                )
                why_nl = (
                    "geen interval met bron voor deze leeftijd"
                    if iv is None
                    else f"eenheid {lab.unit} is niet {iv.unit}"
                )
                ref_nl = lab_ref.replace("lab:", "labo:")
                ctx.add(
                    f"laboratory.{lab.analyte.value}.unjudged",
                    Severity.INFO,
                    Category.LABORATORY,
                    f"{name} {lab.value:g} {lab.unit} ({lab.date}){lab_ref}; not judged ({why}).",
                    f"{name_nl} {lab.value:g} {lab.unit} ({lab.date}){ref_nl}; niet beoordeeld "
                    f"({why_nl}).",
                    inputs={"field": f"labs[{i}]"},
                )
                continue
            if value < iv.lower:
                status, st_nl, sev = "below", "onder", Severity.NOTICE
            elif value > iv.upper:
                status, st_nl, sev = "above", "boven", Severity.NOTICE
            else:
                status, st_nl, sev = "within", "binnen", Severity.INFO
            ctx.add(
                f"laboratory.{lab.analyte.value}.{status}_interval",
                sev,
                Category.LABORATORY,
                f"{name} {lab.value:g} {lab.unit} ({lab.date}) is {status} the CALIPER interval "
                f"{iv.lower:g}–{iv.upper:g} {iv.unit} for age and sex (Abbott Architect; "
                f"assay-specific){lab_ref}.",
                f"{name_nl} {lab.value:g} {lab.unit} ({lab.date}) ligt {st_nl} het "
                "CALIPER-interval "
                f"{iv.lower:g}–{iv.upper:g} {iv.unit} voor leeftijd en geslacht (Abbott Architect; "
                f"assayspecifiek){lab_ref.replace('lab:', 'labo:')}.",
                inputs={
                    "field": f"labs[{i}]",
                    "value": lab.value,
                    "unit": lab.unit,
                    "interval": [iv.lower, iv.upper],
                    "assay": lab.assay,
                },
                sources=("S74",),
            )
        elif lab.analyte in _UNJUDGED:
            assay = f", {lab.assay}" if lab.assay else ""
            ctx.add(
                f"laboratory.{lab.analyte.value}.recorded",
                Severity.INFO,
                Category.LABORATORY,
                f"{name} {lab.value:g} {lab.unit} ({lab.date}{assay}){lab_ref}; shown without "
                "judgement: no sourced paediatric interval, and bone turnover markers depend "
                "strongly on age, sex, puberty and assay.",
                f"{name_nl} {lab.value:g} {lab.unit} ({lab.date}{assay})"
                f"{lab_ref.replace('lab:', 'labo:')}; zonder beoordeling weergegeven: geen "
                "pediatrisch interval met bron, en botturnovermerkers hangen sterk af van "
                "leeftijd, geslacht, puberteit en assay.",
                inputs={"field": f"labs[{i}]", "value": lab.value, "unit": lab.unit},
                sources=("S77", "S78"),
            )


def renal(ctx: _Ctx) -> None:
    """Bedside Schwartz eGFR from the latest creatinine and a height within 92 days [S72]."""
    crs = [
        (i, lab)
        for i, lab in _valid(ctx, "labs", ctx.patient.labs)
        if lab.analyte == LabAnalyte.CREATININE
        and ctx.ok(f"labs[{i}].unit")
        and ctx.ok(f"labs[{i}].value")
    ]
    last = _latest(crs)
    if last is None:
        return
    i, lab = last
    heights = [
        (j, a)
        for j, a in _valid(ctx, "anthropometry", ctx.patient.anthropometry)
        if a.height_cm is not None and ctx.ok(f"anthropometry[{j}].height_cm")
    ]
    near = [
        (abs((a.date - lab.date).days), j, a)
        for j, a in heights
        if abs((a.date - lab.date).days) <= HEIGHT_PAIRING_DAYS
    ]
    if not near:
        ctx.add(
            "renal.no_height",
            Severity.INFO,
            Category.RENAL,
            f"Creatinine {lab.value:g} {lab.unit} ({lab.date}): no height within "
            f"{HEIGHT_PAIRING_DAYS} days, so no bedside Schwartz eGFR.",
            f"Creatinine {lab.value:g} {lab.unit} ({lab.date}): geen lengte binnen "
            f"{HEIGHT_PAIRING_DAYS} dagen, dus geen bedside-Schwartz-eGFR.",
            inputs={"field": f"labs[{i}]"},
            sources=("S72",),
        )
        return
    _, j, a = min(near, key=lambda t: (t[0], t[1]))
    assert a.height_cm is not None
    unit: Literal["umol/L", "mg/dL"] = "mg/dL" if _norm_unit(lab.unit) == "mg/dl" else "umol/L"
    egfr = float(bedside_schwartz_egfr(a.height_cm, lab.value, unit=unit))
    age = ctx.age(lab.date)
    note_en = note_nl = ""
    if not 1.0 <= age < 17.0:
        note_en = " The equation was derived in children aged 1–16 y."
        note_nl = " De formule werd afgeleid bij kinderen van 1–16 jaar."
    ctx.add(
        "renal.egfr",
        Severity.INFO,
        Category.RENAL,
        f"Bedside Schwartz eGFR {egfr:.0f} mL/min/1.73 m² (height {a.height_cm:g} cm, creatinine "
        f"{lab.value:g} {lab.unit}, {lab.date}; valid for enzymatic, IDMS-traceable creatinine)."
        + note_en,
        f"Bedside-Schwartz-eGFR {egfr:.0f} mL/min/1,73 m² (lengte {a.height_cm:g} cm, creatinine "
        f"{lab.value:g} {lab.unit}, {lab.date}; geldig voor enzymatische, IDMS-traceerbare "
        "creatinine)." + note_nl,
        inputs={
            "egfr": egfr,
            "height_cm": a.height_cm,
            "creatinine": lab.value,
            "unit": lab.unit,
            "field": f"labs[{i}]",
            "height_field": f"anthropometry[{j}]",
        },
        sources=("S72", "S72b"),
    )


# ---------------------------------------------------------------------------------------------
# Monitoring: change since baseline
# ---------------------------------------------------------------------------------------------


def monitoring_changes(ctx: _Ctx) -> float | None:
    """Baseline (first) vs latest scan per site. Returns the 12-month spine Z change, if any."""
    scans = sorted(_valid(ctx, "dxa_scans", ctx.patient.dxa_scans), key=lambda p: (p[1].date, p[0]))
    if len(scans) < 2:
        return None
    (bi, base), (fi, last) = scans[0], scans[-1]
    days = (last.date - base.date).days
    if days <= 0:
        return None
    same = base.scanner.identity == last.scanner.identity
    if not same:
        ctx.add(
            "monitoring.scanner_changed",
            Severity.NOTICE,
            Category.MONITORING,
            f"Baseline ({base.date}) and follow-up ({last.date}) were measured on different "
            "scanners; the least significant change does not carry over, so no change can be "
            "called real.",
            f"Baseline ({base.date}) en opvolging ({last.date}) werden op verschillende "
            "toestellen gemeten; de kleinste significante verandering geldt dan niet, dus geen "
            "enkele verandering kan reëel genoemd worden.",
            inputs={"baseline": f"dxa_scans[{bi}]", "followup": f"dxa_scans[{fi}]"},
            sources=("S15",),
        )
    base_sites = {
        r.site: (j, r) for j, r in enumerate(base.sites) if ctx.ok(f"dxa_scans[{bi}].sites[{j}]")
    }
    for j, r in enumerate(last.sites):
        if not ctx.ok(f"dxa_scans[{fi}].sites[{j}]") or r.site not in base_sites:
            continue
        bj, b = base_sites[r.site]
        for qty, attr, zattr in (
            ("abmd", "abmd_g_cm2", "vendor_z_abmd"),
            ("bmc", "bmc_g", "vendor_z_bmc"),
        ):
            v0, v1 = getattr(b, attr), getattr(r, attr)
            if v0 is None or v1 is None or v0 <= 0 or v1 <= 0:
                continue
            measure = f"{r.site.value}_{qty}"
            z = None
            z0, z1 = getattr(b, zattr), getattr(r, zattr)
            if z0 is not None and z1 is not None:
                z = monitoring.z_change(
                    z0,
                    z1,
                    days=days,
                    baseline_reference=base.reference,
                    followup_reference=last.reference,
                )
                if z.change is None and base.reference and last.reference:
                    ctx.dq(
                        "z_reference_mismatch",
                        f"dxa_scans[{fi}].reference",
                        f"the {measure} Z-score ({last.reference!r}) is from another "
                        f"reference than the baseline's ({base.reference!r}); the Z change is "
                        "not computed",
                        f"de {measure}-Z-score ({last.reference!r}) komt van een andere "
                        f"referentie dan die van de baseline ({base.reference!r}); de "
                        "Z-verandering wordt niet berekend",
                        severity=Severity.NOTICE,
                        sources=("S15",),
                    )
                    ctx.excluded.discard(f"dxa_scans[{fi}].reference")
            prec = last.scanner.precision.get(measure)
            res = monitoring.compare_measurements(
                measure, v0, v1, days=days, precision_error=prec, same_scanner=same, z=z
            )
            zt_en = zt_nl = ""
            if z is not None and z.change is not None and z.annualised is not None:
                zt_en = f" Z {z0:+.2f} → {z1:+.2f} (ΔZ {z.change:+.2f}, {z.annualised:+.2f}/year)."
                zt_nl = (
                    f" Z {_nl_z(z0)} → {_nl_z(z1)} (ΔZ {_nl_z(z.change)}, "
                    f"{_nl_z(z.annualised)}/jaar)."
                )
            sev = Severity.WARNING if res.verdict == "real_decrease" else Severity.INFO
            ctx.add(
                f"monitoring.{measure}.{res.verdict}",
                sev,
                Category.MONITORING,
                f"{base.date} → {last.date}: {res.statement('en')} Annualised "
                f"{res.annualised_percent_change:+.1f} %/year.{zt_en}",
                f"{base.date} → {last.date}: {res.statement('nl')} Op jaarbasis "
                f"{_nl_num(res.annualised_percent_change, 1)} %/jaar.{zt_nl}",
                inputs={
                    "measure": measure,
                    "baseline": v0,
                    "followup": v1,
                    "days": days,
                    "percent_change": res.percent_change,
                    "annualised_percent_change": res.annualised_percent_change,
                    "absolute_change": res.absolute_change,
                    "lsc": res.lsc,
                    "precision_error": prec,
                    "verdict": res.verdict,
                    "z_change": None if z is None else z.change,
                    "baseline_field": f"dxa_scans[{bi}].sites[{bj}]",
                    "followup_field": f"dxa_scans[{fi}].sites[{j}]",
                },
                sources=("S15",),
            )
    # DMD rule: ≥ 0.5 SD fall in spine BMD Z in 12 months [S59]
    prev = [s for s in scans[:-1] if 0 < (last.date - s[1].date).days <= 366]
    if not prev:
        return None
    _pi, ps = prev[0]
    z_prev = _spine_z(ps)
    z_last = _spine_z(last)
    if (
        z_prev is None
        or z_last is None
        or (ps.reference or "").lower() != (last.reference or "").lower()
    ):
        return None
    return round(z_last - z_prev, 9)


def _spine_z(scan: DxaScan) -> float | None:
    for r in scan.sites:
        if r.site == DxaSite.SPINE and r.vendor_z_abmd is not None:
            return r.vendor_z_abmd
    return None


# ---------------------------------------------------------------------------------------------
# DXA plan: indication now, sites and next scan
# ---------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    indicated: bool | None = None
    contraindicated: bool = False
    due: list[dt.date] | None = None

    def want(self, value: bool) -> None:
        if value:
            self.indicated = True
        elif self.indicated is None:
            self.indicated = False

    def at(self, day: dt.date) -> None:
        if self.due is None:
            self.due = []
        self.due.append(day)


P = Category.DXA_PLAN


def dxa_plan(
    ctx: _Ctx, z: _Z | None, spine_dz_12m: float | None, vertebral_fractures: int = 0
) -> tuple[bool | None, dt.date | None]:
    """Whether DXA is indicated now and when the next is due, from [S1], [S59] Table 3,
    [S66] (galactosaemia) and [S14] (monitoring time interval)."""
    p = ctx.patient
    on = ctx.as_of
    age = ctx.age()
    plan = _Plan()
    scans = _valid(ctx, "dxa_scans", p.dxa_scans)
    last = _latest(scans)
    last_date = last[1].date if last else None
    fractures = [f for _, f in _valid(ctx, "fractures", p.fractures)]
    # fragility fractures: low-energy fractures, and vertebral fractures found on imaging
    fragility = [f for f in fractures if f.trauma == TraumaLevel.LOW] + (
        [None] * vertebral_fractures
    )
    unknown_trauma = [f for f in fractures if f.trauma == TraumaLevel.UNKNOWN]
    meds = [m for _, m in _valid(ctx, "medications", p.medications, attr="start")]
    gcs = [m for m in meds if m.drug_class == MedicationClass.GLUCOCORTICOID]
    gc_now = any(_active(m.start, m.end, on) for m in gcs)
    high_gc = any(m.high_dose for m in gcs)
    disease_rule = False

    mob = _latest(_valid(ctx, "mobility", p.mobility))
    if mob is not None and mob[1].dxa_positioning_possible is False:
        plan.contraindicated = True
        ctx.add(
            "dxa_plan.positioning_not_possible",
            Severity.WARNING,
            P,
            "Do not perform DXA: safe, appropriate positioning cannot be assured. Where "
            "spine/TBLH cannot be measured, the lateral distal femur is an alternative site.",
            "Geen DXA uitvoeren: een veilige, correcte positionering kan niet verzekerd "
            "worden. Als wervelkolom/TBLH niet meetbaar zijn, is het laterale distale femur "
            "een alternatieve meetplaats.",
            inputs={"field": f"mobility[{mob[0]}].dxa_positioning_possible"},
            sources=("S1", "S6", "S89"),
        )

    def rule(
        code: str,
        en: str,
        nl: str,
        src: tuple[str, ...],
        sev: Severity = Severity.NOTICE,
        **inputs: object,
    ) -> None:
        ctx.add(f"dxa_plan.{code}", sev, P, en, nl, inputs=dict(inputs), sources=src)

    if _has(ctx, DiagnosisCode.DUCHENNE):
        disease_rule = True
        if last_date is None:
            plan.want(True)
            rule(
                "duchenne.baseline",
                "Duchenne: baseline DXA indicated now, then annually.",
                "Duchenne: baseline-DXA nu aangewezen, daarna jaarlijks.",
                ("S59",),
            )
        else:
            due = add_months(last_date, 12)
            plan.at(due)
            plan.want(on >= due)
            rule(
                "duchenne.annual",
                f"Duchenne: annual DXA; next due {due}.",
                f"Duchenne: jaarlijkse DXA; volgende op {due}.",
                ("S59",),
                due=due,
            )
        vas = _latest(_valid(ctx, "vertebral_assessments", p.vertebral_assessments))
        back_pain = any(
            s.kind == SymptomKind.BACK_PAIN and (vas is None or s.date > vas[1].date)
            for _, s in _valid(ctx, "symptoms", p.symptoms)
        )
        fall = spine_dz_12m is not None and round(spine_dz_12m, 6) <= -0.5
        if vas is None or back_pain or fall:
            why_en = (
                "no baseline lateral spine X-ray"
                if vas is None
                else "back pain"
                if back_pain
                else f"spine BMD Z fell {spine_dz_12m:+.2f} in 12 months"
            )
            why_nl = (
                "geen baseline laterale radiografie van de wervelkolom"
                if vas is None
                else "rugpijn"
                if back_pain
                else f"wervelkolom-BMD-Z daalde {spine_dz_12m:+.2f} in 12 maanden"
            )
            rule(
                "duchenne.spine_xray_now",
                f"Duchenne: lateral spine X-ray now ({why_en}).",
                f"Duchenne: laterale radiografie van de wervelkolom nu ({why_nl}).",
                ("S59",),
                Severity.WARNING,
            )
        else:
            lo, hi = (12, 24) if gc_now else (24, 36)
            d1, d2 = add_months(vas[1].date, lo), add_months(vas[1].date, hi)
            if on >= d1:
                late_en = f"overdue since {d2}" if on > d2 else f"due since {d1}"
                late_nl = f"te laat sinds {d2}" if on > d2 else f"aangewezen sinds {d1}"
                rule(
                    "duchenne.spine_xray_due",
                    f"Duchenne: lateral spine X-ray due now ({late_en}; repeat every "
                    f"{lo // 12}–{hi // 12} years {'on' if gc_now else 'off'} glucocorticoids; "
                    f"last {vas[1].date}).",
                    f"Duchenne: laterale radiografie van de wervelkolom nu aangewezen "
                    f"({late_nl}; herhalen om de {lo // 12}–{hi // 12} jaar "
                    f"{'met' if gc_now else 'zonder'} glucocorticoïden; laatste {vas[1].date}).",
                    ("S59",),
                    Severity.WARNING,
                    due_from=d1,
                    due_until=d2,
                )
            else:
                rule(
                    "duchenne.spine_xray_interval",
                    f"Duchenne: repeat lateral spine X-ray every {lo // 12}–{hi // 12} years "
                    f"({'on' if gc_now else 'off'} glucocorticoids): between {d1} and {d2}.",
                    f"Duchenne: laterale radiografie van de wervelkolom herhalen om de "
                    f"{lo // 12}–{hi // 12} jaar ({'met' if gc_now else 'zonder'} "
                    f"glucocorticoïden): tussen {d1} en {d2}.",
                    ("S59",),
                    due_from=d1,
                    due_until=d2,
                )
        bisphosphonate = [m for m in meds if m.drug_class == MedicationClass.BISPHOSPHONATE]
        if (fractures or vertebral_fractures) and bisphosphonate:
            rule(
                "duchenne.fracture_treated",
                "Duchenne with a fracture: bisphosphonate treatment is recorded "
                f"({', '.join(m.name for m in bisphosphonate)}), so the referral after the first "
                "fracture has happened.",
                "Duchenne met een fractuur: een behandeling met bisfosfonaten is geregistreerd "
                f"({', '.join(m.name for m in bisphosphonate)}); de verwijzing na de eerste "
                "fractuur is dus gebeurd.",
                ("S59",),
                Severity.INFO,
            )
        elif fractures or vertebral_fractures:
            rule(
                "duchenne.refer_after_fracture",
                "Duchenne with a fracture: refer to a bone-health specialist (the source: after "
                "the first fracture).",
                "Duchenne met een fractuur: verwijzen naar een botspecialist (de bron: na de "
                "eerste fractuur).",
                ("S59",),
                Severity.WARNING,
            )
    if _has(ctx, DiagnosisCode.CEREBRAL_PALSY):
        disease_rule = True
        plan.want(bool(fragility))
        if fragility:
            rule(
                "cerebral_palsy.fragility_fracture",
                "Cerebral palsy with a fragility fracture: total-body or distal-femur DXA "
                "indicated.",
                "Cerebrale parese met een fragiliteitsfractuur: DXA van het totale lichaam of het "
                "distale femur aangewezen.",
                ("S59", "S89"),
            )
        else:
            n_unk = len(unknown_trauma)
            rule(
                "cerebral_palsy.no_fragility_fracture",
                "Cerebral palsy: DXA only if fragility fractures (none recorded"
                + (f"; {n_unk} fracture(s) of unknown trauma level: check" if n_unk else "")
                + ").",
                "Cerebrale parese: DXA enkel bij fragiliteitsfracturen (geen geregistreerd"
                + (
                    f"; {n_unk} fractu(u)r(en) met onbekend traumaniveau: na te gaan"
                    if n_unk
                    else ""
                )
                + ").",
                ("S59",),
                Severity.INFO,
            )
    if _has(ctx, DiagnosisCode.RETT_SYNDROME):
        disease_rule = True
        plan.want(last_date is None)
        rule(
            "rett",
            "Rett syndrome: baseline DXA, then according to individual risk"
            + (" (baseline indicated now)." if last_date is None else "."),
            "Syndroom van Rett: baseline-DXA, daarna volgens individueel risico"
            + (" (baseline nu aangewezen)." if last_date is None else "."),
            ("S59",),
        )
    aeds = [m for m in meds if m.drug_class == MedicationClass.ANTIEPILEPTIC]
    if aeds or _has(ctx, DiagnosisCode.EPILEPSY):
        # "consider DXA": does not override the general indication [S1]
        rule(
            "antiepileptics",
            "Epilepsy / antiepileptic therapy: consider DXA on prolonged "
            "antiepileptic therapy (the source does not define 'prolonged').",
            "Epilepsie / anti-epileptica: DXA overwegen bij langdurige anti-epileptische "
            "behandeling (de bron definieert 'langdurig' niet).",
            ("S59",),
            medications=[m.name for m in aeds],
        )
    if _has(ctx, DiagnosisCode.THALASSAEMIA):
        disease_rule = True
        if last_date is not None:
            due = add_months(last_date, 24)
            plan.at(due)
            overdue = on >= due
            plan.want(overdue)
            rule(
                "thalassaemia.due_now" if overdue else "thalassaemia",
                "Thalassaemia: DXA every 2 years from adolescence; "
                + (f"due now (due since {due})." if overdue else f"next due {due}."),
                "Thalassemie: DXA om de 2 jaar vanaf de adolescentie; "
                + (f"nu aangewezen (sinds {due})." if overdue else f"volgende op {due}."),
                ("S59",),
                Severity.WARNING if overdue else Severity.NOTICE,
                due=due,
            )
        else:
            rule(
                "thalassaemia",
                "Thalassaemia: DXA every 2 years from adolescence; no DXA recorded (the source "
                "does not give the age at which adolescence starts).",
                "Thalassemie: DXA om de 2 jaar vanaf de adolescentie; geen DXA geregistreerd (de "
                "bron geeft niet de leeftijd waarop de adolescentie begint).",
                ("S59",),
            )
    if (
        _has(ctx, DiagnosisCode.RHEUMATIC_INFLAMMATORY, DiagnosisCode.INFLAMMATORY_BOWEL_DISEASE)
        and gcs
    ):
        # "consider DXA on high-dose GCs": the general indication still applies
        if high_gc:
            plan.want(True)
        rule(
            "inflammatory_gc",
            "Inflammatory/systemic disease on glucocorticoids: consider DXA "
            "on high-dose glucocorticoids"
            + (
                " (recorded as high-dose)."
                if high_gc
                else " (the source does not define the dose)."
            ),
            "Inflammatoire/systemische aandoening met glucocorticoïden: DXA overwegen bij "
            "hoge dosis glucocorticoïden"
            + (
                " (als hoge dosis geregistreerd)."
                if high_gc
                else " (de bron definieert de dosis niet)."
            ),
            ("S59",),
        )
    if _has(ctx, DiagnosisCode.JUVENILE_IDIOPATHIC_ARTHRITIS):
        disease_rule = True
        if age < 6.0:
            plan.want(bool(fragility))
            rule(
                "jia.under_6",
                "JIA under 6 years: DXA if fragility fracture"
                + (" (present: indicated)." if fragility else " (none recorded)."),
                "JIA jonger dan 6 jaar: DXA bij een fragiliteitsfractuur"
                + (" (aanwezig: aangewezen)." if fragility else " (geen geregistreerd)."),
                ("S59",),
            )
        else:
            if high_gc:
                plan.want(True)
            rule(
                "jia.over_6",
                "JIA over 6 years: DXA if no rapid remission or on high-dose "
                "glucocorticoids" + (" (high-dose recorded: indicated)." if high_gc else "."),
                "JIA ouder dan 6 jaar: DXA bij uitblijven van snelle remissie of bij hoge dosis "
                "glucocorticoïden"
                + (" (hoge dosis geregistreerd: aangewezen)." if high_gc else "."),
                ("S59",),
            )
    if _has(ctx, DiagnosisCode.LEUKAEMIA, DiagnosisCode.OTHER_NEOPLASM):
        disease_rule = True
        chemo = [m for m in meds if m.drug_class == MedicationClass.CHEMOTHERAPY]
        ended = [m.end for m in chemo if m.end is not None and m.end <= on]
        late = _has(ctx, DiagnosisCode.GROWTH_HORMONE_DEFICIENCY, DiagnosisCode.HYPOGONADISM)
        if late:
            plan.want(True)
            rule(
                "neoplasm.late_effects",
                "Neoplasm with late effects (GH deficiency or "
                "hypogonadism): baseline DXA indicated.",
                "Neoplasie met late effecten (groeihormoondeficiëntie of hypogonadisme): "
                "baseline-DXA aangewezen.",
                ("S59",),
            )
        elif ended and all(m.end is not None and m.end <= on for m in chemo):
            due = add_months(max(ended), 24)
            if last_date is None or last_date < due:
                plan.at(due)
                plan.want(on >= due)
            rule(
                "neoplasm.after_chemotherapy",
                f"Neoplasm: baseline DXA 2 years after completing osteotoxic chemotherapy: {due}.",
                f"Neoplasie: baseline-DXA 2 jaar na het einde van osteotoxische chemotherapie: "
                f"{due}.",
                ("S59",),
                due=due,
            )
        else:
            rule(
                "neoplasm.on_treatment",
                "Neoplasm: baseline DXA 2 years after completing "
                "osteotoxic chemotherapy / HSCT (treatment end not recorded or ongoing).",
                "Neoplasie: baseline-DXA 2 jaar na het einde van osteotoxische chemotherapie / "
                "HSCT (einde niet geregistreerd of behandeling lopend).",
                ("S59",),
            )
    if _has(ctx, DiagnosisCode.CYSTIC_FIBROSIS):
        disease_rule = True
        delayed = _has(ctx, DiagnosisCode.DELAYED_PUBERTY)
        long_gc = any(m.high_dose and ((m.end or on) - m.start).days > 90 for m in gcs)
        if age >= 18.0 or (age >= 8.0 and (delayed or long_gc)):
            plan.want(True)
        rule(
            "cystic_fibrosis",
            "Cystic fibrosis: DXA from age 8 if weight < 90 % of ideal, FEV1 "
            "< 50 %, delayed puberty or high-dose glucocorticoids > 90 days/year; everyone at 18 y"
            + (" (criterion met: indicated)." if plan.indicated else "."),
            "Cystische fibrose: DXA vanaf 8 jaar bij gewicht < 90 % van het ideale gewicht, FEV1 "
            "< 50 %, vertraagde puberteit of hoge dosis glucocorticoïden > 90 dagen/jaar; "
            "iedereen op 18 jaar"
            + (" (criterium vervuld: aangewezen)." if plan.indicated else "."),
            ("S59",),
        )
    if _has(ctx, DiagnosisCode.COELIAC_DISEASE):
        disease_rule = True
        other = [g for g in ctx.risk_groups if g != "disease_specific"]
        if other:
            plan.want(True)
        rule(
            "coeliac",
            "Coeliac disease: DXA if poor dietary adherence, irregular menses or "
            "other fracture risk factors"
            + (
                f" (present: {', '.join(_GROUP_NAMES.get(g, (g, g))[0] for g in other)})."
                if other
                else "."
            ),
            "Coeliakie: DXA bij slechte therapietrouw aan het dieet, onregelmatige menstruatie of "
            "andere risicofactoren voor fracturen"
            + (
                f" (aanwezig: {', '.join(_GROUP_NAMES.get(g, (g, g))[1] for g in other)})."
                if other
                else "."
            ),
            ("S59",),
        )
    if _has(ctx, DiagnosisCode.GALACTOSAEMIA):
        disease_rule = True
        if last_date is None:
            start4 = birthday(ctx.birth, 4)
            if age >= 4.0:
                plan.want(True)
            else:
                plan.at(start4)
            rule(
                "galactosaemia.start",
                "Galactosaemia: serial DXA of lumbar spine and TBLH in "
                "children; an older proposal starts DXA at age 4"
                + (" (indicated now)." if age >= 4.0 else f": due {start4}."),
                "Galactosemie: seriële DXA van lumbale wervelkolom en TBLH bij kinderen; een "
                "ouder voorstel start de DXA op 4 jaar"
                + (" (nu aangewezen)." if age >= 4.0 else f": op {start4}."),
                ("S66",),
                due=start4,
            )
        else:
            bmc_z = (
                [r.vendor_z_bmc for r in last[1].sites if r.vendor_z_bmc is not None]
                if last
                else []
            )
            low = bool(bmc_z) and min(bmc_z) < 0
            months = 12 if low else 24
            how_en = "yearly because BMC Z < 0" if low else "every 2 years while normal"
            how_nl = (
                "jaarlijks herhalen omdat BMC-Z < 0"
                if low
                else "om de 2 jaar herhalen zolang normaal"
            )
            due = add_months(last_date, months)
            plan.at(due)
            plan.want(on >= due)
            rule(
                "galactosaemia.repeat",
                f"Galactosaemia (older proposal): repeat DXA {how_en}"
                f"{'' if bmc_z else ' (no BMC Z recorded)'}; next due {due}.",
                f"Galactosemie (ouder voorstel): DXA {how_nl}"
                f"{'' if bmc_z else ' (geen BMC-Z geregistreerd)'}; volgende op {due}.",
                ("S66",),
                due=due,
            )
            if bmc_z and min(bmc_z) < -1.0:
                rule(
                    "galactosaemia.supplement",
                    f"Galactosaemia (older proposal): BMC Z {min(bmc_z):+.2f} < −1: the proposal "
                    "supplements calcium, vitamin K1 and vitamin D3.",
                    f"Galactosemie (ouder voorstel): BMC-Z {min(bmc_z):+.2f} < −1: het voorstel "
                    "geeft supplementen van calcium, vitamine K1 en vitamine D3.",
                    ("S66",),
                    bmc_z=min(bmc_z),
                )
    if _has(ctx, DiagnosisCode.PHENYLKETONURIA):
        rule(
            "phenylketonuria",
            "Phenylketonuria: no routine paediatric DXA schedule in the "
            "sources (in adults DXA is suggested from 35–40 y when well controlled, or on "
            "indication).",
            "Fenylketonurie: geen routinematig pediatrisch DXA-schema in de bronnen (bij "
            "volwassenen wordt DXA vanaf 35–40 jaar voorgesteld bij goede controle, of op "
            "indicatie).",
            ("S65", "S64"),
            Severity.INFO,
        )
    if _has(ctx, DiagnosisCode.GLYCOGEN_STORAGE_DISEASE_1):
        rule(
            "gsd1",
            "Glycogen storage disease type 1: bone complications appear universal; no "
            "disease-specific DXA schedule was retrieved, so the general indication applies.",
            "Glycogenose type 1: botcomplicaties lijken universeel; er werd geen "
            "ziektespecifiek DXA-schema gevonden, dus de algemene indicatie geldt.",
            ("S67", "S1"),
            Severity.INFO,
        )
    # general ISCD indication
    at_risk = any(g for g in ctx.risk_groups) or bool(fractures)
    if at_risk and last_date is None and not disease_rule:
        plan.want(True)
        rule(
            "general.indicated",
            "DXA indicated: increased risk of secondary bone disease; "
            "perform it when the result will influence management.",
            "DXA aangewezen: verhoogd risico op secundaire botziekte; uit te voeren als het "
            "resultaat het beleid zal beïnvloeden.",
            ("S1",),
            groups=sorted(ctx.risk_groups),
        )
    if last_date is not None:
        sex_limit = 17 if ctx.sex == "M" else 15
        rule(
            "general.interval",
            f"Repeat DXA when a change larger than the least significant change can be expected: "
            f"the monitoring time interval for spine and TBLH is under 1 year in "
            f"{'boys' if ctx.sex == 'M' else 'girls'} up to {sex_limit} y (as short as about 3 "
            "months in peak growth), about 1 year for the hip, and becomes unusable in late "
            "adolescence.",
            f"DXA herhalen wanneer een verandering groter dan de kleinste significante verandering "
            f"te verwachten is: het opvolgingsinterval voor wervelkolom en TBLH is korter dan "
            f"1 jaar bij {'jongens' if ctx.sex == 'M' else 'meisjes'} tot {sex_limit} jaar (tot "
            "ongeveer 3 maanden tijdens de groeispurt), ongeveer 1 jaar voor de heup, en wordt "
            "onbruikbaar in de late adolescentie.",
            ("S14", "S15"),
            Severity.INFO,
            last_scan=last_date,
        )
    if plan.indicated and not plan.contraindicated:
        if _has(ctx, DiagnosisCode.CEREBRAL_PALSY):
            sites_en, sites_nl = (
                "total body or distal femur",
                "totaal lichaam of distaal femur",
            )
            site_src: tuple[str, ...] = ("S59", "S6")
        elif age < 5:
            sites_en = "lumbar spine (whole body from age 3)"
            sites_nl = "lumbale wervelkolom (totaal lichaam vanaf 3 jaar)"
            site_src = ("S4",)
        else:
            sites_en = "posterior-anterior lumbar spine and total body less head"
            sites_nl = "posteroanterieure lumbale wervelkolom en totaal lichaam zonder hoofd"
            site_src = ("S3",)
        rule("sites", f"Sites: {sites_en}.", f"Meetplaatsen: {sites_nl}.", site_src, Severity.INFO)
    indicated = False if plan.contraindicated else plan.indicated
    next_due = min(plan.due) if plan.due else None
    return indicated, next_due


# ---------------------------------------------------------------------------------------------
# Symptoms
# ---------------------------------------------------------------------------------------------


def symptoms(ctx: _Ctx) -> None:
    """Back pain / kyphosis → vertebral assessment; diffuse long-bone pain is reported."""
    syms = _valid(ctx, "symptoms", ctx.patient.symptoms)
    vas = _valid(ctx, "vertebral_assessments", ctx.patient.vertebral_assessments)
    for i, s in syms:
        if s.kind in (SymptomKind.BACK_PAIN, SymptomKind.KYPHOSIS):
            after = [va for _, va in vas if va.date >= s.date]
            name_en = "back pain" if s.kind == SymptomKind.BACK_PAIN else "kyphosis"
            name_nl = "rugpijn" if s.kind == SymptomKind.BACK_PAIN else "kyfose"
            if after:
                ctx.add(
                    f"symptoms.{s.kind.value}",
                    Severity.INFO,
                    Category.SYMPTOMS,
                    f"{name_en.capitalize()} ({s.date}); a vertebral assessment followed "
                    f"({after[0].date}).",
                    f"{name_nl.capitalize()} ({s.date}); een wervelbeoordeling volgde "
                    f"({after[0].date}).",
                    inputs={"field": f"symptoms[{i}]"},
                    sources=("SEED_NL",),
                )
            else:
                ctx.add(
                    f"symptoms.{s.kind.value}",
                    Severity.WARNING,
                    Category.SYMPTOMS,
                    f"{name_en.capitalize()} ({s.date}) without a later lateral spine "
                    "radiograph or VFA: consider one; vertebral fractures are often "
                    "asymptomatic, and in Duchenne back pain is an indication for a lateral "
                    "spine X-ray.",
                    f"{name_nl.capitalize()} ({s.date}) zonder latere laterale radiografie "
                    "van de wervelkolom of VFA: overweeg er een; wervelfracturen zijn vaak "
                    "asymptomatisch, en bij Duchenne is rugpijn een indicatie voor een "
                    "laterale radiografie van de wervelkolom.",
                    inputs={"field": f"symptoms[{i}]"},
                    sources=("S18", "S59"),
                )
        elif s.kind == SymptomKind.DIFFUSE_LONG_BONE_PAIN:
            ctx.add(
                "symptoms.diffuse_long_bone_pain",
                Severity.NOTICE,
                Category.SYMPTOMS,
                f"Diffuse long-bone pain ({s.date}), a symptom of osteoporosis in children.",
                f"Diffuse pijn in de lange pijpbeenderen ({s.date}), een symptoom van "
                "osteoporose bij kinderen.",
                inputs={"field": f"symptoms[{i}]"},
                sources=("SEED_NL",),
            )
        else:
            ctx.add(
                "symptoms.other",
                Severity.INFO,
                Category.SYMPTOMS,
                f"Symptom ({s.date}): {s.text or 'not described'}.",
                f"Symptoom ({s.date}): {s.text or 'niet beschreven'}.",
                inputs={"field": f"symptoms[{i}]"},
                sources=("SEED_NL",),
            )
