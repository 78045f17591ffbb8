"""One formatter for p-values and numbers (metafor's R/formatters.r) and metafor's aliases."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from pedbone.evidence import influence, regtest, rma, rma_mh
from pedbone.evidence._format import fmtp, fmtt, fmtx, stars

from ._metafor import fixtures

SRC = Path(__file__).resolve().parents[2] / "src" / "pedbone" / "evidence"


@pytest.mark.parametrize(
    ("p", "kwargs", "expected"),
    [
        # metafor: fmtp(c(0.00002, 0.0123, NA)) -> "<.0001" "0.0123" "NA"
        (0.00002, {}, "<.0001"),
        (0.0123, {}, "0.0123"),
        (0.0001, {}, "0.0001"),  # the cut-off itself is shown (p >= .0001)
        (math.nan, {}, "NA"),
        # fmtp(p, equal=TRUE, sep=TRUE): the text form of print.rma.uni
        (0.00002, {"equal": True, "sep": True}, "< .0001"),
        (0.0123, {"equal": True, "sep": True}, "= 0.0123"),
        # forest.rma: fmtp(p, digits=3, pname="p", add0=TRUE, sep=TRUE, equal=TRUE)
        (
            0.0004,
            {"digits": 3, "pname": "p", "equal": True, "sep": True, "add0": True},
            "p < 0.001",
        ),
        (0.25, {"digits": 3, "pname": "p", "equal": True, "sep": True, "add0": True}, "p = 0.250"),
        (1.2, {}, "1.0000"),  # clipped to [0, 1] as metafor
    ],
)
def test_fmtp_prints_as_metafor(p: float, kwargs: dict[str, object], expected: str) -> None:
    assert fmtp(p, **kwargs) == expected  # type: ignore[arg-type]


def test_fmtx_fmtt_and_stars() -> None:
    assert fmtx(0.25) == "0.2500"
    assert fmtx(0.25, 2, add0=False) == ".25"
    assert fmtx(math.nan) == "NA"
    assert fmtt(152.233, "Q", 1e-12, df=12) == "Q(df = 12) = 152.2330, p-val < .0001"
    assert fmtt(4.0, "F", 0.05, df1=2, df2=10) == "F(df1 = 2, df2 = 10) = 4.0000, p-val = 0.0500"
    assert [stars(p) for p in (0.0005, 0.005, 0.03, 0.07, 0.2)] == ["***", "**", "*", ".", ""]


def test_no_module_formats_p_values_by_itself() -> None:
    # the cut-off strings live in _format.py only; every print-out goes through fmtp
    pattern = re.compile(r"""["'](<\s?\.0+1|<\s?0\.0+1)""")
    offenders = [
        p.name for p in SRC.glob("*.py") if p.name != "_format.py" and pattern.search(p.read_text())
    ]
    assert offenders == []


def test_printouts_use_metafor_style() -> None:
    d = fixtures()["uni_data"]["bcg_rr"]
    res = rma(d["yi"], d["vi"], method="REML")
    text = res.summary()
    assert "Q(df = 12) = 152.2330, p-val < .0001" in text  # metafor: dat.bcg REML print-out
    assert "<.0001" in text  # table form in the coefficient row
    rt = regtest(res)
    assert re.search(r"p (=|<) \.?\d", rt.summary())


def test_metafor_aliases_read_the_one_spelling() -> None:
    d = fixtures()["uni_data"]["bcg_rr"]
    res = rma(d["yi"], d["vi"], mods=d["year"], method="REML")
    assert (res.QE, res.QEp, res.I2, res.H2) == (res.q, res.q_pval, res.i2, res.h2)
    assert (res.QM, res.QMp) == (res.qm, res.qm_pval)
    t = fixtures()["tables"]["bcg"]
    mh = rma_mh(ai=t["ai"], bi=t["bi"], ci=t["ci"], di=t["di"], measure="RR")
    assert (mh.QE, mh.QEp, mh.I2) == (mh.q, mh.q_pval, mh.i2)
    inf = influence(rma(d["yi"], d["vi"]))
    assert inf.QE_del is inf.q_del
    rt = regtest(rma(d["yi"], d["vi"]))
    assert rt.est == rt.estimate
    assert "estimate" in rt.to_dict()
