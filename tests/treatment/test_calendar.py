"""The iCalendar export reads back with icalendar's own parser."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from icalendar import Calendar

from pedbone.treatment import INTENDED_USE, get_protocol, plan_course, plan_to_ical

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _plan(pid: str, weight: float, folder: Path, **kw: object):  # type: ignore[no-untyped-def]
    return plan_course(
        get_protocol(pid, folder),
        weight_kg=weight,
        weight_date=date(2026, 11, 25),
        start=date(2026, 12, 1),
        today=date(2026, 11, 26),
        **kw,  # type: ignore[arg-type]
    )


def test_iv_course_round_trips(tmp_path: Path) -> None:
    plan = _plan("pamidronate-henderson-2002", 35.0, tmp_path, on_glucocorticoids=True)
    out = tmp_path / "course.ics"
    out.write_bytes(plan_to_ical(plan, now=NOW))
    cal = Calendar.from_ical(out.read_bytes())
    events = list(cal.walk("VEVENT"))
    # 5 cycles × 3 days + 1 review
    assert len(events) == 16
    doses = [e for e in events if not str(e["summary"]).startswith("Review")]
    assert [e.decoded("dtstart") for e in doses[:4]] == [
        date(2026, 12, 1),
        date(2026, 12, 2),
        date(2026, 12, 3),
        date(2027, 3, 1),
    ]
    first = doses[0]
    assert str(first["summary"]) == "Pamidronate 30 mg IV (cycle 1, day 1/3)"
    desc = str(first["description"])
    assert "pamidronate-henderson-2002" in desc
    assert "1 mg/kg × 35 kg = 35 mg [S24c]" in desc
    assert "CAPPED" in desc
    assert "sick-day steroid" in desc  # first-infusion advice [S55]
    assert INTENDED_USE in desc
    assert "sick-day" not in str(doses[1]["description"])
    assert len({str(e["uid"]) for e in events}) == 16
    review = events[-1]
    assert review.decoded("dtstart") == date(2027, 12, 1)
    assert "[S24c]" in str(review["description"])
    assert cal["version"] == "2.0"


def test_oral_course_is_one_repeating_event(tmp_path: Path) -> None:
    plan = _plan("alendronate-golden-2005", 45.0, tmp_path)
    cal = Calendar.from_ical(plan_to_ical(plan, now=NOW))
    dose, review = list(cal.walk("VEVENT"))
    rrule = dose["rrule"]
    assert rrule["FREQ"] == ["DAILY"]
    assert rrule["COUNT"] == [365]
    assert dose.decoded("dtstart") == date(2026, 12, 1)
    assert review.decoded("dtstart") == date(2027, 12, 1)
