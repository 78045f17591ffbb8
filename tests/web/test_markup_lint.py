"""Static guard: stored text can never be turned into markup by a template or by Python code.

Stored HTML ran in other users' browsers because a template wrapped data in gettext ``_()``
(Jinja's newstyle gettext marks its result safe and applies ``%``). The rules checked here, on
the parsed template syntax trees (not by regex) and on the Python AST:

- ``_()`` / ``gettext()`` take a string literal, or one of a short list of expressions that are
  msgids defined in code (form titles, field labels, ...); ``ngettext()`` takes literals.
  Messages that may echo input go through ``msg()``, and data labels through ``choice_label()``,
  ``diagnosis_label()``, ``label()`` or ``word()``, which never mark anything safe.
- no ``|safe``, no ``{% autoescape false %}``; ``|svg`` only on the server-built charts.
- in Python, ``Markup(...)`` is constructed only at the whitelisted places below, and ``_()``,
  ``N_()`` and ``gettext()`` are called with string literals only.
"""

from __future__ import annotations

import ast
from importlib import resources
from pathlib import Path

import pytest
from jinja2 import nodes

from pedbone.web._render import environment

SRC = Path(__file__).resolve().parents[2] / "src" / "pedbone"

#: (template, expression) pairs allowed as the argument of ``_()``: each is a msgid from code.
GETTEXT_EXPRESSIONS = {
    ("record_form.html", "spec.title"),  # FormSpec.title (pedbone.web._forms, N_-marked)
    ("record_form.html", "title"),  # FormSpec.sections: the Field.section titles
    ("patient.html", "spec.title"),
    ("records.html", "spec.title"),
    ("records.html", "f.label"),  # Field.label
    ("_macros.html", "f.label"),
    ("_macros.html", "f.unit"),  # Field.unit
    ("_macros.html", "f.hint"),  # Field.hint
    ("_macros.html", "label"),  # Field.choices labels
    ("treatment.html", "label"),  # BEDSIDE and PREGNANCY_TESTS labels (_views_treatment)
}
#: Filters that output markup, and the only expressions they may be applied to.
MARKUP_FILTERS = {"svg": {"ov.charts.bmd", "ov.charts.z", "ov.charts.growth"}}
#: Python places allowed to construct Markup: (file relative to src/pedbone, enclosing function).
MARKUP_CALLS = {
    ("web/_render.py", "environment"),  # the |svg filter: charts escape every label themselves
    # review screening: every piece of stored text escaped on its own, only <mark> tags added
    ("web/_views_review.py", "highlight"),
    # the review report's SVG figures: built by pedbone from escaped text, or by Matplotlib
    ("report/_review_report.py", "_svg"),
}


def _expr(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_expr(node.node)}.{node.attr}"
    if isinstance(node, nodes.Const):
        return repr(node.value)
    return f"<{type(node).__name__}>"


def _templates() -> list[tuple[str, str]]:
    out = []
    for package in ("pedbone.web", "pedbone.report"):
        root = resources.files(package) / "templates"
        for item in sorted(root.iterdir(), key=lambda p: p.name):
            if item.name.endswith((".html", ".xml", ".svg", ".txt", ".ics")):
                out.append((item.name, item.read_text(encoding="utf-8")))
    return out


def template_violations(name: str, source: str) -> list[str]:
    """Every markup-making construct in one template that the rules above do not allow."""
    tree = environment("en").parse(source)
    bad: list[str] = []
    for call in tree.find_all(nodes.Call):
        fn = _expr(call.node)
        if fn in ("_", "gettext"):
            arg = call.args[0] if call.args else None
            text = _expr(arg) if arg is not None else ""
            literal = isinstance(arg, nodes.Const) and isinstance(arg.value, str)
            if not literal and (name, text) not in GETTEXT_EXPRESSIONS:
                bad.append(f"{name}:{call.lineno}: {fn}({text})")
        elif fn == "ngettext" and not all(isinstance(a, nodes.Const) for a in call.args[:2]):
            bad.append(f"{name}:{call.lineno}: ngettext with a non-literal message")
    for flt in tree.find_all(nodes.Filter):
        if flt.name == "safe":
            bad.append(f"{name}:{flt.lineno}: |safe")
        elif flt.name in MARKUP_FILTERS and _expr(flt.node) not in MARKUP_FILTERS[flt.name]:
            bad.append(f"{name}:{flt.lineno}: |{flt.name} on {_expr(flt.node)}")
    for mod in tree.find_all(nodes.ScopedEvalContextModifier):
        bad.append(f"{name}:{mod.lineno}: autoescape modifier")
    return bad


@pytest.mark.parametrize(("name", "source"), _templates(), ids=lambda v: v[:40])
def test_templates_never_mark_data_safe(name: str, source: str) -> None:
    assert template_violations(name, source) == []


def test_the_template_check_catches_what_it_must() -> None:
    bad = template_violations(
        "x.html",
        '{{ _(e.text) }} {{ gettext(v) }} {{ ngettext(a, "b", 2) }} {{ x|safe }} '
        "{{ note|svg }} {% autoescape false %}{{ y }}{% endautoescape %}"
        '{{ _("literal") }} {{ msg(error) }} {{ choice_label("lab", "analyte", v) }}',
    )
    assert bad == [
        "x.html:1: _(e.text)",
        "x.html:1: gettext(v)",
        "x.html:1: ngettext with a non-literal message",
        "x.html:1: |safe",
        "x.html:1: |svg on note",
        "x.html:1: autoescape modifier",
    ]
    # the whitelist is per template: a field label is fine in the macros, not elsewhere
    assert template_violations("patients.html", "{{ _(f.label) }}") == [
        "patients.html:1: _(f.label)"
    ]


class _PyCheck(ast.NodeVisitor):
    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.func: list[str] = []
        self.bad: list[str] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.func.append(node.name)
        self.generic_visit(node)
        self.func.pop()

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.func.append(node.name)
        self.generic_visit(node)
        self.func.pop()

    def visit_Call(self, node: ast.Call) -> None:
        fn = node.func
        name = (
            fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
        )
        outer = self.func[0] if self.func else ""
        if name == "Markup" and (self.rel, outer) not in MARKUP_CALLS:
            self.bad.append(f"{self.rel}:{node.lineno}: Markup(...) in {outer or 'module'}")
        if isinstance(fn, ast.Name) and fn.id in ("_", "N_", "gettext", "ngettext"):
            first = node.args[0] if node.args else None
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                self.bad.append(f"{self.rel}:{node.lineno}: {fn.id}() of a non-literal")
        self.generic_visit(node)


def python_violations(rel: str, source: str) -> list[str]:
    check = _PyCheck(rel)
    check.visit(ast.parse(source))
    return check.bad


def test_python_never_builds_markup_from_data() -> None:
    bad: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        bad += python_violations(rel, path.read_text(encoding="utf-8"))
    assert bad == []


def test_the_python_check_catches_what_it_must() -> None:
    source = (
        "from markupsafe import Markup\n"
        "def view(x):\n"
        "    a = Markup(x)\n"
        "    b = markupsafe.Markup('<b>')\n"
        "    c = _(x)\n"
        "    d = N_('fine')\n"
        "    e = Markup.escape(x)\n"
    )
    assert python_violations("web/_views_x.py", source) == [
        "web/_views_x.py:3: Markup(...) in view",
        "web/_views_x.py:4: Markup(...) in view",
        "web/_views_x.py:5: _() of a non-literal",
    ]
