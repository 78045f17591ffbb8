"""Forest-plot geometry and the other plots (regplot, baujat, radial, labbe, gosh, funnel of a
meta-regression, plot(influence)) checked by the artists they draw and against metafor's
coordinates (fixtures/metafor_plot_coordinates.json, written by the R script of that name)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from pedbone.evidence import (
    EvidenceInputError,
    baujat,
    cumul,
    escalc,
    forest,
    funnel,
    gosh,
    influence,
    labbe,
    radial,
    regplot,
    rma,
)
from pedbone.evidence._baujat import baujat_values

from ._metafor import assert_close, escalc_rma, load

FX = load("metafor_plot_coordinates")
CTRL = {"threshold": 1e-12}


def _artists(fig: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ax in fig.axes:
        for art in [*ax.lines, *ax.patches, *ax.texts, *ax.collections]:
            gid = art.get_gid()
            if gid:
                out[gid] = art
    return out


def _texts(fig: Any) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def _bcg() -> Any:
    d = escalc_rma()["datasets"]["bcg"]
    return escalc(
        "RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=pl.DataFrame(d), slab="author"
    )


def test_forest_square_area_is_proportional_to_weight() -> None:
    dat = _bcg()
    res = rma(dat, control=CTRL)
    art = _artists(forest(res))
    w = res.weights()
    sizes = np.array([art[f"study-{i}"].get_markersize() for i in range(res.k)])
    # markersize is the side of the square: area ∝ side², so side² ratios are weight ratios
    np.testing.assert_allclose(sizes**2 / sizes.max() ** 2, w / w.max(), rtol=1e-12)
    # a 0.2 % study against a 39 % one: the area ratio is 0.2/39, not (4 + 10·√.002)/(4 + ...)
    art2 = _artists(forest(rma([0.1, 0.2], [0.001, 0.2], method="EE")))
    w2 = rma([0.1, 0.2], [0.001, 0.2], method="EE").weights()
    ratio = (art2["study-1"].get_markersize() / art2["study-0"].get_markersize()) ** 2
    assert ratio == pytest.approx(w2[1] / w2[0], rel=1e-12)


def test_forest_numbers_repeated_labels_and_draws_ilab_favours_and_the_test() -> None:
    dat = _bcg()
    res = rma(dat, control=CTRL)
    d = escalc_rma()["datasets"]["bcg"]
    ilab = {"Vaccinated": [f"{a}/{a + b}" for a, b in zip(d["tpos"], d["tneg"], strict=True)]}
    fig = forest(res, ilab=ilab, favours=("Favours vaccine", "Favours control"))
    texts = _texts(fig)
    # dat.bcg has two "Rosenthal et al" and two "Comstock et al" rows (metafor numbers them)
    assert {"Rosenthal et al.1", "Rosenthal et al.2", "Comstock et al.2"} <= set(texts)
    assert "Vaccinated" in texts
    assert "4/123" in texts  # Aronson: 4 events among 4 + 119
    art = _artists(fig)
    assert art["favours-left"].get_text() == "Favours vaccine"
    assert art["favours-left"].xy[0] == 0.0  # anchored at the line of no effect
    want = next(c for c in escalc_rma()["rma"] if c["id"] == "bcg_RR_REML_z")["out"]
    # metafor: zval -3.9710, pval 7.15e-05 for the REML model of dat.bcg
    assert art["overall-test"].get_text() == (
        f"Test for overall effect: z = {want['zval']:.2f}, p < 0.001"
    )


def test_forest_sorting() -> None:
    res = rma(_bcg(), control=CTRL)
    art = _artists(forest(res, order="obs"))
    ys = [art[f"study-{i}"].get_ydata()[0] for i in range(res.k)]
    by_y = [i for _, i in sorted(zip(ys, range(res.k), strict=True), reverse=True)]  # top first
    assert by_y == list(np.argsort(res.yi, kind="stable"))
    art = _artists(forest(res, order="prec"))
    ys = [art[f"study-{i}"].get_ydata()[0] for i in range(res.k)]
    assert ys[int(np.argmin(res.vi))] == max(ys)  # the most precise study on top


def test_forest_of_cumulative_and_meta_regression_models() -> None:
    dat = _bcg()
    res = rma(dat, control=CTRL)
    cu = cumul(res, order=dat["year"].to_list())
    fig = forest(cu, measure="RR", cumulative=True)
    art = _artists(fig)
    for i, est in enumerate(cu["estimate"].to_list()):
        assert art[f"study-{i}"].get_xdata()[0] == est
    assert art["study-label-0"].get_text() == "Aronson"  # the first (oldest) study
    assert art["study-label-1"].get_text().startswith("+ ")  # each row adds one study
    with pytest.raises(EvidenceInputError, match="analysis scale"):
        forest(cumul(res, transf=np.exp))
    mr = rma(yi="yi", vi="vi", data=dat, mods="~ ablat", control=CTRL)
    fig = forest(mr)
    art = _artists(fig)
    fitted = mr.fitted()
    for i in range(mr.k):
        xy = art[f"fitted-{i}"].get_xy()
        assert xy[1][0] == pytest.approx(fitted[i], rel=1e-12)  # the diamond's tip: X_i b
    assert not any(g.startswith("diamond-") for g in art)
    assert any(t.startswith("Test of moderators: QM = 16.36") for t in _texts(fig))


def test_regplot_bubbles_and_line() -> None:
    mr = rma(yi="yi", vi="vi", data=_bcg(), mods="~ ablat", control=CTRL)
    art = _artists(regplot(mr))
    w = mr.weights()
    d = np.array([art[f"bubble-{i}"].get_markersize() for i in range(mr.k)])
    np.testing.assert_allclose(d**2 / d.max() ** 2, w / w.max(), rtol=1e-12)  # area ∝ weight
    xs, ys = art["fitted-line"].get_data()
    np.testing.assert_allclose(ys, mr.beta[0] + mr.beta[1] * np.asarray(xs), rtol=1e-10)
    with pytest.raises(EvidenceInputError, match="meta-regression"):
        regplot(rma(_bcg()))
    two = rma(yi="yi", vi="vi", data=_bcg(), mods="~ ablat + year")
    with pytest.raises(EvidenceInputError, match="choose one with mod="):
        regplot(two)
    assert "bubble-0" in _artists(regplot(two, mod="year"))


def _uni() -> tuple[list[float], list[float]]:
    return FX["data"]["yi"], FX["data"]["vi"]


def test_baujat_equals_metafor(tmp_path: Path) -> None:
    yi, vi = _uni()
    res = rma(yi, vi, control=CTRL)
    x, y = baujat_values(res)
    assert_close(list(x), FX["baujat"]["x"], "baujat x", rtol=1e-6)
    assert_close(list(y), FX["baujat"]["y"], "baujat y", rtol=1e-5)
    mr = rma(yi, vi, mods=FX["data"]["ablat"], control=CTRL)
    x, y = baujat_values(mr)
    assert_close(list(x), FX["baujat_mods"]["x"], "baujat x (mods)", rtol=1e-6)
    assert_close(list(y), FX["baujat_mods"]["y"], "baujat y (mods)", rtol=1e-5)
    baujat(res, path=tmp_path / "b.svg")
    assert (tmp_path / "b.svg").stat().st_size > 0


def test_radial_equals_metafor() -> None:
    yi, vi = _uni()
    art = _artists(radial(rma(yi, vi, control=CTRL)))
    xs = [art[f"study-{i}"].get_xdata()[0] for i in range(len(yi))]
    ys = [art[f"study-{i}"].get_ydata()[0] for i in range(len(yi))]
    assert_close(xs, FX["radial"]["x"], "radial x", rtol=1e-6)
    assert_close(ys, FX["radial"]["y"], "radial y", rtol=1e-6)


def test_labbe_equals_metafor() -> None:
    d = FX["data"]
    res = rma(d["yi"], d["vi"], measure="RR", control=CTRL)
    art = _artists(labbe(res, ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"]))
    xs = [art[f"study-{i}"].get_xdata()[0] for i in range(len(d["ai"]))]
    ys = [art[f"study-{i}"].get_ydata()[0] for i in range(len(d["ai"]))]
    assert_close(xs, FX["labbe"]["x"], "labbe x (control log risk)")
    assert_close(ys, FX["labbe"]["y"], "labbe y (treated log risk)")
    with pytest.raises(EvidenceInputError, match="2x2 tables"):
        labbe(res)


def test_gosh_equals_metafor() -> None:
    yi, vi = _uni()
    g = gosh(rma(yi[:6], vi[:6], control=CTRL))
    assert g.exhaustive
    assert g.incl.shape == (63, 6)
    ours = {
        tuple(row): (e, i2) for row, e, i2 in zip(g.incl.tolist(), g.estimate, g.i2, strict=True)
    }
    ref = FX["gosh_first6"]
    incl = np.array(ref["incl"]).T
    for row, e, i2 in zip(incl.tolist(), ref["estimate"], ref["I2"], strict=True):
        got_e, got_i2 = ours[tuple(row)]
        assert math.isclose(got_e, e, rel_tol=1e-5, abs_tol=1e-8)
        assert math.isclose(got_i2, i2, rel_tol=1e-4, abs_tol=1e-4)
    assert "subsets" in _artists(g.plot(highlight=0))
    sample = gosh(rma(yi, vi), subsets=50, seed=1)
    assert not sample.exhaustive
    assert sample.incl.shape == (50, 13)


def test_funnel_of_a_meta_regression_shows_residuals() -> None:
    mr = rma(yi="yi", vi="vi", data=_bcg(), mods="~ ablat", control=CTRL)
    fig = funnel(mr)
    art = _artists(fig)
    offsets = art["studies"].get_offsets()
    np.testing.assert_allclose(offsets[:, 0], mr.residuals(), rtol=1e-12)
    assert art["estimate-line"].get_xdata()[0] == 0.0
    assert fig.axes[0].get_xlabel() == "Residual value"


def test_plot_influence_has_eight_panels_and_flags_outliers() -> None:
    yi = [0.1, 0.12, 0.08, 0.11, 0.09, 0.1, 0.13, 0.07, 0.1, 1.5]
    vi = [0.01] * 9 + [0.002]
    inf = influence(rma(yi, vi, method="DL"))
    fig = inf.plot()
    assert [ax.get_title() for ax in fig.axes] == [
        "rstudent",
        "dffits",
        "cook.d",
        "cov.r",
        "tau2.del",
        "QE.del",
        "hat",
        "weight",
    ]
    art = _artists(fig)
    assert list(art["influential-cook.d"].get_xdata()) == [10]  # study 10 is flagged
