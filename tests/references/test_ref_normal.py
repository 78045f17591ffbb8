"""The NumPy normal CDF used for centiles agrees with SciPy's, and keeps SciPy out of scoring."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
from scipy.special import ndtr as scipy_ndtr

from pedbone.references._normal import ndtr


def test_ndtr_matches_scipy_over_the_whole_range() -> None:
    rng = np.random.default_rng(2026)
    z = np.concatenate(
        [np.linspace(-40, 40, 400_001), rng.normal(0, 2, 200_000), [-0.66291, 0.66291, 5.6568]]
    )
    ours, ref = ndtr(z), scipy_ndtr(z)
    assert np.max(np.abs(ours - ref)) <= 2.3e-16
    normal = ref > 1e-300  # below, results are subnormal numbers with fewer digits
    assert np.max(np.abs(ours[normal] - ref[normal]) / ref[normal]) < 1e-13


def test_ndtr_special_values() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning for inf or nan
        out = ndtr(np.array([np.nan, np.inf, -np.inf, 0.0, -1.959963984540054]))
    assert np.isnan(out[0])
    assert out[1] == 1.0
    assert out[2] == 0.0
    assert out[3] == 0.5
    assert abs(out[4] - 0.025) < 1e-15  # the 2.5th centile of N(0, 1)


def test_scoring_does_not_import_scipy_and_help_does_not_import_polars() -> None:
    code = (
        "import sys, pedbone\n"
        "ref = pedbone.reference('cdc2000')\n"
        "r = ref.evaluate('height', sex='M', age_years=10.0, value=138.0)\n"
        "assert 0 < float(r.centile) < 100\n"
        "from pedbone.cli import app\n"
        "print(sorted(m for m in ('scipy', 'scipy.special', 'polars', 'rich', 'matplotlib')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
