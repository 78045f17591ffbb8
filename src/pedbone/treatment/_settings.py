"""Clinic settings for treatment planning: operational choices, not clinical facts.

The values here are the clinic's to set (``clinic.yaml`` in the clinic protocol folder, or the
API). pedbone's defaults are marked as such in every plan so nobody mistakes them for sourced
clinical numbers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError

from pedbone.treatment._protocol import ProtocolError, _format_errors, user_protocols_dir

__all__ = ["DEFAULT_MAX_WEIGHT_AGE_DAYS", "ClinicSettings", "load_clinic_settings"]

#: pedbone's default for how old a weight may be on the day of a dose. An operational default
#: (no clinical source gives one): clinics set their own ``max_weight_age_days``.
DEFAULT_MAX_WEIGHT_AGE_DAYS = 30


class ClinicSettings(BaseModel):
    """Operational settings a clinic chooses (all optional; see ``docs/treatment.md``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Round every computed dose to a multiple of this many mg (what can be drawn up);
    #: ``None`` = no rounding. ``rounding_step_mg_by_drug`` overrides it per drug.
    rounding_step_mg: float | None = Field(default=None, gt=0)
    rounding_step_mg_by_drug: dict[str, PositiveFloat] = Field(default_factory=dict)
    #: A weight older than this (days before the dose date) blocks the plan.
    max_weight_age_days: int = Field(default=DEFAULT_MAX_WEIGHT_AGE_DAYS, gt=0)
    #: How far ahead to plan when the protocol gives no course length (months).
    planning_horizon_months: int = Field(default=12, gt=0)
    #: Where each value came from: "pedbone default" or the settings file.
    origin: str = "pedbone defaults"

    def rounding_step(self, drug: str, protocol_step: float | None = None) -> float | None:
        """The rounding step: the clinic's per-drug value, else the protocol's, else the
        clinic's general step (``None`` = no rounding)."""
        if drug in self.rounding_step_mg_by_drug:
            return self.rounding_step_mg_by_drug[drug]
        if protocol_step is not None:
            return protocol_step
        return self.rounding_step_mg

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return self.model_dump(mode="json")


def load_clinic_settings(path: str | os.PathLike[str] | None = None) -> ClinicSettings:
    """Read ``clinic.yaml`` (default: in the clinic protocol folder); absent file = defaults."""
    p = Path(path) if path is not None else user_protocols_dir() / "clinic.yaml"
    if not p.is_file():
        if path is not None:
            raise ProtocolError(f"{p}: clinic settings file not found")
        return ClinicSettings()
    text = p.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ProtocolError(f"{p}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ProtocolError(f"{p}: clinic settings must be a YAML mapping")
    raw.setdefault("origin", str(p))
    try:
        return ClinicSettings.model_validate(raw)
    except ValidationError as exc:
        raise ProtocolError(
            _format_errors(str(p), exc, root).replace("invalid protocol", "invalid settings")
        ) from None
