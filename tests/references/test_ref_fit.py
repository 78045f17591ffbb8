"""The LMS reference builder: derivatives, recovery of known LMS tables, agreement with R's
VGAM lms.bcn, diagnostics by hand, and `pedbone refs build` end to end."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import pedbone
from pedbone.cli import app
from pedbone.references import FitError, build_reference, fit_lms
from pedbone.references._fit import _loglik_terms, centile_shares, q_statistics, worm_points
from pedbone.references._lms import lms_value

FIXTURES = Path(__file__).parent / "fixtures" / "lms_vgam"
Z3, Z97 = -1.880794, 1.880794  # standard normal quantiles of 3% and 97%


def test_loglik_derivatives_match_finite_differences() -> None:
    rng = np.random.default_rng(7)
    n = 40
    logy = rng.normal(4.0, 0.2, n)
    L = rng.normal(0.0, 1.0, n)
    L[:5] = [0.0, 1e-9, -1e-6, 1e-3, 2.0]  # the series branch near L = 0 and beyond
    mu = rng.normal(4.0, 0.1, n)
    sigma = rng.normal(-2.5, 0.3, n)
    _, g, H = _loglik_terms(logy, L, mu, sigma)
    assert g is not None
    assert H is not None
    eps = 1e-6
    for k in range(3):
        up = [L.copy(), mu.copy(), sigma.copy()]
        dn = [L.copy(), mu.copy(), sigma.copy()]
        up[k] += eps
        dn[k] -= eps
        ll_up, g_up, _ = _loglik_terms(logy, *up)
        ll_dn, g_dn, _ = _loglik_terms(logy, *dn)
        assert g_up is not None
        assert g_dn is not None
        np.testing.assert_allclose((ll_up - ll_dn) / (2 * eps), g[:, k], atol=1e-6)
        np.testing.assert_allclose((g_up - g_dn) / (2 * eps), H[:, :, k], atol=1e-5)


def _simulate(pack: str, measure: str, sex: str, lo: float, hi: float, n: int, seed: int):
    ref = pedbone.reference(pack)
    rng = np.random.default_rng(seed)
    age = rng.uniform(lo, hi, n)
    value = ref.value(measure, sex=sex, age_years=age, z=rng.normal(size=n))
    return ref, age, value


def _worst_centile_error(fit, ref, measure: str, sex: str, ages) -> float:  # type: ignore[no-untyped-def]
    worst = 0.0
    for z in (Z3, 0.0, Z97):
        truth = ref.value(measure, sex=sex, age_years=ages, z=z)
        worst = max(worst, float(np.max(np.abs(fit.centile_curve(ages, z) / truth - 1))))
    return worst


@pytest.mark.parametrize(
    ("pack", "measure", "sex", "lo", "hi", "edf", "tol"),
    [
        # CDC 2000 stature, boys 2-20 y: the pubertal spurt needs many edf for M
        ("cdc2000", "height", "M", 2.0, 20.0, (2, 12, 4), 0.015),
        # WHO 2007 BMI, girls 5-19 y: skewed (L about -1 to -2), S and L vary with age
        ("who2007", "bmi", "F", 5.0, 19.0, (3, 6, 3), 0.025),
    ],
)
def test_known_lms_table_is_recovered(
    pack: str,
    measure: str,
    sex: str,
    lo: float,
    hi: float,
    edf: tuple[int, int, int],
    tol: float,
) -> None:
    # 4000 simulated measurements (fixed seed). Stated tolerance: the fitted P3, P50 and P97
    # are within 1.5% (stature) / 2.5% (BMI) of the true ones at every month from lo + 0.5 to
    # hi - 0.5 y, and the true P3/P50/P97 values get Z-scores within 0.3 of -1.88/0/1.88.
    # (Sampling error alone: the SE of a local median from ~150 points is ~0.1 SD.)
    ref, age, value = _simulate(pack, measure, sex, lo, hi, 4000, 2026)
    fit = fit_lms(age, value, edf=edf)
    assert fit.edf == pytest.approx(edf, abs=1e-6)
    grid = np.arange(lo + 0.5, hi - 0.5, 1 / 12)
    assert _worst_centile_error(fit, ref, measure, sex, grid) < tol
    for z in (Z3, 0.0, Z97):
        zz = fit.zscore(grid, ref.value(measure, sex=sex, age_years=grid, z=z))
        assert float(np.max(np.abs(zz - z))) < 0.3


def test_default_criterion_chooses_a_good_fit() -> None:
    # GAIC(k = 3) search over integer edf; 2500 measurements of CDC stature, boys
    ref, age, value = _simulate("cdc2000", "height", "M", 2.0, 20.0, 2500, 11)
    fit = fit_lms(age, value, gaic_k=3.0)
    assert "chosen by minimum GAIC, k = 3" in fit.criterion
    assert fit.edf[1] >= 6  # the spurt cannot be fitted by a near-linear median
    assert fit.search[0][1] == pytest.approx(fit.gaic)  # the best tried model is the one kept
    grid = np.arange(2.5, 19.5, 1 / 12)
    assert _worst_centile_error(fit, ref, "height", "M", grid) < 0.02


def test_agrees_with_vgam_lms_bcn() -> None:
    # Fixture: make_vgam_fixture.R (VGAM 1.1.7 lms.bcn, s(age, df = c(1, 5, 2))) on 2000
    # synthetic boys from the CDC stature table. Same edf here: (2, 6, 3). The smoothers differ
    # (VGAM: smoothing splines on M; pedbone: P-splines on log M), so the stated tolerances
    # are: M within 0.75%, S within 2.5%, L within 0.15, P3/P50/P97 within 1%, 2.5-19.5 y.
    data = np.loadtxt(FIXTURES / "synthetic_cdc_height_boys.csv", delimiter=",", skiprows=1)
    vgam = np.loadtxt(FIXTURES / "vgam_lms_bcn_fit.csv", delimiter=",", skiprows=1)
    fit = fit_lms(data[:, 0], data[:, 1], edf=(2, 6, 3))
    ages = vgam[:, 0]
    L, M, S = fit.lms(ages)
    assert float(np.max(np.abs(L - vgam[:, 1]))) < 0.15
    assert float(np.max(np.abs(M / vgam[:, 2] - 1))) < 0.0075
    assert float(np.max(np.abs(S / vgam[:, 3] - 1))) < 0.025
    for z in (Z3, 0.0, Z97):
        theirs = lms_value(np.full(ages.size, z), vgam[:, 1], vgam[:, 2], vgam[:, 3])
        assert float(np.max(np.abs(fit.centile_curve(ages, z) / theirs - 1))) < 0.01


def test_fit_refuses_bad_input() -> None:
    age = np.linspace(2, 10, 100)
    with pytest.raises(FitError, match="at least 50"):
        fit_lms(age[:49], np.full(49, 1.0))
    with pytest.raises(FitError, match="not positive"):
        fit_lms(age, np.where(age > 5, 1.0, -1.0))
    with pytest.raises(FitError, match="edf must be"):
        fit_lms(age, np.full(100, 1.0), edf=(1.5, 4, 2))
    fit = fit_lms(age, 1.0 + 0.01 * np.sin(age * 7), edf=(1, 3, 1))
    L, _M, _S = fit.lms([1.0, 2.0, 10.0, 10.5])  # outside the data: never extrapolated
    assert math.isnan(L[0])
    assert math.isnan(L[3])
    assert not math.isnan(L[1])


def test_diagnostics_by_hand() -> None:
    # worm plot of z = (-1, 1): p = (0.25, 0.75), unit-normal quantiles -+0.674490
    x, dev, band = worm_points([1.0, -1.0])
    np.testing.assert_allclose(x, [-0.6744897501960817, 0.6744897501960817])
    np.testing.assert_allclose(dev, [-1 + 0.6744897501960817, 1 - 0.6744897501960817])
    # band = 1.96 sqrt(p(1-p)/n) / phi(x) = 1.96 * sqrt(0.1875/2) / 0.3177766 = 1.888519
    np.testing.assert_allclose(band, [1.888519, 1.888519], rtol=1e-5)
    # shares: below P3 (z < -1.8808) 1 of 4, below P50 2 of 4, below P97 (z < 1.8808) 3 of 4
    shares = dict(centile_shares([-3.0, -0.1, 0.5, 2.5], (3, 50, 97)))
    assert shares == {3.0: 25.0, 50.0: 50.0, 97.0: 75.0}


def test_q_statistics_flag_a_shifted_fit() -> None:
    _ref, age, value = _simulate("cdc2000", "height", "F", 2.0, 20.0, 3000, 5)
    fit = fit_lms(age, value, edf=(2, 10, 4))
    good = q_statistics(age, fit.zscore(age, value), fit)
    assert len(good.groups) == 10
    assert sum(n for _, _, n in good.groups) == 3000
    assert min(good.p) > 0.001
    shifted = q_statistics(age, fit.zscore(age, value) + 0.3, fit)  # median off by 0.3 SD
    assert shifted.p[0] < 1e-6
    # Z1 = mean * sqrt(n): with 300 per group and a shift of 0.3 it is near 0.3 * 17.3 = 5.2
    assert float(np.mean(shifted.z[:, 0] - good.z[:, 0])) == pytest.approx(0.3 * math.sqrt(300))


def _write_data(path: Path, n: int = 1200, extra: str = "") -> None:
    ref = pedbone.reference("cdc2000")
    rng = np.random.default_rng(3)
    sex = np.where(rng.random(n) < 0.5, "M", "F")
    age = rng.uniform(5.0, 15.0, n)
    h = ref.value("height", sex=sex, age_years=age, z=rng.normal(size=n))
    lines = ["id,sex,age_years,height_cm"]
    rows = enumerate(zip(sex, age, h, strict=True))
    lines += [f"c{i},{s},{a:.3f},{v:.1f}" for i, (s, a, v) in rows]
    path.write_text("\n".join(lines) + "\n" + extra)


def test_refs_build_cli_end_to_end(tmp_path: Path) -> None:
    data = tmp_path / "controls.csv"
    _write_data(data, extra="c9001,X,7,120\nc9002,F,abc,-4\n")
    runner = CliRunner()
    args = [
        "refs",
        "build",
        str(data),
        "--measure",
        "height",
        "--value",
        "height_cm",
        "--population",
        "SYNTHETIC children simulated from CDC 2000",
        "--description",
        "<script>alert(1)</script> test data",
        "--synthetic",
        "--id",
        "local_height_test",
        "-o",
        str(tmp_path / "pack"),
        "--edf",
        "2,6,3",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "line 1202: sex 'X' is not M/F (or 1/2)" in result.output
    assert "line 1203: age_years 'abc' is not a number; height_cm -4 is not positive" in (
        result.output
    )
    assert not (tmp_path / "pack").exists()  # nothing written
    result = runner.invoke(app, [*args, "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert "edf L 2.00 M 6.00 S 3.00; median " in result.output
    assert " cm at 10.0 y (values are read as cm)" in result.output
    pack = pedbone.reference(str(tmp_path / "pack"))
    info = pack.describe()
    assert info["synthetic"] is True
    prov = pack.meta.raw["provenance"]
    assert prov["data"]["rows_read"] == 1202
    assert prov["data"]["rows_used"] == 1200
    assert prov["data"]["rows_excluded"] == {
        "sex not M/F (or 1/2)": 1,
        "age_years not a number": 1,
        "height_cm not positive": 1,
    }
    assert sum(prov["n"]["M"]["by_age_band_years"].values()) == prov["n"]["M"]["total"]
    assert prov["n"]["M"]["total"] + prov["n"]["F"]["total"] == 1200
    assert prov["fit"]["F"]["edf"] == {"L": 2.0, "M": 6.0, "S": 3.0}
    # the pack's Z-scores are the fit's at tabulated (monthly) ages and in between
    fit = build_reference(
        data,
        tmp_path / "again",
        measure="height",
        value_column="height_cm",
        pack_id="again",
        population="SYNTHETIC",
        edf=(2, 6, 3),
        skip_invalid=True,
    ).fits["F"]
    ages = np.array([6.0, 7.5, 10.0 + 1 / 24, 14.0])
    values = np.array([115.0, 126.0, 140.0, 160.0])
    z_pack = pack.zscore("height", sex="F", age_years=ages, value=values)
    np.testing.assert_allclose(z_pack, fit.zscore(ages, values), atol=2e-4)
    report = (tmp_path / "pack" / "diagnostics" / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert "<script>" not in report
    assert "Q statistics by age group" in report
    for name in ("centiles_M.png", "worm_F.png"):
        assert (tmp_path / "pack" / "diagnostics" / name).stat().st_size > 10_000
    # an existing pack is not replaced without --overwrite
    result = runner.invoke(app, [*args, "--skip-invalid"])
    assert result.exit_code == 2
    assert "--overwrite" in result.output


def test_refs_build_needs_both_sexes(tmp_path: Path) -> None:
    data = tmp_path / "boys.csv"
    rows = [f"M,{5 + i / 20:.2f},{110 + i / 4:.1f}" for i in range(100)]
    data.write_text("sex,age_years,height_cm\n" + "\n".join(rows) + "\n")
    result = CliRunner().invoke(
        app,
        [
            "refs",
            "build",
            str(data),
            "--measure",
            "height",
            "--value",
            "height_cm",
            "--population",
            "x",
            "-o",
            str(tmp_path / "p"),
        ],
    )
    assert result.exit_code == 2
    assert "a pack needs both sexes; no usable rows for F" in result.output


def test_build_with_groups_writes_curves_per_sex_and_group(tmp_path: Path) -> None:
    # SYNTHETIC: two invented groups, the second 3% taller than CDC 2000 at every age
    ref = pedbone.reference("cdc2000")
    rng = np.random.default_rng(9)
    lines = ["sex,age_years,height_cm,population"]
    for group, factor in (("alpha", 1.0), ("beta", 1.03)):
        for sex in ("M", "F"):
            age = rng.uniform(6.0, 12.0, 300)
            h = ref.value("height", sex=sex, age_years=age, z=rng.normal(size=300)) * factor
            lines += [f"{sex},{a:.3f},{v:.1f},{group}" for a, v in zip(age, h, strict=True)]
    data = tmp_path / "grouped.csv"
    data.write_text("\n".join(lines) + "\n")
    result = build_reference(
        data,
        tmp_path / "grouped",
        measure="height",
        value_column="height_cm",
        group_column="population",
        pack_id="grouped",
        population="SYNTHETIC",
        synthetic=True,
        edf=(1, 4, 2),
    )
    assert sorted(result.fits) == ["F/alpha", "F/beta", "M/alpha", "M/beta"]
    pack = pedbone.reference(str(tmp_path / "grouped"))
    assert pack.groups == ("alpha", "beta")
    medians = {
        g: float(pack.value("height", sex="M", age_years=9.0, z=0.0, group=g))
        for g in ("alpha", "beta")
    }
    truth = float(ref.value("height", sex="M", age_years=9.0, z=0.0))
    assert medians["alpha"] == pytest.approx(truth, rel=0.01)
    assert medians["beta"] == pytest.approx(truth * 1.03, rel=0.01)
    assert pack.meta.raw["provenance"]["n"]["M/beta"]["total"] == 300
