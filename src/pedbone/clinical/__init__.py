"""pedbone.clinical — assessment rules (under construction)."""

from __future__ import annotations

from typing import Any

__all__ = ["assess"]


def assess(patient: Any) -> Any:
    """Assess a patient record (placeholder until the engine lands)."""
    raise NotImplementedError
