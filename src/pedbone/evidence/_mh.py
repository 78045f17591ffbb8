"""Mantel–Haenszel pooling of 2×2 tables (odds ratio, risk ratio, risk difference).

Numbers follow R metafor 3.8 ``rma.mh()`` [METAFOR]: the Mantel–Haenszel estimator, the
Robins–Breslow–Greenland variance of the log odds ratio, the Greenland–Robins variance of the
log risk ratio and risk difference, the Cochran–Mantel–Haenszel test, the Breslow–Day test and
Tarone's corrected version, and Cochran's Q computed from the per-study estimates.

Zero-cell rules are metafor's: ``add``, ``to`` and ``drop00`` take one value or a pair; the
first element governs the per-study estimates ``yi``/``vi`` (used for Q, I² and the forest plot),
the second the tables entering the Mantel–Haenszel sums (defaults: ``add=(1/2, 0)``,
``to=("only0", "none")``, ``drop00=(True, False)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from pedbone.evidence._format import fmtp, fmtt, fmtx
from pedbone.evidence._utils import MetaforNames

__all__ = ["MHResult", "rma_mh"]

FloatArray = NDArray[np.float64]
ToRule = Literal["all", "only0", "if0all", "none"]
_TO_RULES = ("all", "only0", "if0all", "none")
_MEASURE_LABEL = {
    "OR": "odds ratio",
    "RR": "risk ratio",
    "RD": "risk difference",
    "PETO": "Peto odds ratio",
}


@dataclass(frozen=True)
class MHResult(MetaforNames):
    """Result of a Mantel–Haenszel (``rma_mh``) or Peto (``rma_peto``) analysis.

    Attribute names follow :func:`pedbone.evidence.rma` results. ``estimate`` is on the
    analysis scale (log OR / log RR for ratio measures). Tests that cannot be computed (for
    instance Tarone's test with fewer than two informative tables) are ``nan`` and
    ``notes`` says why.
    """

    method: str
    measure: str
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    q: float
    q_pval: float
    i2: float
    h2: float
    k: int
    k_yi: int
    k_pos: int
    level: float
    yi: FloatArray
    vi: FloatArray
    slab: list[str]
    cmh: float = float("nan")
    cmh_pval: float = float("nan")
    cochran: float = float("nan")
    cochran_pval: float = float("nan")
    breslow_day: float = float("nan")
    breslow_day_pval: float = float("nan")
    tarone: float = float("nan")
    tarone_pval: float = float("nan")
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: the input 2×2 tables (rows ai, bi, ci, di; one column per study), for refits
    tables: FloatArray | None = field(default=None, repr=False)
    #: studies whose table entered the pooled estimate (after ``drop00[1]``)
    table_used: NDArray[np.bool_] | None = field(default=None, repr=False)
    #: the zero-cell and test options of the fit (add, to, drop00, correct)
    options: dict[str, Any] = field(default_factory=dict, repr=False)
    #: Mantel–Haenszel (or Peto) weights in percent, NaN for tables not pooled
    weights_pct: FloatArray | None = field(default=None, repr=False)

    def weights(self) -> FloatArray:
        """Study weights in percent, as metafor's ``weights.rma.mh`` / ``weights.rma.peto``.

        OR: b·c/N; RR: c·n1/N; RD: n1·n2/N; Peto: the hypergeometric variance V.
        """
        if self.weights_pct is None:
            raise ValueError("this result carries no weights")
        return self.weights_pct

    # fixed-effect methods: no between-study variance
    @property
    def tau2(self) -> float:
        """Between-study variance: 0 by construction (equal-effects model)."""
        return 0.0

    @property
    def tau(self) -> float:
        """Square root of ``tau2`` (0)."""
        return 0.0

    @property
    def pi_lb(self) -> float:
        """Prediction interval lower bound (equals ``ci_lb`` when tau² = 0)."""
        return self.ci_lb

    @property
    def pi_ub(self) -> float:
        """Prediction interval upper bound (equals ``ci_ub`` when tau² = 0)."""
        return self.ci_ub

    @property
    def test(self) -> str:
        """Inference uses the standard normal distribution."""
        return "z"

    @property
    def is_ratio(self) -> bool:
        """True for ratio measures analysed on the log scale."""
        return self.measure in ("OR", "RR", "PETO", "IRR")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary (``nan`` becomes ``None``)."""

        def clean(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)

        out: dict[str, Any] = {
            "method": self.method,
            "measure": self.measure,
            "k": self.k,
            "k_yi": self.k_yi,
            "k_pos": self.k_pos,
            "level": self.level,
        }
        for name in (
            "estimate",
            "se",
            "zval",
            "pval",
            "ci_lb",
            "ci_ub",
            "tau2",
            "q",
            "q_pval",
            "i2",
            "h2",
            "pi_lb",
            "pi_ub",
            "cmh",
            "cmh_pval",
            "cochran",
            "cochran_pval",
            "breslow_day",
            "breslow_day_pval",
            "tarone",
            "tarone_pval",
        ):
            out[name] = clean(float(getattr(self, name)))
        if self.is_ratio:
            out["exp_estimate"] = clean(float(np.exp(self.estimate)))
            out["exp_ci_lb"] = clean(float(np.exp(self.ci_lb)))
            out["exp_ci_ub"] = clean(float(np.exp(self.ci_ub)))
        out["notes"] = list(self.notes)
        return out

    def summary(self) -> str:
        """Text summary laid out like metafor's print-out."""
        title = (
            "Equal-Effects Model (Mantel-Haenszel method)"
            if self.method == "MH"
            else "Equal-Effects Model (Peto's method)"
        )
        lines = [f"{title} (k = {self.k})", ""]
        if self.k_yi > 1:
            lines += [
                f"I^2 (total heterogeneity / total variability):  {fmtx(self.i2)}%",
                f"H^2 (total variability / sampling variability): {fmtx(self.h2)}",
                "",
                "Test for Heterogeneity:",
                fmtt(self.q, "Q", self.q_pval, df=self.k_yi - 1),
                "",
            ]
        scale = " (log scale)" if self.is_ratio else ""
        lines += [
            f"Model Results{scale}:",
            "",
            f"{'estimate':>10} {'se':>9} {'zval':>9} {'pval':>8} {'ci.lb':>9} {'ci.ub':>9}",
            f"{fmtx(self.estimate):>10} {fmtx(self.se):>9} {fmtx(self.zval):>9} "
            f"{fmtp(self.pval):>8} {fmtx(self.ci_lb):>9} {fmtx(self.ci_ub):>9}",
        ]
        if self.is_ratio:
            name = "OR" if self.measure in ("OR", "PETO") else self.measure
            lines += [
                "",
                f"Model Results ({name} scale):",
                "",
                f"{'estimate':>10} {'ci.lb':>9} {'ci.ub':>9}",
                f"{fmtx(float(np.exp(self.estimate))):>10} "
                f"{fmtx(float(np.exp(self.ci_lb))):>9} {fmtx(float(np.exp(self.ci_ub))):>9}",
            ]
        if self.method == "MH" and self.measure == "OR":
            lines += [
                "",
                f"Cochran-Mantel-Haenszel Test:    CMH = {fmtx(self.cmh)}, df = 1, "
                f"p-val {fmtp(self.cmh_pval, equal=True, sep=True)}",
                f"Tarone's Test for Heterogeneity: X^2 = {fmtx(self.tarone)}, "
                f"df = {max(self.k_pos - 1, 0)}, "
                f"p-val {fmtp(self.tarone_pval, equal=True, sep=True)}",
            ]
        if self.notes:
            lines += ["", *(f"Note: {n}" for n in self.notes)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# --------------------------------------------------------------------------- inputs


def _pair(value: Any, second: Any) -> tuple[Any, Any]:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"expected one value or a pair, got {len(value)} values: {value!r}")
        return value[0], value[1]
    return value, second


def _column(x: ArrayLike | str | None, data: Any, name: str) -> FloatArray | None:
    if x is None:
        return None
    if isinstance(x, str):
        if data is None:
            raise ValueError(f"'{name}' names column {x!r} but no data= was given")
        if x not in data.columns:
            raise ValueError(f"column {x!r} (for '{name}') not found; columns: {data.columns}")
        raw = data.get_column(x).to_numpy()
    else:
        raw = np.asarray(x)
    try:
        return np.asarray(raw, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as err:
        raise ValueError(f"'{name}' must be numeric: {err}") from None


def _labels(slab: Sequence[Any] | str | None, data: Any, k: int) -> list[str]:
    if slab is None:
        return [f"Study {i + 1}" for i in range(k)]
    if isinstance(slab, str):
        if data is None or slab not in data.columns:
            raise ValueError(f"slab column {slab!r} not found")
        values = data.get_column(slab).to_list()
    else:
        values = list(slab)
    if len(values) != k:
        raise ValueError(f"slab has {len(values)} labels for {k} studies")
    if any(v is None for v in values):
        raise ValueError("study labels (slab) contain missing values")
    return [str(v) for v in values]


def _tables(
    ai: ArrayLike | str | None,
    bi: ArrayLike | str | None,
    ci: ArrayLike | str | None,
    di: ArrayLike | str | None,
    n1i: ArrayLike | str | None,
    n2i: ArrayLike | str | None,
    data: Any,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    a = _column(ai, data, "ai")
    b = _column(bi, data, "bi")
    c = _column(ci, data, "ci")
    d = _column(di, data, "di")
    n1 = _column(n1i, data, "n1i")
    n2 = _column(n2i, data, "n2i")
    if a is None or c is None:
        raise ValueError("must give ai and ci, plus bi and di (or n1i and n2i)")
    if b is None:
        if n1 is None:
            raise ValueError("must give bi or n1i")
        b = n1 - a
    elif n1 is not None and np.any(np.abs(n1 - (a + b)) > 0):
        bad = int(np.flatnonzero(np.abs(n1 - (a + b)) > 0)[0])
        raise ValueError(f"study {bad + 1}: n1i is not equal to ai + bi")
    if d is None:
        if n2 is None:
            raise ValueError("must give di or n2i")
        d = n2 - c
    elif n2 is not None and np.any(np.abs(n2 - (c + d)) > 0):
        bad = int(np.flatnonzero(np.abs(n2 - (c + d)) > 0)[0])
        raise ValueError(f"study {bad + 1}: n2i is not equal to ci + di")
    k = a.size
    for name, arr in (("bi", b), ("ci", c), ("di", d)):
        if arr.size != k:
            raise ValueError(f"'{name}' has {arr.size} values, 'ai' has {k}")
    for name, arr in (("ai", a), ("bi", b), ("ci", c), ("di", d)):
        neg = np.flatnonzero(arr < 0)
        if neg.size:
            raise ValueError(
                f"study {int(neg[0]) + 1}: negative count in '{name}' "
                "(or an event count larger than its group size)"
            )
    if k == 0:
        raise ValueError("no studies given")
    return a, b, c, d


def _add_rule(
    a: FloatArray,
    b: FloatArray,
    c: FloatArray,
    d: FloatArray,
    add: float,
    to: str,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """metafor's continuity correction: ``to`` in all / only0 / if0all / none."""
    if to not in _TO_RULES:
        raise ValueError(f"unknown 'to' rule {to!r}; use one of {_TO_RULES}")
    if to == "none" or add == 0:
        return a, b, c, d
    if to == "all":
        sel = np.ones(a.shape, dtype=bool)
    else:
        with np.errstate(invalid="ignore"):
            sel = (a == 0) | (b == 0) | (c == 0) | (d == 0)
        if to == "if0all":
            sel = np.full(a.shape, bool(np.any(sel)))
    add_v = np.where(sel, add, 0.0)
    return a + add_v, b + add_v, c + add_v, d + add_v


def _double_zero(a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray) -> NDArray[np.bool_]:
    with np.errstate(invalid="ignore"):
        out = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    return np.asarray(out, dtype=bool)


def table_effects(
    measure: str,
    a: FloatArray,
    b: FloatArray,
    c: FloatArray,
    d: FloatArray,
    *,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Per-study ``yi``/``vi`` of a 2×2 table as metafor's ``escalc`` (OR, RR, RD, PETO).

    Non-finite results become ``nan`` (metafor recodes them to ``NA``).
    """
    a, b, c, d = (np.array(x, dtype=np.float64) for x in (a, b, c, d))
    if drop00:
        dz = _double_zero(a, b, c, d)
        for arr in (a, b, c, d):
            arr[dz] = np.nan
    a, b, c, d = _add_rule(a, b, c, d, add, to)
    n1 = a + b
    n2 = c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = a / n1
        p2 = c / n2
        if measure == "OR":
            yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
            vi = 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "RR":
            yi = np.log(p1) - np.log(p2)
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
        elif measure == "RD":
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        elif measure == "PETO":
            ni = n1 + n2
            xt = a + c
            yt = b + d
            ei = xt * n1 / ni
            vv = xt * yt * (n1 / ni) * (n2 / ni) / (ni - 1)
            yi = (a - ei) / vv
            vi = 1 / vv
        else:  # pragma: no cover - guarded by callers
            raise ValueError(f"unsupported measure {measure!r}")
    bad = ~np.isfinite(yi) | ~np.isfinite(vi) | (vi < 0)
    yi = np.where(bad, np.nan, yi)
    vi = np.where(bad, np.nan, vi)
    return yi, vi


def _prepare(
    ai: ArrayLike | str | None,
    bi: ArrayLike | str | None,
    ci: ArrayLike | str | None,
    di: ArrayLike | str | None,
    n1i: ArrayLike | str | None,
    n2i: ArrayLike | str | None,
    data: Any,
    slab: Sequence[Any] | str | None,
    measure: str,
    add: float | tuple[float, float],
    to: str | tuple[str, str],
    drop00: bool | tuple[bool, bool],
) -> dict[str, Any]:
    a, b, c, d = _tables(ai, bi, ci, di, n1i, n2i, data)
    labels = _labels(slab, data, a.size)
    add1, add2 = _pair(add, 0.0)
    to1, to2 = _pair(to, "none")
    drop1, drop2 = _pair(drop00, False)
    for rule in (to1, to2):
        if rule not in _TO_RULES:
            raise ValueError(f"unknown 'to' rule {rule!r}; use one of {_TO_RULES}")
    yi, vi = table_effects(measure, a, b, c, d, add=add1, to=to1, drop00=drop1)
    notes: list[str] = []
    a2, b2, c2, d2 = (x.copy() for x in (a, b, c, d))
    if drop2:
        dz = _double_zero(a2, b2, c2, d2)
        for arr in (a2, b2, c2, d2):
            arr[dz] = np.nan
    has_na = np.isnan(a2) | np.isnan(b2) | np.isnan(c2) | np.isnan(d2)
    if np.any(has_na):
        notes.append(
            f"{int(has_na.sum())} table(s) omitted from the pooled estimate "
            f"(missing counts or double-zero studies): "
            + ", ".join(labels[i] for i in np.flatnonzero(has_na))
        )
    keep = ~has_na
    a2, b2, c2, d2 = a2[keep], b2[keep], c2[keep], d2[keep]
    if a2.size < 1:
        raise ValueError("no tables left to pool (k = 0 after removing missing/double-zero)")
    yv_ok = ~(np.isnan(yi) | np.isnan(vi))
    if not np.all(yv_ok):
        notes.append(
            f"{int((~yv_ok).sum())} study estimate(s) undefined (e.g. double-zero study): "
            + ", ".join(labels[i] for i in np.flatnonzero(~yv_ok))
            + "; left out of Q and I²"
        )
    a2, b2, c2, d2 = _add_rule(a2, b2, c2, d2, add2, to2)
    return {
        "a": a2,
        "b": b2,
        "c": c2,
        "d": d2,
        "yi_all": yi,
        "vi_all": vi,
        "yi": yi[yv_ok],
        "vi": vi[yv_ok],
        "slab": labels,
        "notes": notes,
        "tables": np.vstack([a, b, c, d]),
        "table_used": keep,
        "options": {"add": add, "to": to, "drop00": drop00},
    }


def _spread(values: FloatArray, used: NDArray[np.bool_]) -> FloatArray:
    """Place per-pooled-table values at their study positions (NaN elsewhere)."""
    out = np.full(used.shape, np.nan)
    with np.errstate(invalid="ignore"):
        out[used] = values
    return out


def _rmax0(x: Any) -> float:
    """R's ``max(0, x)``: NaN propagates."""
    v = float(x)
    return v if np.isnan(v) else max(0.0, v)


def _level_z(level: float) -> float:
    if not 0 < level < 100:
        raise ValueError(f"level must be between 0 and 100 (a percentage), got {level}")
    return float(stats.norm.isf((1 - level / 100) / 2))


def _heterogeneity(
    yi: FloatArray, vi: FloatArray, beta: float
) -> tuple[float, float, float, float]:
    k = yi.size
    if k <= 1:
        return 0.0, 1.0, 0.0, 1.0
    if not np.isfinite(beta):
        nan = float("nan")
        return nan, nan, nan, nan
    q = max(0.0, float(np.sum((yi - beta) ** 2 / vi)))
    q_p = float(stats.chi2.sf(q, k - 1))
    i2 = max(0.0, 100 * (q - (k - 1)) / q) if q > 0 else 0.0
    h2 = q / (k - 1)
    return q, q_p, i2, h2


def rma_mh(
    ai: ArrayLike | str | None = None,
    bi: ArrayLike | str | None = None,
    ci: ArrayLike | str | None = None,
    di: ArrayLike | str | None = None,
    n1i: ArrayLike | str | None = None,
    n2i: ArrayLike | str | None = None,
    *,
    measure: str = "OR",
    data: Any = None,
    slab: Sequence[Any] | str | None = None,
    add: float | tuple[float, float] = 0.5,
    to: str | tuple[str, str] = "only0",
    drop00: bool | tuple[bool, bool] = True,
    correct: bool = True,
    level: float = 95,
    x1i: ArrayLike | str | None = None,
    x2i: ArrayLike | str | None = None,
    t1i: ArrayLike | str | None = None,
    t2i: ArrayLike | str | None = None,
) -> MHResult:
    """Mantel–Haenszel equal-effects meta-analysis of 2×2 tables, as metafor's ``rma.mh``.

    With ``measure="IRR"`` or ``"IRD"`` it pools incidence rates instead: events ``x1i``,
    ``x2i`` over person-times ``t1i``, ``t2i`` (see :mod:`pedbone.evidence._mh_rates`).

    Arguments are named as metafor's: event counts ``ai``/``ci`` and non-events ``bi``/``di``
    (or group sizes ``n1i``/``n2i``) for the treatment and control arms; arrays or, with
    ``data=`` (a polars DataFrame), column names. ``measure`` is ``"OR"``, ``"RR"`` or
    ``"RD"``. For the odds ratio the result also carries the Cochran–Mantel–Haenszel test
    (``cmh``, with continuity correction if ``correct``), the Breslow–Day test and Tarone's
    test for heterogeneity (df = number of informative tables − 1).

    Example
    -------
    >>> res = rma_mh(ai=[4, 6], bi=[36, 34], ci=[8, 9], di=[32, 31], measure="OR")
    >>> round(float(np.exp(res.estimate)), 4)
    0.5286
    """
    measure = measure.upper()
    if measure in ("IRR", "IRD"):
        from pedbone.evidence._mh_rates import mh_rates

        return mh_rates(  # type: ignore[no-any-return]
            measure=measure,
            x1i=x1i,
            x2i=x2i,
            t1i=t1i,
            t2i=t2i,
            data=data,
            slab=slab,
            add=add,
            to=to,
            drop00=drop00,
            correct=correct,
            level=level,
        )
    if measure not in ("OR", "RR", "RD"):
        raise ValueError(
            f"Mantel-Haenszel supports measure OR, RR, RD, IRR or IRD, not {measure!r}"
        )
    z_crit = _level_z(level)
    p = _prepare(ai, bi, ci, di, n1i, n2i, data, slab, measure, add, to, drop00)
    a: FloatArray = p["a"]
    b: FloatArray = p["b"]
    c: FloatArray = p["c"]
    d: FloatArray = p["d"]
    notes: list[str] = p["notes"]
    n1 = a + b
    n2 = c + d
    N = n1 + n2
    nan = float("nan")
    beta = se = nan
    extra: dict[str, float] = {}
    k_pos = 0
    if measure == "OR":
        Pi = a / N + d / N
        Qi = b / N + c / N
        Ri = (a / N) * d
        Si = (b / N) * c
        R = float(np.sum(Ri))
        S = float(np.sum(Si))
        if R == 0 or S == 0:
            notes.append("pooled odds ratio undefined: no events (or all events) in one arm")
        else:
            beta = float(np.log(R / S))
            se = float(
                np.sqrt(
                    0.5
                    * (
                        np.sum(Pi * Ri) / R**2
                        + np.sum(Pi * Si + Qi * Ri) / (R * S)
                        + np.sum(Qi * Si) / S**2
                    )
                )
            )
        xt = a + c
        yt = b + d
        cc = 0.5 if correct else 0.0
        if np.sum(xt) == 0 or np.sum(yt) == 0:
            notes.append("Cochran-Mantel-Haenszel test undefined: outcome never/always occurred")
        else:
            dev = (abs(float(np.sum(a - (n1 / N) * xt))) - cc) ** 2
            co = dev / float(np.sum((n1 / N) * (n2 / N) * (xt * (yt / N))))
            with np.errstate(divide="ignore", invalid="ignore"):
                mh = dev / float(np.sum((n1 / N) * (n2 / N) * (xt * (yt / (N - 1)))))
            extra["cochran"] = co
            extra["cochran_pval"] = float(stats.chi2.sf(co, 1))
            extra["cmh"] = mh
            extra["cmh_pval"] = float(stats.chi2.sf(mh, 1))
        if np.isfinite(beta):
            psi = R / S
            if psi == 1:
                N11 = (n1 / N) * xt
            else:
                A = psi * (n1 + xt) + (n2 - xt)
                B = np.sqrt(A**2 - 4 * n1 * xt * psi * (psi - 1))
                N11 = (A - B) / (2 * (psi - 1))
            pos = (N11 > 0) & (xt > 0) & (yt > 0)
            k_pos = int(np.sum(pos))
            n11 = N11[pos]
            n12 = n1[pos] - n11
            n21 = xt[pos] - n11
            n22 = n11 - n1[pos] - xt[pos] + N[pos]
            with np.errstate(divide="ignore", invalid="ignore"):
                inv = 1 / (1 / n11 + 1 / n12 + 1 / n21 + 1 / n22)
                diff = a[pos] - n11
                bd = _rmax0(np.sum(diff**2 / inv))
                ta = _rmax0(bd - np.sum(diff) ** 2 / np.sum(inv))
            extra["breslow_day"] = bd
            extra["tarone"] = ta
            if k_pos > 1:
                extra["breslow_day_pval"] = float(stats.chi2.sf(bd, k_pos - 1))
                extra["tarone_pval"] = float(stats.chi2.sf(ta, k_pos - 1))
            else:
                notes.append(
                    "Breslow-Day/Tarone tests need at least two informative tables "
                    f"(k = {k_pos}); p-values not computed"
                )
    elif measure == "RR":
        R = float(np.sum(a * (n2 / N)))
        S = float(np.sum(c * (n1 / N)))
        if np.sum(a) == 0 or np.sum(c) == 0:
            notes.append("pooled risk ratio undefined: no events in one arm across all tables")
        else:
            beta = float(np.log(R / S))
            se = float(np.sqrt(np.sum((n1 / N) * (n2 / N) * (a + c) - (a / N) * c) / (R * S)))
    else:  # RD
        w = float(np.sum(n1 * (n2 / N)))
        beta = float(np.sum(a * (n2 / N) - c * (n1 / N)) / w)
        se = float(
            np.sqrt(
                (
                    beta
                    * float(
                        np.sum(
                            c * (n1 / N) ** 2
                            - a * (n2 / N) ** 2
                            + (n1 / N) * (n2 / N) * (n2 - n1) / 2
                        )
                    )
                    + float(np.sum(a * (n2 - c) / N + c * (n1 - a) / N)) / 2
                )
                / w**2
            )
        )
    if measure == "OR":
        w_raw = (b / N) * c
    elif measure == "RR":
        w_raw = (c / N) * n1
    else:
        w_raw = (n1 / N) * n2
    with np.errstate(divide="ignore", invalid="ignore"):
        weights_pct = _spread(100 * w_raw / np.sum(w_raw), p["table_used"])
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = float(np.float64(beta) / np.float64(se))  # R: 0/0 is NaN
    pval = float(2 * stats.norm.sf(abs(zval))) if not np.isnan(zval) else nan
    yi: FloatArray = p["yi"]
    vi: FloatArray = p["vi"]
    q, q_p, i2, h2 = _heterogeneity(yi, vi, beta)
    return MHResult(
        method="MH",
        measure=measure,
        estimate=beta,
        se=se,
        zval=zval,
        pval=pval,
        ci_lb=beta - z_crit * se,
        ci_ub=beta + z_crit * se,
        q=q,
        q_pval=q_p,
        i2=i2,
        h2=h2,
        k=int(a.size),
        k_yi=int(yi.size),
        k_pos=k_pos,
        level=float(level),
        yi=p["yi_all"],
        vi=p["vi_all"],
        slab=p["slab"],
        notes=tuple(notes),
        tables=p["tables"],
        table_used=p["table_used"],
        options=p["options"] | {"correct": correct, "measure": measure},
        weights_pct=weights_pct,
        **extra,
    )
