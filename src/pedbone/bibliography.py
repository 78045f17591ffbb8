"""The project's bibliography: every citation key used in code or data resolves here.

Clinical-rule keys (``S1``, ``S2``, ...) come from the domain digest
(``clinical_sources.yaml``); reference-data and methods keys (``CDC2000``, ``METAFOR``, ...)
from ``methods_sources.yaml``. Both ship as package data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import yaml

__all__ = ["Source", "cite", "sources"]

Kind = Literal["clinical", "methods"]
_FILES: dict[Kind, str] = {
    "clinical": "clinical_sources.yaml",
    "methods": "methods_sources.yaml",
}


@dataclass(frozen=True, slots=True)
class Source:
    """One bibliography entry."""

    key: str
    text: str
    kind: Kind


@cache
def sources() -> dict[str, Source]:
    """All entries by key, clinical first, in file order."""
    out: dict[str, Source] = {}
    pkg = resources.files("pedbone") / "data" / "bibliography"
    for kind, name in _FILES.items():
        raw = yaml.safe_load((pkg / name).read_text(encoding="utf-8")) or {}
        for key, entry in raw.items():
            if key in out:
                raise ValueError(f"duplicate bibliography key {key!r} in {name}")
            out[str(key)] = Source(key=str(key), text=str(entry["text"]), kind=kind)
    return out


def cite(key: str) -> Source:
    """Resolve a citation key; an unknown key is a programming error and raises KeyError."""
    try:
        return sources()[key]
    except KeyError:
        raise KeyError(f"unknown citation key {key!r}; add it to the bibliography first") from None
