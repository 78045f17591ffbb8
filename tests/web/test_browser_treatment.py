"""In a real headless Chromium (same launch setup as test_browser): plan a pamidronate course,
start it, record the first infusion as given and an acute-phase reaction, see the summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD
from .test_browser import CHROMIUM, browser, server  # noqa: F401  (the shared fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian chromium"),
]


@pytest.fixture
def patient(db: Any) -> int:
    """A patient weighing 35 kg a week ago."""
    from pedbone.store import Anthropometry, Patient

    with db.unit_of_work() as session:
        p = Patient(
            family_name="Jacobs", given_name="Noor", birth_date=dt.date(2016, 1, 1), sex="F"
        )
        p.anthropometry.append(
            Anthropometry(
                measured_on=dt.date.today() - dt.timedelta(days=7), weight_kg=35.0, height_cm=140.0
            )
        )
        session.add(p)
        session.flush()
        return int(p.id)


def test_plan_start_give_and_record_an_acute_phase_reaction(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    patient: int,
    tmp_path: Path,
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)
    page.goto(f"{server}/login")
    page.fill("#username", "doc")
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{server}/patients")

    # open the patient, then its treatment page
    page.click("a:has-text('Jacobs')")
    page.wait_for_url(f"{server}/patients/{patient}")
    page.click("a:has-text('Treatment: plan, infusions and harms')")
    page.wait_for_url(f"{server}/patients/{patient}/treatment")

    # plan a pamidronate course (Henderson 2002): 1 mg/kg × 35 kg = 35 mg, capped at 30 mg
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    page.select_option("#f-protocol", "pamidronate-henderson-2002")
    page.fill("#f-start", yesterday)
    page.click("button:has-text('Show the plan')")
    page.wait_for_selector("#planned-course")
    first = page.locator("#planned-course tr.dose").first.inner_text()
    assert "30.0 mg" in first
    assert "capped" in first
    assert "1 mg/kg × 35 kg = 35 mg" in first
    assert page.locator("#checklist #decision").inner_text() == "hold"  # no labs recorded

    # start the course despite HOLD, with the written reason: 15 planned infusions
    reason = "Bloods taken, results pending; team decision."
    page.fill("#f-override_reason", reason)
    page.click("#start-course")
    page.wait_for_url(f"{server}/patients/{patient}/treatment?started=1")
    assert page.locator("#courses tr[id^=infusion-]").count() == 15

    assert "Started despite HOLD" in page.locator("#courses").inner_text()

    # the first infusion given yesterday (the course start), the HOLD overridden in writing
    form = page.locator("form.given-form")
    form.locator("[name=given_on]").fill(yesterday)
    form.locator("[name=override_reason]").fill(reason)
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{server}/patients/{patient}/treatment?given=1")

    # an acute-phase reaction the day after (today): grade 2, probable
    harm = page.locator("#harm-form")
    harm.locator("[name=infusion_id]").select_option(index=1)
    harm.locator("[name=category]").select_option("acute_phase_reaction")
    harm.locator("[name=ctcae_grade]").select_option("2")
    harm.locator("[name=onset_days]").fill("1")
    harm.locator("[name=relatedness]").select_option("probable")
    harm.locator("button[type=submit]").click()
    page.wait_for_url(f"{server}/patients/{patient}/treatment?harm=1")

    summary = page.locator("#harm-summary").inner_text()
    assert "Doses given: 1" in summary
    assert "acute-phase reaction" in summary
    row = page.locator("#harm-summary tr.harm").first.inner_text()
    assert row.split("\t")[:3] == ["1", "acute-phase reaction", "2"]
    page.screenshot(path=str(tmp_path / "treatment.png"), full_page=True)

    # the clinic page: 1 of 1 first doses followed by an acute-phase reaction
    page.click("a:has-text('Harms in the clinic')")
    page.wait_for_url(f"{server}/harms")
    assert "1/1 = 100.0 %" in page.locator("#rate-acute_phase_reaction").inner_text()
