"""pedbone.references — LMS maths, reference packs, growth and DXA Z-scores (under construction)."""

from __future__ import annotations

from typing import Any

__all__ = ["reference"]


def reference(pack_id: str) -> Any:
    """Load a reference pack by id (placeholder until the engine lands)."""
    raise NotImplementedError(pack_id)
