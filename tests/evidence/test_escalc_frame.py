"""escalc() results index like metafor's escalc data frame, and pandas input needs no pyarrow."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import polars as pl
import pytest

from pedbone.evidence import EscalcResult, escalc, rma

from ._metafor import escalc_rma


def _bcg_pandas() -> pd.DataFrame:
    return pd.DataFrame(escalc_rma()["datasets"]["bcg"])


def _case(case_id: str) -> dict[str, object]:
    return next(c for c in escalc_rma()["rma"] if c["id"] == case_id)


def test_pandas_frame_with_text_columns_works_without_pyarrow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if pyarrow were not installed
    df = _bcg_pandas()
    assert df["author"].dtype != np.float64  # a text column
    with pytest.raises(ImportError):  # polars alone needs pyarrow for this frame
        pl.DataFrame(df)
    dat = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=df, slab="author")
    assert dat["author"].to_list() == df["author"].tolist()
    assert dat["year"].dtype == pl.Int64  # integers stay integers (labels read 1948, not 1948.0)


def test_escalc_result_indexes_like_a_data_frame() -> None:
    dat = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=_bcg_pandas())
    # metafor: dat$yi[1] for dat.bcg RR = log((4/123)/(11/139)) = -0.8893113
    assert dat["yi"][0] == pytest.approx(-0.8893113, abs=1e-7)
    assert dat.yi[0] == pytest.approx(-0.8893113, abs=1e-7)
    assert dat.ablat.to_list()[:3] == [44, 55, 42]
    assert "alloc" in dat
    assert dat.columns[-2:] == ["yi", "vi"]
    first5 = dat[:5]
    assert isinstance(first5, EscalcResult)
    assert len(first5) == 5
    assert first5.measure == "RR"
    assert isinstance(dat[["yi", "vi"]], pl.DataFrame)
    late = dat[dat["year"] > 1960]  # as metafor's dat[dat$year > 1960, ]
    assert isinstance(late, EscalcResult)
    assert late["year"].to_list() == [y for y in dat["year"].to_list() if y > 1960]
    assert len(dat[np.asarray(dat["year"].to_numpy() > 1960)]) == len(late)
    with pytest.raises(KeyError, match="'nope' is not a column"):
        dat["nope"]
    with pytest.raises(AttributeError, match="no attribute or column 'nope'"):
        _ = dat.nope
    back = dat.to_pandas()
    assert list(back.columns) == dat.columns


def test_escalc_result_as_data_of_rma() -> None:
    dat = escalc("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=_bcg_pandas())
    res = rma(yi="yi", vi="vi", data=dat, method="REML")
    same = rma(dat, method="REML")
    assert res.estimate == same.estimate
    mr = rma(yi="yi", vi="vi", data=dat, mods="~ ablat + year", method="REML")
    want = _case("bcg_ablat_year_REML_z")  # metafor: rma(yi, vi, mods = ~ ablat + year)
    assert mr.coef_names == ("intrcpt", "ablat", "year")
    assert mr.qm == pytest.approx(want["out"]["QM"], rel=1e-6)  # type: ignore[index]
