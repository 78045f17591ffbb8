"""Sensitivity analyses of a fitted model, as metafor 3.8 [METAFOR]:

- :func:`leave1out` — refit without each study in turn (``leave1out.rma.uni``);
- :func:`cumul` — cumulative meta-analysis in a given order (``cumul.rma.uni``);
- :func:`influence` — case-deletion diagnostics (``influence.rma.uni``): externally
  studentised residuals, DFFITS, Cook's distance, covariance ratio, leave-one-out tau² and Q,
  hat values, weights, DFBETAS and metafor's flag for influential studies.

Every refit uses the input model's tau² estimator, test, level and convergence control. A
refit that fails (for instance too few studies left) gives a row of NaN, as metafor does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import stats

from pedbone.evidence._mh import MHResult
from pedbone.evidence._results import RMAResult
from pedbone.evidence._rma import rma
from pedbone.evidence._utils import ConvergenceError, EvidenceInputError, FloatArray

__all__ = ["InfluenceResult", "cumul", "influence", "leave1out"]

Transform = Callable[[NDArray[np.float64]], NDArray[np.float64]]
_COLUMNS = ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "q", "q_pval", "tau2", "i2", "h2")


def _require_intercept_only(res: RMAResult, what: str) -> None:
    if not isinstance(res, RMAResult):
        raise EvidenceInputError(f"{what} needs a model fitted with rma()")
    if not (res.p == 1 and res.intercept):
        raise EvidenceInputError(f"{what} applies only to models without moderators")


def _refit(
    res: RMAResult,
    y: FloatArray,
    v: FloatArray,
    *,
    mods: FloatArray | None = None,
    test: str | None = None,
) -> RMAResult | None:
    """Refit ``res``'s model (same estimator, test, level, control) to other data."""
    try:
        return rma(
            y,
            v,
            mods=mods,
            intercept=mods is None,
            method=res.method,
            test=test or res.test,
            level=res.level,
            control=dict(res.control) if res.control else None,
            # a fixed tau² stays fixed in every refit (metafor: tau2 = if tau2.fix)
            tau2=res.tau2 if getattr(res, "tau2_fixed", False) else None,
        )
    except (EvidenceInputError, ConvergenceError, np.linalg.LinAlgError):
        return None


def _row(fit: RMAResult | MHResult | None) -> list[float]:
    if fit is None:
        return [math.nan] * len(_COLUMNS)
    return [
        fit.estimate,
        fit.se,
        fit.zval,
        fit.pval,
        fit.ci_lb,
        fit.ci_ub,
        fit.q,
        fit.q_pval,
        fit.tau2,
        fit.i2,
        fit.h2,
    ]


def _frame(
    slab: Sequence[str],
    rows: list[list[float]],
    res: RMAResult | MHResult,
    transf: Transform | None,
) -> pl.DataFrame:
    arr = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(_COLUMNS))
    cols: dict[str, Any] = {"slab": list(slab)}
    stat = "tval" if res.test in ("knha", "adhoc", "t") else "zval"
    for j, name in enumerate(_COLUMNS):
        cols[stat if name == "zval" else name] = arr[:, j]
    if transf is not None:
        for name in ("estimate", "ci_lb", "ci_ub"):
            cols[name] = np.asarray(transf(cols[name]), dtype=np.float64)
        cols["se"] = np.full(arr.shape[0], math.nan)
        lo = np.minimum(cols["ci_lb"], cols["ci_ub"])
        hi = np.maximum(cols["ci_lb"], cols["ci_ub"])
        cols["ci_lb"], cols["ci_ub"] = lo, hi
    frame = pl.DataFrame(cols)
    if isinstance(res, MHResult) or res.method in ("EE", "FE"):
        frame = frame.drop("tau2")
    return frame


def _refit_tables(res: MHResult, idx: NDArray[np.intp]) -> MHResult | None:
    """Refit a Mantel–Haenszel/Peto model to the tables ``idx`` (same options)."""
    from pedbone.evidence._mh import rma_mh
    from pedbone.evidence._peto import rma_peto

    if res.tables is None:
        raise EvidenceInputError("this Mantel-Haenszel/Peto result carries no tables to refit")
    a, b, c, d = (res.tables[j][idx] for j in range(4))
    opts = dict(res.options)
    try:
        if res.method == "MH":
            return rma_mh(
                ai=a,
                bi=b,
                ci=c,
                di=d,
                measure=opts["measure"],
                add=opts["add"],
                to=opts["to"],
                drop00=opts["drop00"],
                correct=opts["correct"],
                level=res.level,
            )
        return rma_peto(
            ai=a,
            bi=b,
            ci=c,
            di=d,
            add=opts["add"],
            to=opts["to"],
            drop00=opts["drop00"],
            level=res.level,
        )
    except ValueError:
        return None


def leave1out(res: RMAResult | MHResult, *, transf: Transform | None = None) -> pl.DataFrame:
    """Leave-one-out analysis: one row per study, the model refitted without it.

    Columns: ``slab, estimate, se, zval`` (``tval`` for t-based tests), ``pval, ci_lb, ci_ub,
    q, q_pval, tau2, i2, h2`` (``tau2`` omitted for equal-effects models). With ``transf``
    (e.g. ``np.exp``) the estimate and CI are back-transformed and ``se`` is NaN.
    """
    if isinstance(res, MHResult):
        return _leave1out_tables(res, transf)
    _require_intercept_only(res, "leave1out")
    if res.k == 1:
        raise EvidenceInputError("leave1out needs k >= 2 studies (k = 1)")
    rows = []
    for i in range(res.k):
        mask = np.ones(res.k, dtype=bool)
        mask[i] = False
        rows.append(_row(_refit(res, res.yi[mask], res.vi[mask])))
    return _frame(res.slab, rows, res, transf)


def _used(res: MHResult) -> NDArray[np.intp]:
    if res.table_used is None:
        raise EvidenceInputError("this Mantel-Haenszel/Peto result carries no tables to refit")
    return np.flatnonzero(res.table_used)


def _leave1out_tables(res: MHResult, transf: Transform | None) -> pl.DataFrame:
    """metafor's ``leave1out.rma.mh`` / ``leave1out.rma.peto``."""
    used = _used(res)
    if used.size < 2:
        raise EvidenceInputError(f"leave1out needs k >= 2 studies (k = {used.size})")
    k_all = len(res.slab)
    rows = []
    for i in used:
        keep = np.asarray([j for j in range(k_all) if j != i], dtype=np.intp)
        rows.append(_row(_refit_tables(res, keep)))
    return _frame([res.slab[i] for i in used], rows, res, transf)


def cumul(
    res: RMAResult | MHResult,
    order: Sequence[Any] | FloatArray | None = None,
    *,
    decreasing: bool = False,
    transf: Transform | None = None,
) -> pl.DataFrame:
    """Cumulative meta-analysis: row i is the model of the first i studies in ``order``.

    ``order`` gives one sort key per study (e.g. publication year); ties keep the input
    order, as R's ``order()``. Default: the input order. Columns as :func:`leave1out`; the
    first row (k = 1) uses a z test, as metafor does when a single study is left.
    """
    if isinstance(res, MHResult):
        k = len(res.slab)
    else:
        _require_intercept_only(res, "cumul")
        k = res.k
    if order is None:
        idx = np.arange(k)
    else:
        keys = list(order)
        if len(keys) != k:
            raise EvidenceInputError(f"order has {len(keys)} values for {k} studies")
        # Python's sort is stable also with reverse=True, as R's order(): ties keep input order
        idx = np.asarray(sorted(range(k), key=lambda i: keys[i], reverse=decreasing))
    rows = []
    if isinstance(res, MHResult):
        # metafor's cumul.rma.mh: row i pools the first i tables in order; rows of tables
        # dropped from the pooled estimate (drop00) are left out
        used = set(_used(res).tolist())
        shown = []
        for i in range(1, k + 1):
            if int(idx[i - 1]) not in used:
                continue
            shown.append(int(idx[i - 1]))
            rows.append(_row(_refit_tables(res, np.asarray(idx[:i], dtype=np.intp))))
        return _frame([res.slab[j] for j in shown], rows, res, transf)
    for i in range(1, k + 1):
        sel = idx[:i]
        rows.append(_row(_refit(res, res.yi[sel], res.vi[sel], test="z" if i == 1 else None)))
    return _frame([res.slab[j] for j in idx], rows, res, transf)


@dataclass(frozen=True, eq=False)
class InfluenceResult:
    """Case-deletion diagnostics of every study (metafor's ``influence.rma.uni``).

    Arrays are in study order. ``is_infl`` is metafor's flag: |DFFITS| > 3·sqrt(p/(k−p)),
    pchisq(Cook's D, m) > 0.5, hat > 3p/k, or any |DFBETAS| > 1.
    """

    slab: tuple[str, ...]
    rstudent: FloatArray
    dffits: FloatArray
    cook_d: FloatArray
    cov_r: FloatArray
    tau2_del: FloatArray
    qe_del: FloatArray
    hat: FloatArray
    weight: FloatArray
    dfbs: FloatArray
    is_infl: NDArray[np.bool_]
    coef_names: tuple[str, ...]

    def to_frame(self) -> pl.DataFrame:
        """One row per study; DFBETAS columns are named ``dfbs_<coefficient>``."""
        cols: dict[str, Any] = {
            "slab": list(self.slab),
            "rstudent": self.rstudent,
            "dffits": self.dffits,
            "cook_d": self.cook_d,
            "cov_r": self.cov_r,
            "tau2_del": self.tau2_del,
            "qe_del": self.qe_del,
            "hat": self.hat,
            "weight": self.weight,
        }
        for j, name in enumerate(self.coef_names):
            cols[f"dfbs_{name}"] = self.dfbs[:, j]
        cols["inf"] = ["*" if f else "" for f in self.is_infl]
        return pl.DataFrame(cols)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary of lists (NaN becomes None)."""
        out: dict[str, Any] = {}
        for name, series in self.to_frame().to_dict(as_series=True).items():
            vals = series.to_list()
            out[name] = [None if isinstance(v, float) and not math.isfinite(v) else v for v in vals]
        return out

    def __str__(self) -> str:
        with pl.Config(tbl_rows=-1, tbl_cols=-1, float_precision=4):
            return str(self.to_frame())


def influence(res: RMAResult) -> InfluenceResult:
    """Influence diagnostics for each study of a fitted model (metafor's ``influence``).

    Works for intercept-only models and meta-regressions (DFBETAS per coefficient; Cook's
    distance and the covariance ratio over the moderators' coefficients, or the intercept
    alone in an intercept-only model). Costs one refit per study.
    """
    if not isinstance(res, RMAResult):
        raise EvidenceInputError("influence needs a model fitted with rma()")
    k, p = res.k, res.p
    if k == 1:
        raise EvidenceInputError("influence diagnostics need k >= 2 studies (k = 1)")
    X = res.X
    beta = res.beta
    btt = list(range(1, p)) if (res.intercept and p > 1) else list(range(p))
    m = len(btt)
    pred_full = X @ beta
    svb = np.linalg.inv(res.vb[np.ix_(btt, btt)])
    det_vb = float(np.linalg.det(res.vb[np.ix_(btt, btt)]))
    w = 1 / (res.vi + res.tau2)
    XtW = X.T * w
    hat = np.einsum("ij,jk,ik->i", X, np.linalg.inv(XtW @ X), X) * w
    hat = np.where(hat > 1 - 10 * np.finfo(float).eps, 1.0, hat)
    nan = np.full(k, math.nan)
    tau2_del, qe_del, delpred, vdelpred, s2w_del = (nan.copy() for _ in range(5))
    dffits, cook_d, cov_r = nan.copy(), nan.copy(), nan.copy()
    dfbs = np.full((k, p), math.nan)
    for i in range(k):
        mask = np.ones(k, dtype=bool)
        mask[i] = False
        fit = _refit(res, res.yi[mask], res.vi[mask], mods=X[mask])
        if fit is None:
            continue
        xi = X[i]
        tau2_del[i] = fit.tau2
        qe_del[i] = fit.q
        delpred[i] = float(xi @ fit.beta)
        vdelpred[i] = float(xi @ fit.vb @ xi)
        s2w_del[i] = fit.s2w
        dffits[i] = (pred_full[i] - delpred[i]) / math.sqrt(
            fit.s2w * hat[i] * (fit.tau2 + res.vi[i])
        )
        wd = 1 / (res.vi + fit.tau2)
        vb_del = np.linalg.inv((X.T * wd) @ X)
        dfb = beta - fit.beta
        dfbs[i] = dfb / np.sqrt(fit.s2w * np.diag(vb_del))
        d = dfb[btt]
        cook_d[i] = float(d @ svb @ d)
        cov_r[i] = float(np.linalg.det(fit.vb[np.ix_(btt, btt)])) / det_vb
    resid = res.yi - delpred
    resid = np.where(np.abs(resid) < 100 * np.finfo(float).eps, 0.0, resid)
    se_resid = np.sqrt(res.vi * s2w_del + vdelpred + tau2_del * s2w_del)
    rstudent = resid / se_resid
    weight = res.weights()
    with np.errstate(invalid="ignore"):
        flag = (
            (np.abs(dffits) > 3 * math.sqrt(p / (k - p)) if k > p else np.zeros(k, dtype=bool))
            | (stats.chi2.cdf(cook_d, m) > 0.5)
            | (hat > 3 * p / k)
            | np.any(np.abs(dfbs) > 1, axis=1)
        )
    return InfluenceResult(
        slab=tuple(res.slab),
        rstudent=np.asarray(rstudent, dtype=np.float64),
        dffits=dffits,
        cook_d=cook_d,
        cov_r=cov_r,
        tau2_del=tau2_del,
        qe_del=qe_del,
        hat=np.asarray(hat, dtype=np.float64),
        weight=np.asarray(weight, dtype=np.float64),
        dfbs=dfbs,
        is_infl=np.asarray(flag, dtype=bool),
        coef_names=tuple(res.coef_names),
    )
