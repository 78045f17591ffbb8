"""Form definitions for every record type, and their server-side validation.

A form is a list of :class:`Field`; :func:`parse` turns the submitted strings into typed values
and collects one message per field, so that the page can show each message next to its field
and keep what the user typed. The store's own validation runs on save; its messages name the
field (``"field: reason"``) and are mapped back to the field the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pedbone import plausibility
from pedbone.treatment import HarmType, Relatedness
from pedbone.web._i18n import N_, parse_number

__all__ = ["FORMS", "Field", "FormSpec", "parse", "store_error_field"]

Kind = Literal["text", "textarea", "password", "date", "number", "integer", "choice", "bool"]


_ = N_  # messages and labels are translated when the page is rendered


@dataclass(frozen=True, slots=True)
class Field:
    """One form field: the store attribute it fills, how to read it and how to label it."""

    name: str
    label: str
    kind: Kind = "text"
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    hint: str = ""
    section: str = ""
    #: A ``pedbone.plausibility`` quantity: the domain's limit and message apply (one truth
    #: with the CLI, the API, imports and the assessment).
    plausibility: str = ""


@dataclass(frozen=True, slots=True)
class FormSpec:
    """A record type that can be entered on a patient."""

    kind: str
    title: str
    fields: tuple[Field, ...]
    model: str  # class name in pedbone.store
    date_field: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sections(self) -> list[tuple[str, list[Field]]]:
        """Consecutive fields grouped by their section title, in form order."""
        out: list[tuple[str, list[Field]]] = []
        for f in self.fields:
            if not out or out[-1][0] != f.section:
                out.append((f.section, []))
            out[-1][1].append(f)
        return out


def parse(
    spec_fields: tuple[Field, ...], form: Mapping[str, str], language: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed values and per-field error messages (untranslated msgids plus details)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in spec_fields:
        raw = (form.get(f.name) or "").strip()
        if f.kind == "bool":
            values[f.name] = raw in ("on", "true", "1", "yes")
            continue
        if not raw:
            if f.required:
                errors[f.name] = _("This field is required.")
            values[f.name] = None
            continue
        try:
            values[f.name] = _convert(f, raw, language)
        except ValueError as exc:
            errors[f.name] = str(exc)
    # a laboratory value is checked against the domain's limit for its analyte and unit
    if values.get("analyte") and values.get("value") is not None and "value" not in errors:
        try:
            plausibility.check_lab(str(values["analyte"]), values["value"], values.get("unit"))
        except plausibility.ImplausibleValueError as exc:
            errors["value"] = str(exc)
    return values, errors


def _convert(f: Field, raw: str, language: str) -> Any:
    if f.kind in ("text", "textarea", "password"):
        if len(raw) > 2000:
            raise ValueError(_("Too long (at most 2000 characters)."))
        return raw
    if f.kind == "date":
        try:
            day = _parse_date(raw)
        except ValueError:
            raise ValueError(_("Not a valid date (use the date picker or YYYY-MM-DD).")) from None
        if day > dt.date.today():
            raise ValueError(_("The date is in the future."))
        if day.year < 1900:
            raise ValueError(_("The date is too far in the past."))
        return day
    if f.kind in ("number", "integer"):
        try:
            number = parse_number(raw, language)
        except ValueError:
            raise ValueError(_("Not a number.")) from None
        if f.kind == "integer":
            if number != int(number):
                raise ValueError(_("Must be a whole number."))
            number = int(number)
        if f.plausibility:
            try:
                plausibility.check(f.plausibility, number)
            except plausibility.ImplausibleValueError as exc:
                raise ValueError(str(exc)) from None
        if f.minimum is not None and number < f.minimum:
            raise ValueError(_("Too small (outside the accepted range)."))
        if f.maximum is not None and number > f.maximum:
            raise ValueError(_("Too large (outside the accepted range)."))
        return number
    if f.kind == "choice":
        allowed = {value for value, _label in f.choices}
        if raw not in allowed:
            raise ValueError(_("Choose one of the options."))
        return raw
    raise AssertionError(f.kind)  # pragma: no cover


def _parse_date(raw: str) -> dt.date:
    """ISO dates (what <input type=date> sends) and d/m/yyyy as typed in Belgium."""
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        pass
    parts = raw.replace("-", "/").replace(".", "/").split("/")
    if len(parts) == 3 and len(parts[2]) == 4:
        day, month, year = (int(p) for p in parts)
        return dt.date(year, month, day)
    raise ValueError(raw)


def store_error_field(message: str, names: tuple[str, ...]) -> str | None:
    """The form field a store ValidationError message (``"field: reason"``) is about."""
    head = message.split(":", 1)[0].strip()
    return head if head in names else None


# --------------------------------------------------------------------------- specs
# Plausibility ranges below are input-sanity limits (typing errors such as a height in mm),
# not clinical thresholds.

SEX: Final = (("F", _("female")), ("M", _("male")))
#: FHIR Patient.gender (administrative gender), kept apart from the sex above [FHIR_R4B].
ADMINISTRATIVE_GENDER: Final = (
    ("female", _("female")),
    ("male", _("male")),
    ("other", _("other")),
    ("unknown", _("unknown")),
)
DXA_GROUPS: Final = (
    ("white", _("white")),
    ("black", _("black")),
    ("mexican", _("Mexican-American")),
)

_HARM_LABELS: Final = {
    HarmType.ACUTE_PHASE_REACTION: _("acute-phase reaction"),
    HarmType.GASTROINTESTINAL: _("gastro-intestinal"),
    HarmType.BONE_MUSCLE_PAIN: _("bone or muscle pain"),
    HarmType.HYPOCALCAEMIA: _("hypocalcaemia"),
    HarmType.HYPOPHOSPHATAEMIA: _("hypophosphataemia"),
    HarmType.OTHER: _("other"),
}
#: Harm types and relatedness as choices: values from ``pedbone.treatment``, labels translated.
HARM_TYPES: Final = tuple((t.value, _HARM_LABELS[t]) for t in HarmType)
_RELATEDNESS_LABELS: Final = {
    Relatedness.UNRELATED: _("unrelated"),
    Relatedness.UNLIKELY: _("unlikely"),
    Relatedness.POSSIBLE: _("possible"),
    Relatedness.PROBABLE: _("probable"),
    Relatedness.DEFINITE: _("definite"),
}
RELATEDNESS: Final = tuple((r.value, _RELATEDNESS_LABELS[r]) for r in Relatedness)
#: CTCAE grades 1-5 [CTCAE5].
CTCAE_GRADES: Final = tuple((str(g), str(g)) for g in range(1, 6))

DIAGNOSES: Final = (
    ("phenylketonuria", _("phenylketonuria")),
    ("galactosaemia", _("galactosaemia")),
    ("glycogen_storage_disease_type_1", _("glycogen storage disease type 1")),
    ("neuromuscular_disease", _("neuromuscular disease")),
    ("cerebral_palsy", _("cerebral palsy")),
    ("duchenne_muscular_dystrophy", _("Duchenne muscular dystrophy")),
    ("rett_syndrome", _("Rett syndrome")),
    ("burns", _("burns")),
    ("anorexia_nervosa", _("anorexia nervosa")),
    ("rheumatic_inflammatory_disease", _("rheumatic inflammatory disease")),
    ("juvenile_idiopathic_arthritis", _("juvenile idiopathic arthritis")),
    ("inflammatory_bowel_disease", _("inflammatory bowel disease")),
    ("coeliac_disease", _("coeliac disease")),
    ("renal_disease", _("renal disease")),
    ("renal_transplant", _("renal transplant")),
    ("leukaemia", _("leukaemia")),
    ("other_neoplasm", _("other neoplasm")),
    ("epilepsy", _("epilepsy")),
    ("cystic_fibrosis", _("cystic fibrosis")),
    ("thalassaemia", _("thalassaemia")),
    ("delayed_puberty", _("delayed puberty")),
    ("hypogonadism", _("hypogonadism")),
    ("premature_ovarian_insufficiency", _("premature ovarian insufficiency")),
    ("growth_hormone_deficiency", _("growth hormone deficiency")),
    ("short_stature", _("short stature")),
    ("growth_delay", _("growth delay")),
    ("malnutrition", _("malnutrition")),
    ("other", _("other")),
)
DIAGNOSIS_LABELS: Final = dict(DIAGNOSES)
DATE_REQUIRED = {"kind": "date", "required": True}

PATIENT_FIELDS: Final = (
    Field("family_name", _("Family name"), required=True),
    Field("given_name", _("Given name"), required=True),
    Field("birth_date", _("Date of birth"), "date", required=True),
    Field("sex", _("Sex"), "choice", required=True, choices=SEX),
    Field("mrn", _("Record number"), hint=_("Hospital medical record number, if any.")),
    Field(
        "ssin",
        _("INSZ / NISS number"),
        hint=_(
            "Belgian national register or BIS number (11 digits), if any; used in FHIR exports."
        ),
    ),
    Field(
        "administrative_gender",
        _("Administrative gender"),
        "choice",
        choices=ADMINISTRATIVE_GENDER,
        hint=_("As registered, for FHIR; the references always use the sex above."),
    ),
    Field("diagnosis", _("Main diagnosis"), "choice", choices=DIAGNOSES),
    Field("diagnosis_text", _("Diagnosis as written locally"), hint=_("Optional free text.")),
)

_GRADES = (("0", "0"), ("0.5", "0.5"), ("1", "1"), ("2", "2"), ("3", "3"))
#: Vertebral levels graded on lateral spine images (the store's list).
VERTEBRAL_LEVELS: Final = tuple(f"T{i}" for i in range(4, 13)) + tuple(f"L{i}" for i in range(1, 6))
_LIM = plausibility.LIMITS
_VENDOR_Z_HINT = _(
    "What the scanner printed. The assessment uses it only where no Z-score can be computed "
    "from the raw values with a reference pack, and then says so."
)
_SCAN = _("Scan")
_SPINE = _("Lumbar spine (L1–L4)")
_TBLH = _("Total body less head")
_LEG = _("Lower limb")


def _dxa_fields() -> tuple[Field, ...]:
    num: Kind = "number"
    return (
        Field("scanned_on", _("Scan date"), "date", required=True, section=_SCAN),
        Field(
            "manufacturer",
            _("Manufacturer"),
            "choice",
            required=True,
            choices=(("Hologic", "Hologic"), ("GE Lunar", "GE Lunar"), ("other", _("other"))),
            section=_SCAN,
        ),
        Field("model", _("Scanner model"), section=_SCAN),
        Field("software_version", _("Software version"), section=_SCAN),
        Field(
            "analysis_mode", _("Analysis mode"), hint=_("For example: pediatric."), section=_SCAN
        ),
        Field(
            "precision_spine",
            _("Precision error, spine aBMD (RMS-SD)"),
            num,
            unit="g/cm²",
            minimum=0.0001,
            maximum=0.2,
            hint=_("From the facility's precision study; gives the least significant change."),
            section=_SCAN,
        ),
        Field(
            "height_cm",
            _("Height on the scan day"),
            num,
            unit="cm",
            minimum=_LIM["height_cm"].low,
            maximum=_LIM["height_cm"].high,
            plausibility="height_cm",
            section=_SCAN,
        ),
        Field(
            "weight_kg",
            _("Weight on the scan day"),
            num,
            unit="kg",
            minimum=_LIM["weight_kg"].low,
            maximum=_LIM["weight_kg"].high,
            plausibility="weight_kg",
            section=_SCAN,
        ),
        Field(
            "spine_abmd",
            _("Lumbar spine aBMD"),
            num,
            unit="g/cm²",
            minimum=_LIM["abmd_g_cm2"].low,
            maximum=_LIM["abmd_g_cm2"].high,
            plausibility="abmd_g_cm2",
            section=_SPINE,
        ),
        Field(
            "spine_bmc",
            _("Lumbar spine BMC"),
            num,
            unit="g",
            minimum=0.5,
            maximum=150,
            section=_SPINE,
        ),
        Field(
            "spine_area",
            _("Lumbar spine area"),
            num,
            unit="cm²",
            minimum=1,
            maximum=150,
            section=_SPINE,
        ),
        Field(
            "spine_vendor_z",
            _("Lumbar spine Z (scanner)"),
            num,
            minimum=_LIM["z_score"].low,
            maximum=_LIM["z_score"].high,
            plausibility="z_score",
            hint=_VENDOR_Z_HINT,
            section=_SPINE,
        ),
        Field(
            "tblh_abmd",
            _("Total body less head aBMD"),
            num,
            unit="g/cm²",
            minimum=_LIM["abmd_g_cm2"].low,
            maximum=_LIM["abmd_g_cm2"].high,
            plausibility="abmd_g_cm2",
            section=_TBLH,
        ),
        Field(
            "tblh_bmc",
            _("Total body less head BMC"),
            num,
            unit="g",
            minimum=10,
            maximum=5000,
            section=_TBLH,
        ),
        Field(
            "tblh_vendor_z",
            _("Total body less head Z (scanner)"),
            num,
            minimum=_LIM["z_score"].low,
            maximum=_LIM["z_score"].high,
            plausibility="z_score",
            hint=_VENDOR_Z_HINT,
            section=_TBLH,
        ),
        Field(
            "leg_abmd",
            _("Lower limb aBMD"),
            num,
            unit="g/cm²",
            minimum=_LIM["abmd_g_cm2"].low,
            maximum=_LIM["abmd_g_cm2"].high,
            plausibility="abmd_g_cm2",
            section=_LEG,
        ),
        Field("leg_bmc", _("Lower limb BMC"), num, unit="g", minimum=5, maximum=3000, section=_LEG),
        Field(
            "leg_lean_mass",
            _("Lower limb lean mass"),
            num,
            unit="g",
            minimum=50,
            maximum=30000,
            section=_LEG,
        ),
        Field(
            "leg_fat_mass",
            _("Lower limb fat mass"),
            num,
            unit="g",
            minimum=10,
            maximum=30000,
            section=_LEG,
        ),
        Field(
            "reference_group",
            _("Reference group (lower limb)"),
            "choice",
            choices=DXA_GROUPS,
            hint=_("Population group of the Schafmeyer 2022 lower-limb reference."),
            section=_LEG,
        ),
        Field("comment", _("Comment"), "textarea"),
    )


def _spec(kind: str, title: str, model: str, date_field: str, *fields: Field) -> FormSpec:
    return FormSpec(kind, title, tuple(fields), model, date_field)


FORMS: Final[dict[str, FormSpec]] = {
    spec.kind: spec
    for spec in (
        _spec(
            "anthropometry",
            _("Height and weight"),
            "Anthropometry",
            "measured_on",
            Field("measured_on", _("Date measured"), "date", required=True),
            Field(
                "height_cm",
                _("Height"),
                "number",
                unit="cm",
                minimum=_LIM["height_cm"].low,
                maximum=_LIM["height_cm"].high,
                plausibility="height_cm",
            ),
            Field(
                "weight_kg",
                _("Weight"),
                "number",
                unit="kg",
                minimum=_LIM["weight_kg"].low,
                maximum=_LIM["weight_kg"].high,
                plausibility="weight_kg",
            ),
            Field(
                "head_circumference_cm",
                _("Head circumference"),
                "number",
                unit="cm",
                minimum=20,
                maximum=70,
            ),
            Field(
                "height_method",
                _("Height method"),
                "choice",
                choices=(
                    ("standing", _("standing")),
                    ("supine", _("supine (length)")),
                    ("segmental", _("segmental (e.g. knee height)")),
                ),
            ),
        ),
        FormSpec("dxa", _("DXA scan"), _dxa_fields(), "DxaScan", "scanned_on"),
        _spec(
            "diagnosis",
            _("Diagnosis"),
            "Diagnosis",
            "onset_date",
            Field("code", _("Diagnosis"), "choice", required=True, choices=DIAGNOSES),
            Field("text", _("Diagnosis as written locally")),
            Field("icd10", _("ICD-10 code")),
            Field("onset_date", _("Onset"), "date"),
            Field("primary", _("Main diagnosis"), "bool"),
        ),
        _spec(
            "fracture",
            _("Fracture"),
            "Fracture",
            "occurred_on",
            Field("occurred_on", _("Date"), "date", required=True),
            Field(
                "site",
                _("Site"),
                "choice",
                required=True,
                choices=(
                    ("vertebral", _("vertebral")),
                    ("long_bone_upper", _("long bone, upper limb")),
                    ("long_bone_lower", _("long bone, lower limb")),
                    ("other", _("other")),
                ),
            ),
            Field("bone", _("Bone"), hint=_("For example: radius, femur, T7.")),
            Field(
                "trauma",
                _("Trauma"),
                "choice",
                required=True,
                choices=(
                    ("low", _("low energy")),
                    ("high", _("high energy")),
                    ("unknown", _("unknown")),
                ),
            ),
            Field("local_disease", _("Local bone disease at the site"), "bool"),
            Field(
                "vertebral_level", _("Vertebral level"), hint=_("For vertebral fractures, e.g. T7.")
            ),
            Field("genant_grade", _("Genant grade"), "choice", choices=_GRADES),
            Field("comment", _("Comment"), "textarea"),
        ),
        _spec(
            "medication",
            _("Medication"),
            "Medication",
            "start_date",
            Field("name", _("Medicine"), required=True),
            Field(
                "drug_class",
                _("Class"),
                "choice",
                required=True,
                choices=(
                    ("glucocorticoid", _("glucocorticoid")),
                    ("antiepileptic", _("anti-epileptic")),
                    ("chemotherapy", _("chemotherapy")),
                    ("bisphosphonate", _("bisphosphonate")),
                    ("sex_steroid", _("sex steroid")),
                    ("growth_hormone", _("growth hormone")),
                    ("vitamin_d", _("vitamin D")),
                    ("calcium", _("calcium")),
                    ("other", _("other")),
                ),
            ),
            Field("dose", _("Dose"), hint=_("As prescribed, e.g. 10 mg twice daily.")),
            Field("route", _("Route")),
            Field(
                "prednisone_eq_mg_per_kg_day",
                _("Prednisone equivalent"),
                "number",
                unit="mg/kg/d",
                minimum=0,
                maximum=100,
            ),
            Field("high_dose", _("High-dose course (clinician's judgement)"), "bool"),
            Field("start_date", _("Start"), "date", required=True),
            Field("stop_date", _("Stop"), "date"),
        ),
        _spec(
            "treatment",
            _("Bone treatment"),
            "Treatment",
            "start_date",
            Field("drug", _("Medicine"), required=True, hint=_("For example: zoledronic acid.")),
            Field(
                "route",
                _("Route"),
                "choice",
                required=True,
                choices=(("iv", _("intravenous")), ("oral", _("oral"))),
            ),
            Field("indication", _("Indication"), "textarea"),
            Field("start_date", _("Start"), "date", required=True),
            Field("stop_date", _("Stop"), "date"),
            Field(
                "interval_months", _("Interval"), "number", unit=_("months"), minimum=0, maximum=60
            ),
            Field(
                "status",
                _("Status"),
                "choice",
                required=True,
                choices=(
                    ("planned", _("planned")),
                    ("active", _("active")),
                    ("paused", _("paused")),
                    ("stopped", _("stopped")),
                    ("completed", _("completed")),
                ),
            ),
        ),
        _spec(
            "lab",
            _("Laboratory result"),
            "LabResult",
            "sampled_on",
            Field("sampled_on", _("Sample date"), "date", required=True),
            Field(
                "analyte",
                _("Test"),
                "choice",
                required=True,
                choices=(
                    ("25ohd", _("25-OH vitamin D")),
                    ("calcium", _("calcium")),
                    ("phosphate", _("phosphate")),
                    ("magnesium", _("magnesium")),
                    ("alp", _("alkaline phosphatase")),
                    ("bone_alp", _("bone alkaline phosphatase")),
                    ("pth", _("parathyroid hormone")),
                    ("creatinine", _("creatinine")),
                    ("other", _("other")),
                ),
            ),
            Field("name", _("Local test name")),
            Field("value", _("Value"), "number", required=True, minimum=0, maximum=1e6),
            Field("unit", _("Unit"), required=True, hint=_("As reported, e.g. nmol/L.")),
            Field("assay", _("Method or assay")),
        ),
        _spec(
            "puberty",
            _("Puberty"),
            "PubertyAssessment",
            "assessed_on",
            Field("assessed_on", _("Date"), "date", required=True),
            Field("tanner_stage", _("Tanner stage"), "integer", minimum=1, maximum=5),
            Field(
                "tanner_breast_genital",
                _("Tanner stage (breast/genital)"),
                "integer",
                minimum=1,
                maximum=5,
            ),
            Field(
                "tanner_pubic_hair", _("Tanner stage (pubic hair)"), "integer", minimum=1, maximum=5
            ),
            Field("menarche_date", _("Menarche"), "date"),
        ),
        _spec(
            "mobility",
            _("Mobility"),
            "MobilityAssessment",
            "assessed_on",
            Field("assessed_on", _("Date"), "date", required=True),
            Field(
                "status",
                _("Walking"),
                "choice",
                required=True,
                choices=(
                    ("ambulatory", _("walks independently")),
                    ("limited", _("walks with limits")),
                    ("non_ambulatory", _("does not walk")),
                    ("bedridden", _("bedridden")),
                ),
            ),
            Field("gmfcs", _("GMFCS level"), "integer", minimum=1, maximum=5),
            Field("dxa_positioning_possible", _("Safe DXA positioning possible"), "bool"),
        ),
        _spec(
            "diet",
            _("Diet"),
            "Diet",
            "start_date",
            Field(
                "kind",
                _("Diet"),
                "choice",
                required=True,
                choices=(
                    ("protein_restricted", _("protein-restricted")),
                    ("lactose_free", _("lactose-free")),
                    ("galactose_restricted", _("galactose-restricted")),
                    ("other_restriction", _("other restriction")),
                ),
            ),
            Field("text", _("Description"), "textarea"),
            Field("start_date", _("Start"), "date"),
            Field("stop_date", _("Stop"), "date"),
        ),
        _spec(
            "calcium",
            _("Calcium intake"),
            "CalciumIntake",
            "assessed_on",
            Field("assessed_on", _("Date"), "date", required=True),
            Field(
                "mg_per_day",
                _("Calcium intake"),
                "number",
                required=True,
                unit="mg/d",
                minimum=0,
                maximum=5000,
            ),
            Field("includes_supplements", _("Includes supplements"), "bool"),
        ),
        _spec(
            "sun",
            _("Sun exposure"),
            "SunExposure",
            "assessed_on",
            Field("assessed_on", _("Date"), "date", required=True),
            Field(
                "level",
                _("Sun exposure"),
                "choice",
                required=True,
                choices=(
                    ("adequate", _("adequate")),
                    ("limited", _("limited")),
                    ("minimal", _("minimal")),
                ),
            ),
        ),
        _spec(
            "symptom",
            _("Symptom"),
            "Symptom",
            "noted_on",
            Field("noted_on", _("Date"), "date", required=True),
            Field(
                "kind",
                _("Symptom"),
                "choice",
                required=True,
                choices=(
                    ("diffuse_long_bone_pain", _("diffuse long-bone pain")),
                    ("back_pain", _("back pain")),
                    ("kyphosis", _("kyphosis")),
                    ("other", _("other")),
                ),
            ),
            Field("text", _("Description"), "textarea"),
        ),
        _spec(
            "vertebral",
            _("Vertebral fracture assessment"),
            "VertebralAssessment",
            "assessed_on",
            Field("assessed_on", _("Date"), "date", required=True),
            Field(
                "method",
                _("Method"),
                "choice",
                required=True,
                choices=(("radiograph", _("lateral spine radiograph")), ("vfa", _("DXA VFA"))),
            ),
            Field(
                "trauma",
                _("Trauma"),
                "choice",
                required=True,
                choices=(
                    ("low", _("low energy")),
                    ("high", _("high energy")),
                    ("unknown", _("unknown")),
                ),
            ),
            Field("local_disease", _("Local bone disease at the site"), "bool"),
            Field("reader", _("Read by")),
            *(
                Field(
                    f"grade_{level}",
                    level,
                    "choice",
                    choices=_GRADES,
                    section=_("Genant grade per vertebra (empty: not graded)"),
                )
                for level in VERTEBRAL_LEVELS
            ),
            Field("comment", _("Comment"), "textarea"),
        ),
        _spec(
            "infusion",
            _("Infusion"),
            "Infusion",
            "given_on",
            Field(
                "treatment_id",
                _("Bone treatment"),
                "choice",
                required=True,
                hint=_("This patient's bone treatments; record the treatment first."),
            ),
            Field("given_on", _("Date given"), "date", required=True),
            Field("cycle_number", _("Cycle"), "integer", minimum=1, maximum=100),
            Field("day_number", _("Day in the cycle"), "integer", minimum=1, maximum=10),
            Field("dose_mg_per_kg", _("Dose"), "number", unit="mg/kg", minimum=0, maximum=10),
            Field("dose_mg", _("Dose given"), "number", unit="mg", minimum=0, maximum=1000),
            Field(
                "weight_kg",
                _("Weight"),
                "number",
                unit="kg",
                minimum=_LIM["weight_kg"].low,
                maximum=_LIM["weight_kg"].high,
                plausibility="weight_kg",
            ),
            Field("first_dose", _("First dose"), "bool"),
            Field("steroid_stress_dose", _("Steroid stress dose given"), "bool"),
            Field("comment", _("Comment"), "textarea"),
        ),
        _spec(
            "adverse_event",
            _("Adverse event"),
            "AdverseEvent",
            "occurred_on",
            Field("occurred_on", _("Date"), "date", required=True),
            Field(
                "category",
                _("Category"),
                "choice",
                required=True,
                choices=HARM_TYPES,
            ),
            Field(
                "severity",
                _("Severity"),
                "choice",
                choices=(
                    ("mild", _("mild")),
                    ("moderate", _("moderate")),
                    ("severe", _("severe")),
                    ("life_threatening", _("life-threatening")),
                ),
            ),
            Field(
                "ctcae_grade",
                _("CTCAE grade"),
                "choice",
                choices=CTCAE_GRADES,
                hint=_("1 mild … 5 death (CTCAE v5)"),
            ),
            Field(
                "onset_days",
                _("Onset after the dose"),
                "number",
                unit=_("days"),
                minimum=0,
                maximum=3650,
            ),
            Field(
                "relatedness",
                _("Relatedness"),
                "choice",
                choices=RELATEDNESS,
            ),
            Field("description", _("Description"), "textarea"),
        ),
        _spec(
            "note",
            _("Note"),
            "Note",
            "written_at",
            Field("text", _("Note"), "textarea", required=True),
        ),
    )
}
