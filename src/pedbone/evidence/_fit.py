"""Equal- and random-effects models and meta-regression: fitting (metafor's ``rma.uni``,
R/rma.uni.r).

Formulas and defaults follow metafor 3.8 (Viechtbauer 2010 [METAFOR]); Knapp–Hartung
(Hartung–Knapp–Sidik–Jonkman [KNAPP2003]) adjustment as ``test="knha"``, its truncated variant
as ``test="adhoc"``, plain t-tests as ``test="t"``; I² and H² [HIGGINS2002]. Prediction,
confidence intervals for tau², fit statistics and the print-out live in their own modules
(``_predict``, ``_confint``, ``_fitstats``, ``_print``), as in metafor's ``R/`` folder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from pedbone.evidence._formula import columns_design, formula_design
from pedbone.evidence._results import EscalcResult, RMAResult
from pedbone.evidence._tau2 import TAU2_METHODS, estimate_tau2, tr_pd
from pedbone.evidence._utils import (
    EvidenceInputError,
    FloatArray,
    as_float_array,
    as_frame,
    check_lengths,
    column_or_array,
    labels,
)

__all__ = ["METHODS", "TESTS", "rma"]

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
) -> tuple[FloatArray, tuple[str, ...], dict[int, tuple[str, ...]]]:
    """The model matrix X (k rows), the coefficient names and the rows lacking a moderator.

    Column names, mappings and data frames go through the formula reader
    (:mod:`pedbone.evidence._formula`), so text columns and ``factor()`` are coded as R codes
    them; a numeric array is used as it is (a NaN marks a missing value).
    """
    if mods is None:
        if not intercept:
            raise EvidenceInputError("model has neither an intercept nor moderators")
        return np.ones((k, 1)), ("intrcpt",), {}
    if isinstance(mods, str):
        return formula_design(mods, data, k, intercept)
    if isinstance(mods, pl.DataFrame):
        return columns_design(mods, list(mods.columns), k, intercept)
    if isinstance(mods, Mapping):
        cols: dict[str, pl.Series] = {}
        for name, values in mods.items():
            s = values if isinstance(values, pl.Series) else pl.Series(_as_list(values))
            if s.len() != k:
                raise EvidenceInputError(
                    f"moderator {str(name)!r} has {s.len()} values for {k} studies"
                )
            cols[str(name)] = s.alias(str(name))
        frame = pl.DataFrame(list(cols.values()))
        return columns_design(frame, list(cols), k, intercept)
    if isinstance(mods, Sequence) and mods and all(isinstance(m, str) for m in mods):
        if data is None:
            raise EvidenceInputError("mods given as column names but no data= DataFrame")
        names_l = [str(m) for m in mods]
        for col in names_l:
            if col not in data.columns:
                raise EvidenceInputError(f"moderator column {col!r} not in data")
        return columns_design(data, names_l, k, intercept)
    try:
        arr = np.asarray(mods, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise EvidenceInputError(f"mods: not numeric ({exc})") from exc
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[0] != k:
        raise EvidenceInputError(f"mods: expected {k} rows, got shape {arr.shape}")
    names = [f"mod{j + 1}" if arr.shape[1] > 1 else "mods" for j in range(arr.shape[1])]
    X = arr
    if intercept:
        X = np.column_stack([np.ones(k), arr])
        names.insert(0, "intrcpt")
    missing: dict[int, tuple[str, ...]] = {
        int(i): ("mods",) for i in np.flatnonzero(np.isnan(arr).any(axis=1))
    }
    return np.asarray(X, dtype=np.float64), tuple(names), missing


def _subset_mask(subset: Any, frame: pl.DataFrame | None, k: int) -> np.ndarray:
    """metafor's ``subset=``: a boolean mask, 0-based indices or a boolean column name."""
    if isinstance(subset, str):
        if frame is None or subset not in frame.columns:
            raise EvidenceInputError(f"subset column {subset!r} not in data")
        col = frame[subset]
        if col.dtype != pl.Boolean:
            raise EvidenceInputError(f"subset column {subset!r} must be boolean (True/False)")
        return np.asarray(col.fill_null(False).to_numpy(), dtype=bool)
    arr = np.asarray(subset)
    if arr.dtype == bool:
        if arr.shape != (k,):
            raise EvidenceInputError(f"subset mask has {arr.size} values for {k} studies")
        return arr
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise EvidenceInputError("subset must be a boolean mask, integer indices or a column")
    idx = arr.astype(int).ravel()
    if np.any((idx < 0) | (idx >= k)):
        raise EvidenceInputError(f"subset indices must be in 0..{k - 1}")
    mask = np.zeros(k, dtype=bool)
    mask[idx] = True
    return mask


def _subset_mods(mods: Any, mask: np.ndarray, k: int) -> Any:
    """Rows of moderators given as arrays, mappings or frames (column names need nothing)."""
    if mods is None or isinstance(mods, str):
        return mods
    if isinstance(mods, pl.DataFrame):
        return mods.filter(pl.Series(mask))
    if isinstance(mods, Mapping):
        out: dict[str, Any] = {}
        for name, values in mods.items():
            vals = values.to_list() if isinstance(values, pl.Series) else list(values)
            if len(vals) != k:
                raise EvidenceInputError(
                    f"moderator {str(name)!r} has {len(vals)} values for {k} studies"
                )
            out[name] = [x for x, m in zip(vals, mask, strict=True) if m]
        return out
    if isinstance(mods, Sequence) and mods and all(isinstance(m, str) for m in mods):
        return mods
    arr = np.asarray(mods, dtype=np.float64)
    if arr.shape[0] != k:
        raise EvidenceInputError(f"mods: expected {k} rows, got shape {arr.shape}")
    return arr[mask]


def _as_list(values: Any) -> list[Any]:
    if isinstance(values, np.ndarray):
        return [None if (isinstance(v, float) and math.isnan(v)) else v for v in values.tolist()]
    return list(values)


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
    subset: Any = None,
) -> RMAResult:
    """Fit an equal-, random- or mixed-effects meta-analytic model (metafor's ``rma``).

    ``subset``: fit only some studies — a boolean mask, 0-based row indices, or the name of a
    boolean column of ``data`` (metafor's ``subset=``); the data are subset before the model
    matrix is built, so a factor level absent from the subset gets no coefficient.

    Parameters
    ----------
    yi, vi, sei
        Observed effects and sampling variances (or standard errors): arrays, column names of
        ``data``, or an :class:`EscalcResult` as ``yi`` (then ``vi`` comes with it).
    mods
        Moderators: a model formula over the columns of ``data`` (``"~ ablat + year"``,
        ``"~ factor(era)"``, ``"~ alloc * ablat"``, ``"~ ablat:year"``, ``"~ I(ablat**2)"``,
        ``"~ log(ablat)"``, ``"~ 0 + alloc"``; read by formulaic, coded and named as R does:
        text columns against their first sorted level, no-intercept factor models with one
        coefficient per level), a list of column names, a mapping name→values, a polars
        DataFrame, or a 1-D/2-D numeric array (used as it is).
    intercept
        ``False`` removes the intercept (as ``- 1`` in a formula). A column of ones among
        array moderators then becomes the intercept, as in metafor.
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

    Studies with a missing ``yi``, ``vi`` or moderator value (text or number, or a
    transformation such as ``log`` that gives no number) are omitted and listed in ``notes``;
    any non-positive or infinite sampling variance raises :class:`EvidenceInputError`.
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
    sub_mask: np.ndarray | None = None
    if subset is not None:
        sub_mask = _subset_mask(subset, frame, k_all)
    if slab is None and isinstance(yi, EscalcResult) and yi.slab is not None:
        slab = yi.slab
    elif slab is None and isinstance(data, EscalcResult) and data.slab is not None:
        slab = data.slab
    if meas == "GEN" and measure is None and isinstance(data, EscalcResult):
        meas = data.measure  # rma(yi="yi", vi="vi", data=escalc(...)) keeps the measure
    if isinstance(slab, str):
        if frame is None or slab not in frame.columns:
            raise EvidenceInputError(f"slab column {slab!r} not in data")
        slab_l = labels(frame[slab].to_list(), k_all)
    else:
        slab_l = labels(slab, k_all)
    sub_note = ""
    if sub_mask is not None:
        y, v = y[sub_mask], v[sub_mask]
        slab_l = tuple(s_ for s_, m_ in zip(slab_l, sub_mask, strict=True) if m_)
        if frame is not None:
            frame = frame.filter(pl.Series(sub_mask))
        mods = _subset_mods(mods, sub_mask, k_all)
        sub_note = f"subset: {int(sub_mask.sum())} of {k_all} studies"
        k_all = int(sub_mask.sum())
        if k_all == 0:
            raise EvidenceInputError("subset selects no study")
    X, names, lacking = _design(mods, frame, k_all, intercept)
    if not intercept:
        # as metafor: a column of ones among the moderators is the intercept (moved first)
        ones = [j for j in range(X.shape[1]) if np.all(X[:, j] == 1.0)]
        if ones:
            j = ones[0]
            order = [j] + [i for i in range(X.shape[1]) if i != j]
            X = X[:, order]
            names = ("intrcpt", *(names[i] for i in order[1:]))
            intercept = True
    notes: list[str] = [sub_note] if sub_note else []
    no_yv = ~(np.isfinite(y) & ~np.isnan(v))
    no_mod = np.zeros(k_all, dtype=bool)
    no_mod[list(lacking)] = True
    # a transformation that gives no number (log of 0 or of a negative value) is missing too
    no_mod |= ~no_yv & ~no_mod & ~np.all(np.isfinite(X), axis=1)
    keep = ~no_yv & ~no_mod
    if no_yv.any():
        dropped = [slab_l[i] for i in np.flatnonzero(no_yv)]
        notes.append(f"{len(dropped)} studies omitted (missing yi/vi): {', '.join(dropped)}")
    if no_mod.any():
        which = sorted({v for i in np.flatnonzero(no_mod) for v in lacking.get(int(i), ("mods",))})
        dropped = [slab_l[i] for i in np.flatnonzero(no_mod)]
        notes.append(
            f"{len(dropped)} studies omitted (missing moderator values: {', '.join(which)}): "
            + ", ".join(dropped)
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
