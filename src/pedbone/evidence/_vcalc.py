"""Sampling covariance matrices from an assumed correlation (metafor's ``vcalc``).

Trials of bone outcomes report several effects per study — sites (``obs``), outcome types
(``type``) or time points (``time1``) — but hardly ever their correlation. ``vcalc`` builds the
block-diagonal V of Viechtbauer's metafor [METAFOR] from the variances and an assumed
correlation: within a cluster, two estimates of the same type and different observations
correlate ``rho`` (first element when both ``obs`` and ``type`` are given), of different types
``rho`` (second element), and estimates at different times are multiplied by
``phi ** |t_i - t_j|``. ``grp1``/``grp2``/``w1``/``w2``/``time2`` give the contrast-based
correlations of metafor for effects that share a group (e.g. several treatments against one
control).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from pedbone.evidence._utils import EvidenceInputError, FloatArray, as_float_array, as_frame

__all__ = ["vcalc"]


def _get(x: Any, name: str, data: pl.DataFrame | None, k: int | None) -> list[Any] | None:
    if x is None:
        return None
    if isinstance(x, str):
        if data is None or x not in data.columns:
            raise EvidenceInputError(f"vcalc: {name}={x!r} is not a column of data")
        vals = data[x].to_list()
    else:
        vals = list(x)
    if k is not None and len(vals) != k:
        raise EvidenceInputError(f"vcalc: {name} has {len(vals)} values for {k} estimates")
    if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in vals):
        raise EvidenceInputError(f"vcalc: no missing values allowed in {name!r}")
    return vals


def _corr_matrix(rho: Any, levels: list[str], name: str) -> FloatArray:
    q = len(levels)
    if isinstance(rho, (int, float)):
        R = np.full((q, q), float(rho))
        np.fill_diagonal(R, 1.0)
        return R
    arr = np.asarray(rho, dtype=np.float64)
    if arr.shape != (q, q):
        raise EvidenceInputError(
            f"vcalc: a {name} correlation matrix must be {q}×{q} (levels in sorted order: "
            f"{', '.join(levels)})"
        )
    return arr


def vcalc(
    vi: Any,
    cluster: Any,
    *,
    obs: Any = None,
    type: Any = None,
    time1: Any = None,
    time2: Any = None,
    grp1: Any = None,
    grp2: Any = None,
    w1: Any = None,
    w2: Any = None,
    subgroup: Any = None,
    rho: float | Sequence[float] | Any = None,
    phi: float | None = None,
    data: pl.DataFrame | Any = None,
    checkpd: bool = True,
) -> FloatArray:
    """The k×k sampling covariance matrix V (metafor's ``vcalc``).

    ``vi`` and every grouping argument is an array or a column name of ``data``. ``rho`` is
    required with ``obs`` or ``type`` (a number, a square matrix over the sorted levels, or a
    pair ``(rho_obs, rho_type)`` when both are given); ``phi`` with ``time1``. Estimates in
    different clusters (or ``subgroup``\\ s) are independent. With ``checkpd`` a warning names
    every cluster whose block is not positive definite (as metafor).
    """
    frame = as_frame(data)
    if isinstance(vi, str):
        if frame is None or vi not in frame.columns:
            raise EvidenceInputError(f"vcalc: vi={vi!r} is not a column of data")
        v = as_float_array(frame[vi], "vi")
    else:
        v = as_float_array(vi, "vi")
    cl = _get(cluster, "cluster", frame, None)
    if cl is None:
        raise EvidenceInputError("vcalc: cluster is required")
    k = len(cl)
    if v.shape[0] == 1 and k > 1:
        v = np.full(k, v[0])
    if v.shape[0] != k:
        raise EvidenceInputError(f"vcalc: vi has {v.shape[0]} values for {k} cluster entries")
    if k == 1:
        raise EvidenceInputError("vcalc: k = 1; nothing to correlate")
    sub = _get(subgroup, "subgroup", frame, k)
    clus = [str(c) if sub is None else f"{c}.{s}" for c, s in zip(cl, sub or cl, strict=True)]
    ob = _get(obs, "obs", frame, k)
    ty = _get(type, "type", frame, k)
    if (ob is not None or ty is not None) and rho is None:
        raise EvidenceInputError("vcalc: give rho= when obs= or type= is specified")
    if ob is not None and ty is not None:
        if isinstance(rho, (int, float)) or len(rho) != 2:
            raise EvidenceInputError(
                "vcalc: with both obs and type, rho must be a pair (within-type, between-type)"
            )
        rho_obs, rho_type = rho[0], rho[1]
    elif ob is not None:
        rho_obs, rho_type = rho, 0.0
    elif ty is not None:
        rho_obs, rho_type = 0.0, rho
    else:
        rho_obs, rho_type = 0.0, 0.0
    obs_s = [str(o) for o in (ob if ob is not None else [1] * k)]
    type_s = [str(t) for t in (ty if ty is not None else [1] * k)]
    obs_lev = sorted(set(obs_s))
    type_lev = sorted(set(type_s))
    R_obs = _corr_matrix(rho_obs, obs_lev, "obs")
    R_type = _corr_matrix(rho_type, type_lev, "type")
    if np.any(np.abs(R_obs) > 1) or np.any(np.abs(R_type) > 1):
        raise EvidenceInputError("vcalc: correlations must be in [-1, 1]")
    t1 = _get(time1, "time1", frame, k)
    t2 = _get(time2, "time2", frame, k)
    if t2 is not None and t1 is None:
        raise EvidenceInputError("vcalc: give time1 when time2 is given")
    if t1 is not None and phi is None:
        raise EvidenceInputError("vcalc: give phi= when time1 (and time2) is specified")
    phi_v = 1.0 if phi is None else float(phi)
    if abs(phi_v) > 1:
        raise EvidenceInputError("vcalc: phi must be in [-1, 1]")
    g1 = _get(grp1, "grp1", frame, k)
    g2 = _get(grp2, "grp2", frame, k)
    if g2 is not None and g1 is None:
        raise EvidenceInputError("vcalc: give grp1 when grp2 is given")
    time1_a = np.asarray(t1 if t1 is not None else [1.0] * k, dtype=np.float64)
    time2_a = np.asarray(t2, dtype=np.float64) if t2 is not None else time1_a
    grp1_a = np.asarray([str(x) for x in (g1 if g1 is not None else [1] * k)])
    grp2_a = np.asarray([str(x) for x in (g2 if g2 is not None else [2] * k)])
    wa = np.asarray(_get(w1, "w1", frame, k) or [1.0] * k, dtype=np.float64)
    wb = np.asarray(_get(w2, "w2", frame, k), dtype=np.float64) if w2 is not None else wa
    oi = np.asarray([obs_lev.index(o) for o in obs_s])
    ti = np.asarray([type_lev.index(t) for t in type_s])

    def lag(ga: Any, ta: FloatArray, gb: Any, tb: FloatArray) -> FloatArray:
        same = ga[:, None] == gb[None, :]
        with np.errstate(invalid="ignore"):
            d = np.abs(ta[:, None] - tb[None, :])
            pw = np.where(d == 0, 1.0, phi_v**d)
        return np.where(same, pw, 0.0)

    inv_a, inv_b = 1 / wa, 1 / wb
    num = (
        lag(grp1_a, time1_a, grp1_a, time1_a) * np.sqrt(np.outer(inv_a, inv_a))
        - lag(grp1_a, time1_a, grp2_a, time2_a) * np.sqrt(np.outer(inv_a, inv_b))
        - lag(grp2_a, time2_a, grp1_a, time1_a) * np.sqrt(np.outer(inv_b, inv_a))
        + lag(grp2_a, time2_a, grp2_a, time2_a) * np.sqrt(np.outer(inv_b, inv_b))
    )
    self_lag = np.diag(lag(grp1_a, time1_a, grp2_a, time2_a))
    den1 = np.sqrt(inv_a + inv_b - 2 * self_lag * np.sqrt(inv_a * inv_b))
    contrast = num / np.outer(den1, den1)
    same_type = ti[:, None] == ti[None, :]
    same_obs = oi[:, None] == oi[None, :]
    base = np.where(
        same_type, np.where(same_obs, 1.0, R_obs[np.ix_(oi, oi)]), R_type[np.ix_(ti, ti)]
    )
    clu = np.asarray(clus)
    same_cl = clu[:, None] == clu[None, :]
    R = np.where(same_cl, base * contrast, 0.0)
    np.fill_diagonal(R, 1.0)
    if checkpd:
        bad = []
        for c in dict.fromkeys(clus):
            idx = np.flatnonzero(clu == c)
            if idx.size > 1 and np.linalg.eigvalsh(R[np.ix_(idx, idx)]).min() <= 1e-12:
                bad.append(c)
        if bad:
            warnings.warn(
                "vcalc: the covariance matrix is not positive definite in cluster(s) "
                + ", ".join(bad),
                stacklevel=2,
            )
    s = np.sqrt(v)
    return np.asarray(R * np.outer(s, s), dtype=np.float64)
