"""Languages of the web application: gettext catalogues and locale-aware formatting.

The catalogues ship as ``.po`` files (package data, ``locale/<lang>/LC_MESSAGES/messages.po``)
and are compiled in memory on first use, so no generated ``.mo`` file is ever committed.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from functools import cache
from importlib import resources
from typing import Final

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import get_decimal_symbol as _babel_decimal_symbol
from babel.support import NullTranslations, Translations

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "format_date",
    "format_datetime",
    "format_month",
    "format_number",
    "parse_number",
    "translations",
]

#: Interface languages: code stored per user -> Babel locale used for numbers and dates.
LANGUAGES: Final[dict[str, str]] = {"en": "en_GB", "nl": "nl_BE"}
#: Names shown in the language switch, in their own language.
LANGUAGE_NAMES: Final[dict[str, str]] = {"en": "English", "nl": "Nederlands"}
DEFAULT_LANGUAGE: Final = "en"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    """Mark a message for translation where it is defined; it is translated when shown."""
    return message


def _lang(language: str) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


@cache
def translations(language: str) -> NullTranslations:
    """The gettext translations for an interface language (English is the source language)."""
    language = _lang(language)
    if language == "en":
        return NullTranslations()
    po = resources.files("pedbone.web") / "locale" / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=LANGUAGES[language])
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(fp=buf)


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(LANGUAGES[_lang(language)])


def format_number(value: float | int | None, language: str, decimals: int = 2) -> str:
    """A number with a fixed count of decimals in the user's locale (``0,734`` in Dutch).

    ``None`` and NaN render as an en dash so that a missing value is never shown as ``0``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return "–"
    text = f"{value:.{max(decimals, 0)}f}"
    if text.startswith("-") and not text.strip("-0."):
        text = text[1:]  # no "-0.0"
    return text.replace(".", _decimal_symbol(language))


@cache
def _decimal_symbol(language: str) -> str:
    """The locale's decimal separator (``,`` in Dutch). Numbers are shown without grouping,
    rounded by Python's correctly rounded float formatting."""
    return str(_babel_decimal_symbol(_locale(language)))


def parse_number(text: str, language: str) -> float:
    """Read a number typed by a user: accepts ``0,734`` and ``0.734`` in either language.

    Raises ValueError with a short reason on anything that is not one plain number.
    """
    from pedbone.store._consistency import parse_decimal

    raw = text.strip().replace("\u00a0", "").replace(" ", "")
    if not raw:
        raise ValueError("empty")
    return parse_decimal(raw)  # strict: "1_00" is not 100, "١٢" not 12, "inf" not a number


def format_date(value: dt.date | None, language: str) -> str:
    """A date in the locale's short form (``5/03/2026`` in Dutch, ``05/03/2026`` in English)."""
    if value is None:
        return "–"
    return _babel_format_date(value, format="short", locale=_locale(language))


def format_month(value: dt.date, language: str) -> str:
    """Month and year for chart axes (``mrt 2026`` in Dutch, ``Mar 2026`` in English)."""
    return _babel_format_date(value, format="MMM y", locale=_locale(language))


def format_datetime(value: dt.datetime | None, language: str) -> str:
    """A timestamp in the locale's short date and time."""
    if value is None:
        return "–"
    return _babel_format_datetime(value, format="short", locale=_locale(language))
