"""Equal- and random-effects models and meta-regression (metafor's ``rma.uni``).

Formulas and defaults follow metafor 3.8 (Viechtbauer 2010 [METAFOR]); Knapp–Hartung
(Hartung–Knapp–Sidik–Jonkman [KNAPP2003]) adjustment as ``test="knha"``, its truncated variant
as ``test="adhoc"``, plain t-tests as ``test="t"``; I² and H² [HIGGINS2002]; Q-profile
confidence intervals for tau² [VIECHTBAUER2007]; prediction intervals [RILEY2011].
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy import optimize, stats

from pedbone.evidence._results import (
    ConfintResult,
    EscalcResult,
    Interval,
    PredictResult,
    RMAResult,
    SubgroupResult,
    Transform,
)
from pedbone.evidence._tau2 import TAU2_METHODS, estimate_tau2, qe_func, tr_pd
from pedbone.evidence._utils import (
    EvidenceInputError,
    FloatArray,
    as_float_array,
    as_frame,
    check_lengths,
    column_or_array,
    labels,
)

__all__ = ["METHODS", "TESTS", "rma", "subgroups"]

METHODS = ("EE", "FE", *TAU2_METHODS)
TESTS = ("z", "t", "knha", "adhoc")

Mods = (
    str
    | Sequence[str]
    | Sequence[float]
    | Sequence[Sequence[float]]
    | FloatArray
    | Mapping[str, Any]
    | pl.DataFrame
)


def _design(
    mods: Mods | None, data: pl.DataFrame | None, k: int, intercept: bool
) -> tuple[FloatArray, tuple[str, ...]]:
    """Build the model matrix X and coefficient names from ``mods``."""
    cols: list[FloatArray] = []
    names: list[str] = []

    def add_column(name: str, values: Any) -> None:
        if isinstance(values, pl.Series) and values.dtype in (pl.String, pl.Categorical, pl.Enum):
            levels = sorted({str(v) for v in values.to_list() if v is not None})
            if values.null_count():
                raise EvidenceInputError(f"moderator {name!r}: missing values")
            for lev in levels[1:]:
                cols.append(np.asarray([float(str(v) == lev) for v in values.to_list()]))
                names.append(f"{name}{lev}")
            return
        arr = as_float_array(values, f"mods[{name}]")
        if arr.shape[0] != k:
            raise EvidenceInputError(
                f"moderator {name!r} has {arr.shape[0]} values for {k} studies"
            )
        cols.append(arr)
        names.append(name)

    if mods is None:
        pass
    elif isinstance(mods, str):
        terms = [t.strip() for t in mods.lstrip("~ ").split("+") if t.strip()]
        if data is None:
            raise EvidenceInputError("mods given as column names but no data= DataFrame")
        for t in terms:
            if t not in data.columns:
                raise EvidenceInputError(f"moderator column {t!r} not in data")
            add_column(t, data[t])
    elif isinstance(mods, pl.DataFrame):
        for c in mods.columns:
            add_column(c, mods[c])
    elif isinstance(mods, Mapping):
        for name, values in mods.items():
            add_column(str(name), pl.Series(values) if isinstance(values, list) else values)
    elif isinstance(mods, Sequence) and mods and all(isinstance(m, str) for m in mods):
        if data is None:
            raise EvidenceInputError("mods given as column names but no data= DataFrame")
        for col in mods:
            assert isinstance(col, str)
            if col not in data.columns:
                raise EvidenceInputError(f"moderator column {col!r} not in data")
            add_column(col, data[col])
    else:
        arr = np.asarray(mods, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2 or arr.shape[0] != k:
            raise EvidenceInputError(f"mods: expected {k} rows, got shape {arr.shape}")
        for j in range(arr.shape[1]):
            add_column(f"mod{j + 1}" if arr.shape[1] > 1 else "mods", arr[:, j])
    if intercept:
        cols.insert(0, np.ones(k))
        names.insert(0, "intrcpt")
    if not cols:
        raise EvidenceInputError("model has neither an intercept nor moderators")
    X = np.column_stack(cols).astype(np.float64)
    return X, tuple(names)


def _resolve_yi_vi(
    yi: Any, vi: Any, sei: Any, data: pl.DataFrame | None, measure: str | None
) -> tuple[FloatArray, FloatArray, str, pl.DataFrame | None]:
    if isinstance(yi, EscalcResult):
        if vi is not None or sei is not None:
            raise EvidenceInputError(
                "yi is an escalc result that already carries vi; do not pass vi= or sei= too"
            )
        frame = yi.frame if data is None else data
        return yi.yi, yi.vi, measure or yi.measure, frame
    y = column_or_array(yi, "yi", data)
    if y is None:
        raise EvidenceInputError("yi is required")
    v = column_or_array(vi, "vi", data)
    s = column_or_array(sei, "sei", data)
    if v is None and s is None:
        if data is not None and isinstance(yi, str) and "vi" in data.columns:
            v = as_float_array(data["vi"], "vi")
        else:
            raise EvidenceInputError("give the sampling variances vi= (or standard errors sei=)")
    if v is None:
        assert s is not None
        v = s * s
    check_lengths({"yi": y, "vi": v})
    return y, v, measure or "GEN", data


def rma(
    yi: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    data: pl.DataFrame | Any = None,
    mods: Mods | None = None,
    intercept: bool = True,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    btt: Sequence[int] | int | None = None,
    slab: Sequence[Any] | str | None = None,
    measure: str | None = None,
    tau2: float | None = None,
    control: Mapping[str, float] | None = None,
) -> RMAResult:
    """Fit an equal-, random- or mixed-effects meta-analytic model (metafor's ``rma``).

    Parameters
    ----------
    yi, vi, sei
        Observed effects and sampling variances (or standard errors): arrays, column names of
        ``data``, or an :class:`EscalcResult` as ``yi`` (then ``vi`` comes with it).
    mods
        Moderators: a 1-D/2-D array, a list of column names of ``data`` (text columns are dummy
        coded against their first sorted level, as R does), a formula-like string
        ``"~ ablat + year"``, a mapping name→values or a polars DataFrame.
    method
        ``"EE"``/``"FE"`` (equal effects) or a tau² estimator: ``"DL"``, ``"HE"``, ``"HS"``,
        ``"SJ"``, ``"ML"``, ``"REML"`` (default), ``"EB"``, ``"PM"``.
    test
        ``"z"`` (default), ``"knha"`` (Knapp–Hartung / HKSJ), ``"adhoc"`` (knha with the scale
        factor truncated at 1) or ``"t"``.
    level
        Confidence level in percent.
    btt
        Indices (0-based) of the coefficients in the omnibus QM test; default all but the
        intercept (all for intercept-only models).
    tau2
        Fix tau² at this value instead of estimating it (random-effects methods only; for
        sensitivity analyses, as metafor's ``tau2=``). ``se_tau2`` is then NaN and
        ``confint()`` raises.
    control
        ``threshold`` and ``maxiter`` of Fisher scoring (defaults 1e-12 and 1000), ``tau2_max``,
        ``fallback`` (default True: if Fisher scoring does not converge, solve the estimating
        equation by a bracketed search and say so in ``notes``; False: raise
        :class:`ConvergenceError`, as metafor does).

    Studies with a missing ``yi``, ``vi`` or moderator are omitted (listed in ``notes``); any
    non-positive or infinite sampling variance raises :class:`EvidenceInputError`.
    """
    method = method.upper() if method.upper() in METHODS else method
    if method not in METHODS:
        raise EvidenceInputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if test not in TESTS:
        raise EvidenceInputError(f"unknown test {test!r}; choose one of {', '.join(TESTS)}")
    if not 0 < level < 100:
        raise EvidenceInputError(f"level must be in (0, 100) percent, got {level}")
    y, v, meas, frame = _resolve_yi_vi(yi, vi, sei, as_frame(data), measure)
    k_all = y.shape[0]
    if slab is None and isinstance(yi, EscalcResult) and yi.slab is not None:
        slab = yi.slab
    if isinstance(slab, str):
        if frame is None or slab not in frame.columns:
            raise EvidenceInputError(f"slab column {slab!r} not in data")
        slab_l = labels(frame[slab].to_list(), k_all)
    else:
        slab_l = labels(slab, k_all)
    X, names = _design(mods, frame, k_all, intercept)
    if not intercept:
        # as metafor: a column of ones among the moderators is the intercept (moved first)
        ones = [j for j in range(X.shape[1]) if np.all(X[:, j] == 1.0)]
        if ones:
            j = ones[0]
            order = [j] + [i for i in range(X.shape[1]) if i != j]
            X = X[:, order]
            names = ("intrcpt", *(names[i] for i in order[1:]))
            intercept = True
    notes: list[str] = []
    keep = np.isfinite(y) & ~np.isnan(v) & np.all(np.isfinite(X), axis=1)
    if not keep.all():
        dropped = [slab_l[i] for i in np.flatnonzero(~keep)]
        notes.append(
            f"{len(dropped)} studies omitted (missing yi/vi/moderators): {', '.join(dropped)}"
        )
    y, v, X = y[keep], v[keep], X[keep]
    slab_k = tuple(s for s, kp in zip(slab_l, keep, strict=True) if kp)
    bad = np.flatnonzero(~(np.isfinite(v) & (v > 0)))
    if bad.size:
        detail = ", ".join(f"{slab_k[i]} (vi = {v[i]:g})" for i in bad[:10])
        raise EvidenceInputError(
            "sampling variances must be positive and finite; offending studies: " + detail
        )
    k, p = X.shape
    if k == 0:
        raise EvidenceInputError("no studies left to analyse")
    if np.linalg.matrix_rank(X) < p:
        raise EvidenceInputError(
            f"model matrix is not of full rank (coefficients: {', '.join(names)})"
        )
    random = method not in ("EE", "FE")
    if tau2 is not None:
        if not random:
            raise EvidenceInputError(f"tau2= applies to random-effects methods, not {method!r}")
        if not (math.isfinite(tau2) and tau2 >= 0):
            raise EvidenceInputError(f"tau2 must be a finite number >= 0, got {tau2}")
    if p > k or (random and tau2 is None and k > 1 and p + 1 > k):
        raise EvidenceInputError(
            f"more parameters to estimate than studies (k = {k}, coefficients = {p}"
            f"{' + tau²' if random else ''})"
        )
    if k == 1:
        if test != "z":
            raise EvidenceInputError(f'test="{test}" needs k >= 2 studies (k = 1); use test="z"')
        if tau2 is None:
            notes.append("k = 1: tau² fixed at 0; heterogeneity cannot be assessed")
    con = dict(control or {})
    threshold = float(con.get("threshold", 1e-12))
    maxiter = int(con.get("maxiter", 1000))
    tau2_max = con.get("tau2_max")
    fallback = bool(con.get("fallback", True))
    return _fit(
        y,
        v,
        X,
        names,
        method=method,
        test=test,
        level=level,
        btt=btt,
        intercept=intercept,
        slab=slab_k,
        measure=meas,
        notes=notes,
        threshold=threshold,
        maxiter=maxiter,
        tau2_max=None if tau2_max is None else float(tau2_max),
        fallback=fallback,
        tau2_fixed=None if tau2 is None else float(tau2),
    )


def _fit(
    y: FloatArray,
    v: FloatArray,
    X: FloatArray,
    names: tuple[str, ...],
    *,
    method: str,
    test: str,
    level: float,
    btt: Sequence[int] | int | None,
    intercept: bool,
    slab: tuple[str, ...],
    measure: str,
    notes: list[str],
    threshold: float = 1e-12,
    maxiter: int = 1000,
    tau2_max: float | None = None,
    fallback: bool = True,
    tau2_fixed: float | None = None,
) -> RMAResult:
    k, p = X.shape
    ymc = y - y.mean()
    random = method not in ("EE", "FE")
    tau2, se_tau2, iters = 0.0, math.nan, 0
    if random and tau2_fixed is not None:
        tau2 = tau2_fixed
        notes.append(f"tau² fixed at {tau2_fixed:g} (not estimated)")
    elif random and k > 1:
        fit = estimate_tau2(
            method,
            ymc,
            v,
            X,
            threshold=threshold,
            maxiter=maxiter,
            tau2_max=tau2_max,
            fallback=fallback,
        )
        tau2, se_tau2, iters = fit.tau2, fit.se_tau2, fit.iterations
        if fit.note:
            notes.append(fit.note)
    w = 1.0 / (v + tau2)
    XtW = X.T * w
    vb = np.linalg.inv(XtW @ X)
    beta = vb @ (XtW @ y)
    rss = float(np.sum(w * (y - X @ beta) ** 2))
    s2w = 1.0
    if test in ("knha", "adhoc"):
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        if test == "adhoc":
            s2w = max(1.0, s2w)
    if test in ("knha", "adhoc") and s2w == 0:
        raise EvidenceInputError(
            f'test="{test}": the weighted residual sum of squares is 0 (the model fits every '
            "study exactly), so the Knapp-Hartung standard errors would be 0; use test='z'"
        )
    vb = vb * s2w
    is_int = intercept and names[0] == "intrcpt"
    if btt is None:
        btt_t = tuple(range(1, p)) if (is_int and p > 1) else tuple(range(p))
    else:
        btt_t = (int(btt),) if isinstance(btt, int) else tuple(int(i) for i in btt)
        if not btt_t or any(i < 0 or i >= p for i in btt_t):
            raise EvidenceInputError(f"btt must index coefficients 0..{p - 1}")
    m = len(btt_t)
    bsub = beta[list(btt_t)]
    qm = float(bsub @ np.linalg.solve(vb[np.ix_(btt_t, btt_t)], bsub))
    se = np.sqrt(np.diag(vb))
    zval = beta / se
    alpha = 1 - level / 100
    ddf: int | None
    if test in ("knha", "adhoc", "t"):
        ddf = k - p
        qm = qm / m
        qm_df: tuple[int, ...] = (m, k - p)
        qm_p = float(stats.f.sf(qm, m, k - p)) if k - p > 0 else math.nan
        pval = 2 * stats.t.sf(np.abs(zval), ddf) if ddf > 0 else np.full(p, math.nan)
        crit = float(stats.t.isf(alpha / 2, ddf)) if ddf > 0 else math.nan
    else:
        ddf = None
        qm_df = (m,)
        qm_p = float(stats.chi2.sf(qm, m))
        pval = 2 * stats.norm.sf(np.abs(zval))
        crit = float(stats.norm.isf(alpha / 2))
    if k > p:
        w0 = 1.0 / v
        S0 = np.asarray(np.linalg.inv((X.T * w0) @ X), dtype=np.float64)
        e0 = ymc - X @ (S0 @ ((X.T * w0) @ ymc))
        qe = max(0.0, float(np.sum(w0 * e0 * e0)))
        qe_p = float(stats.chi2.sf(qe, k - p))
        vt = (k - p) / tr_pd(w0, X, S0, np.ones(k))
        if random:
            i2 = 100 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1
        else:
            i2 = max(0.0, 100 * (qe - (k - p)) / qe) if qe > 0 else 0.0
            h2 = qe / (k - p)
    else:
        qe, qe_p, i2, h2, vt = 0.0, 1.0, 0.0, 1.0, 0.0
    r2 = math.nan
    if not random and is_int and p > 1:
        # metafor: adjusted R² of the weighted least-squares fit (lm(yi ~ X, weights = 1/vi))
        w0 = 1.0 / v
        fitted = X @ (np.linalg.solve((X.T * w0) @ X, (X.T * w0) @ y))
        mean_w = float(np.sum(w0 * fitted) / np.sum(w0))
        mss = float(np.sum(w0 * (fitted - mean_w) ** 2))
        rss_w = float(np.sum(w0 * (y - fitted) ** 2))
        if np.var(y) == 0 or mss + rss_w == 0:
            r2 = 0.0
        else:
            adj = 1 - (1 - mss / (mss + rss_w)) * (k - 1) / (k - p) if k > p else math.nan
            r2 = max(0.0, 100 * adj) if not math.isnan(adj) else math.nan
    if random and is_int and p > 1 and k > 1:
        try:
            tau2_re = estimate_tau2(
                method, ymc, v, np.ones((k, 1)), threshold=threshold, maxiter=maxiter
            ).tau2
            r2 = 0.0 if tau2_re <= 0 else max(0.0, 100 * (tau2_re - tau2) / tau2_re)
        except (EvidenceInputError, RuntimeError):  # pragma: no cover - mirrors metafor's NA
            r2 = math.nan
    reml = method == "REML"
    ll_ml = -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(v + tau2))) - 0.5 * rss
    if reml:
        ll = (
            -0.5 * (k - p) * math.log(2 * math.pi)
            + 0.5 * float(np.linalg.slogdet(X.T @ X)[1])
            - 0.5 * float(np.sum(np.log(v + tau2)))
            - 0.5 * float(np.linalg.slogdet(XtW @ X)[1])
            - 0.5 * rss
        )
    else:
        ll = ll_ml
    return RMAResult(
        beta=np.asarray(beta, dtype=np.float64),
        se_beta=np.asarray(se, dtype=np.float64),
        zval_beta=np.asarray(zval, dtype=np.float64),
        pval_beta=np.asarray(pval, dtype=np.float64),
        ci_lb_beta=np.asarray(beta - crit * se, dtype=np.float64),
        ci_ub_beta=np.asarray(beta + crit * se, dtype=np.float64),
        vb=np.asarray(vb, dtype=np.float64),
        coef_names=names,
        k=k,
        p=p,
        method=method,
        test=test,
        level=level,
        tau2=tau2,
        se_tau2=se_tau2,
        q=qe,
        q_df=k - p,
        q_pval=qe_p,
        qm=qm,
        qm_df=qm_df,
        qm_pval=qm_p,
        btt=btt_t,
        i2=i2,
        h2=h2,
        vt=vt,
        s2w=s2w,
        ddf=ddf,
        yi=y,
        vi=v,
        X=X,
        weights_raw=np.asarray(w, dtype=np.float64),
        intercept=is_int,
        slab=slab,
        measure=measure,
        ll=ll,
        r2=r2,
        tau2_fixed=tau2_fixed is not None,
        converged=True,
        iterations=iters,
        notes=tuple(notes),
        control={"threshold": threshold, "maxiter": float(maxiter)},
    )


def _check_level(level: float) -> float:
    if not 0 < level < 100:
        raise EvidenceInputError(f"level must be in (0, 100) percent, got {level}")
    return float(level)


def _crit(res: RMAResult, level: float) -> float:
    alpha = 1 - level / 100
    if res.ddf is not None:
        return float(stats.t.isf(alpha / 2, res.ddf)) if res.ddf > 0 else math.nan
    return float(stats.norm.isf(alpha / 2))


def _predict(
    res: RMAResult,
    newmods: Any,
    *,
    transf: Transform | None,
    level: float | None,
    intercept: bool | None,
    pi_type: str = "default",
) -> PredictResult:
    lv = _check_level(res.level if level is None else level)
    if newmods is None:
        Xn = res.X[:1] if (res.p == 1 and res.intercept) else res.X
    else:
        arr = np.asarray(newmods, dtype=np.float64)
        n_mods = res.p - (1 if res.intercept else 0)
        if arr.ndim == 0:
            arr = arr.reshape(1, 1)
        elif arr.ndim == 1:
            arr = arr.reshape(-1, 1) if n_mods == 1 else arr.reshape(1, -1)
        add_int = res.intercept if intercept is None else intercept
        if add_int:
            arr = np.column_stack([np.ones(arr.shape[0]), arr])
        if arr.shape[1] != res.p:
            raise EvidenceInputError(
                f"newmods: expected {n_mods} moderator values per row, "
                f"got {arr.shape[1] - int(add_int)}"
            )
        Xn = arr
    pred = Xn @ res.beta
    vpred = np.einsum("ij,jk,ik->i", Xn, res.vb, Xn)
    se = np.sqrt(vpred)
    crit = _crit(res, lv)
    ci_lb, ci_ub = pred - crit * se, pred + crit * se
    if pi_type not in ("default", "riley", "t", "simple"):
        raise EvidenceInputError(
            f"pi_type must be 'default', 'riley', 't' or 'simple', got {pi_type!r}"
        )
    alpha = 1 - lv / 100
    crit_pi, vpi = crit, vpred
    if pi_type == "simple":
        crit_pi, vpi = float(stats.norm.isf(alpha / 2)), np.zeros_like(vpred)
    elif pi_type in ("riley", "t"):
        parms = res.p + (1 if res.is_random and not res.tau2_fixed else 0)
        pi_df = max(1, res.k - parms if pi_type == "riley" else res.k - res.p)
        crit_pi = float(stats.t.isf(alpha / 2, pi_df))
    if res.is_random:
        pi_lb = pred - crit_pi * np.sqrt(vpi + res.tau2)
        pi_ub = pred + crit_pi * np.sqrt(vpi + res.tau2)
    else:  # metafor gives no prediction interval for equal-effects models
        pi_lb = np.full_like(pred, math.nan)
        pi_ub = np.full_like(pred, math.nan)
    if transf is not None:

        def t(a: FloatArray) -> FloatArray:
            return np.asarray(transf(a), dtype=np.float64)

        pred, ci_lb, ci_ub, pi_lb, pi_ub = t(pred), t(ci_lb), t(ci_ub), t(pi_lb), t(pi_ub)
        # a decreasing transformation swaps the bounds (metafor does the same)
        ci_lb, ci_ub = np.minimum(ci_lb, ci_ub), np.maximum(ci_lb, ci_ub)
        pi_lb, pi_ub = np.minimum(pi_lb, pi_ub), np.maximum(pi_lb, pi_ub)
        se = np.full_like(pred, math.nan)
    return PredictResult(
        pred=np.asarray(pred, dtype=np.float64),
        se=np.asarray(se, dtype=np.float64),
        ci_lb=np.asarray(ci_lb, dtype=np.float64),
        ci_ub=np.asarray(ci_ub, dtype=np.float64),
        pi_lb=np.asarray(pi_lb, dtype=np.float64),
        pi_ub=np.asarray(pi_ub, dtype=np.float64),
        level=lv,
        transformed=transf is not None,
    )


def _confint(res: RMAResult, level: float | None) -> ConfintResult:
    lv = _check_level(res.level if level is None else level)
    if not res.is_random:
        raise EvidenceInputError("confint: an equal-effects model has no tau² to bound")
    if res.tau2_fixed:
        raise EvidenceInputError(
            "confint: tau² was fixed, not estimated; there is nothing to bound"
        )
    if res.k == 1:
        raise EvidenceInputError("confint: k = 1, tau² cannot be bounded")
    k, p = res.k, res.p
    alpha = 1 - lv / 100
    crit_u = float(stats.chi2.isf(alpha / 2, k - p))
    crit_l = float(stats.chi2.ppf(alpha / 2, k - p))
    tmax = max(100.0, res.tau2 * 10)
    y, v, X = res.yi, res.vi, res.X

    def q(t: float) -> float:
        return qe_func(t, y, v, X)

    def root(target: float) -> float:
        return float(optimize.brentq(lambda t: q(t) - target, 0.0, tmax, xtol=1e-14, rtol=1e-15))

    q_min, q_max = q(0.0), q(tmax)
    note = ""
    if q_min < crit_l:
        lb = ub = 0.0
        note = "both Q-profile bounds fall below 0: the CI for tau² is the null set (shown as 0)"
    else:
        ub = tmax if q_max > crit_l else root(crit_l)
        if q_max > crit_l:
            note = f"upper bound of tau² is above the search limit {tmax:g}"
        lb = 0.0 if q_min < crit_u else root(crit_u)
        if q_max > crit_u:
            lb = tmax
    vt = res.vt
    crit = _crit(res, lv)
    fixed = {
        n: Interval(float(b), float(b - crit * s), float(b + crit * s))
        for n, b, s in zip(res.coef_names, res.beta, res.se_beta, strict=True)
    }
    return ConfintResult(
        level=lv,
        tau2=Interval(res.tau2, lb, ub),
        tau=Interval(math.sqrt(res.tau2), math.sqrt(lb), math.sqrt(ub)),
        i2=Interval(res.i2, 100 * lb / (vt + lb), 100 * ub / (vt + ub)),
        h2=Interval(res.h2, 1 + lb / vt, 1 + ub / vt),
        fixed=fixed,
        note=note,
    )


def _fitstats(res: RMAResult) -> dict[str, dict[str, float]]:
    """Log-likelihood, deviance, AIC, BIC and AICc under ML and REML (metafor's fitstats)."""
    k, p = res.k, res.p
    y, v, X, tau2 = res.yi, res.vi, res.X, res.tau2
    w = 1.0 / (v + tau2)
    rss = float(np.sum(w * (y - X @ res.beta) ** 2))
    parms = p + (1 if res.is_random and not res.tau2_fixed else 0)
    ll_ml = -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(v + tau2))) - 0.5 * rss
    ll_reml = (
        -0.5 * (k - p) * math.log(2 * math.pi)
        + 0.5 * float(np.linalg.slogdet(X.T @ X)[1])
        - 0.5 * float(np.sum(np.log(v + tau2)))
        - 0.5 * float(np.linalg.slogdet((X.T * w) @ X)[1])
        - 0.5 * rss
    )
    sat = float(np.sum(-0.5 * np.log(2 * math.pi * v)))
    dev_ml = -2 * (ll_ml - sat) if k > p else 0.0

    def aicc(ll: float, n: int) -> float:
        m = max(n, parms + 2)
        return -2 * ll + 2 * parms * m / (m - parms - 1)

    return {
        "ML": {
            "ll": ll_ml,
            "dev": dev_ml,
            "AIC": -2 * ll_ml + 2 * parms,
            "BIC": -2 * ll_ml + parms * math.log(k),
            "AICc": aicc(ll_ml, k),
        },
        "REML": {
            "ll": ll_reml,
            "dev": -2 * ll_reml,
            "AIC": -2 * ll_reml + 2 * parms,
            "BIC": -2 * ll_reml + parms * math.log(k - p) if k > p else math.nan,
            "AICc": aicc(ll_reml, k - p),
        },
    }


def _num(x: float | None) -> Any:
    if x is None:
        return None
    return None if isinstance(x, float) and math.isnan(x) else x


def _to_dict(res: RMAResult) -> dict[str, Any]:
    return {
        "model": "rma.uni",
        "method": res.method,
        "test": res.test,
        "level": res.level,
        "measure": res.measure,
        "k": res.k,
        "p": res.p,
        "coefficients": {
            n: {
                "estimate": float(res.beta[i]),
                "se": float(res.se_beta[i]),
                "zval": float(res.zval_beta[i]),
                "pval": float(res.pval_beta[i]),
                "ci_lb": float(res.ci_lb_beta[i]),
                "ci_ub": float(res.ci_ub_beta[i]),
            }
            for i, n in enumerate(res.coef_names)
        },
        "estimate": res.estimate,
        "se": res.se,
        "zval": res.zval,
        "pval": res.pval,
        "ci_lb": res.ci_lb,
        "ci_ub": res.ci_ub,
        "pi_lb": _num(res.pi_lb),
        "pi_ub": _num(res.pi_ub),
        "tau2": res.tau2,
        "se_tau2": _num(res.se_tau2),
        "tau": res.tau,
        "i2": res.i2,
        "h2": res.h2,
        "q": res.q,
        "q_df": res.q_df,
        "q_pval": res.q_pval,
        "qm": res.qm,
        "qm_df": list(res.qm_df),
        "qm_pval": _num(res.qm_pval),
        "ddf": res.ddf,
        "s2w": res.s2w,
        "ll": res.ll,
        "r2": _num(res.r2),
        "iterations": res.iterations,
        "notes": list(res.notes),
        "slab": list(res.slab),
        "weights_percent": [float(x) for x in res.weights()],
    }


_METHOD_TITLE = {
    "DL": "DL",
    "HE": "HE",
    "HS": "HS",
    "SJ": "SJ",
    "ML": "ML",
    "REML": "REML",
    "EB": "EB",
    "PM": "PM",
}


def _fp(x: float, digits: int) -> str:
    """p-value as metafor prints it: ``<.0001`` below 10^-digits."""
    if math.isnan(x):
        return "NA"
    if x < 10.0 ** (-digits):
        return "<." + "0" * (digits - 1) + "1"
    return f"{x:.{digits}f}"


def _pval_txt(pv: float, d: int) -> str:
    txt = _fp(pv, d)
    return f"p-val < {txt[1:]}" if txt.startswith("<") else f"p-val = {txt}"


def _stars(p: float) -> str:
    if math.isnan(p):
        return ""
    for cut, mark in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p < cut:
            return mark
    return ""


def _btt_txt(btt: tuple[int, ...]) -> str:
    idx = [i + 1 for i in btt]
    if len(idx) == 1:
        return f"coefficient {idx[0]}"
    if idx == list(range(idx[0], idx[-1] + 1)):
        return f"coefficients {idx[0]}:{idx[-1]}"
    return "coefficients " + ",".join(str(i) for i in idx)


def _aligned(rows: list[tuple[str, str]]) -> list[str]:
    width = max(len(label) for label, _ in rows)
    return [f"{label:<{width}} {value}" for label, value in rows]


def _summary(res: RMAResult, digits: int) -> str:
    d = digits
    mods = res.p > 1 or not res.intercept
    lines: list[str] = [""]
    if res.is_random:
        kind = "Mixed-Effects Model" if mods else "Random-Effects Model"
        lines.append(f"{kind} (k = {res.k}; tau^2 estimator: {_METHOD_TITLE[res.method]})")
        lines.append("")
        which = "residual" if mods else "total"
        rows = [
            (
                f"tau^2 ({'specified' if res.tau2_fixed else 'estimated'} amount of {which} "
                "heterogeneity):",
                f"{res.tau2:.{d}f} (SE = "
                + ("NA" if math.isnan(res.se_tau2) else f"{res.se_tau2:.{d}f}")
                + ")",
            ),
            ("tau (square root of estimated tau^2 value):", f"{res.tau:.{d}f}"),
        ]
        if mods:
            rows += [
                ("I^2 (residual heterogeneity / unaccounted variability):", f"{res.i2:.2f}%"),
                ("H^2 (unaccounted variability / sampling variability):", f"{res.h2:.2f}"),
            ]
            if not math.isnan(res.r2):
                rows.append(("R^2 (amount of heterogeneity accounted for):", f"{res.r2:.2f}%"))
        else:
            rows += [
                ("I^2 (total heterogeneity / total variability):", f"{res.i2:.2f}%"),
                ("H^2 (total variability / sampling variability):", f"{res.h2:.2f}"),
            ]
        lines += _aligned(rows)
    else:
        title = "Fixed-Effects" if res.method == "FE" else "Equal-Effects"
        lines.append(f"{title} {'with Moderators ' if mods else ''}Model (k = {res.k})")
        if not mods:
            lines.append("")
            lines += _aligned(
                [
                    ("I^2 (total heterogeneity / total variability):", f"{res.i2:.2f}%"),
                    ("H^2 (total variability / sampling variability):", f"{res.h2:.2f}"),
                ]
            )
    lines.append("")
    lines.append(f"Test for {'Residual ' if mods else ''}Heterogeneity:")
    lines.append(
        f"Q{'E' if mods else ''}(df = {res.q_df}) = {res.q:.{d}f}, {_pval_txt(res.q_pval, d)}"
    )
    lines.append("")
    if mods:
        lines.append(f"Test of Moderators ({_btt_txt(res.btt)}):")
        if res.ddf is None:
            stat = f"QM(df = {res.qm_df[0]}) = {res.qm:.{d}f}"
        else:
            stat = f"F(df1 = {res.qm_df[0]}, df2 = {res.qm_df[1]}) = {res.qm:.{d}f}"
        lines.append(f"{stat}, {_pval_txt(res.qm_pval, d)}")
        lines.append("")
    lines.append("Model Results:")
    lines.append("")
    header = ["", "estimate", "se", "zval" if res.ddf is None else "tval"]
    if res.ddf is not None:
        header.append("df")
    header += ["pval", "ci.lb", "ci.ub", ""]
    table: list[list[str]] = [header]
    for i, name in enumerate(res.coef_names):
        row = [
            name if mods else "",
            f"{res.beta[i]:.{d}f}",
            f"{res.se_beta[i]:.{d}f}",
            f"{res.zval_beta[i]:.{d}f}",
        ]
        if res.ddf is not None:
            row.append(str(res.ddf))
        row += [
            _fp(float(res.pval_beta[i]), d),
            f"{res.ci_lb_beta[i]:.{d}f}",
            f"{res.ci_ub_beta[i]:.{d}f}",
            _stars(float(res.pval_beta[i])),
        ]
        table.append(row)
    widths = [max(len(r[j]) for r in table) for j in range(len(header))]
    for r in table:
        cells = [r[0].ljust(widths[0])] if widths[0] else []
        cells += [c.rjust(w) for c, w in zip(r[1:-1], widths[1:-1], strict=True)]
        cells.append(r[-1].ljust(widths[-1]))
        lines.append(" ".join(cells).rstrip())
    lines.append("")
    lines.append("---")
    lines.append("Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1")
    if not mods and res.is_random:
        pr = res.predict()
        lines.append("")
        lines.append(
            f"Prediction interval ({res.level:g}%): [{pr.pi_lb[0]:.{d}f}, {pr.pi_ub[0]:.{d}f}]"
        )
    for note in res.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines) + "\n"


def subgroups(
    yi: Any,
    vi: Any = None,
    *,
    subgroup: Sequence[Any] | str,
    sei: Any = None,
    data: pl.DataFrame | Any = None,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    slab: Sequence[Any] | str | None = None,
    measure: str | None = None,
    control: Mapping[str, float] | None = None,
) -> SubgroupResult:
    """Separate fits per subgroup and the test for subgroup differences.

    Each level of ``subgroup`` (an array or a column of ``data``) gets its own model (its own
    tau²). The test for subgroup differences fits an equal-effects model to the subgroup
    estimates with their standard errors: ``Q_between`` on (levels - 1) df, as RevMan does and
    as the metafor documentation shows. ``overall`` is the same model fitted to all studies.
    """
    y, v, meas, frame = _resolve_yi_vi(yi, vi, sei, as_frame(data), measure)
    k = y.shape[0]
    if isinstance(subgroup, str):
        if frame is None or subgroup not in frame.columns:
            raise EvidenceInputError(f"subgroup column {subgroup!r} not in data")
        groups = [str(g) for g in frame[subgroup].to_list()]
    else:
        groups = [str(g) for g in subgroup]
    if len(groups) != k:
        raise EvidenceInputError(f"subgroup has {len(groups)} values for {k} studies")
    if isinstance(slab, str):
        if frame is None or slab not in frame.columns:
            raise EvidenceInputError(f"slab column {slab!r} not in data")
        slab_l = labels(frame[slab].to_list(), k)
    else:
        slab_l = labels(slab, k)
    order = list(dict.fromkeys(sorted(groups)))
    if len(order) < 2:
        raise EvidenceInputError("subgroups: need at least 2 subgroup levels")
    g = np.asarray(groups)
    fits: dict[str, RMAResult] = {}
    for lev in order:
        idx = np.flatnonzero(g == lev)
        try:
            fits[lev] = rma(
                y[idx],
                v[idx],
                method=method,
                test=test,
                level=level,
                slab=[slab_l[i] for i in idx],
                measure=meas,
                control=control,
            )
        except EvidenceInputError as exc:
            raise EvidenceInputError(f"subgroup {lev!r}: {exc}") from exc
    est = np.array([f.estimate for f in fits.values()])
    se = np.array([f.se for f in fits.values()])
    between = rma(est, sei=se, method="EE", slab=order)
    overall = rma(
        y, v, method=method, test=test, level=level, slab=slab_l, measure=meas, control=control
    )
    common: RMAResult | None
    try:
        common = rma(
            y,
            v,
            mods={"group": pl.Series(groups, dtype=pl.String)},
            method=method,
            test=test,
            level=level,
            slab=slab_l,
            measure=meas,
            control=control,
        )
    except EvidenceInputError:  # too few studies for one tau² plus a coefficient per level
        common = None
    return SubgroupResult(
        fits=fits,
        q_between=between.q,
        df=between.q_df,
        pval=between.q_pval,
        overall=overall,
        common_tau2=common,
    )
