"""pedbone.treatment — bisphosphonate treatment planning and harms tracking.

Protocols are data (versioned YAML files with source keys, shipped as package data; a clinic adds
or overrides them in its own folder). From a protocol and a recent weight, :func:`plan_course`
computes each dose with its caps, rounding and cumulative total; :func:`run_checklist` gives a
go / hold decision before a dose; :func:`plan_to_ical` exports the course calendar;
:class:`HarmLog` records harms and summarises them; :func:`treatment_response` judges each DXA
against the least significant change; :func:`supplementation_plan` gives calcium and vitamin D.

pedbone supports, and does not replace, clinical judgement.
"""

from __future__ import annotations

from pedbone.treatment._advice import INTENDED_USE, Advice, first_infusion_advice
from pedbone.treatment._calendar import plan_to_ical
from pedbone.treatment._checklist import (
    ChecklistItem,
    ChecklistResult,
    LabResult,
    PreInfusionInput,
    run_checklist,
)
from pedbone.treatment._harms import (
    HARM_SOURCES,
    Harm,
    HarmLog,
    HarmType,
    Infusion,
    Proportion,
    Relatedness,
    clopper_pearson_interval,
    proportion,
    wilson_interval,
)
from pedbone.treatment._patient import (
    checklist_input_for_patient,
    latest_weight,
    plan_for_patient,
)
from pedbone.treatment._plan import (
    DoseLine,
    PlanError,
    ReviewPrompt,
    TreatmentPlan,
    mosteller_bsa,
    plan_course,
)
from pedbone.treatment._protocol import (
    PROTOCOLS_ENV,
    Protocol,
    ProtocolError,
    ProtocolInfo,
    available_protocols,
    get_protocol,
    load_protocol_file,
    parse_protocol,
    user_protocols_dir,
)
from pedbone.treatment._response import (
    DxaMeasurement,
    ResponseRow,
    ResponseSummary,
    treatment_response,
)
from pedbone.treatment._settings import (
    DEFAULT_MAX_WEIGHT_AGE_DAYS,
    ClinicSettings,
    load_clinic_settings,
)
from pedbone.treatment._supplements import SupplementPlan, supplementation_plan

__all__ = [
    "DEFAULT_MAX_WEIGHT_AGE_DAYS",
    "HARM_SOURCES",
    "INTENDED_USE",
    "PROTOCOLS_ENV",
    "Advice",
    "ChecklistItem",
    "ChecklistResult",
    "ClinicSettings",
    "DoseLine",
    "DxaMeasurement",
    "Harm",
    "HarmLog",
    "HarmType",
    "Infusion",
    "LabResult",
    "PlanError",
    "PreInfusionInput",
    "Proportion",
    "Protocol",
    "ProtocolError",
    "ProtocolInfo",
    "Relatedness",
    "ResponseRow",
    "ResponseSummary",
    "ReviewPrompt",
    "SupplementPlan",
    "TreatmentPlan",
    "available_protocols",
    "checklist_input_for_patient",
    "clopper_pearson_interval",
    "first_infusion_advice",
    "get_protocol",
    "latest_weight",
    "load_clinic_settings",
    "load_protocol_file",
    "mosteller_bsa",
    "parse_protocol",
    "plan_course",
    "plan_for_patient",
    "plan_to_ical",
    "proportion",
    "run_checklist",
    "supplementation_plan",
    "treatment_response",
    "user_protocols_dir",
    "wilson_interval",
]
