"""Invariances every meta-analytic model must satisfy, on random data (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pedbone.evidence import rma

METHODS = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")

studies = st.integers(min_value=3, max_value=12).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k),
        st.lists(st.floats(0.01, 1.0, allow_nan=False), min_size=k, max_size=k),
    )
)


@settings(max_examples=25, deadline=None)
@given(data=studies, method=st.sampled_from(METHODS), seed=st.integers(0, 2**16))
def test_order_of_studies_does_not_matter(
    data: tuple[list[float], list[float]], method: str, seed: int
) -> None:
    yi, vi = np.array(data[0]), np.array(data[1])
    perm = np.random.default_rng(seed).permutation(len(yi))
    a, b = rma(yi, vi, method=method), rma(yi[perm], vi[perm], method=method)
    assert b.estimate == pytest.approx(a.estimate, rel=1e-7, abs=1e-9)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-6, abs=1e-9)
    assert b.q == pytest.approx(a.q, rel=1e-9, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(data=studies, method=st.sampled_from(METHODS), shift=st.floats(-5, 5))
def test_shifting_outcomes_shifts_only_the_estimate(
    data: tuple[list[float], list[float]], method: str, shift: float
) -> None:
    yi, vi = np.array(data[0]), np.array(data[1])
    a, b = rma(yi, vi, method=method), rma(yi + shift, vi, method=method)
    assert b.estimate == pytest.approx(a.estimate + shift, rel=1e-7, abs=1e-7)
    assert b.se == pytest.approx(a.se, rel=1e-6)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-6, abs=1e-9)
    assert b.i2 == pytest.approx(a.i2, rel=1e-6, abs=1e-7)


@settings(max_examples=25, deadline=None)
@given(data=studies, method=st.sampled_from(METHODS), scale=st.floats(0.1, 10))
def test_rescaling_outcomes_rescales_tau2_and_keeps_tests(
    data: tuple[list[float], list[float]], method: str, scale: float
) -> None:
    # y → c·y, v → c²·v: beta → c·beta, tau² → c²·tau², z, p, Q and I² unchanged
    yi, vi = np.array(data[0]), np.array(data[1])
    a, b = rma(yi, vi, method=method), rma(scale * yi, scale**2 * vi, method=method)
    assert b.estimate == pytest.approx(scale * a.estimate, rel=1e-6, abs=1e-8)
    assert b.tau2 == pytest.approx(scale**2 * a.tau2, rel=1e-5, abs=1e-9)
    assert b.q == pytest.approx(a.q, rel=1e-8)
    assert b.pval == pytest.approx(a.pval, rel=1e-5, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(data=studies)
def test_dl_matches_its_closed_form(data: tuple[list[float], list[float]]) -> None:
    # tau²_DL = max(0, (Q - (k-1)) / (Σw - Σw²/Σw)), w = 1/v
    yi, vi = np.array(data[0]), np.array(data[1])
    w = 1 / vi
    ybar = np.sum(w * yi) / np.sum(w)
    q = float(np.sum(w * (yi - ybar) ** 2))
    tau2 = max(0.0, (q - (len(yi) - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    res = rma(yi, vi, method="DL")
    assert res.q == pytest.approx(q, rel=1e-9, abs=1e-12)
    assert res.tau2 == pytest.approx(tau2, rel=1e-9, abs=1e-12)
    wr = 1 / (vi + tau2)
    assert res.estimate == pytest.approx(np.sum(wr * yi) / np.sum(wr), rel=1e-9, abs=1e-12)
    assert res.se == pytest.approx(np.sqrt(1 / np.sum(wr)), rel=1e-9)
