"""Treatment pages: plan (hand-checked doses and caps), checklist, iCalendar, start a course,
record a dose given and a harm, harm summary and the clinic harms page; roles and validation."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .conftest import new_patient, sign_in

HENDERSON = "pamidronate-henderson-2002"


def _patient_with_weight(client: Any, token: str, *, ohd: float | None = None) -> int:
    """A patient born 2016-01-01 weighing 35 kg a week ago (and a 25-OH-D result if given)."""
    pid = new_patient(client, token, birth_date="2016-01-01")
    week_ago = (dt.date.today() - dt.timedelta(days=7)).isoformat()
    r = client.post(
        f"/patients/{pid}/records/anthropometry",
        data={"measured_on": week_ago, "weight_kg": "35", "height_cm": "140", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    if ohd is not None:
        r = client.post(
            f"/patients/{pid}/records/lab",
            data={
                "sampled_on": week_ago,
                "analyte": "25ohd",
                "value": str(ohd),
                "unit": "nmol/L",
                "csrf_token": token,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    return pid


def _plan_url(pid: int, start: dt.date) -> str:
    return f"/patients/{pid}/treatment?protocol={HENDERSON}&start={start.isoformat()}"


def test_plan_shows_the_capped_dose_checklist_and_sources(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_weight(client, token, ohd=30)
    page = client.get(f"/patients/{pid}")
    assert f'href="/patients/{pid}/treatment"' in page.text  # the overview links to it
    r = client.get(_plan_url(pid, dt.date.today()))
    assert r.status_code == 200
    html = r.text
    # Henderson 2002: 1 mg/kg/day × 3 days, 15-30 mg per dose [S29][S24c]:
    # 1 mg/kg × 35 kg = 35 mg, above the 30 mg maximum -> 30 mg, capped, and the page says why
    assert "1 mg/kg × 35 kg = 35 mg" in html
    assert html.count("<strong>30.0 mg</strong>") == 15  # 5 cycles × 3 days in the course
    assert "capped" in html
    assert "above the protocol maximum of 30 mg per dose [S24c]" in html
    # cumulative: 15 doses × 30 mg = 450 mg
    assert 'id="cumulative">450.0 mg' in html
    assert "[S29][S24c]" in html or "S29" in html
    assert 'id="intended-use"' in html
    # the checklist holds: 25-OH-D 30 nmol/L is below the 50 nmol/L required [S54]
    assert re.search(r'id="decision">hold<', html)
    assert "below 50 nmol/L required before infusion" in html
    # every shipped protocol is offered with its sources
    assert "pamidronate-acott-2005" in html
    assert "[S31]" in html


def test_ics_download_parses(client: Any, user_ids: dict[str, int]) -> None:
    from icalendar import Calendar

    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_weight(client, token)
    start = dt.date.today()
    r = client.get(f"/patients/{pid}/treatment/course.ics?protocol={HENDERSON}&start={start}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    days = sorted(e.decoded("dtstart") for e in cal.walk("VEVENT") if "30 mg" in str(e["summary"]))
    assert days[:3] == [start, start + dt.timedelta(days=1), start + dt.timedelta(days=2)]
    # an unknown protocol gives no calendar
    bad = client.get(f"/patients/{pid}/treatment/course.ics?protocol=nope&start={start}")
    assert bad.status_code == 404


def test_unknown_protocol_and_missing_weight_are_explained(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    r = client.get(_plan_url(pid, dt.date.today()))
    assert r.status_code == 200
    assert 'id="plan-error"' in r.text  # no weight recorded: no plan, the reason shown
    assert 'id="planned-course"' not in r.text
    r = client.get(f"/patients/{pid}/treatment?protocol=nope")
    assert 'id="plan-error"' in r.text
    assert "nope" in r.text


#: This patient has no bloods recorded, so the checklist says HOLD [S54]: every start and
#: every dose needs the clinician's written reason.
REASON = "Bloods taken today, results pending; team decision."


def _start_course(client: Any, token: str, pid: int, start: dt.date) -> list[int]:
    r = client.post(
        f"/patients/{pid}/treatment/start",
        data={
            "protocol": HENDERSON,
            "start": start.isoformat(),
            "csrf_token": token,
            "override_reason": REASON,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    html = client.get(f"/patients/{pid}/treatment").text
    # one "record as given" form, for the next planned infusion; the rows list them all
    assert len(re.findall(r'treatment/infusions/\d+/given"', html)) == 1
    return [int(i) for i in re.findall(r'<tr id="infusion-(\d+)">', html)]


def test_start_course_record_dose_and_harm_end_to_end(
    client: Any, user_ids: dict[str, int], db: Any
) -> None:
    from pedbone.store import AdverseEvent, AuditEntry, Infusion, Treatment

    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_weight(client, token)
    start = dt.date.today() - dt.timedelta(days=2)
    planned = _start_course(client, token, pid, start)
    assert len(planned) == 15  # every dose of the course is planned
    again = client.post(
        f"/patients/{pid}/treatment/start",
        data={
            "protocol": HENDERSON,
            "start": start.isoformat(),
            "csrf_token": token,
            "override_reason": REASON,
        },
    )
    assert again.status_code == 409  # a double submit does not plan the course twice
    assert "already started" in again.text
    with db.session() as s:
        course = s.query(Treatment).one()
        assert (course.protocol_id, course.drug, course.start_date) == (
            HENDERSON,
            "pamidronate",
            start,
        )
        first = s.get(Infusion, planned[0])
        assert first is not None
        assert (first.status, first.dose_mg, first.given_on) == ("planned", 30.0, start)
        version = first.version
    # record the first infusion as given, with a bad dose first: message next to the field
    url = f"/patients/{pid}/treatment/infusions/{planned[0]}/given"
    bad = client.post(
        url,
        data={
            "given_on": start.isoformat(),
            "dose_mg": "abc",
            "version": version,
            "csrf_token": token,
        },
    )
    assert bad.status_code == 422
    assert 'id="e-dose_mg"' in bad.text
    ok = client.post(
        url,
        data={
            "given_on": start.isoformat(),
            "dose_mg": "30",
            "version": version,
            "csrf_token": token,
            "override_reason": REASON,
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    # a second save with the old version is a conflict: nothing saved
    stale = client.post(
        url,
        data={
            "given_on": start.isoformat(),
            "dose_mg": "25",
            "version": version,
            "csrf_token": token,
            "override_reason": REASON,
        },
    )
    assert stale.status_code == 409
    # a harm: missing grade is refused next to the field
    harm = {
        "infusion_id": str(planned[0]),
        "category": "acute_phase_reaction",
        "ctcae_grade": "",
        "onset_days": "1",
        "relatedness": "probable",
        "csrf_token": token,
    }
    r = client.post(f"/patients/{pid}/treatment/harms", data=harm)
    assert r.status_code == 422
    assert 'id="e-ctcae_grade"' in r.text
    harm["ctcae_grade"] = "2"
    r = client.post(f"/patients/{pid}/treatment/harms", data=harm, follow_redirects=False)
    assert r.status_code == 303, r.text
    with db.session() as s:
        ae = s.query(AdverseEvent).one()
        # onset 1 day after the dose given on `start`
        assert (ae.ctcae_grade, ae.onset_days, ae.relatedness, ae.occurred_on) == (
            2,
            1.0,
            "probable",
            start + dt.timedelta(days=1),
        )
        tables = {e.table_name for e in s.query(AuditEntry).all()}
        assert {"treatments", "infusions", "adverse_events"} <= tables
    html = client.get(f"/patients/{pid}/treatment").text
    summary = html.split('id="harm-summary"')[1]
    assert "Doses given: 1" in summary
    assert '<tr class="harm"><td>1</td><td>acute-phase reaction</td><td>2</td>' in summary
    # the next checklist knows about the stored reaction (advice of [S55])
    plan = client.get(_plan_url(pid, dt.date.today())).text.split('id="checklist"')[1]
    assert "paracetamol for flu-like symptoms" in plan
    # the dose is offered to the harm form by its number and date
    assert f"1 · {start.isoformat()}</option>" in html
    # the clinic page: 1 first dose, 1 acute-phase reaction -> 1/1; no later doses yet
    clinic = client.get("/harms").text
    row = clinic.split('id="rate-acute_phase_reaction"')[1].split("</tr>")[0]
    assert "1/1 = 100.0 %" in row
    # Wilson 95 % interval for 1/1: lower = 1/(1 + 1.96²) = 0.2065 -> 20.7 %
    assert "20.7–100.0 %" in row


def test_researcher_sees_treatment_read_only_and_pseudonymised(
    client: Any, user_ids: dict[str, int]
) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_weight(client, token)
    _start_course(client, token, pid, dt.date.today() - dt.timedelta(days=1))
    res_token = sign_in(client, user_ids["res"])
    html = client.get(_plan_url(pid, dt.date.today())).text
    assert "Peeters" not in html
    assert "/given" not in html
    assert 'id="start-course"' not in html
    assert dt.date.today().isoformat() not in html.split('id="courses"')[1]  # ages, not dates
    r = client.post(
        f"/patients/{pid}/treatment/start",
        data={"protocol": HENDERSON, "start": dt.date.today().isoformat(), "csrf_token": res_token},
    )
    assert r.status_code == 403
    assert client.get("/harms").status_code == 200


def test_dutch_treatment_page(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_weight(client, token)
    client.post("/language", data={"language": "nl", "csrf_token": token})
    html = client.get(_plan_url(pid, dt.date.today())).text
    assert "Kuur plannen" in html
    assert "Checklist vóór het infuus" in html
    assert "begrensd" in html  # the capped badge
    assert "30,0 mg" in html  # decimal comma


def test_planned_infusions_are_not_timeline_events(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_weight(client, token)
    _start_course(client, token, pid, dt.date.today())
    timeline = client.get(f"/patients/{pid}").text.split('class="timeline"')[1].split("</ul>")[0]
    assert "Bone treatment: pamidronate" in timeline
    assert "Infusion" not in timeline  # 15 planned, none given yet


def test_the_adverse_event_form_records_grade_onset_and_relatedness(
    client: Any, user_ids: dict[str, int], db: Any
) -> None:
    from pedbone.store import AdverseEvent

    token = sign_in(client, user_ids["doc"])
    pid = new_patient(client, token)
    data = {
        "occurred_on": "2024-03-02",
        "category": "bone_muscle_pain",
        "ctcae_grade": "6",
        "onset_days": "2",
        "relatedness": "possible",
        "csrf_token": token,
    }
    bad = client.post(f"/patients/{pid}/records/adverse_event", data=data)
    assert bad.status_code == 422
    assert 'id="e-ctcae_grade"' in bad.text  # 6 is not a CTCAE grade
    data["ctcae_grade"] = "1"
    ok = client.post(f"/patients/{pid}/records/adverse_event", data=data, follow_redirects=False)
    assert ok.status_code == 303, ok.text
    with db.session() as s:
        ae = s.query(AdverseEvent).one()
        assert (ae.ctcae_grade, ae.onset_days, ae.relatedness) == (1, 2.0, "possible")


def test_bedside_answers_feed_the_checklist(client: Any, user_ids: dict[str, int]) -> None:
    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_weight(client, token, ohd=60)
    url = _plan_url(pid, dt.date.today())
    html = client.get(url).text.split('id="checklist"')[1]
    assert "allergy is a contraindication" not in html
    html = client.get(url + "&bisphosphonate_allergy=yes&dental_review_done=no").text
    assert 'id="b-bisphosphonate_allergy"' in html
    assert '<option value="yes" selected>' in html  # the answer is kept on the form
    checklist = html.split('id="checklist"')[1]
    allergy = checklist.split("bisphosphonate allergy</td>")[1].split("</tr>")[0]
    assert "hold" in allergy
    assert "allergy is a contraindication" in allergy  # [S54]


def test_hold_blocks_start_and_given_without_a_written_reason(
    client: Any, user_ids: dict[str, int], db: Any
) -> None:
    from pedbone.store import AuditEntry, Infusion, Treatment

    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_weight(client, token, ohd=30)  # 25-OH-D 30 < 50 nmol/L: HOLD [S54]
    start = dt.date.today() - dt.timedelta(days=2)
    page = client.get(_plan_url(pid, start)).text
    assert 'id="override"' in page  # the start form asks for the reason
    assert "Start despite HOLD" in page
    data = {"protocol": HENDERSON, "start": start.isoformat(), "csrf_token": token}
    for reason in ("", "ok"):  # nothing, or fewer than 10 characters: refused
        r = client.post(
            f"/patients/{pid}/treatment/start", data={**data, "override_reason": reason}
        )
        assert r.status_code == 422
        assert "The pre-infusion checklist says HOLD" in r.text
        assert "25-OH vitamin D: below 50 nmol/L required before infusion" in r.text
    with db.session() as s:
        assert s.query(Treatment).count() == 0  # nothing written
    r = client.post(
        f"/patients/{pid}/treatment/start",
        data={**data, "override_reason": REASON},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with db.session() as s:
        course = s.query(Treatment).one()
        assert course.status == "planned"  # until its first dose
        assert course.checklist_override is not None
        assert course.checklist_override.startswith(REASON)
        assert "HOLD overridden: " in course.checklist_override
        assert "25-OH vitamin D: below 50 nmol/L" in course.checklist_override
        logged = [e for e in s.query(AuditEntry).all() if e.table_name == "treatments" and e.after]
        assert any(REASON in str(e.after) for e in logged)  # kept in the audit log
        first = s.query(Infusion).order_by(Infusion.given_on, Infusion.id).first()
        assert first is not None
        iid, version = first.id, first.version
    html = client.get(f"/patients/{pid}/treatment").text
    assert "Started despite HOLD" in html
    url = f"/patients/{pid}/treatment/infusions/{iid}/given"
    given = {
        "given_on": start.isoformat(),
        "dose_mg": "30",
        "version": version,
        "csrf_token": token,
    }
    r = client.post(url, data=given)
    assert r.status_code == 422
    assert 'id="e-override_reason"' in r.text
    with db.session() as s:
        row = s.get(Infusion, iid)
        assert row is not None
        assert row.status == "planned"  # not recorded as given
    r = client.post(url, data={**given, "override_reason": REASON}, follow_redirects=False)
    assert r.status_code == 303
    with db.session() as s:
        row = s.get(Infusion, iid)
        assert row is not None
        assert row.status == "given"
        assert row.checklist_override is not None
        assert row.checklist_override.startswith(REASON)
        assert s.query(Treatment).one().status == "active"  # the first dose was given
    assert "given despite HOLD" in client.get(f"/patients/{pid}/treatment").text


def test_dose_before_the_course_start_and_harm_in_the_future_are_refused(
    client: Any, user_ids: dict[str, int], db: Any
) -> None:
    from pedbone.store import AdverseEvent, Infusion

    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_weight(client, token)
    start = dt.date.today() - dt.timedelta(days=2)
    planned = _start_course(client, token, pid, start)
    with db.session() as s:
        row = s.get(Infusion, planned[0])
        assert row is not None
        version = row.version
    url = f"/patients/{pid}/treatment/infusions/{planned[0]}/given"
    early = (start - dt.timedelta(days=1)).isoformat()
    r = client.post(
        url,
        data={
            "given_on": early,
            "dose_mg": "30",
            "version": version,
            "csrf_token": token,
            "override_reason": REASON,
        },
    )
    assert r.status_code == 422
    assert "before the course start" in r.text
    r = client.post(
        url,
        data={
            "given_on": start.isoformat(),
            "dose_mg": "30",
            "version": version,
            "csrf_token": token,
            "override_reason": REASON,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    # given 2 days ago; an onset 3 days after the dose is tomorrow: refused
    harm = {
        "infusion_id": str(planned[0]),
        "category": "acute_phase_reaction",
        "ctcae_grade": "1",
        "onset_days": "3",
        "relatedness": "probable",
        "csrf_token": token,
    }
    r = client.post(f"/patients/{pid}/treatment/harms", data=harm)
    assert r.status_code == 422
    assert "in the future" in r.text
    harm["onset_days"] = "2"  # today: accepted
    r = client.post(f"/patients/{pid}/treatment/harms", data=harm, follow_redirects=False)
    assert r.status_code == 303
    with db.session() as s:
        assert s.query(AdverseEvent).count() == 1


def test_sbrocchi_annual_dose_is_plannable_from_the_page(
    client: Any, user_ids: dict[str, int]
) -> None:
    # 9 mg/kg/year [S39]; the source gives no split: the clinic chooses 4 cycles × 3 days:
    # 9 × 35 kg / 4 / 3 = 26.25 mg per day
    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_weight(client, token)
    base = f"/patients/{pid}/treatment?protocol=pamidronate-9mgkg-year"
    r = client.get(base)
    assert 'id="plan-error"' in r.text
    assert 'name="cycles_per_year"' in r.text  # the page offers the missing choice
    r = client.get(base + "&cycles_per_year=4&days_per_cycle=3")
    assert 'id="planned-course"' in r.text, r.text
    doses = re.findall(r"<strong>([\d.,]+) mg</strong>", r.text)
    assert doses
    assert {float(d.replace(",", ".")) for d in doses} <= {26.2, 26.3}  # 26.25 shown to 0.1
    assert 'name="cycles_per_year" value="4"' in r.text  # carried to the start form


def test_an_impossible_stored_lab_cannot_be_overridden(
    client: Any, user_ids: dict[str, int], db: Any
) -> None:
    # a 25-OH-D of 2000 nmol/L stored before the limits existed: the checklist refuses it
    # (software rule [PEDBONE_PLAUSIBILITY]) and no written reason starts the course
    from pedbone.store import LabResult, Patient, Treatment

    token = sign_in(client, user_ids["doc"])
    pid = _patient_with_weight(client, token)
    with db.unit_of_work() as s:
        p = s.get(Patient, pid)
        assert p is not None
        p.labs.append(
            LabResult(
                sampled_on=dt.date.today() - dt.timedelta(days=7),
                analyte="25ohd",
                value=2000.0,
                unit="nmol/L",
            )
        )
    start = dt.date.today()
    r = client.post(
        f"/patients/{pid}/treatment/start",
        data={
            "protocol": HENDERSON,
            "start": start.isoformat(),
            "csrf_token": token,
            "override_reason": REASON,
        },
    )
    assert r.status_code == 422
    assert "could not be run" in r.text
    assert "25-OH vitamin D 2000 nmol/L is not plausible" in r.text
    with db.session() as s:
        assert s.query(Treatment).count() == 0
