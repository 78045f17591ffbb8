"""The scalar fast path (a handful of values, no array machinery) equals the array engine.

The array engine is the reference: for every built-in pack and measure, random sexes (in all
the spellings the engine accepts, and unknown ones), groups, ages (inside coverage, at its
edges, outside it, missing) and values (around the median, deep in WHO's restricted tails,
zero, negative, missing, infinite), the fast path gives the same status codes exactly and the
same numbers to 1e-12 (relative).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pedbone.references import Status, haz_adjusted_zscore, reference
from pedbone.references._engine import _centile
from pedbone.references._scalar import SMALL, centile_small

PACKS = ("cdc2000", "who2006", "who2007", "schafmeyer2022")
CASES = [(pid, m) for pid in PACKS for m in reference(pid).measures]
SEXES = ["M", "F", "m", "f", " female ", "Boy", "GIRL", 1, 2, 1.0, 2.0, 3, 0, "X", "", None]
RESTRICTED = [(p, m) for p, m in CASES if reference(p).info(m).restricted_tails]


def _close(fast: float, slow: float) -> bool:
    if math.isnan(slow):
        return math.isnan(fast)
    return abs(fast - slow) <= 1e-12 * max(1.0, abs(slow))


@st.composite
def queries(draw: st.DrawFn) -> tuple[str, str, Any, Any, float, float, bool]:
    pid, measure = draw(st.sampled_from(CASES))
    ref = reference(pid)
    lo, hi = ref.coverage_years(measure)
    sex = draw(st.sampled_from(SEXES))
    group = draw(st.sampled_from([*ref.groups, None, "nope"])) if ref.groups else None
    age = draw(
        st.one_of(
            st.floats(lo, hi),
            st.sampled_from([lo, hi, lo - 1e-9, hi + 1e-9, lo - 1.0, hi + 3.0, math.nan]),
        )
    )
    inverse = draw(st.booleans())
    z = draw(st.floats(-7.0, 7.0))
    if inverse:
        value = draw(st.one_of(st.just(z), st.sampled_from([math.nan, math.inf, -math.inf])))
    else:
        ok_sex = "F" if sex in ("F", "f", 2) else "M"
        ok_age = min(max(age, lo), hi) if math.isfinite(age) else lo
        g = group if group in ref.groups else (ref.groups[0] if ref.groups else None)
        median_like = float(ref.value(measure, sex=[ok_sex], age_years=[ok_age], z=[z], group=g)[0])
        value = draw(
            st.one_of(
                st.just(median_like if math.isfinite(median_like) else 1.0),
                st.sampled_from([0.0, -1.0, math.nan, math.inf, -math.inf]),
                st.floats(1e-3, 500.0),
            )
        )
    return pid, measure, sex, group, age, value, inverse


@settings(max_examples=600, deadline=None, derandomize=True)
@given(q=queries())
def test_fast_path_equals_the_array_engine(
    q: tuple[str, str, Any, Any, float, float, bool],
) -> None:
    from scipy.special import ndtr

    pid, measure, sex, group, age, value, inverse = q
    ref = reference(pid)
    info = ref.info(measure)
    fast = ref._run_small(info, measure, sex, age, value, group, inverse=inverse)
    assert fast is not None, "the fast path must take a scalar query"
    slow = ref._run_arrays(info, measure, sex, age, value, group, inverse=inverse)
    assert fast[2] == slow[2] == ()
    assert fast[1].tolist() == slow[1].tolist()
    assert fast[1].dtype == slow[1].dtype
    assert fast[0].dtype == slow[0].dtype
    assert _close(float(fast[0][0]), float(slow[0][0])), (fast[0], slow[0])
    if not inverse:  # and the public result, centile included
        res = ref.evaluate(measure, sex=sex, age_years=age, value=value, group=group)
        assert res.z.shape == res.status.shape == ()
        assert _close(float(res.centile), float(ndtr(slow[0][0]) * 100.0))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    qs=st.lists(queries(), min_size=2, max_size=6),
    inverse=st.booleans(),
    group_list=st.booleans(),
)
def test_short_lists_equal_the_array_engine(
    qs: list[tuple[str, str, Any, Any, float, float, bool]], inverse: bool, group_list: bool
) -> None:
    pid, measure, _s, group = qs[0][:4]
    ref = reference(pid)
    if ref.groups and group_list:  # one group per element (names of other packs: unknown)
        group = [q[3] if isinstance(q[3], str) else None for q in qs]
    lo, hi = ref.coverage_years(measure)
    info = ref.info(measure)
    sexes = [q[2] for q in qs]
    ages = [lo + (q[4] % 1.0) * (hi - lo) if math.isfinite(q[4]) else q[4] for q in qs]
    values = [q[5] for q in qs]
    fast = ref._run_small(info, measure, sexes, ages, values, group, inverse=inverse)
    assert fast is not None
    slow = ref._run_arrays(info, measure, sexes, ages, values, group, inverse=inverse)
    assert fast[2] == slow[2] == (len(qs),)
    assert fast[1].tolist() == slow[1].tolist()
    assert all(_close(a, b) for a, b in zip(fast[0].tolist(), slow[0].tolist(), strict=True))


@pytest.mark.parametrize(("pid", "measure"), RESTRICTED)
@pytest.mark.parametrize("z", [-6.5, -3.2, 3.2, 6.5])
def test_restricted_tails_match(pid: str, measure: str, z: float) -> None:
    """WHO's restricted tails (|Z| > 3, linear in the SD2-SD3 gap) on both paths."""
    ref = reference(pid)
    lo, hi = ref.coverage_years(measure)
    ages = np.linspace(lo, hi, SMALL + 8)
    for sex in ("M", "F"):
        ys = ref.value(measure, sex=[sex] * ages.size, age_years=ages, z=np.full(ages.size, z))
        zs = ref.zscore(measure, sex=[sex] * ages.size, age_years=ages, value=ys)
        for a, y, zz in zip(ages[::5], ys[::5], zs[::5], strict=True):
            y1 = float(ref.value(measure, sex=sex, age_years=float(a), z=z))
            z1 = float(ref.zscore(measure, sex=sex, age_years=float(a), value=float(y)))
            assert _close(y1, float(y))
            assert _close(z1, float(zz))
            assert abs(z1 - z) < 1e-9  # and the round trip holds


def test_the_fast_path_is_taken_for_scalars_and_short_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref = reference("cdc2000")

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("array engine used")

    monkeypatch.setattr(ref, "_run_arrays", refuse)
    # CDC 2000 height, boy of 10 y, 138 cm: -0.0939... (the package doctest)
    assert float(ref.zscore("height", sex="M", age_years=10.0, value=138.0)) == pytest.approx(
        -0.09399, abs=1e-5
    )
    z = ref.zscore("height", sex=["M", "F", "X"], age_years=[10.0, 10.0, 10.0], value=138.0)
    assert z.shape == (3,)
    assert math.isnan(z[2])
    res = ref.evaluate("height", sex=["M"], age_years=[1.0], value=[80.0])
    assert res.status.tolist() == [Status.AGE_OUT_OF_RANGE]
    ref.evaluate("height", sex=np.array(["M", "F"]), age_years=np.array([10.0, 12.0]), value=140)


def test_other_inputs_fall_back_to_the_array_engine() -> None:
    """What the fast path does not take behaves exactly as before (the array engine decides)."""
    ref = reference("cdc2000")
    with pytest.raises(TypeError, match="booleans"):
        ref.zscore("height", sex=True, age_years=10.0, value=138.0)
    # a number given as text: NumPy converts it, so the answer is the same as for the number
    assert float(ref.zscore("height", sex="M", age_years="10", value=138.0)) == float(
        ref.zscore("height", sex="M", age_years=10.0, value=138.0)
    )
    with pytest.raises(ValueError, match="broadcast"):  # lists of different lengths
        ref.zscore("height", sex=["M", "F"], age_years=[10.0, 11.0, 12.0], value=138.0)
    with pytest.raises(ValueError, match="no population groups"):
        ref.zscore("height", sex="M", age_years=10.0, value=138.0, group="white")
    many = ref.zscore("height", sex="M", age_years=np.full(SMALL + 1, 10.0), value=138.0)
    assert many.shape == (SMALL + 1,)


def test_small_centiles_equal_scipy() -> None:
    from scipy.special import ndtr

    z = np.array([-40.0, -8.0, -3.0, -0.70710678, -0.5, 0.0, 1e-300, 0.5, 0.7071068, 2.0, 9.0])
    np.testing.assert_allclose(centile_small(z.tolist()), ndtr(z) * 100.0, rtol=1e-13, atol=0)
    assert math.isnan(centile_small([math.nan])[0])
    np.testing.assert_array_equal(_centile(z), np.asarray(centile_small(z.tolist())))


# --- HAZ-adjusted Z for one child (the clinic page) -------------------------------------------
SYNTHETIC_DXA = Path(__file__).parent / "fixtures" / "synthetic_dxa_pack"  # synthetic equations


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    measure=st.sampled_from(["spine_abmd", "spine_bmc"]),
    sex=st.sampled_from(["F", "M", "X", 1, 2]),
    age=st.one_of(st.floats(0.0, 25.0), st.just(math.nan)),
    value=st.one_of(st.floats(0.05, 60.0), st.sampled_from([0.0, -1.0, math.nan])),
    size=st.one_of(
        st.tuples(st.just("height"), st.floats(40.0, 210.0) | st.just(math.nan)),
        st.tuples(st.just("haz"), st.floats(-5.0, 5.0) | st.just(math.nan)),
    ),
    listed=st.booleans(),
)
def test_haz_adjusted_one_child_equals_the_array_code(
    measure: str,
    sex: Any,
    age: float,
    value: float,
    size: tuple[str, float],
    listed: bool,
) -> None:
    pack = reference(str(SYNTHETIC_DXA))
    kind, amount = size

    def wrap(x: Any) -> Any:
        return [x] if listed else x

    one = haz_adjusted_zscore(
        pack, measure, sex=wrap(sex), age_years=wrap(age), value=wrap(value),
        **{kind: wrap(amount)},
    )  # fmt: skip
    arrays = haz_adjusted_zscore(
        pack, measure, sex=np.array([sex], dtype=object), age_years=np.array([age]),
        value=np.array([value]), **{kind: np.array([amount])},
    )  # fmt: skip
    assert one.z.shape == ((1,) if listed else ())
    assert one.status.reshape(-1).tolist() == arrays.status.tolist()
    assert _close(float(one.z.reshape(-1)[0]), float(arrays.z[0]))
    assert one.haz is not None
    assert arrays.haz is not None
    assert _close(float(one.haz.reshape(-1)[0]), float(arrays.haz[0]))
    assert (one.haz_reference, one.method) == (arrays.haz_reference, arrays.method)


def test_haz_adjusted_one_child_is_taken() -> None:
    from pedbone.references._adjust import _haz_adjusted_one

    pack = reference(str(SYNTHETIC_DXA))
    # girl 10 y, 0.598 g/cm2, HAZ -2: (-0.8 + 0.9) / 0.9 (test_ref_adjust_age's hand sums)
    res = _haz_adjusted_one(pack, "spine_abmd", "cdc2000", "F", 10.0, 0.598, None, -2.0, None)
    assert res is not None
    assert float(res.z) == pytest.approx(0.1 / 0.9, rel=1e-12)
    listed = _haz_adjusted_one(pack, "spine_abmd", "cdc2000", ["F"], [10.0], [0.6], None, [0], None)
    assert listed is not None
    assert listed.z.shape == (1,)
    # two children, or arrays: the array code
    assert (
        _haz_adjusted_one(pack, "spine_abmd", "cdc2000", ["F", "M"], 10.0, 0.6, None, 0, None)
        is None
    )
    assert (
        _haz_adjusted_one(pack, "spine_abmd", "cdc2000", np.array(["F"]), 10.0, 0.6, None, 0, None)
        is None
    )


@pytest.mark.parametrize("group", ["white", "Black", "nope", None])
@pytest.mark.parametrize("age", [7.0, 12.5, math.nan])
def test_haz_adjusted_one_child_with_groups(group: str | None, age: float) -> None:
    """A pack with groups (and no equations: NO_ADJUSTMENT, or the group/age status first)."""
    pack = reference("schafmeyer2022")
    kw: dict[str, Any] = {"sex": ["F"], "age_years": [age], "value": [0.8], "height": [150.0]}
    one = haz_adjusted_zscore(pack, "leg_abmd", group=[group], **kw)
    arrays = haz_adjusted_zscore(
        pack, "leg_abmd", group=np.array([group], dtype=object),
        **{k: np.array(v, dtype=object if k == "sex" else None) for k, v in kw.items()},
    )  # fmt: skip
    assert one.status.tolist() == arrays.status.tolist()
    assert one.status.tolist() != [Status.OK]
    assert np.isnan(one.z[0])
