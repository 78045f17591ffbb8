"""Architecture rules: dependencies flow from pure domain code to the edges, never back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "pedbone"
DOMAIN = ("references", "clinical", "treatment", "evidence", "review")
EDGES = ("io", "web", "report", "cli", "store")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("area", DOMAIN)
def test_domain_never_imports_the_edges(area: str) -> None:
    offenders = []
    for path in sorted((PKG / area).rglob("*.py")):
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "pedbone" and len(parts) > 1 and parts[1] in EDGES:
                offenders.append(f"{path.relative_to(PKG)} imports {name}")
    assert offenders == []


def test_every_package_is_typed() -> None:
    assert (PKG / "py.typed").exists()
