"""Bisphosphonate treatment pages: plan a course, pre-infusion checklist, calendar, start the
course, record doses given and harms; the clinic-wide harms page.

Every number on these pages comes from ``pedbone.treatment`` (protocols, plan, checklist,
harm rates) and the store's :func:`~pedbone.store.harm_log`; nothing clinical is computed here.
Clinicians edit; researchers see the same pages read-only and pseudonymised (ages, no dates).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pedbone.web._forms import (
    CTCAE_GRADES,
    HARM_TYPES,
    RELATEDNESS,
    Field,
    parse,
    store_error_field,
)
from pedbone.web._i18n import N_
from pedbone.web._render import render
from pedbone.web._security import WebUser, current_user, request_language, require_role

router = APIRouter()

_ = N_

Reader = Annotated[WebUser, Depends(current_user)]
Editor = Annotated[WebUser, Depends(require_role("admin", "clinician"))]

GIVEN_FIELDS: Final = (
    Field("given_on", _("Date given"), "date", required=True),
    Field("dose_mg", _("Dose given"), "number", required=True, unit="mg", minimum=0.01),
    Field("weight_kg", _("Weight"), "number", unit="kg", minimum=0.5, maximum=250),
)


def harm_fields(infusions: tuple[tuple[str, str], ...]) -> tuple[Field, ...]:
    """The harm form; ``infusions`` are the (id, label) choices of the doses given."""
    return (
        Field("infusion_id", _("Infusion"), "choice", required=True, choices=infusions),
        Field("category", _("Type of harm"), "choice", required=True, choices=HARM_TYPES),
        Field(
            "ctcae_grade",
            _("CTCAE grade"),
            "choice",
            required=True,
            choices=CTCAE_GRADES,
            hint=_("1 mild … 5 death (CTCAE v5)"),
        ),
        Field(
            "onset_days",
            _("Onset after the dose"),
            "number",
            required=True,
            unit=_("days"),
            minimum=0,
            maximum=3650,
        ),
        Field("relatedness", _("Relatedness"), "choice", required=True, choices=RELATEDNESS),
        Field("description", _("Description"), "textarea", hint=_("Needed for type 'other'.")),
    )


#: A HOLD is overridden only with a written reason of at least this many characters (a software
#: rule of the form, so that "x" or "ok" is not a reason; PEDBONE_SOFTWARE).
OVERRIDE_MIN_CHARS: Final = 10
#: Plan options the page offers for annual-dose protocols whose source gives no split [S39].
CYCLES_PER_YEAR: Final = ("1", "2", "3", "4", "6", "12")


def _plan_options(params: Any) -> tuple[dict[str, int], str | None]:
    """``cycles_per_year`` / ``days_per_cycle`` from the form or query (clinic choices for an
    annual-dose protocol such as 9 mg/kg/year [S39]); (options, error)."""
    out: dict[str, int] = {}
    for name in ("cycles_per_year", "days_per_cycle"):
        raw = str(params.get(name, "") or "").strip()
        if not raw:
            continue
        if not raw.isdigit() or not 1 <= int(raw) <= 31:
            return {}, _("Cycles per year and days per cycle are whole numbers.")
        out[name] = int(raw)
    return out, None


def _override(checklist: Any, raw: dict[str, str]) -> tuple[str | None, str | None]:
    """(text to store, error) when the checklist says HOLD: the clinician's written reason and
    the HOLD reasons it overrides. (None, None) for GO. A checklist that could not be run (an
    impossible value in the record) cannot be overridden."""
    if checklist is None:  # e.g. an impossible lab value: refused, not judged or overridden
        return None, "The pre-infusion checklist could not be run: correct the record first."
    if checklist.decision == "go":
        return None, None
    holds = checklist.reasons
    reason = (raw.get("override_reason") or "").strip()
    if len(reason) < OVERRIDE_MIN_CHARS:
        return None, (
            "The pre-infusion checklist says HOLD ("
            + "; ".join(holds)
            + f"). To go ahead, write the reason for overriding it (at least {OVERRIDE_MIN_CHARS} "
            "characters); it is kept in the audit log and shown on the infusion."
        )
    return f"{reason} — HOLD overridden: {'; '.join(holds)}", None


#: Bedside answers of the checklist (names of ``pedbone.treatment.PreInfusionInput``).
BEDSIDE: Final = (
    ("dental_review_done", _("Dental review done")),
    ("known_dental_disease", _("Known dental disease")),
    ("bisphosphonate_allergy", _("Bisphosphonate allergy")),
    ("dehydrated", _("Dehydrated")),
    ("pregnancy_possible", _("Pregnancy possible")),
)
PREGNANCY_TESTS: Final = (
    ("negative", _("negative")),
    ("positive", _("positive")),
    ("not done", _("not done")),
)


def _bedside(params: Any) -> dict[str, Any]:
    """Bedside answers from the query string: yes/no questions and the pregnancy test; what is
    not answered stays "not recorded" (``None``)."""
    out: dict[str, Any] = {}
    for name, _label in BEDSIDE:
        value = params.get(name, "")
        if value in ("yes", "no"):
            out[name] = value == "yes"
    test = params.get("pregnancy_test", "")
    if test in {v for v, _label in PREGNANCY_TESTS}:
        out["pregnancy_test"] = test
    return out


@dataclass
class _State:
    """Everything the treatment page shows (built in one session)."""

    label: str
    uid: str
    birth: dt.date
    treatments: list[dict[str, Any]]
    given: list[tuple[int, int, dt.date]]  # (dose number, infusion id, date given)
    summary: dict[str, Any]
    skipped: list[str]
    responses: list[Any]
    record: Any
    had_acute_phase_reaction: bool


def _patient_state(request: Request, user: WebUser, patient_id: int) -> _State | None:
    from pedbone.store import Patient, dxa_zscores, given_doses, harm_log, pseudonym, to_clinical
    from pedbone.treatment import DxaMeasurement, treatment_response

    with request.app.state.db.session() as session:
        p = session.get(Patient, patient_id)
        if p is None:
            return None
        label = pseudonym(p.uid) if user.pseudonymised else str(p.display_name)
        record, _skipped = to_clinical(p)
        given = [(n, i.id, i.given_on) for n, i in given_doses(p)]
        numbers = {iid: n for n, iid, _day in given}
        treatments = [
            {
                "id": t.id,
                "drug": t.drug,
                "protocol_id": t.protocol_id,
                "start": t.start_date,
                "status": t.status,
                "override": t.checklist_override,
                "infusions": [
                    {
                        "id": i.id,
                        "version": i.row_stamp,
                        "date": i.given_on,
                        "cycle": i.cycle_number,
                        "day": i.day_number,
                        "dose_mg": i.dose_mg,
                        "given": i.given,
                        "number": numbers.get(i.id),
                        "override": i.checklist_override,
                    }
                    for i in t.infusions
                ],
            }
            for t in sorted(p.treatments, key=lambda t: t.start_date)
        ]
        for t in treatments:  # one "given" form: the next planned infusion of each course
            pending = [i for i in t["infusions"] if not i["given"]]
            t["next"] = pending[0]["id"] if pending else None
        skipped: list[str] = []
        summary = harm_log([p], skipped).patient_summary(p.uid)
        responses = []
        starts = [t.start_date for t in p.treatments]
        if starts:
            by_measure: dict[str, list[Any]] = {}
            for z in dxa_zscores(p):
                by_measure.setdefault(z.measure, []).append(
                    DxaMeasurement(z.scanned_on, z.measure, z.value, z.z, z.pack)
                )
            for scans in by_measure.values():
                try:
                    responses.append(treatment_response(scans, treatment_start=min(starts)))
                except ValueError:
                    continue  # no baseline before the start, or no follow-up yet
        return _State(
            label,
            p.uid,
            p.birth_date,
            treatments,
            given,
            summary,
            skipped,
            responses,
            record,
            any(ae.category == "acute_phase_reaction" for ae in p.adverse_events),
        )


def _dose_choices(state: _State) -> tuple[tuple[str, str], ...]:
    """Doses given as form choices: infusion id -> \"dose number · date\" (latest first)."""
    return tuple((str(iid), f"{n} · {day.isoformat()}") for n, iid, day in reversed(state.given))


def _start_date(raw: str | None) -> dt.date:
    if not raw:
        return dt.date.today()
    return dt.date.fromisoformat(raw)


def _plan(
    record: Any,
    protocol_id: str,
    start: dt.date,
    *,
    had_apr: bool = False,
    answers: dict[str, Any] | None = None,
    plan_options: dict[str, int] | None = None,
) -> tuple[Any, Any, Any, str | None]:
    """(protocol, plan, checklist, error) for the page; the error is the domain's message.
    A stored acute-phase reaction answers the checklist's question about a previous one."""
    from pedbone.treatment import (
        checklist_input_for_patient,
        get_protocol,
        plan_for_patient,
        run_checklist,
    )

    try:
        protocol = get_protocol(protocol_id)
    except ValueError as exc:
        return None, None, None, str(exc)
    plan = checklist = None
    error = None
    try:
        opts: dict[str, Any] = dict(plan_options or {})
        plan = plan_for_patient(protocol, record, start=start, **opts)
    except ValueError as exc:
        error = str(exc)
    try:
        first = not any(
            m.drug_class == "bisphosphonate" and m.start < start for m in record.medications
        )
        checklist = run_checklist(
            protocol,
            checklist_input_for_patient(
                record,
                dose_date=start,
                first_cycle=first,
                previous_acute_phase_reaction=True if had_apr else None,
                **(answers or {}),
            ),
        )
    except ValueError as exc:
        error = (error + "; " if error else "") + str(exc)
    return protocol, plan, checklist, error


def _page(
    request: Request,
    user: WebUser,
    patient_id: int,
    *,
    protocol_id: str = "",
    start: str | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    from pedbone.treatment import INTENDED_USE, ProtocolError, available_protocols

    state = _patient_state(request, user, patient_id)
    if state is None:
        return render(request, "error.html", status_code=404, error="not_found")
    try:
        protocols = available_protocols()
        protocols_error = None
    except ProtocolError as exc:
        protocols, protocols_error = [], str(exc)
    try:
        start_day = _start_date(start)
    except ValueError:
        start_day = dt.date.today()
        extra.setdefault("start_error", _("Not a valid date (use the date picker or YYYY-MM-DD)."))
    protocol = plan = checklist = None
    plan_error = None
    options, options_error = _plan_options(extra.pop("plan_params", None) or request.query_params)
    if protocol_id:
        protocol, plan, checklist, plan_error = _plan(
            state.record,
            protocol_id,
            start_day,
            had_apr=state.had_acute_phase_reaction,
            answers=_bedside(extra.pop("bedside_params", None) or request.query_params),
            plan_options=options,
        )
        plan_error = options_error or plan_error
    given_choices = _dose_choices(state)
    ov = SimpleNamespace(pseudonymised=user.pseudonymised, reference_birth=state.birth)
    return render(
        request,
        "treatment.html",
        status_code=status_code,
        ov=ov,
        patient_id=patient_id,
        patient_label=state.label,
        protocols=protocols,
        protocols_error=protocols_error,
        protocol_id=protocol_id,
        protocol=protocol,
        start=start_day,
        plan=plan,
        plan_error=plan_error,
        checklist=checklist,
        treatments=state.treatments,
        summary=state.summary,
        skipped=state.skipped,
        responses=state.responses,
        harm_types=dict(HARM_TYPES),
        relatedness=dict(RELATEDNESS),
        given_fields=GIVEN_FIELDS,
        harm_form=harm_fields(given_choices),
        intended_use=INTENDED_USE,
        bedside=BEDSIDE,
        pregnancy_tests=PREGNANCY_TESTS,
        bedside_values=request.query_params,
        plan_options=options,
        cycles_per_year_choices=CYCLES_PER_YEAR,
        override_min_chars=OVERRIDE_MIN_CHARS,
        **extra,
    )


@router.get("/patients/{patient_id}/treatment")
def treatment_page(
    request: Request,
    patient_id: int,
    user: Reader,
    protocol: str = "",
    start: str | None = None,
) -> Response:
    """The patient's treatment: plan a course, checklist, courses, doses and harms."""
    return _page(request, user, patient_id, protocol_id=protocol, start=start)


@router.get("/patients/{patient_id}/treatment/course.ics")
def treatment_ical(
    request: Request, patient_id: int, user: Reader, protocol: str, start: str | None = None
) -> Response:
    """The planned course as an iCalendar file (clinicians: a calendar is dated by nature, so
    researchers, who see ages only, get none)."""
    from pedbone.treatment import plan_to_ical

    if user.pseudonymised:
        return render(request, "error.html", status_code=404, error="not_found")
    state = _patient_state(request, user, patient_id)
    if state is None:
        return render(request, "error.html", status_code=404, error="not_found")
    try:
        day = _start_date(start)
    except ValueError:
        return render(request, "error.html", status_code=404, error="not_found")
    _protocol, plan, _checklist, _error = _plan(state.record, protocol, day)
    if plan is None:
        return render(request, "error.html", status_code=404, error="not_found")
    name = f"pedbone-course-{patient_id}-{day.isoformat()}.ics"
    return Response(
        plan_to_ical(plan),
        media_type="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _form(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


@router.post("/patients/{patient_id}/treatment/start")
async def treatment_start(request: Request, patient_id: int, user: Editor) -> Response:
    """Store the course planned on the page: the treatment and one planned infusion per dose."""
    from pedbone.store import BusyError, ConflictError, Infusion, Patient, Treatment
    from pedbone.web._data import _actor

    raw = await _form(request)
    protocol_id = raw.get("protocol", "")
    state = _patient_state(request, user, patient_id)
    if state is None:
        return render(request, "error.html", status_code=404, error="not_found")
    try:
        day = _start_date(raw.get("start"))
    except ValueError:
        return _page(request, user, patient_id, protocol_id=protocol_id, status_code=422)
    options, options_error = _plan_options(raw)
    protocol, plan, checklist, error = _plan(
        state.record,
        protocol_id,
        day,
        had_apr=state.had_acute_phase_reaction,
        answers=_bedside(raw),
        plan_options=options,
    )
    error = options_error or error
    if plan is None or options_error:
        return _page(
            request,
            user,
            patient_id,
            protocol_id=protocol_id,
            start=day.isoformat(),
            status_code=422,
            start_failed=error or _("Choose a protocol."),
            plan_params=raw,
            bedside_params=raw,
        )
    override, override_error = _override(checklist, raw)
    if override_error:
        return _page(
            request,
            user,
            patient_id,
            protocol_id=protocol_id,
            start=day.isoformat(),
            status_code=422,
            start_failed=override_error,
            plan_params=raw,
            bedside_params=raw,
            override_value=raw.get("override_reason", ""),
        )
    if any(t["protocol_id"] == protocol.id and t["start"] == plan.start for t in state.treatments):
        return _page(
            request,
            user,
            patient_id,
            protocol_id=protocol_id,
            start=day.isoformat(),
            status_code=409,
            start_failed=_("This course was already started (same protocol and start date)."),
        )
    db = request.app.state.db
    try:
        with db.unit_of_work(actor=_actor(db, user)) as session:
            patient = session.get(Patient, patient_id)
            assert patient is not None
            course = Treatment(
                drug=protocol.drug,
                route=protocol.route,
                start_date=plan.start,
                status="planned",  # until its first dose is recorded as given
                protocol_id=protocol.id,
                indication=protocol.title,
                checklist_override=override,
            )
            for d in plan.doses:
                course.infusions.append(
                    Infusion(
                        given_on=d.date,
                        cycle_number=d.cycle,
                        day_number=d.day,
                        dose_mg=d.dose_mg,
                        dose_mg_per_kg=d.mg_per_kg,
                        weight_kg=plan.weight_kg,
                        first_dose=d.first_dose,
                        status="planned",
                    )
                )
            patient.treatments.append(course)
    except ConflictError as exc:  # the same course started at the same moment (H34)
        busy = isinstance(exc, BusyError)
        return _page(
            request,
            user,
            patient_id,
            protocol_id=protocol_id,
            start=day.isoformat(),
            status_code=503 if busy else 409,
            start_failed=_("The database was busy; nothing was saved. Please try again.")
            if busy
            else _("This course was already started (same protocol and start date)."),
        )
    return RedirectResponse(f"/patients/{patient_id}/treatment?started=1", status_code=303)


def _course_of(request: Request, treatment_id: int) -> dict[str, Any]:
    """Start date, protocol and status of a course."""
    from pedbone.store import Treatment

    with request.app.state.db.session() as session:
        t = session.get(Treatment, treatment_id)
        assert t is not None
        return {"start": t.start_date, "protocol_id": t.protocol_id, "status": t.status}


def _own_infusion(request: Request, patient_id: int, infusion_id: int) -> Any:
    from pedbone.store import Infusion

    with request.app.state.db.session() as session:
        row = session.get(Infusion, infusion_id)
        if row is None or row.treatment.patient_id != patient_id:
            return None
        session.expunge(row)
        return row


@router.post("/patients/{patient_id}/treatment/infusions/{infusion_id}/given")
async def infusion_given(
    request: Request, patient_id: int, infusion_id: int, user: Editor
) -> Response:
    """Record a planned infusion as given (date, dose) if nobody changed it in between.

    A dose dated before its course start is refused; when the pre-infusion checklist for that
    day says HOLD, the dose is recorded only with the clinician's written reason."""
    from pedbone.store import ConflictError, Infusion, StoreError, Treatment, update_record
    from pedbone.web._data import _actor

    row = _own_infusion(request, patient_id, infusion_id)
    if row is None:
        return render(request, "error.html", status_code=404, error="not_found")
    course = _course_of(request, row.treatment_id)
    raw = await _form(request)
    values, errors = parse(GIVEN_FIELDS, raw, request_language(request))
    override: str | None = None
    given_on = values.get("given_on") or row.given_on
    if not errors and given_on < course["start"]:
        errors["given_on"] = (
            f"The dose is dated {given_on.isoformat()}, before the course start "
            f"{course['start'].isoformat()}: a dose cannot precede its course."
        )
    if not errors and course["protocol_id"]:
        state = _patient_state(request, user, patient_id)
        assert state is not None
        _p, _pl, checklist, _error = _plan(
            state.record,
            course["protocol_id"],
            given_on,
            had_apr=state.had_acute_phase_reaction,
            answers=_bedside(raw),
        )
        override, override_error = _override(checklist, raw)
        if override_error:
            errors["override_reason"] = override_error
    if not errors:
        db = request.app.state.db
        try:
            with db.unit_of_work(actor=_actor(db, user)) as session:
                changes = {k: v for k, v in values.items() if v is not None}
                update_record(
                    session,
                    Infusion,
                    infusion_id,
                    raw.get("version", ""),
                    status="given",
                    checklist_override=override,
                    **changes,
                )
                treatment = session.get(Treatment, row.treatment_id)
                if treatment is not None and treatment.status == "planned":
                    treatment.status = "active"  # the first dose was given
        except ConflictError as exc:
            return render(
                request, "error.html", status_code=409, error="conflict", message=str(exc)
            )
        except StoreError as exc:
            name = store_error_field(str(exc), tuple(f.name for f in GIVEN_FIELDS))
            errors[name or "dose_mg"] = str(exc)
        else:
            return RedirectResponse(f"/patients/{patient_id}/treatment?given=1", status_code=303)
    return _page(
        request,
        user,
        patient_id,
        status_code=422,
        given_errors={infusion_id: errors},
        given_values={infusion_id: raw},
    )


@router.post("/patients/{patient_id}/treatment/harms")
async def harm_add(request: Request, patient_id: int, user: Editor) -> Response:
    """Record a harm after a dose given: type, CTCAE grade, onset and relatedness."""
    from pedbone.store import AdverseEvent, Patient, StoreError
    from pedbone.web._data import _actor

    state = _patient_state(request, user, patient_id)
    if state is None:
        return render(request, "error.html", status_code=404, error="not_found")
    raw = await _form(request)
    fields = harm_fields(_dose_choices(state))
    values, errors = parse(fields, raw, request_language(request))
    if values.get("category") == "other" and not values.get("description"):
        errors["description"] = _("Describe a harm of type 'other'.")
    if not errors:
        infusion = _own_infusion(request, patient_id, int(values["infusion_id"]))
        onset_day = infusion.given_on + dt.timedelta(days=int(float(values["onset_days"])))
        if onset_day > dt.date.today():
            errors["onset_days"] = (
                f"The harm would be dated {onset_day.isoformat()}, in the future: a harm is "
                "recorded once it has happened."
            )
    if not errors:
        db = request.app.state.db
        try:
            with db.unit_of_work(actor=_actor(db, user)) as session:
                patient = session.get(Patient, patient_id)
                assert patient is not None
                onset = float(values["onset_days"])
                patient.adverse_events.append(
                    AdverseEvent(
                        infusion_id=infusion.id,
                        occurred_on=infusion.given_on + dt.timedelta(days=int(onset)),
                        category=values["category"],
                        ctcae_grade=int(values["ctcae_grade"]),
                        onset_days=onset,
                        relatedness=values["relatedness"],
                        description=values.get("description"),
                    )
                )
        except StoreError as exc:
            name = store_error_field(str(exc), tuple(f.name for f in fields))
            errors[name or "category"] = str(exc)
        else:
            return RedirectResponse(f"/patients/{patient_id}/treatment?harm=1", status_code=303)
    return _page(request, user, patient_id, status_code=422, harm_errors=errors, harm_values=raw)


@router.get("/harms")
def harms_page(request: Request, user: Reader) -> Response:
    """Clinic-wide harms: acute-phase reactions (and every other type) at a first dose vs later
    doses, with 95 % confidence intervals."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from pedbone.store import Patient, Treatment, harm_log

    with request.app.state.db.session() as session:
        patients = session.scalars(
            select(Patient).options(
                selectinload(Patient.treatments).selectinload(Treatment.infusions),
                selectinload(Patient.adverse_events),
            )
        ).all()
        skipped: list[str] = []
        log = harm_log(patients, skipped)
    summary = log.clinic_summary()
    return render(
        request,
        "harms.html",
        summary=summary,
        skipped=len(skipped),
        harm_types=dict(HARM_TYPES),
    )
