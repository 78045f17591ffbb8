"""A scanner export imported in a real headless Chromium: the clinic's Latin-1 / semicolon /
decimal-comma file with its mapping file, previewed, committed, and the Z-scores recomputed by
pedbone from the raw values (not the scanner's) on the patient's page."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pedbone

from .conftest import PASSWORD, SECRET

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
F = Path(__file__).parents[1] / "io" / "fixtures" / "dxa"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian chromium"),
]


@pytest.fixture
def server(db: Any) -> Iterator[str]:
    import uvicorn

    from pedbone.web import WebSettings, create_app

    app = create_app(WebSettings(secret_key=SECRET), database=db)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def test_scanner_export_is_imported_and_z_scores_recomputed(
    server: str, db: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    from pedbone.store import Patient

    born, scanned = dt.date(2012, 5, 2), dt.date(2025, 3, 15)
    with db.unit_of_work() as session:
        session.add(
            Patient(
                family_name="Synthetic", given_name="Zoe", birth_date=born, sex="F", mrn="0012345"
            )
        )
    age = (scanned - born).days / 365.25
    pack = pedbone.reference("schafmeyer2022")
    expected = {
        bmd: float(
            pack.evaluate("leg_abmd", sex=["F"], age_years=[age], value=[bmd], group="white").z[0]
        )
        for bmd in (0.690, 0.701)
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        page.goto(f"{server}/login")
        page.fill("#username", "doc")
        page.fill("#password", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{server}/patients")

        page.goto(f"{server}/import/dxa")
        page.set_input_files("#file", str(F / "synthetic_clinic_export_cp1252.csv"))
        page.select_option("#layout", "mapping")
        page.click("summary")
        page.set_input_files("#mapping", str(F / "synthetic_clinic_mapping.yaml"))
        page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)
        page.click("button:has-text('Check the file')")
        page.wait_for_selector("#preview")
        assert "1 row is ready to import." in page.content()
        assert "Synthetic, Zoe" in page.locator("#preview").inner_text()
        page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)
        page.click("button:has-text('Import 1 scan')")
        page.wait_for_load_state()
        assert "1 scan was imported." in page.content()

        with db.session() as session:
            pid = session.query(Patient).filter_by(mrn="0012345").one().id
        page.goto(f"{server}/patients/{pid}")
        table = page.locator("table.dxa").inner_text()
        page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
        browser.close()
    assert "0.690 g/cm²" in table
    assert "0.701 g/cm²" in table
    assert table.count("schafmeyer2022 (white)") >= 2  # both legs, recomputed by pedbone
    from pedbone.web._i18n import format_number

    rows = [line for line in table.splitlines() if "lower limb" in line and "aBMD" in line]
    assert len(rows) == 2
    for bmd, z in expected.items():
        row = next(r for r in rows if f"{bmd:.3f} g/cm²" in r)
        assert ("+" if z > 0 else "") + format_number(z, "en", 1) in row
    assert "-2.4" in table.replace("−", "-")  # the scanner's spine Z, informational only
