"""Export a treatment plan as an iCalendar file (RFC 5545) with the ``icalendar`` package."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pedbone.treatment._plan import TreatmentPlan

__all__ = ["plan_to_ical"]

_RRULE_FREQ = {"days": "DAILY", "weeks": "WEEKLY", "months": "MONTHLY", "years": "YEARLY"}


def plan_to_ical(plan: TreatmentPlan, *, now: datetime | None = None) -> bytes:
    """The plan as iCalendar bytes: one all-day event per dose day (a repeating event for
    continuous oral regimens) and one per review prompt. Each event names the protocol, the
    dose calculation, its sources and the intended-use statement."""
    from icalendar import Calendar, Event

    stamp = now or datetime.now(UTC)
    p = plan.protocol
    cal = Calendar()
    cal.add("prodid", "-//pedbone//treatment plan//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{p.drug} ({p.id})")
    for d in plan.doses:
        ev = Event()
        src = "".join(f"[{k}]" for k in d.sources)
        if d.repeat is None:
            title = f"{p.drug.capitalize()} {d.dose_mg:g} mg {p.route.upper()} (cycle {d.cycle}"
            title += f", day {d.day}/{d.days_in_cycle})" if d.days_in_cycle > 1 else ")"
        else:
            title = f"{p.drug.capitalize()} {d.dose_mg:g} mg {p.route} {d.repeat.describe()}"
        ev.add("summary", title)
        ev.add("dtstart", d.date)
        ev.add("dtend", d.date + timedelta(days=1))
        ev.add("dtstamp", stamp)
        ev.add("uid", f"{p.id}-{d.date.isoformat()}-c{d.cycle}d{d.day}@pedbone")
        if d.repeat is not None:
            ev.add(
                "rrule",
                {"freq": _RRULE_FREQ[d.repeat.unit], "interval": d.repeat.every, "count": d.count},
            )
        lines = [
            f"Protocol {p.id} v{p.version}: {p.title}",
            f"Dose {d.dose_mg:g} mg: {d.calculation} {src}",
            *d.notes,
            f"Weight {plan.weight_kg:g} kg on {plan.weight_date.isoformat()}: recompute with a "
            "recent weight before each dose.",
        ]
        if d.first_dose:
            lines.extend(str(a) for a in plan.advice if a.topic != "general")
        lines.append(plan.intended_use)
        ev.add("description", "\n".join(lines))
        ev.add("categories", ["pedbone", p.drug])
        cal.add_component(ev)
    for r in plan.reviews:
        ev = Event()
        ev.add("summary", f"Review {p.drug} treatment ({p.id})")
        ev.add("dtstart", r.date)
        ev.add("dtend", r.date + timedelta(days=1))
        ev.add("dtstamp", stamp)
        ev.add("uid", f"{p.id}-review-{r.date.isoformat()}@pedbone")
        src = "".join(f"[{k}]" for k in r.sources)
        ev.add("description", f"{r.reason} {src}\n{plan.intended_use}")
        cal.add_component(ev)
    data: bytes = cal.to_ical()
    return data
