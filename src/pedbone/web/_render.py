"""Jinja2 rendering: one environment per interface language, with locale-aware filters."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from pedbone._version import __version__
from pedbone.web._i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    N_,
    format_date,
    format_datetime,
    format_number,
    translations,
)

__all__ = ["environment", "render", "render_string"]


def _age_years(birth: dt.date | None, on: dt.date | None = None) -> float | None:
    if birth is None:
        return None
    on = on or dt.date.today()
    return (on - birth).days / 365.25


#: Words shown from data values (roles, finding severities): marked here for translation.
WORDS = {
    "admin": N_("admin"),
    "clinician": N_("clinician"),
    "researcher": N_("researcher"),
    "reviewer": N_("reviewer"),
    "info": N_("info"),
    "notice": N_("notice"),
    "warning": N_("warning"),
    "alert": N_("alert"),
}


def _choice_label(kind: str, field: str, value: object) -> str:
    """The (untranslated) label of a stored choice value, from the form definitions."""
    from pedbone.web._forms import FORMS

    spec = FORMS.get(kind)
    if spec is None or value is None:
        return "" if value is None else str(value)
    for f in spec.fields:
        if f.name == field:
            return dict(f.choices).get(str(value), str(value))
    return str(value)


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _age_label(ov: Any, day: dt.date, language: str) -> str:
    age = (day - ov.reference_birth).days / 365.25
    return f"{format_number(age, language, 2)} {translations(language).gettext('y')}"


def _when(ctx: Any, day: dt.date | None, language: str) -> str:
    """A date, or for researchers (pseudonymised overview) the age on that day."""
    ov = ctx.get("ov")
    if day is None:
        return "–"
    if ov is not None and getattr(ov, "pseudonymised", False):
        return _age_label(ov, day, language)
    return format_date(day, language)


def _scrub(ctx: Any, text: str, language: str) -> str:
    """For researchers, replace ISO dates inside texts (e.g. findings) by the age that day."""
    ov = ctx.get("ov")
    if ov is None or not getattr(ov, "pseudonymised", False):
        return text

    def age(match: re.Match[str]) -> str:
        try:
            day = dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return match[0]
        return _age_label(ov, day, language)

    return _ISO_DATE.sub(age, text)


def _diagnosis_labels() -> dict[str, str]:
    from pedbone.web._forms import DIAGNOSIS_LABELS

    return dict(DIAGNOSIS_LABELS)


def _cite(key: str) -> Any:
    from pedbone.bibliography import sources

    return sources().get(key)


@cache
def environment(language: str) -> Environment:
    """The template environment for ``language`` (templates of ``pedbone.web`` and report)."""
    from jinja2 import ChoiceLoader

    env = Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("pedbone.web", "templates"),
                PackageLoader("pedbone.report", "templates"),
            ]
        ),
        autoescape=select_autoescape(["html", "xml", "svg"]),
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["language"] = language
    env.globals["languages"] = LANGUAGE_NAMES
    env.globals["babel_locale"] = LANGUAGES.get(language, "en_GB")
    env.globals["version"] = __version__
    env.filters["num"] = lambda v, d=2: format_number(v, language, d)
    env.filters["date"] = lambda v: format_date(v, language)
    env.filters["datetime"] = lambda v: format_datetime(v, language)
    env.filters["age"] = lambda birth, on=None: format_number(_age_years(birth, on), language, 1)
    env.filters["signed"] = lambda v, d=1: (
        ("+" if v is not None and v > 0 else "") + format_number(v, language, d)
    )
    env.globals["cite"] = _cite
    env.globals["diagnosis_labels"] = _diagnosis_labels()
    env.globals["choice_label"] = _choice_label
    env.filters["when"] = pass_context(lambda ctx, day: _when(ctx, day, language))
    env.filters["scrub"] = pass_context(lambda ctx, text: _scrub(ctx, text, language))
    env.filters["svg"] = lambda s: Markup(s)  # charts are built server-side from numbers only
    return env


def render_string(template: str, language: str, **context: Any) -> str:
    """Render a template to text."""
    return environment(language).get_template(template).render(**context)


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render a page for the current request (user, language and CSRF token in context)."""
    from pedbone.web._security import csrf_token, request_language

    language = request_language(request)
    user = getattr(request.state, "user", None)
    html = render_string(
        template,
        language,
        request=request,
        user=user,
        csrf_token=csrf_token(request),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)
