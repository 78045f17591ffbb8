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


# --- Allowed arrows between packages -------------------------------------------------------------
#
# Each package may import only the packages listed for it (and itself). The bottom modules
# (bibliography, units, plausibility, _version) are pure and may be imported by anyone. Read the
# table as the picture in docs/architecture.md.

BOTTOM = {"bibliography", "units", "plausibility", "_version", "__init__"}
ALLOWED: dict[str, set[str]] = {
    "bibliography": set(),
    "units": set(),
    "plausibility": set(),
    "_version": set(),
    "references": set(),
    "clinical": {"references"},
    "treatment": {"references", "clinical"},
    "evidence": set(),
    "review": {"evidence"},
    "store": {"references", "clinical", "treatment", "evidence", "review"},
    "io": {"references", "clinical", "treatment", "evidence", "review", "store"},
    "report": {"references", "clinical", "treatment", "evidence", "review", "store", "io"},
    "web": {"references", "clinical", "treatment", "evidence", "review", "store", "io", "report"},
    "cli": {
        *("references", "clinical", "treatment", "evidence", "review"),
        *("store", "io", "report", "web"),
    },
    "__init__": {"references", "clinical"},
}

#: Arrows against the table that exist today. This list may only shrink: remove an entry when
#: the code no longer needs it (the test below fails until you do).
KNOWN_WRONG_ARROWS: set[tuple[str, str]] = {
    ("report", "web"),  # report/_pdf.py renders the overview through web._overview/_render
}

#: Private modules imported across packages today (importer module, imported private module).
#: May only shrink: make the name public in the package's __init__ and import that instead.
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str]] = {
    ("pedbone.cli._review", "pedbone.io._atomic"),
    ("pedbone.cli._review", "pedbone.store._review_demo"),
    ("pedbone.cli._store", "pedbone.store._backup"),
    ("pedbone.cli._store", "pedbone.store._demo"),
    ("pedbone.cli._web", "pedbone.web._i18n"),
    ("pedbone.cli._web", "pedbone.web._security"),
    ("pedbone.cli._zscore", "pedbone.references._batch"),
    ("pedbone.io._zscore_file", "pedbone.references._batch"),
    ("pedbone.report._pdf", "pedbone.web._overview"),
    ("pedbone.report._pdf", "pedbone.web._render"),
    ("pedbone.web._data", "pedbone.store._models"),
    ("pedbone.web._i18n", "pedbone.store._consistency"),
    ("pedbone.web._import", "pedbone.io._dxa_import"),
    ("pedbone.web._import", "pedbone.store._consistency"),
    ("pedbone.web._import", "pedbone.store._limits"),
    ("pedbone.web._views_review", "pedbone.store._review_models"),
}


#: Module import cycles when the gate was introduced (imports deferred into functions included),
#: including modules written at the same time. May only
#: shrink.
KNOWN_CYCLES: set[tuple[str, ...]] = {
    (
        "pedbone.evidence._confint",
        "pedbone.evidence._fitstats",
        "pedbone.evidence._predict",
        "pedbone.evidence._print",
        "pedbone.evidence._profile",
        "pedbone.evidence._results",
    ),
    ("pedbone.evidence._influence", "pedbone.evidence._plot_infl"),
    ("pedbone.evidence._mh", "pedbone.evidence._mh_rates"),
    ("pedbone.store._audit", "pedbone.store._engine"),
    ("pedbone.store._models", "pedbone.store._review_models"),
    (
        "pedbone.web._data",
        "pedbone.web._render",
        "pedbone.web._security",
        "pedbone.web._views_review",
    ),
    ("pedbone.web._import", "pedbone.web._import_scanner"),
}


def _package_of(path: Path) -> str:
    parts = path.relative_to(PKG).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(PKG).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["pedbone", *parts])


def _all_imports(path: Path) -> set[str]:
    """Every absolute pedbone module imported anywhere in the file (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return {n for n in out if n.split(".")[0] == "pedbone"}


def _sources() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "migrations" not in p.parts)


def test_packages_import_only_along_the_allowed_arrows() -> None:
    found: set[tuple[str, str]] = set()
    for path in _sources():
        src = _package_of(path)
        for name in _all_imports(path):
            parts = name.split(".")
            dst = parts[1] if len(parts) > 1 else "__init__"
            if dst == src or dst in BOTTOM:
                continue
            assert src in ALLOWED, f"package {src!r} is not in the ALLOWED table"
            if dst not in ALLOWED[src]:
                found.add((src, dst))
    assert found - KNOWN_WRONG_ARROWS == set(), "new imports against the allowed arrows"
    assert KNOWN_WRONG_ARROWS - found == set(), "an arrow was fixed: remove it from the list"


def test_no_private_module_imported_across_packages() -> None:
    found: set[tuple[str, str]] = set()
    for path in _sources():
        src = _package_of(path)
        for name in _all_imports(path):
            parts = name.split(".")
            if len(parts) < 3 or parts[1] == src:
                continue
            if any(p.startswith("_") for p in parts[2:]):
                found.add((_module_of(path), ".".join(parts[:3])))
    assert found - KNOWN_PRIVATE_IMPORTS == set(), "import the package's public name instead"
    assert KNOWN_PRIVATE_IMPORTS - found == set(), "fixed: remove it from KNOWN_PRIVATE_IMPORTS"


def _module_graph() -> dict[str, set[str]]:
    """Edges between modules, from imports anywhere in a module: an import deferred into a
    function to dodge a cycle is still a cycle of responsibilities."""
    modules = {_module_of(p): p for p in _sources()}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join([*base, node.module] if node.module else base)
                else:
                    module = node.module or ""
                targets = [module] + [f"{module}.{a.name}" for a in node.names]
            for t in targets:
                if t in modules and t != mod:
                    graph[mod].add(t)
    return graph


def _cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: set[frozenset[str]] = set()
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.add(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_between_modules() -> None:
    # A package's __init__ importing its own submodules, which import each other through the
    # package, is the usual re-export shape and not a cycle we care about: drop __init__ edges.
    graph = {m: {t for t in ts if not _is_package_init(t)} for m, ts in _module_graph().items()}
    cycles = {tuple(sorted(c)) for c in _cycles(graph)}
    assert cycles - KNOWN_CYCLES == set(), "a new import cycle"
    assert KNOWN_CYCLES - cycles == set(), "a cycle was broken: remove it from KNOWN_CYCLES"


def _is_package_init(module: str) -> bool:
    return (PKG.joinpath(*module.split(".")[1:]) / "__init__.py").exists()


# --- Complexity and function length gates ---------------------------------------------------------

#: Files allowed to keep functions above ruff's C901 limit (pyproject per-file-ignores), as they
#: stood when the gate was introduced (including modules written at the same time). Only shrinks.
C901_EXEMPT = {
    "src/pedbone/cli/_meta.py",
    "src/pedbone/cli/_treatment.py",
    "src/pedbone/clinical/_engine.py",
    "src/pedbone/clinical/_rules.py",
    "src/pedbone/evidence/_escalc.py",
    "src/pedbone/evidence/_fit.py",
    "src/pedbone/evidence/_forest.py",
    "src/pedbone/evidence/_glmm.py",
    "src/pedbone/evidence/_heterogeneity.py",
    "src/pedbone/evidence/_rma_mv.py",
    "src/pedbone/evidence/_vcalc.py",
    "src/pedbone/io/_dxa_files.py",
    "src/pedbone/references/_batch.py",
    "src/pedbone/references/_build.py",
    "src/pedbone/references/_fit.py",
    "src/pedbone/references/_pack.py",
    "src/pedbone/report/charts.py",
    "src/pedbone/review/_dedupe.py",
    "src/pedbone/treatment/_checklist.py",
    "src/pedbone/treatment/_plan.py",
    "src/pedbone/treatment/_protocol.py",
    "src/pedbone/web/_forms.py",
    "src/pedbone/web/_import.py",
}

#: Longest function (lines, docstring included) allowed in the rule packages.
MAX_FUNCTION_LINES = 80
#: Files in clinical/ and treatment/ that still hold longer functions. Only shrinks.
LENGTH_EXEMPT = {
    "src/pedbone/clinical/_engine.py",
    "src/pedbone/clinical/_rules.py",
    "src/pedbone/clinical/nutrition.py",
    "src/pedbone/treatment/_checklist.py",
    "src/pedbone/treatment/_plan.py",
}


def test_complexity_exemptions_only_shrink() -> None:
    import tomllib

    root = PKG.parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    ignores = config["tool"]["ruff"]["lint"]["per-file-ignores"]
    exempt = {f for f, codes in ignores.items() if "C901" in codes}
    assert exempt <= C901_EXEMPT, f"new C901 exemptions: {sorted(exempt - C901_EXEMPT)}"
    assert config["tool"]["ruff"]["lint"]["mccabe"]["max-complexity"] <= 15
    gone = {f for f in C901_EXEMPT if not (root / f).exists() or f not in exempt}
    assert gone == set(), f"exemption no longer needed: remove {sorted(gone)} from C901_EXEMPT"


def test_rule_functions_are_short() -> None:
    root = PKG.parents[1]
    long: list[str] = []
    exempt_used: set[str] = set()
    for area in ("clinical", "treatment"):
        for path in sorted((PKG / area).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > MAX_FUNCTION_LINES:
                        if rel in LENGTH_EXEMPT:
                            exempt_used.add(rel)
                        else:
                            long.append(f"{rel}:{node.lineno} {node.name} ({length} lines)")
    assert long == [], "split these functions"
    assert exempt_used >= LENGTH_EXEMPT, (
        f"no long function left: remove {sorted(LENGTH_EXEMPT - exempt_used)} from LENGTH_EXEMPT"
    )
