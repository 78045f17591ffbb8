"""RoB 2 decision diagrams, one test per edge [ROB2_2019], and ROBINS-I overall [ROBINSI_2016].

Expected judgements are read from the official diagrams as transcribed in
../shared/domain/review-reference.md §3.1 (the table "Algorithms").
"""

from __future__ import annotations

import pytest

from pedbone.review._rob import (
    DomainAssessment,
    Rob2Assessment,
    Rob2Domain,
    Rob2Judgement,
    RobError,
    rob2_domain,
    rob2_overall,
    robins_i_overall,
)

L, S, H = Rob2Judgement.LOW, Rob2Judgement.SOME_CONCERNS, Rob2Judgement.HIGH


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"1.2": "N"}, H),  # 1.2 N/PN -> High
        ({"1.2": "PN"}, H),
        ({"1.2": "Y", "1.1": "N"}, S),  # 1.2 Y/PY, 1.1 N/PN -> Some concerns
        ({"1.2": "PY", "1.1": "PN"}, S),
        ({"1.2": "Y", "1.1": "Y", "1.3": "N"}, L),  # 1.1 Y/PY/NI -> 1.3 N/PN/NI -> Low
        ({"1.2": "Y", "1.1": "NI", "1.3": "NI"}, L),
        ({"1.2": "Y", "1.1": "PY", "1.3": "PN"}, L),
        ({"1.2": "Y", "1.1": "Y", "1.3": "Y"}, S),  # 1.3 Y/PY -> Some concerns
        ({"1.2": "PY", "1.1": "NI", "1.3": "PY"}, S),
        ({"1.2": "NI", "1.3": "N"}, S),  # 1.2 NI -> 1.3 N/PN/NI -> Some concerns
        ({"1.2": "NI", "1.3": "NI"}, S),
        ({"1.2": "NI", "1.3": "Y"}, H),  # 1.2 NI -> 1.3 Y/PY -> High
        ({"1.2": "ni", "1.3": "py"}, H),  # answers in any case
    ],
)
def test_d1_randomisation(answers: dict[str, str], expected: Rob2Judgement) -> None:
    assert rob2_domain("D1", answers) == expected


_D2A_PART2_LOW = {"2.6": "Y"}


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"2.1": "N", "2.2": "PN", **_D2A_PART2_LOW}, L),  # both unaware -> part 1 Low
        ({"2.1": "Y", "2.2": "N", "2.3": "N", **_D2A_PART2_LOW}, L),  # 2.3 N/PN -> Low
        ({"2.1": "NI", "2.2": "N", "2.3": "NI", **_D2A_PART2_LOW}, S),  # 2.3 NI -> SC
        ({"2.1": "Y", "2.2": "Y", "2.3": "Y", "2.4": "N", **_D2A_PART2_LOW}, S),  # 2.4 N/PN
        ({"2.1": "Y", "2.2": "Y", "2.3": "PY", "2.4": "Y", "2.5": "Y", **_D2A_PART2_LOW}, S),
        ({"2.1": "Y", "2.2": "Y", "2.3": "PY", "2.4": "NI", "2.5": "N", **_D2A_PART2_LOW}, H),
        ({"2.1": "Y", "2.2": "Y", "2.3": "Y", "2.4": "PY", "2.5": "NI", **_D2A_PART2_LOW}, H),
        # Part 2: 2.6 N/PN/NI -> 2.7: N/PN -> Some concerns, Y/PY/NI -> High
        ({"2.1": "N", "2.2": "N", "2.6": "N", "2.7": "N"}, S),
        ({"2.1": "N", "2.2": "N", "2.6": "NI", "2.7": "PN"}, S),
        ({"2.1": "N", "2.2": "N", "2.6": "PN", "2.7": "Y"}, H),
        ({"2.1": "N", "2.2": "N", "2.6": "N", "2.7": "NI"}, H),
        # The domain is the worse of the two parts.
        ({"2.1": "Y", "2.2": "Y", "2.3": "NI", "2.6": "N", "2.7": "Y"}, H),
    ],
)
def test_d2_effect_of_assignment(answers: dict[str, str], expected: Rob2Judgement) -> None:
    assert rob2_domain(Rob2Domain.DEVIATIONS_ASSIGNMENT, answers) == expected


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"2.1": "N", "2.2": "N", "2.4": "N", "2.5": "NA"}, L),  # unaware, (2.4, 2.5) fine
        ({"2.1": "N", "2.2": "PN", "2.4": "PN", "2.5": "N"}, L),
        ({"2.1": "N", "2.2": "N", "2.4": "Y", "2.5": "N", "2.6": "Y"}, S),  # 2.4 Y -> 2.6
        ({"2.1": "N", "2.2": "N", "2.4": "N", "2.5": "NI", "2.6": "N"}, H),
        ({"2.1": "Y", "2.2": "N", "2.3": "Y", "2.4": "NA", "2.5": "NA"}, L),  # 2.3 Y -> (2.4, 2.5)
        ({"2.1": "Y", "2.2": "N", "2.3": "NA", "2.4": "N", "2.5": "N"}, L),
        ({"2.1": "Y", "2.2": "N", "2.3": "N", "2.6": "PY"}, S),  # 2.3 N/PN/NI -> 2.6
        ({"2.1": "PY", "2.2": "Y", "2.3": "NI", "2.6": "NI"}, H),
    ],
)
def test_d2_effect_of_adhering(answers: dict[str, str], expected: Rob2Judgement) -> None:
    assert rob2_domain(Rob2Domain.DEVIATIONS_ADHERENCE, answers) == expected


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"3.1": "Y"}, L),
        ({"3.1": "N", "3.2": "PY"}, L),
        ({"3.1": "PN", "3.2": "N", "3.3": "N"}, L),
        ({"3.1": "NI", "3.2": "NI", "3.3": "Y", "3.4": "N"}, S),
        ({"3.1": "N", "3.2": "N", "3.3": "NI", "3.4": "PN"}, S),
        ({"3.1": "N", "3.2": "N", "3.3": "PY", "3.4": "Y"}, H),
        ({"3.1": "N", "3.2": "N", "3.3": "Y", "3.4": "NI"}, H),
    ],
)
def test_d3_missing_outcome_data(answers: dict[str, str], expected: Rob2Judgement) -> None:
    assert rob2_domain("D3", answers) == expected


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"4.1": "Y"}, H),
        ({"4.1": "N", "4.2": "PY"}, H),
        ({"4.1": "N", "4.2": "N", "4.3": "N"}, L),  # assessors unaware
        ({"4.1": "NI", "4.2": "PN", "4.3": "Y", "4.4": "PN"}, L),
        ({"4.1": "N", "4.2": "N", "4.3": "Y", "4.4": "Y", "4.5": "N"}, S),
        ({"4.1": "N", "4.2": "N", "4.3": "NI", "4.4": "NI", "4.5": "PY"}, H),
        # 4.2 NI: the same chain, every Low becomes Some concerns.
        ({"4.1": "N", "4.2": "NI", "4.3": "N"}, S),
        ({"4.1": "N", "4.2": "NI", "4.3": "Y", "4.4": "N"}, S),
        ({"4.1": "N", "4.2": "NI", "4.3": "Y", "4.4": "Y", "4.5": "N"}, S),
        ({"4.1": "N", "4.2": "NI", "4.3": "Y", "4.4": "Y", "4.5": "NI"}, H),
    ],
)
def test_d4_measurement_of_the_outcome(answers: dict[str, str], expected: Rob2Judgement) -> None:
    assert rob2_domain("D4", answers) == expected


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"5.2": "Y", "5.3": "N"}, H),
        ({"5.2": "N", "5.3": "PY"}, H),
        ({"5.2": "NI", "5.3": "N"}, S),
        ({"5.2": "NI", "5.3": "NI"}, S),
        ({"5.2": "N", "5.3": "PN", "5.1": "Y"}, L),
        ({"5.2": "N", "5.3": "N", "5.1": "N"}, S),
        ({"5.2": "PN", "5.3": "N", "5.1": "NI"}, S),
    ],
)
def test_d5_selection_of_the_reported_result(
    answers: dict[str, str], expected: Rob2Judgement
) -> None:
    assert rob2_domain("D5", answers) == expected


def test_a_missing_answer_names_its_question() -> None:
    with pytest.raises(RobError, match=r"D1: answer question 1\.3"):
        rob2_domain("D1", {"1.2": "NI"})
    with pytest.raises(RobError, match="not an answer"):
        rob2_domain("D1", {"1.2": "maybe"})
    with pytest.raises(RobError, match="no signalling question"):
        rob2_domain("D1", {"1.9": "Y"})
    with pytest.raises(RobError, match="NA is not allowed"):
        rob2_domain("D3", {"3.1": "NA"})


def test_overall_is_the_worst_domain_and_overrides_need_reasons() -> None:
    assert rob2_overall([L, L, L, L, L]) == L
    assert rob2_overall([L, S, L, S, L]) == S
    assert rob2_overall([L, S, H, L, L]) == H
    domains = (
        DomainAssessment(Rob2Domain.RANDOMISATION, {"1.2": "Y", "1.1": "Y", "1.3": "N"}),
        DomainAssessment(
            Rob2Domain.DEVIATIONS_ASSIGNMENT, {"2.1": "Y", "2.2": "Y", "2.3": "NI", "2.6": "Y"}
        ),
        DomainAssessment(Rob2Domain.MISSING_DATA, {"3.1": "N", "3.2": "N", "3.3": "Y", "3.4": "N"}),
        DomainAssessment(Rob2Domain.MEASUREMENT, {"4.1": "N", "4.2": "N", "4.3": "N"}),
        DomainAssessment(Rob2Domain.SELECTION, {"5.2": "N", "5.3": "N", "5.1": "N"}),
    )
    a = Rob2Assessment(domains)
    assert a.proposed_overall == S  # three domains with some concerns, none high
    # RoB 2's second route to High is the reviewers' judgement: an override with a reason.
    b = Rob2Assessment(domains, overall_override=H, overall_reason="SC in D2, D3 and D5 together")
    assert b.overall == H
    assert b.proposed_overall == S
    with pytest.raises(RobError, match="reason"):
        Rob2Assessment(domains, overall_override=H)
    with pytest.raises(RobError, match="once each"):
        Rob2Assessment(domains[:4])
    d = DomainAssessment(
        Rob2Domain.MEASUREMENT, {"4.1": "Y"}, override=L, reason="objective outcome"
    )
    assert d.proposed == H
    assert d.judgement == L


_SEVEN = (
    "confounding",
    "selection of participants",
    "classification of interventions",
    "deviations from intended interventions",
    "missing data",
    "measurement of outcomes",
    "selection of the reported result",
)


@pytest.mark.parametrize(
    ("domains", "expected"),
    [
        (["low"] * 7, "low"),
        (["low"] * 6 + ["moderate"], "moderate"),
        (["moderate"] * 7, "moderate"),
        (["low"] * 5 + ["moderate", "serious"], "serious"),
        (["serious"] * 6 + ["critical"], "critical"),
        (["low"] * 6 + ["no_information"], "no_information"),
        (["serious"] + ["low"] * 5 + ["no_information"], "serious"),
    ],
)
def test_robins_i_overall(domains: list[str], expected: str) -> None:
    assert robins_i_overall(dict(zip(_SEVEN, domains, strict=True))) == expected


def test_robins_i_needs_all_seven_domains() -> None:
    with pytest.raises(RobError, match="missing"):
        robins_i_overall({"confounding": "low"})
