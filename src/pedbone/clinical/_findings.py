"""Findings and the assessment result, with text / Markdown / JSON rendering."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Assessment", "Category", "Finding", "Lang", "Severity"]

Lang = Literal["en", "nl"]


class Severity(StrEnum):
    """How much a finding asks of the clinician (ordered)."""

    INFO = "info"
    NOTICE = "notice"
    WARNING = "warning"
    ALERT = "alert"

    @property
    def rank(self) -> int:
        """0 (info) to 3 (alert)."""
        return list(Severity).index(self)


class Category(StrEnum):
    """Which part of the assessment a finding belongs to (rendering order)."""

    DATA_QUALITY = "data_quality"
    CLASSIFICATION = "classification"
    VERTEBRAL = "vertebral"
    DENSITOMETRY = "densitometry"
    MONITORING = "monitoring"
    RISK = "risk"
    DXA_PLAN = "dxa_plan"
    NUTRITION = "nutrition"
    LABORATORY = "laboratory"
    RENAL = "renal"
    GROWTH = "growth"
    SYMPTOMS = "symptoms"


_CATEGORY_TITLES: dict[Category, dict[Lang, str]] = {
    Category.DATA_QUALITY: {"en": "Data quality", "nl": "Datakwaliteit"},
    Category.CLASSIFICATION: {"en": "Classification (ISCD)", "nl": "Classificatie (ISCD)"},
    Category.VERTEBRAL: {"en": "Vertebral fractures", "nl": "Wervelfracturen"},
    Category.DENSITOMETRY: {"en": "Densitometry", "nl": "Densitometrie"},
    Category.MONITORING: {"en": "Change since baseline", "nl": "Evolutie sinds baseline"},
    Category.RISK: {"en": "Risk profile", "nl": "Risicoprofiel"},
    Category.DXA_PLAN: {"en": "DXA: indication and follow-up", "nl": "DXA: indicatie en opvolging"},
    Category.NUTRITION: {"en": "Vitamin D and calcium", "nl": "Vitamine D en calcium"},
    Category.LABORATORY: {"en": "Laboratory", "nl": "Labo"},
    Category.RENAL: {"en": "Renal function", "nl": "Nierfunctie"},
    Category.GROWTH: {"en": "Growth", "nl": "Groei"},
    Category.SYMPTOMS: {"en": "Symptoms", "nl": "Symptomen"},
}

_SEVERITY_LABELS: dict[Severity, dict[Lang, str]] = {
    Severity.INFO: {"en": "info", "nl": "info"},
    Severity.NOTICE: {"en": "notice", "nl": "aandacht"},
    Severity.WARNING: {"en": "warning", "nl": "waarschuwing"},
    Severity.ALERT: {"en": "ALERT", "nl": "ALARM"},
}


class Finding(BaseModel):
    """One explained conclusion: code, severity, bilingual message, inputs and sources."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable machine code, e.g. 'iscd.osteoporosis.vertebral'.")
    severity: Severity
    category: Category
    message_en: str
    message_nl: str
    inputs: dict[str, Any] = Field(default_factory=dict, description="The data the rule used.")
    sources: tuple[str, ...] = Field(default=(), description="Citation keys, e.g. ('S1',).")
    field: str | None = Field(default=None, description="Record field path (data quality).")

    def message(self, lang: Lang = "en") -> str:
        """The message in English or Dutch."""
        return self.message_nl if lang == "nl" else self.message_en


class Assessment(BaseModel):
    """The answer to "how are this child's bones, why, and what now?"."""

    model_config = ConfigDict(frozen=True)

    patient_id: str | None
    fictional: bool
    as_of: dt.date
    sex: Literal["M", "F"]
    age_years: float
    classification: Literal["osteoporosis", "low_bone_density", "not_low", "insufficient_data"] = (
        Field(description="ISCD paediatric classification [S1][S3].")
    )
    z_score_used: dict[str, Any] | None = Field(
        default=None, description="Which Z-score the classification used, and why."
    )
    vertebral_fracture_count: int | None = None
    risk_groups: dict[str, list[str]] = Field(
        default_factory=dict, description="Risk group → codes of the findings that triggered it."
    )
    dxa_indicated_now: bool | None = None
    next_dxa_due: dt.date | None = None
    findings: tuple[Finding, ...] = ()

    def by_code(self, code: str) -> list[Finding]:
        """All findings whose code equals ``code`` or starts with ``code + '.'``."""
        return [f for f in self.findings if f.code == code or f.code.startswith(code + ".")]

    def codes(self) -> list[str]:
        """The codes of all findings, in order."""
        return [f.code for f in self.findings]

    # ---- rendering -------------------------------------------------------------------------

    def to_json(self, *, lang: Lang | None = None, indent: int = 2) -> str:
        """JSON with both languages (or only ``lang``'s message as 'message')."""
        data = self.model_dump(mode="json")
        if lang is not None:
            for f in data["findings"]:
                f["message"] = f["message_nl"] if lang == "nl" else f["message_en"]
        return json.dumps(data, ensure_ascii=False, indent=indent)

    def _headline(self, lang: Lang) -> str:
        words: dict[str, dict[Lang, str]] = {
            "osteoporosis": {"en": "osteoporosis (ISCD)", "nl": "osteoporose (ISCD)"},
            "low_bone_density": {
                "en": "low bone mass/density for chronological age",
                "nl": "lage botmassa/botdensiteit voor de chronologische leeftijd",
            },
            "not_low": {
                "en": "no osteoporosis; bone density not low for age",
                "nl": "geen osteoporose; botdensiteit niet laag voor de leeftijd",
            },
            "insufficient_data": {
                "en": "cannot be classified (no usable Z-score and no vertebral fracture)",
                "nl": "niet te classificeren (geen bruikbare Z-score en geen wervelfractuur)",
            },
        }
        return words[self.classification][lang]

    def _header_lines(self, lang: Lang) -> list[str]:
        sex = {"M": {"en": "male", "nl": "jongen"}, "F": {"en": "female", "nl": "meisje"}}[self.sex]
        if lang == "nl":
            lines = [
                f"Patiënt: {self.patient_id or '—'} ({sex['nl']}, "
                f"{f'{self.age_years:.1f}'.replace('.', ',')} jaar)",
                f"Beoordeling op: {self.as_of.isoformat()}",
                f"Besluit: {self._headline('nl')}",
            ]
            if self.fictional:
                lines.insert(0, "FICTIEVE PATIËNT (voorbeeld)")
            lines += self._why_now("nl")
        else:
            lines = [
                f"Patient: {self.patient_id or '—'} ({sex['en']}, {self.age_years:.1f} years)",
                f"Assessed as of: {self.as_of.isoformat()}",
                f"Conclusion: {self._headline('en')}",
            ]
            if self.fictional:
                lines.insert(0, "FICTIONAL PATIENT (example)")
            lines += self._why_now("en")
        return lines

    def _why_now(self, lang: Lang) -> list[str]:
        names = {
            "nutritional": ("nutritional", "nutritioneel"),
            "lifestyle": ("lifestyle", "levensstijl"),
            "hormonal": ("hormonal", "hormonaal"),
            "iatrogenic": ("iatrogenic", "iatrogeen"),
            "disease_specific": ("disease-specific", "ziektespecifiek"),
        }
        k = 0 if lang == "en" else 1
        groups = ", ".join(names[g][k] for g in names if g in self.risk_groups)
        out = [
            (f"Why: risk factors {groups}" if lang == "en" else f"Waarom: risicofactoren {groups}")
            if groups
            else ("Why: no risk factor recorded" if lang == "en" else "Waarom: geen risicofactor")
        ]
        now: list[str] = []
        if self.dxa_indicated_now is True:
            now.append("DXA indicated now" if lang == "en" else "DXA nu aangewezen")
        elif self.dxa_indicated_now is False and self.next_dxa_due is None:
            now.append("no DXA indicated now" if lang == "en" else "nu geen DXA aangewezen")
        if self.next_dxa_due is not None:
            d = self.next_dxa_due.isoformat()
            now.append(f"next DXA due {d}" if lang == "en" else f"volgende DXA op {d}")
        urgent = sum(
            1
            for f in self.findings
            if f.severity in (Severity.WARNING, Severity.ALERT)
            and f.category != Category.CLASSIFICATION
        )
        if urgent:
            now.append(
                f"{urgent} warning(s) below"
                if lang == "en"
                else f"{urgent} waarschuwing(en) hieronder"
            )
        if now:
            out.append(("What now: " if lang == "en" else "Wat nu: ") + "; ".join(now))
        return out

    def _grouped(self) -> list[tuple[Category, list[Finding]]]:
        out: list[tuple[Category, list[Finding]]] = []
        for cat in Category:
            items = [f for f in self.findings if f.category == cat]
            if items:
                out.append((cat, items))
        return out

    def to_text(self, lang: Lang = "en") -> str:
        """Plain text report."""
        lines = self._header_lines(lang)
        for cat, items in self._grouped():
            lines.append("")
            lines.append(_CATEGORY_TITLES[cat][lang].upper())
            for f in items:
                src = f" [{', '.join(f.sources)}]" if f.sources else ""
                lines.append(f"- ({_SEVERITY_LABELS[f.severity][lang]}) {f.message(lang)}{src}")
        lines.append("")
        lines.append(
            "pedbone ondersteunt, maar vervangt niet, het klinisch oordeel."
            if lang == "nl"
            else "pedbone supports, and does not replace, clinical judgement."
        )
        return "\n".join(lines) + "\n"

    def to_markdown(self, lang: Lang = "en") -> str:
        """Markdown report."""
        title = "Beoordeling botgezondheid" if lang == "nl" else "Bone health assessment"
        lines = [f"# {title}", ""]
        lines += [f"- {line}" for line in self._header_lines(lang)]
        for cat, items in self._grouped():
            lines += ["", f"## {_CATEGORY_TITLES[cat][lang]}", ""]
            for f in items:
                src = f" [{', '.join(f.sources)}]" if f.sources else ""
                sev = _SEVERITY_LABELS[f.severity][lang]
                lines.append(f"- **{sev}** {f.message(lang)}{src} `{f.code}`")
        lines += [
            "",
            "_pedbone ondersteunt, maar vervangt niet, het klinisch oordeel._"
            if lang == "nl"
            else "_pedbone supports, and does not replace, clinical judgement._",
        ]
        return "\n".join(lines) + "\n"

    def render(self, fmt: Literal["text", "md", "json"] = "text", lang: Lang = "en") -> str:
        """Render as 'text', 'md' or 'json'."""
        if fmt == "json":
            return self.to_json(lang=lang) + "\n"
        if fmt == "md":
            return self.to_markdown(lang)
        return self.to_text(lang)
