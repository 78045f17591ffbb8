"""CLI: protocols list/show/validate, plan (--json, --ics), checklist, harms, supplements."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from pedbone.cli import app

runner = CliRunner()
TODAY = date.today()
WEIGHED = (TODAY - timedelta(days=3)).isoformat()
START = (TODAY + timedelta(days=7)).isoformat()


@pytest.fixture
def clinic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "clinic"
    d.mkdir()
    monkeypatch.setenv("PEDBONE_PROTOCOLS_DIR", str(d))
    return d


def test_protocols_list_and_show(clinic: Path) -> None:
    r = runner.invoke(app, ["protocols", "list", "--json"])
    assert r.exit_code == 0, r.output
    ids = {p["id"] for p in json.loads(r.stdout)}
    assert "pamidronate-uk-2day" in ids
    assert len(ids) == 11
    r = runner.invoke(app, ["protocols", "show", "pamidronate-uk-2day"])
    assert r.exit_code == 0
    assert "age >3 y: 1.5 mg/kg/day × 2 days, every 3 months (max 90 mg per dose) [S53]" in r.stdout
    assert "[S53] Pamidronate paediatric protocol" in r.stdout
    assert "does not replace, clinical judgement" in r.stdout
    r = runner.invoke(app, ["protocols", "show", "montreal"])
    assert r.exit_code == 2
    assert "unknown protocol 'montreal'" in r.stderr


def test_protocols_validate(clinic: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "schema_version: 1\nid: mine\nversion: '1'\ntitle: Mine\ndrug: pamidronate\nroute: iv\n"
        "sources: [S53]\nregimens:\n  - dose: {amount: 1, unit: mg/kg}\n"
        "    interval: {every: 3, unit: months}\n    sources: [S53]\n",
        encoding="utf-8",
    )
    r = runner.invoke(app, ["protocols", "validate", str(good)])
    assert r.exit_code == 0, r.output
    assert "ok (mine v1, sources S53)" in r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("unit: mg/kg", "unit: mg/lb"), encoding="utf-8")
    r = runner.invoke(app, ["protocols", "validate", str(good), str(bad)])
    assert r.exit_code == 2
    assert "(1 problem(s))" in r.stderr
    assert "line 9, regimens.0.dose.unit" in r.stderr
    # the clinic folder picks it up
    (clinic / "mine.yaml").write_text(good.read_text())
    r = runner.invoke(app, ["protocols", "list"])
    assert "clinic:" in r.stdout


def test_plan_json_and_ics(clinic: Path, tmp_path: Path) -> None:
    ics = tmp_path / "plan.ics"
    r = runner.invoke(
        app,
        [
            "plan", "--protocol", "pamidronate-henderson-2002", "--weight-kg", "35",
            "--weight-date", WEIGHED, "--start", START, "--ics", str(ics), "--json",
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["total_mg"] == 450.0  # 15 doses capped at 30 mg
    assert d["doses"][0]["capped"] is True
    assert "clinical judgement" in d["intended_use"]
    cal = Calendar.from_ical(ics.read_bytes())
    assert len(list(cal.walk("VEVENT"))) == 16


def test_plan_text_and_rounding(clinic: Path) -> None:
    r = runner.invoke(
        app,
        [
            "plan", "-p", "zoledronate-ward-2021", "--weight-kg", "23.4", "--weight-date",
            WEIGHED, "--start", START, "--rounding-step-mg", "0.1",
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert ": 1.2 mg  (0.05 mg/kg × 23.4 kg = 1.17 mg) [S35][S37] [zoledronate-ward-2021]" in (
        r.stdout
    )
    assert "does not replace, clinical judgement" in r.stdout


def test_clinic_settings_file(clinic: Path) -> None:
    (clinic / "clinic.yaml").write_text("rounding_step_mg: 0.5\nmax_weight_age_days: 7\n")
    old = (TODAY - timedelta(days=10)).isoformat()
    r = runner.invoke(
        app,
        ["plan", "-p", "zoledronate-ward-2021", "--weight-kg", "23.4", "--weight-date", old,
         "--start", TODAY.isoformat()],
    )  # fmt: skip
    assert r.exit_code == 2
    assert "limit is 7 days" in r.stderr
    assert "clinic.yaml" in r.stderr
    (clinic / "clinic.yaml").write_text("rounding_stepp_mg: 0.5\n")
    r = runner.invoke(
        app,
        ["plan", "-p", "zoledronate-ward-2021", "--weight-kg", "23.4", "--weight-date", WEIGHED,
         "--start", START],
    )  # fmt: skip
    assert r.exit_code == 2
    assert "rounding_stepp_mg: unknown key" in r.stderr


def test_plan_bad_input(clinic: Path) -> None:
    base = ["plan", "-p", "zoledronate-ward-2021", "--start", START]
    r = runner.invoke(app, base)
    assert r.exit_code == 2
    assert "no dose is computed without a weight" in r.stderr
    r = runner.invoke(app, [*base, "--weight-kg", "20", "--weight-date", "yesterday"])
    assert r.exit_code == 2
    assert "--weight-date: 'yesterday' is not a date" in r.stderr
    old = (TODAY - timedelta(days=100)).isoformat()
    r = runner.invoke(app, [*base, "--weight-kg", "20", "--weight-date", old])
    assert r.exit_code == 2
    assert "Weigh the child again" in r.stderr


def test_checklist_exit_codes(clinic: Path) -> None:
    args = [
        "checklist", "-p", "zoledronate-ward-2021", "--dose-date", "2026-12-01", "--sex", "M",
        "--age-years", "10", "--weight-date", "2026-11-25", "--height-cm", "140",
        "--labs-date", "2026-11-20", "--calcium", "2.4", "--phosphate", "1.5", "--ohd", "60",
        "--creatinine", "50", "--dental-review", "yes", "--dental-disease", "no",
        "--allergy", "no", "--previous-apr", "no", "--dehydrated", "no",
    ]  # fmt: skip
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["decision"] == "go"
    r = runner.invoke(app, [*args[:-2], "--dehydrated", "yes"])
    assert r.exit_code == 1
    assert "Decision: HOLD" in r.stdout
    r = runner.invoke(app, [*args[:-2], "--dehydrated", "maybe"])
    assert r.exit_code == 2
    assert "use yes or no" in r.stderr


def test_harms_cli(tmp_path: Path) -> None:
    inf = tmp_path / "infusions.csv"
    inf.write_text(
        "patient_id,dose_number,date,protocol_id,dose_mg\n"
        "a,1,2026-01-05,pamidronate-acott-2005,20\n"
        "a,2,2026-03-06,pamidronate-acott-2005,20\n"
        "b,1,2026-01-07,pamidronate-acott-2005,25\n"
    )
    harms = tmp_path / "harms.csv"
    harms.write_text(
        "patient_id,dose_number,type,grade,onset_days,relatedness,description\n"
        "a,1,acute_phase_reaction,2,1,probable,\n"
    )
    r = runner.invoke(app, ["harms", str(inf), str(harms), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    first = s["rates_first_vs_later"]["acute_phase_reaction"]["first"]
    assert (first["k"], first["n"]) == (1, 2)
    r = runner.invoke(app, ["harms", str(inf), str(harms), "--patient", "a"])
    assert r.exit_code == 0
    assert "acute_phase_reaction: 1 (worst CTCAE grade 2" in r.stdout
    harms.write_text(
        "patient_id,dose_number,type,grade,onset_days,relatedness,description\n"
        "a,1,acute_phase_reaction,7,1,probable,\n"
    )
    r = runner.invoke(app, ["harms", str(inf), str(harms)])
    assert r.exit_code == 2
    assert "harms.csv line 2: CTCAE grade must be an integer 1-5" in r.stderr


def test_supplements_cli() -> None:
    r = runner.invoke(app, ["supplements", "--age-years", "10", "--ohd", "40"])
    assert r.exit_code == 0, r.output
    assert "insufficiency" in r.stdout
    assert "ready for infusion (≥ 50 nmol/L): no [S54]" in r.stdout
    assert "6000 IU/day" in r.stdout
    r = runner.invoke(app, ["supplements", "--age-years", "10", "--ohd", "40", "--ohd-unit", "mg"])
    assert r.exit_code == 2


def test_harms_cli_examples_by_cycle() -> None:
    ex = Path(__file__).resolve().parents[2] / "examples" / "treatment"
    args = ["harms", str(ex / "infusions.csv"), str(ex / "harms.csv"), "--json"]
    by_dose = json.loads(runner.invoke(app, args).stdout)
    apr = by_dose["rates_first_vs_later"]["acute_phase_reaction"]
    # first doses: P001/1, P002/1, P003/1 → APR after P002/1 only: 1/3;
    # later doses: P001/2-6, P002/2 → APR after P001/2: 1/6
    assert (apr["first"]["k"], apr["first"]["n"]) == (1, 3)
    assert (apr["later"]["k"], apr["later"]["n"]) == (1, 6)
    r = runner.invoke(app, [*args, "--by", "cycle"])
    assert r.exit_code == 0, r.output
    apr = json.loads(r.stdout)["rates_first_vs_later"]["acute_phase_reaction"]
    # first cycles: P001/1 (APR on day 2), P002/1 (APR), P003/1 → 2/3; later: P001/2, P002/2 → 0/2
    assert (apr["first"]["k"], apr["first"]["n"]) == (2, 3)
    assert (apr["later"]["k"], apr["later"]["n"]) == (0, 2)


def test_protocols_schema() -> None:
    r = runner.invoke(app, ["protocols", "schema"])
    assert r.exit_code == 0
    schema = json.loads(r.stdout)
    assert {"id", "sources", "regimens", "route"} <= set(schema["required"])
    assert schema["additionalProperties"] is False


def test_supplements_age_outside_the_tables() -> None:
    # IOM tables stop before 19 y [S70]; OUH repletion before 18 y [S56]
    r = runner.invoke(app, ["supplements", "--age-years", "30", "--ohd", "40"])
    assert r.exit_code == 0, r.output
    assert "age 30 y is outside the IOM calcium and vitamin D intake tables [S70]" in r.stdout
    assert "outside the age bands of the pre-bisphosphonate repletion table" in r.stdout
    r = runner.invoke(app, ["supplements", "--age-years", "30", "--json"])
    assert json.loads(r.stdout)["notes"][0].startswith("age 30 y is outside")


def test_supplements_lines_carry_units() -> None:
    # Global Consensus: 2000 IU/day plus oral calcium 500 mg/day [S68d]
    r = runner.invoke(app, ["supplements", "--age-years", "8", "--ohd", "20"])
    assert "vitamin D 2000 IU/day; at least 3 months (minimum dose); oral calcium 500 mg/day" in (
        r.stdout
    )
    assert "vitamin D 3000–6400 IU/day" in r.stdout  # SPEG 6 mo-12 y [S68c]


def test_supplements_implausible_inputs_exit_2() -> None:
    r = runner.invoke(app, ["supplements", "--age-years", "-1"])
    assert r.exit_code == 2
    assert "age -1 years is not plausible" in r.stderr
    r = runner.invoke(app, ["supplements", "--age-years", "8", "--ohd", "2000"])
    assert r.exit_code == 2
    assert "25-OH vitamin D 2000 nmol/L is not plausible" in r.stderr


@pytest.mark.parametrize("weight", ["300", "3000", "0.01"])
def test_plan_refuses_implausible_weight(clinic: Path, weight: str) -> None:
    r = runner.invoke(
        app,
        [
            "plan", "-p", "pamidronate-uk-2day", "--weight-kg", weight,
            "--weight-date", "2026-11-25", "--start", "2026-12-01", "--age-years", "1",
        ],
    )  # fmt: skip
    assert r.exit_code == 2
    assert "is not plausible: pedbone accepts 0.2–250 kg" in r.stderr
    assert "Nothing was planned" in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("calcium", ["20", "-1"])
def test_checklist_refuses_impossible_calcium(clinic: Path, calcium: str) -> None:
    args = [
        "checklist", "-p", "zoledronate-ward-2021", "--dose-date", "2026-12-01", "--sex", "M",
        "--age-years", "10", "--weight-date", "2026-11-25", "--height-cm", "140",
        "--labs-date", "2026-11-20", "--calcium", calcium, "--phosphate", "1.5", "--ohd", "60",
        "--creatinine", "50",
    ]  # fmt: skip
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    assert f"calcium {calcium} mmol/L is not plausible" in r.stderr
    assert "GO" not in r.stdout
    assert "hypocalcaemia" not in r.stdout
