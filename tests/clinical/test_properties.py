"""Property tests: monotone thresholds, unit equivalence, and the ISCD rule on random input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pedbone.clinical import grade_from_loss, nutrition

from ._helpers import patient, run, scan

_ORDER = {"deficiency": 0, "insufficiency": 1, "sufficiency": 2, "above_range": 3}


@given(st.floats(0, 100), st.floats(0, 100))
def test_genant_grade_is_monotone(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert grade_from_loss(lo) <= grade_from_loss(hi)


@given(
    st.floats(0, 400),
    st.floats(0, 400),
    st.sampled_from(["global_consensus", "iom", "endocrine_society"]),
)
def test_vitamin_d_status_is_monotone(a: float, b: float, scheme: str) -> None:
    lo, hi = sorted((a, b))
    s_lo = nutrition.vitamin_d_status(lo, "nmol/L", scheme=scheme)  # type: ignore[arg-type]
    s_hi = nutrition.vitamin_d_status(hi, "nmol/L", scheme=scheme)  # type: ignore[arg-type]
    assert _ORDER[s_lo.category] <= _ORDER[s_hi.category]


@given(st.integers(0, 1600))
def test_ng_per_ml_and_nmol_per_l_agree(tenths: int) -> None:
    ng = tenths / 10  # 0.0-160.0 ng/mL in 0.1 steps; × 2.5 is exact at the cut-offs
    a = nutrition.vitamin_d_status(ng, "ng/mL")
    b = nutrition.vitamin_d_status(ng * 2.5, "nmol/L")
    assert a.category == b.category


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-6, 4, allow_nan=False), min_size=1, max_size=3))
def test_without_fractures_low_iff_lowest_z_at_most_minus_2(zs: list[float]) -> None:
    # [S1]/[S3]: no fracture → never osteoporosis; low for age exactly when Z ≤ −2.0.
    zs = [round(z, 2) for z in zs]
    scans = [scan(f"20{20 + i}-03-01", spine_z=z) for i, z in enumerate(zs)]
    a = run(patient(dxa_scans=scans))
    latest = zs[-1]
    expected = "low_bone_density" if latest <= -2.0 else "not_low"
    assert a.classification == expected
