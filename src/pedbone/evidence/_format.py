"""Number formatting for every print-out, table and plot label of the evidence engine.

One place, as metafor's ``R/formatters.r`` [METAFOR]: :func:`fmtp` for p-values, :func:`fmtx`
for numbers, :func:`fmtt` for a test statistic with its p-value, :func:`stars` for the
significance codes. Their output is metafor's:

>>> fmtp(0.00002), fmtp(0.0123)
('<.0001', '0.0123')
>>> fmtp(0.00002, equal=True, sep=True), fmtp(0.0123, equal=True, sep=True)
('< .0001', '= 0.0123')
>>> fmtp(0.0004, 3, pname="p", equal=True, sep=True, add0=True)
'p < 0.001'
>>> fmtt(12.3456, "Q", 0.0123, df=5)
'Q(df = 5) = 12.3456, p-val = 0.0123'
"""

from __future__ import annotations

import math

__all__ = ["fmtp", "fmtt", "fmtx", "stars"]


def _finite_or_nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def fmtp(
    p: float | None,
    digits: int = 4,
    *,
    pname: str = "",
    equal: bool = False,
    sep: bool = False,
    add0: bool = False,
) -> str:
    """A p-value as metafor's ``fmtp``: below ``10**-digits`` it reads ``<.0001``.

    ``equal`` puts ``=`` before a shown value, ``sep`` spaces around the sign, ``add0`` a
    leading zero on the cut-off (``< 0.001``), ``pname`` a name before it (``p = 0.012``).
    NaN (R's ``NA``) reads ``NA``.
    """
    x = _finite_or_nan(p)
    digits = max(int(digits), 1)
    cutoff = "." + "0" * (digits - 1) + "1"
    gap = " " if sep else ""
    name = f"{pname} " if (pname and sep) else pname
    eq = "=" if equal else ""
    if math.isnan(x):
        return f"{name}{eq}{gap}NA"
    x = min(max(x, 0.0), 1.0)
    if x >= float(cutoff):
        return f"{name}{eq}{gap}{x:.{digits}f}"
    return f"{name}<{gap}{'0' if add0 else ''}{cutoff}"


def fmtx(x: float | None, digits: int = 4, *, add0: bool = True, postfix: str = "") -> str:
    """A number with ``digits`` decimals as metafor's ``fmtx``; NaN reads ``NA``.

    ``add0=False`` drops the leading zero (``.25``); ``postfix`` is appended (``"%"``).
    """
    v = _finite_or_nan(x)
    if math.isnan(v):
        return f"NA{postfix}"
    out = f"{v:.{digits}f}"
    if not add0:
        out = out.replace("0.", ".", 1)
    return out + postfix


def fmtt(
    val: float,
    tname: str,
    pval: float,
    *,
    df: float | None = None,
    df1: float | None = None,
    df2: float | None = None,
    digits: int = 4,
    pname: str = "p-val",
) -> str:
    """A test statistic with its degrees of freedom and p-value, as metafor's ``fmtt``.

    ``Q(df = 12) = 152.2330, p-val < .0001``; with ``df1``/``df2``
    ``F(df1 = 2, df2 = 10) = 4.1234, p-val = 0.0123``.
    """
    p = fmtp(pval, digits, equal=True, sep=True)
    if df is not None:
        return f"{tname}(df = {df:g}) = {fmtx(val, digits)}, {pname} {p}"
    if df1 is not None and df2 is not None:
        return f"{tname}(df1 = {df1:g}, df2 = {round(df2, 2):g}) = {fmtx(val, digits)}, {pname} {p}"
    return f"{tname} = {fmtx(val, digits)}, {pname} {p}"


def stars(p: float) -> str:
    """R's significance codes: ``***`` < 0.001, ``**`` < 0.01, ``*`` < 0.05, ``.`` < 0.1."""
    if math.isnan(p):
        return ""
    for cut, mark in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p < cut:
            return mark
    return ""
