"""Dutch and English: complete catalogue, locale-aware numbers and dates, per-user choice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir

from pedbone.web._i18n import (
    format_date,
    format_month,
    format_number,
    parse_number,
    translations,
)

from .conftest import sign_in

SRC = Path(__file__).resolve().parents[2] / "src" / "pedbone"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def _msgids() -> set[str]:
    ids: set[str] = set()
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n,jinja2.ext.do"}}
    for folder in (SRC / "web", SRC / "report"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            folder, method_map, options, keywords=KEYWORDS
        ):
            ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def test_every_message_has_a_dutch_translation() -> None:
    ids = _msgids()
    assert len(ids) > 300  # the templates really are marked for translation
    nl = translations("nl")
    untranslated = sorted(m for m in ids if nl.gettext(m) == m and m not in _SAME_IN_DUTCH)
    assert untranslated == []


# Words spelled the same in both languages (checked by hand).
_SAME_IN_DUTCH = {
    "anorexia nervosa", "calcium", "magnesium", "creatinine", "demo", "info", "ok", "DXA",
    "aBMD", "BMC", "Z (scanner)", "Menarche", "Status", "Start", "Stop", "Test", "Interval",
    "Trauma", "line %(line)s: %(reason)s", "Scan", "Export",
}  # fmt: skip


def test_the_catalogue_has_no_stale_entries() -> None:
    from babel.messages.pofile import read_po

    po = SRC / "web" / "locale" / "nl" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh)
    in_po = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}
    assert in_po - _msgids() == set()


def test_numbers_use_the_decimal_comma_in_dutch() -> None:
    assert format_number(0.734, "nl", 3) == "0,734"
    assert format_number(0.734, "en", 3) == "0.734"
    assert format_number(-1.25, "nl", 1) == "-1,2"  # round half to even, as Babel does
    assert format_number(None, "nl") == "–"
    assert format_number(float("nan"), "en") == "–"


def test_dates_in_dutch_and_english() -> None:
    day = dt.date(2026, 3, 5)
    assert format_date(day, "nl") == "5/03/2026"
    assert format_date(day, "en") == "05/03/2026"
    assert format_month(day, "nl") == "mrt 2026"
    assert format_month(day, "en") == "Mar 2026"


@pytest.mark.parametrize(
    ("text", "value"), [("0,734", 0.734), ("0.734", 0.734), (" 12 ", 12.0), ("-2,5", -2.5)]
)
def test_numbers_typed_either_way_are_read(text: str, value: float) -> None:
    assert parse_number(text, "nl") == value


@pytest.mark.parametrize("text", ["", "1,234.5", "abc", "nan", "inf"])
def test_bad_numbers_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"empty|not a|could not convert"):
        parse_number(text, "en")


def test_the_language_choice_is_kept_per_user(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    page = client.post("/language", data={"language": "nl", "csrf_token": token}).text
    assert "Patiënten" in page
    assert "Afmelden" in page
    # a new session of the same user (another browser) opens in Dutch
    sign_in(client, user_ids["doc"])
    assert "Nieuwe patiënt" in client.get("/patients").text
    # another user still has English
    sign_in(client, user_ids["admin"])
    assert "New patient" in client.get("/patients").text


def test_unknown_language_is_ignored(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    page = client.post("/language", data={"language": "xx", "csrf_token": token}).text
    assert "New patient" in page


def test_language_chosen_on_the_login_page_is_kept(client: Any) -> None:
    from .conftest import PASSWORD, csrf_of

    token = csrf_of(client.get("/login").text)
    page = client.post("/language", data={"language": "nl", "csrf_token": token, "next": "/login"})
    assert "Aanmelden" in page.text
    token = csrf_of(page.text)
    r = client.post("/login", data={"username": "doc", "password": PASSWORD, "csrf_token": token})
    assert "Patiënten" in r.text
