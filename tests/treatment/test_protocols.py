"""Protocol files: shipped content, validation errors, clinic folder overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from pedbone.bibliography import sources
from pedbone.treatment import (
    PROTOCOLS_ENV,
    ProtocolError,
    available_protocols,
    get_protocol,
    load_protocol_file,
    parse_protocol,
    user_protocols_dir,
)

SHIPPED = {
    "alendronate-golden-2005",
    "alendronate-ward-2011",
    "neridronate-idolazzi-2017",
    "pamidronate-9mgkg-year",
    "pamidronate-acott-2005",
    "pamidronate-henderson-2002",
    "pamidronate-uk-2day",
    "risedronate-bishop-2013",
    "risedronate-iwasaki",
    "zoledronate-0.1mgkg-year",
    "zoledronate-ward-2021",
}

GOOD = """\
schema_version: 1
id: local-test
version: "2"
title: Local test protocol
drug: pamidronate
route: iv
sources: [S53]
regimens:
  - dose: {amount: 1.0, unit: mg/kg}
    interval: {every: 3, unit: months}
    sources: [S53]
"""


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    d = tmp_path / "protocols"
    d.mkdir()
    return d


def test_shipped_protocols_load_and_cite_known_sources(empty_dir: Path) -> None:
    infos = available_protocols(empty_dir)
    assert {i.protocol.id for i in infos} == SHIPPED
    known = set(sources())
    for i in infos:
        assert i.origin == "shipped"
        assert i.protocol.sources, i.protocol.id
        for key in i.protocol.all_source_keys():
            assert key in known, (i.protocol.id, key)
        for r in i.protocol.regimens:
            assert r.sources


def test_shipped_doses_match_the_digest(empty_dir: Path) -> None:
    h = get_protocol("pamidronate-henderson-2002", empty_dir)
    r = h.regimens[0]
    assert r.dose is not None
    assert r.interval is not None
    assert (r.dose.amount, r.dose.unit, r.days_per_cycle) == (1.0, "mg/kg", 3)
    assert (r.min_dose_mg, r.max_dose_mg) == (15, 30)  # "not < 15 mg nor > 30 mg" [S24c]
    assert (r.interval.every, r.interval.unit) == (3, "months")
    uk = get_protocol("pamidronate-uk-2day", empty_dir)
    doses = [
        (x.dose.amount if x.dose else None, x.interval.every if x.interval else None)
        for x in uk.regimens
    ]
    assert doses == [(0.75, 2), (1.125, 3), (1.5, 3)]  # [S53]
    assert uk.regimens[2].max_dose_mg == 90
    za = get_protocol("zoledronate-ward-2021", empty_dir)
    assert za.regimens[0].dose is not None
    assert za.regimens[0].dose.amount == 0.05
    assert za.checks.renal_limit is not None
    assert za.checks.renal_limit.min_value == 35
    ner = get_protocol("neridronate-idolazzi-2017", empty_dir)
    assert ner.regimens[0].max_dose_mg == 100  # [S51]


def test_unconfirmed_rules_are_not_shipped(empty_dir: Path) -> None:
    """Montreal schedule, lower first ZA dose, 4/5 mg ZA max: recall only, never shipped."""
    for i in available_protocols(empty_dir):
        p = i.protocol
        assert p.first_cycle is None, p.id
        assert p.max_mg_per_year is None, p.id
        if p.drug == "zoledronic acid":
            assert all(r.max_dose_mg is None for r in p.regimens)
        for r in p.regimens:  # Montreal: 0.5 mg/kg/day × 3 days
            assert not (r.dose and r.dose.amount == 0.5 and r.days_per_cycle == 3)
    assert not any("clodronate" in i.protocol.drug for i in available_protocols(empty_dir))


def _error(text: str) -> str:
    with pytest.raises(ProtocolError) as exc:
        parse_protocol(text, "clinic.yaml")
    return str(exc.value)


def test_missing_source_is_an_error_with_line() -> None:
    msg = _error(GOOD.replace("sources: [S53]\nregimens", "regimens"))
    assert "clinic.yaml: invalid protocol" in msg
    assert "sources: required key is missing" in msg
    broken_regimen = GOOD.replace("    sources: [S53]\n", "")
    msg = _error(broken_regimen)
    # the regimen starts on line 9 of the file
    assert "line 9, regimens.0.sources: required key is missing" in msg


def test_empty_source_list_is_an_error() -> None:
    msg = _error(GOOD.replace("sources: [S53]\nregimens", "sources: []\nregimens"))
    assert "sources" in msg
    assert "at least 1 item" in msg


def test_unknown_source_key_is_an_error() -> None:
    msg = _error(GOOD.replace("    sources: [S53]", "    sources: [S999]"))
    assert "unknown source key(s) S999" in msg


def test_local_source_keys_are_accepted() -> None:
    text = GOOD.replace("    sources: [S53]", "    sources: [LOCAL1]") + (
        "local_sources:\n  LOCAL1: Our clinic's pamidronate guideline v3 (2025)\n"
    )
    p = parse_protocol(text)
    assert p.source_text("LOCAL1").startswith("Our clinic")


def test_unknown_key_is_an_error_with_line() -> None:
    typo = "    intervall: {every: 3, unit: months}\n    interval:"
    msg = _error(GOOD.replace("    interval:", typo))
    # line 8 "regimens:", line 9 "- dose: ...", line 10 the misspelt key
    assert "(1 problem(s))" in msg
    assert "line 10, regimens.0.intervall: unknown key" in msg


def test_bad_units_are_errors() -> None:
    msg = _error(GOOD.replace("unit: mg/kg", "unit: mg/lb"))
    assert "regimens.0.dose.unit" in msg
    assert "'mg/lb'" in msg
    msg = _error(GOOD.replace("unit: months", "unit: fortnights"))
    assert "regimens.0.interval.unit" in msg
    assert "'fortnights'" in msg
    msg = _error(GOOD.replace("route: iv", "route: im"))
    assert "route" in msg
    assert "'im'" in msg


def test_inconsistent_regimens_are_errors() -> None:
    msg = _error(GOOD.replace("    interval: {every: 3, unit: months}\n", ""))
    assert "needs an 'interval'" in msg
    two = (
        GOOD + "  - dose: {amount: 2, unit: mg/kg}\n    interval: {every: 1, unit: months}\n"
        "    sources: [S53]\n"
    )
    assert "band_by" in _error(two)
    assert "min_dose_mg is above max_dose_mg" in _error(
        GOOD.replace(
            "    sources: [S53]\n", "    min_dose_mg: 40\n    max_dose_mg: 30\n    sources: [S53]\n"
        )
    )
    assert "not valid YAML" in _error("id: [unclosed")
    assert "must be a YAML mapping" in _error("- a\n- b\n")


def test_clinic_folder_overrides_and_adds(empty_dir: Path) -> None:
    (empty_dir / "local.yaml").write_text(GOOD, encoding="utf-8")
    override = GOOD.replace("id: local-test", "id: zoledronate-ward-2021").replace(
        'version: "2"', 'version: "clinic-7"'
    )
    (empty_dir / "za.yaml").write_text(override, encoding="utf-8")
    infos = {i.protocol.id: i for i in available_protocols(empty_dir)}
    assert infos["local-test"].origin.endswith("local.yaml")
    assert infos["zoledronate-ward-2021"].overrides_shipped
    assert get_protocol("zoledronate-ward-2021", empty_dir).version == "clinic-7"
    assert get_protocol("pamidronate-uk-2day", empty_dir).version == "2"


def test_broken_clinic_file_is_reported(empty_dir: Path) -> None:
    (empty_dir / "broken.yaml").write_text(GOOD.replace("sources: [S53]\nregimens", "regimens"))
    with pytest.raises(ProtocolError, match=r"broken\.yaml: invalid protocol"):
        available_protocols(empty_dir)


def test_duplicate_clinic_ids_are_an_error(empty_dir: Path) -> None:
    (empty_dir / "a.yaml").write_text(GOOD)
    (empty_dir / "b.yaml").write_text(GOOD)
    with pytest.raises(ProtocolError, match="already defined"):
        available_protocols(empty_dir)


def test_unknown_protocol_is_an_error(empty_dir: Path) -> None:
    with pytest.raises(ProtocolError, match=r"unknown protocol 'montreal'.*pamidronate-uk-2day"):
        get_protocol("montreal", empty_dir)


def test_env_var_names_the_clinic_folder(empty_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROTOCOLS_ENV, str(empty_dir))
    assert user_protocols_dir() == empty_dir
    (empty_dir / "local.yaml").write_text(GOOD)
    assert get_protocol("local-test").title == "Local test protocol"


def test_load_protocol_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="cannot read"):
        load_protocol_file(tmp_path / "nope.yaml")


def test_describe_names_sources(empty_dir: Path) -> None:
    lines = get_protocol("pamidronate-henderson-2002", empty_dir).describe()
    assert lines[0] == (
        "1 mg/kg/day × 3 days, every 3 months (not < 15 mg, max 30 mg per dose) [S24c]"
    )
    assert lines[1] == "course: 5 cycles, 1 year, then review [S24c]"


def test_examples_validate() -> None:
    """The clinic example folder loads: one local protocol, settings beside it."""
    from pedbone.treatment import load_clinic_settings

    folder = Path(__file__).resolve().parents[2] / "examples" / "treatment" / "clinic"
    infos = {i.protocol.id: i for i in available_protocols(folder)}
    local = infos["local-pamidronate-3day"]
    assert local.origin.endswith("local-pamidronate-3day.yaml")
    assert "LOCAL-PAM-2025" in local.protocol.all_source_keys()
    s = load_clinic_settings(folder / "clinic.yaml")
    assert s.rounding_step("zoledronic acid") == 0.05
    assert s.rounding_step("pamidronate") == 0.5
    assert s.max_weight_age_days == 14
