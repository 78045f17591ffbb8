"""End to end in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

The app runs under uvicorn in a background thread on a free loopback port.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD, SECRET

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian chromium"),
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils"),
]


@pytest.fixture
def server(db: Any) -> Iterator[str]:
    import uvicorn

    from pedbone.web import WebSettings, create_app

    app = create_app(WebSettings(secret_key=SECRET), database=db)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_clinic_workflow_in_a_real_browser(server: str, browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)

    # refused without logging in: sent to the login page
    page.goto(f"{server}/patients")
    assert "/login" in page.url
    assert page.locator("h1").inner_text() == "Log in"

    # log in
    page.fill("#username", "doc")
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{server}/patients")
    assert "0 patients" in page.content()

    # create a patient
    page.click("text=New patient")
    page.fill("#f-family_name", "Wouters")
    page.fill("#f-given_name", "Emma")
    page.fill("#f-birth_date", "2011-06-15")
    page.select_option("#f-sex", "F")
    page.select_option("#f-diagnosis", "phenylketonuria")
    page.fill("#f-mrn", "W-1001")
    page.click("button:has-text('Save')")
    page.wait_for_url(f"{server}/patients/*")
    assert "Wouters, Emma" in page.locator("h1").inner_text()
    overview = page.url

    # anthropometry
    page.click("a:has-text('Height and weight')")
    page.fill("#f-measured_on", "2025-03-01")
    page.fill("#f-height_cm", "148,2")
    page.fill("#f-weight_kg", "39.5")
    page.click("button:has-text('Save')")
    page.wait_for_url(f"{overview}?saved=anthropometry")

    # a DXA scan: a typo first, corrected after the message next to the field
    page.click("nav a:has-text('DXA scan')")
    page.fill("#f-scanned_on", "2025-03-05")
    page.select_option("#f-manufacturer", "Hologic")
    page.fill("#f-spine_abmd", "0,61x")
    page.click("button:has-text('Save')")
    assert page.locator("#e-spine_abmd").inner_text() == "Not a number."
    page.fill("#f-spine_abmd", "0,612")
    page.fill("#f-spine_vendor_z", "-2.4")
    page.fill("#f-leg_abmd", "0.690")
    page.select_option("#f-reference_group", "white")
    page.click("button:has-text('Save')")
    page.wait_for_url(f"{overview}?saved=dxa")

    # Z-scores, classification and charts
    table = page.locator("table.dxa").inner_text()
    assert "0.612 g/cm²" in table
    assert "schafmeyer2022 (white)" in table
    assert "Low bone mass or bone density for chronological age" in page.content()
    assert page.locator("#chart-bmd svg circle").count() >= 1
    assert page.locator("#chart-z svg circle").count() >= 2  # leg Z and height Z
    assert page.locator("#chart-growth svg polyline").count() >= 7  # centiles
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

    # switch to Dutch
    page.click("button:has-text('Nederlands')")
    page.wait_for_load_state()
    assert "Laatste beoordeling" in page.content()
    assert "0,612 g/cm²" in page.locator("table.dxa").inner_text()
    assert "5/03/2025" in page.locator("table.dxa").inner_text()

    # download the PDF report and read it
    with page.expect_download() as info:
        page.click("button:has-text('PDF-verslag')")
    pdf = tmp_path / "report.pdf"
    info.value.save_as(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = " ".join(text.split())
    assert "Verslag botgezondheid" in flat
    assert "Wouters, Emma" in flat
    assert "0,612 g/cm²" in flat
    assert "Lage botmassa of botdensiteit voor de chronologische leeftijd" in flat
    assert "Beoogd gebruik" in flat

    # delete the height measurement: HTMX asks for confirmation first
    page.goto(f"{overview}/records")
    dialogs: list[str] = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.click("#records-anthropometry button:has-text('Verwijderen')")
    assert dialogs == ["Dit gegeven verwijderen? Dit kan niet ongedaan gemaakt worden."]
    assert page.locator("#records-anthropometry").count() == 1  # cancelled: still there
    page.once("dialog", lambda d: d.accept())
    page.click("#records-anthropometry button:has-text('Verwijderen')")
    expect(page.locator("p.alert.ok")).to_have_text("Verwijderd.")
    assert page.locator("#records-anthropometry").count() == 0

    # log out: pages are refused again
    page.click("button:has-text('Afmelden')")
    page.wait_for_url(f"{server}/login")
    page.goto(overview)
    assert "/login" in page.url


def test_htmx_search_updates_the_list_in_place(server: str, browser: Any, db: Any) -> None:
    from playwright.sync_api import expect

    from pedbone.store import Patient

    with db.unit_of_work() as session:
        for family in ("Claes", "Dubois", "Goossens"):
            session.add(Patient(family_name=family, given_name="X", birth_date=_d(), sex="M"))
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{server}/login")
    page.fill("#username", "doc")
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{server}/patients")
    assert page.evaluate("typeof htmx") == "object"  # the vendored HTMX loaded
    page.fill("#q", "dub")
    expect(page.locator("#results")).not_to_contain_text("Claes")
    results = page.locator("#results").inner_text()
    assert "Dubois" in results
    assert "Goossens" not in results
    assert "q=dub" in page.url  # hx-push-url keeps the search bookmarkable


def _d() -> Any:
    import datetime as dt

    return dt.date(2014, 1, 1)
