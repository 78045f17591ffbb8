"""Two reviewers screen blind in a real browser (keyboard shortcuts), conflict, the arbiter
settles it; the PRISMA page follows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD
from .test_browser import CHROMIUM, browser, server  # noqa: F401  (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian chromium"),
]

SLUG = "bisphosphonates-secondary-op"
RIS = (
    b"TY  - JOUR\nTI  - Pamidronate for children on glucocorticoids <b>bold?</b>\nAU  - Acott PD\n"
    b"PY  - 2005\nAB  - Children on long-term glucocorticoids received pamidronate.\nER  - \n"
    b"TY  - JOUR\nTI  - Alendronate in postmenopausal women\nAU  - Other A\nPY  - 2001\nER  - \n"
)


@pytest.fixture
def review_team(db: Any) -> None:
    from pedbone.review import protocol_template
    from pedbone.store import create_user, review

    with db.unit_of_work() as s:
        for name in ("reviewer1", "reviewer2", "arbiter"):
            create_user(s, name, PASSWORD, "reviewer", full_name=name.title())
        r = review.create_review(s, protocol_template())
        review.import_search(
            s, r, RIS, source="MEDLINE", searched_on=dt.date(2026, 11, 30), filename="x.ris"
        )


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{base}/reviews")


def _logout(page: Any) -> None:
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login")


def test_two_reviewers_conflict_and_the_arbiter_resolves(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    review_team: None,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)

    # reviewer 1: keyboard only — "i" on the first record, "e" on the second
    _login(page, server, "reviewer1")
    expect(page.locator("nav.mainnav")).not_to_contain_text("Patients")
    page.goto(f"{server}/reviews/{SLUG}/screen/title_abstract")
    expect(page.locator("#record-title")).to_contain_text("<b>bold?</b>")  # shown as text
    expect(page.locator("#record-title mark.inc").first).to_have_text("Pamidronate")
    expect(page.locator("#progress")).to_contain_text("0 of 2 decided by you")
    page.screenshot(path=str(tmp_path / "screen.png"))
    page.keyboard.press("i")
    expect(page.locator("#progress")).to_contain_text("1 of 2 decided by you")
    expect(page.locator("#record-title")).to_contain_text("postmenopausal")
    page.keyboard.press("e")
    expect(page.locator("#empty")).to_contain_text("Nothing left to screen")
    # undo the last vote, then vote again (filter by decision)
    page.goto(f"{server}/reviews/{SLUG}/screen/title_abstract?filter=exclude")
    page.keyboard.press("u")
    expect(page.locator("#progress")).to_contain_text("1 of 2 decided by you")
    page.keyboard.press("e")
    _logout(page)

    # reviewer 2 sees neither of reviewer 1's votes, and disagrees on the first record
    _login(page, server, "reviewer2")
    page.goto(f"{server}/reviews/{SLUG}/screen/title_abstract")
    expect(page.locator("#decide")).not_to_contain_text("reviewer1")
    page.keyboard.press("e")
    page.keyboard.press("e")
    page.goto(f"{server}/reviews/{SLUG}/screen/title_abstract?filter=all")
    expect(page.locator("#all-votes")).to_contain_text("reviewer1: include")
    expect(page.locator("#all-votes")).to_contain_text("reviewer2: exclude")
    _logout(page)

    # the arbiter settles the conflict with a reason
    _login(page, server, "arbiter")
    page.goto(f"{server}/reviews/{SLUG}/conflicts")
    conflict = page.locator("article.conflict")
    expect(conflict).to_have_count(1)
    conflict.locator("input[name=why]").fill("abstract: children on long-term glucocorticoids")
    conflict.locator("button[value=include]").click()
    expect(page.locator("#no-conflicts")).to_be_visible()
    expect(page.locator("#resolved")).to_contain_text("arbiter: abstract: children on long-term")
    page.goto(f"{server}/reviews/{SLUG}/prisma")
    expect(page.locator("#counts")).to_contain_text("records_excluded")
    expect(page.locator("#provisional")).to_contain_text("1 report(s) await full-text votes")
    assert page.locator("img.prisma").evaluate("i => i.naturalWidth") > 0
    missing = [u for u in missing if not u.endswith("/favicon.ico")]
    assert missing == []
    errors = [e for e in errors if "404" not in e or missing]  # the favicon's 404 only
    assert errors == []  # no CSP violation from inline script, no JS error
