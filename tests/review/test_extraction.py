"""Dual independent extraction: comparison field by field and consensus with who and why."""

from __future__ import annotations

import pytest

from pedbone.review._extraction import (
    DEFAULT_FORM,
    ConsensusValue,
    Extraction,
    ExtractionError,
    Value,
    compare,
    consensus,
)


def _x(reviewer: str, **values: str) -> Extraction:
    return Extraction(
        "Klein 2005",
        reviewer,
        {k.replace("__", "."): Value(v, "Table 2") for k, v in values.items()},
    )


def test_equal_values_in_other_spellings_agree() -> None:
    a = _x(
        "ann", design="RCT", arm1__n_randomised="21", follow_up_months="1.50", population="Burns"
    )
    b = _x(
        "bob", design="rct", arm1__n_randomised="21", follow_up_months="1,5", population=" burns "
    )
    assert compare(a, b) == []


def test_every_differing_or_missing_field_is_a_discrepancy_in_form_order() -> None:
    a = _x("ann", design="RCT", arm1__n_randomised="21", arm2__n_randomised="22")
    b = _x("bob", design="CCT", arm1__n_randomised="21", follow_up_months="6")
    keys = [d.key for d in compare(a, b)]
    assert keys == ["design", "follow_up_months", "arm2.n_randomised"]


def test_consensus_needs_a_decision_with_a_reason_for_every_discrepancy() -> None:
    a = _x("ann", design="RCT", arm1__n_randomised="21")
    b = _x("bob", design="CCT", arm1__n_randomised="21")
    with pytest.raises(ExtractionError, match="without a decision: design"):
        consensus(a, b, [])
    with pytest.raises(ExtractionError, match="reason"):
        consensus(a, b, [ConsensusValue("design", Value("RCT"), "arbiter", "  ")])
    agreed = consensus(
        a, b, [ConsensusValue("design", Value("RCT", "p. 2"), "cath", "methods: 'randomised'")]
    )
    assert agreed["design"].raw == "RCT"
    assert agreed["arm1.n_randomised"].raw == "21"


def test_bad_values_are_refused_with_their_field() -> None:
    with pytest.raises(ExtractionError, match=r"arm1.n_randomised: '21.5' is not a whole count"):
        _x("ann", arm1__n_randomised="21.5")
    with pytest.raises(ExtractionError, match="not one of"):
        _x("ann", design="trial")
    with pytest.raises(ExtractionError, match="ambiguous"):
        _x("ann", follow_up_months="1,500")
    with pytest.raises(ExtractionError, match="no field"):
        _x("ann", colour="blue")
    with pytest.raises(ExtractionError, match="two different reviewers"):
        compare(_x("ann"), _x("ann"))
    assert DEFAULT_FORM.spec("outcome.ls_abmd.z_change.arm1.mean").kind == "number"
