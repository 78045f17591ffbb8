"""Fitting LMS curves to data: the Cole & Green penalised-likelihood LMS method [COLE1992].

The measurement ``y > 0`` at age ``t`` is Box-Cox normal: ``z = ((y/M)^L - 1) / (L S)`` is
standard normal, with ``L(t)``, ``M(t)`` and ``S(t)`` smooth curves of age [COLE1990]. Each curve
is a penalised B-spline (P-spline, Eilers & Marx [EILERS1996]): a cubic B-spline basis on equally
spaced knots over the age range and a second-order difference penalty on the coefficients, on the
scale ``L``, ``log M``, ``log S`` (so M and S stay positive). The penalised log-likelihood

    sum_i [ L_i log(y_i/M_i) - log S_i - z_i^2 / 2 ]  -  1/2 sum_k lambda_k a_k' D'D a_k

is maximised by Newton-Raphson with the analytic first and second derivatives (step-halving and
a Levenberg ridge where the observed information is not positive definite).

Smoothness is set by each curve's **effective degrees of freedom** (edf), as in Cole & Green and
VGAM's ``lms.bcn``: edf_k = trace((H_kk + lambda_k P)^-1 H_kk), with H_kk the curve's block of the
observed information. An edf of 1 is a constant, 2 a straight line (the penalty's null space), more
a smooth curve. Given the edf the lambdas are solved for inside the Newton iterations (the
"performance iteration"). Without given edf, they are chosen by minimising the generalised
Akaike criterion ``GAIC(k) = -2 loglik + k * (edf_L + edf_M + edf_S)`` over integer edf by a
coordinate search (as gamlss chooses its smoothing by GAIC [RIGBY2005]). The default ``k = 3``
[PEDBONE_FIT] lies between AIC (k = 2, prone to wiggly curves) and BIC (k = log n, about 7-9
here: on 1500 simulated CDC statures it kept S constant and the Q statistics rejected the fit).

Diagnostics follow the growth-reference literature: Q statistics per age group (Royston & Wright
[ROYSTON2000]), worm plots (van Buuren & Fredriks [VANBUUREN2001]) and the observed share of
measurements below each fitted centile.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pedbone.references._lms import lms_value, lms_z

__all__ = [
    "FitError",
    "LMSFit",
    "QStatistics",
    "centile_shares",
    "fit_lms",
    "q_statistics",
    "worm_points",
]

F64 = NDArray[np.float64]

#: Software rule [PEDBONE_FIT]: fewer measurements than this per sex (and group) cannot support
#: three smooth curves; the builder refuses them.
MIN_OBSERVATIONS = 50
#: Integer edf tried by the GAIC search, per curve (L, M, S). Software rule [PEDBONE_FIT].
DF_CANDIDATES: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] = (
    (1, 2, 3, 4),
    (2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16),
    (1, 2, 3, 4, 5, 6),
)
_CURVES = ("L", "M", "S")


class FitError(ValueError):
    """The data cannot be fitted (too few points, bad values, no convergence)."""


# -- B-spline basis and penalty ----------------------------------------------------------------
def _knots(lo: float, hi: float, segments: int, degree: int = 3) -> F64:
    step = (hi - lo) / segments
    return lo + step * np.arange(-degree, segments + degree + 1, dtype=np.float64)


def _basis(x: F64, knots: F64, degree: int = 3) -> F64:
    """Dense B-spline design matrix (Cox-de Boor recursion), rows sum to 1 inside the range."""
    x = np.asarray(x, dtype=np.float64)
    t = knots
    nb = len(t) - degree - 1
    # degree 0: indicator of the knot interval (the last interval is closed on the right)
    B = np.zeros((x.size, len(t) - 1))
    idx = np.clip(np.searchsorted(t, x, side="right") - 1, degree, nb - 1)
    B[np.arange(x.size), idx] = 1.0
    for d in range(1, degree + 1):
        left = (x[:, None] - t[None, : -d - 1]) / (t[d:-1] - t[: -d - 1])[None, :]
        right = (t[None, d + 1 :] - x[:, None]) / (t[d + 1 :] - t[1:-d])[None, :]
        B = left * B[:, :-1] + right * B[:, 1:]
    return B[:, :nb]


def _penalty(p: int, order: int = 2) -> F64:
    D = np.diff(np.eye(p), n=order, axis=0)
    return D.T @ D


# -- the Box-Cox normal log-likelihood and its derivatives -------------------------------------
def _f_series(L: F64, r: F64, order: int = 2) -> tuple[F64, F64 | None, F64 | None]:
    """f = (e^{Lr} - 1)/L and its first ``order`` L-derivatives; series where |L r| is small."""
    u = L * r
    small = np.abs(u) < 1e-2
    em1 = np.expm1(u)
    f1 = f2 = None
    with np.errstate(divide="ignore", invalid="ignore"):
        f = em1 / L
        if order >= 1:
            A = em1 + 1.0
            f1 = (r * A - f) / L
        if order >= 2:
            f2 = r**2 * A / L - 2 * r * A / L**2 + 2 * em1 / L**3
    if small.any():
        us, rs = u[small], r[small]
        s0 = np.zeros_like(us)
        s1 = np.zeros_like(us)
        s2 = np.zeros_like(us)
        term = np.ones_like(us)
        for k in range(7):
            s0 += term / math.factorial(k + 1)
            s1 += (k + 1) * term / math.factorial(k + 2)
            s2 += (k + 1) * (k + 2) * term / math.factorial(k + 3)
            term = term * us
        f[small] = rs * s0
        if f1 is not None:
            f1[small] = rs**2 * s1
        if f2 is not None:
            f2[small] = rs**3 * s2
    return f, f1, f2


def _loglik_terms(
    logy: F64, L: F64, mu: F64, sigma: F64, *, derivatives: int = 2
) -> tuple[F64, F64 | None, F64 | None]:
    """Per-observation log-likelihood (without the constant (-log y - log sqrt(2 pi))), and with
    ``derivatives`` >= 1 the gradient (n, 3), >= 2 the Hessian (n, 3, 3), with respect to
    (L, mu = log M, sigma = log S)."""
    r = logy - mu
    S = np.exp(sigma)
    f, f1, f2 = _f_series(L, r, int(derivatives))
    z = f / S
    ll = L * r - sigma - 0.5 * z**2
    if not derivatives:
        return ll, None, None
    assert f1 is not None
    A = np.exp(L * r)
    z_L = f1 / S
    z_m = -A / S
    g = np.empty((logy.size, 3))
    g[:, 0] = r - z * z_L
    g[:, 1] = -L - z * z_m
    g[:, 2] = -1.0 + z**2
    if derivatives < 2:
        return ll, g, None
    assert f2 is not None
    z_LL = f2 / S
    z_Lm = -A * r / S
    H = np.empty((logy.size, 3, 3))
    H[:, 0, 0] = -(z_L**2 + z * z_LL)
    H[:, 0, 1] = H[:, 1, 0] = -1.0 - (z_m * z_L + z * z_Lm)
    H[:, 0, 2] = H[:, 2, 0] = 2 * z * z_L
    H[:, 1, 1] = -(z_m**2) - z * (L * A / S)
    H[:, 1, 2] = H[:, 2, 1] = 2 * z * z_m
    H[:, 2, 2] = -2 * z**2
    return ll, g, H


_GH_Z, _GH_W = np.polynomial.hermite_e.hermegauss(24)
_GH_W = _GH_W / _GH_W.sum()


def _expected_information(L: F64, sigma: F64) -> F64:
    """Fisher information (n, 3, 3) of (L, log M, log S) per observation: the expectation of
    minus the Hessian over z ~ N(0, 1) (Gauss-Hermite, 24 nodes; nodes where 1 + L S z <= 0,
    outside the Box-Cox support, are dropped). It depends on L and S only, and is positive
    definite, so Fisher scoring always climbs."""
    S = np.exp(sigma)
    u = L[:, None] * S[:, None] * _GH_Z[None, :]
    ok = u > -1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(
            np.abs(L[:, None]) > 1e-8,
            np.log1p(np.where(ok, u, 0.0)) / L[:, None],
            S[:, None] * _GH_Z[None, :],
        )
    n, K = r.shape
    w = np.where(ok, _GH_W[None, :], 0.0)
    w = w / w.sum(axis=1, keepdims=True)
    rep = np.repeat
    _, _, H = _loglik_terms(r.ravel(), rep(L, K), np.zeros(n * K), rep(sigma, K))
    assert H is not None
    info: F64 = -np.einsum("nk,nkab->nab", w, H.reshape(n, K, 3, 3))
    return info


def _information_by_age(prob: _Problem, L: F64, sigma: F64) -> F64:
    """Expected information per observation, computed at 201 ages and interpolated.

    It depends on L and S only, which are smooth in age: evaluating it at the observations
    nearest to 201 equally spaced ages and interpolating linearly changes the Fisher-scoring
    steps (not the maximum, where the score is exactly zero) by a negligible amount and makes
    the cost independent of n.
    """
    Wg = _expected_information(L[prob.grid_rows], sigma[prob.grid_rows])
    lo, frac = prob.interp_index, prob.interp_frac[:, None, None]
    out: F64 = Wg[lo] * (1.0 - frac) + Wg[lo + 1] * frac
    return out


# -- designs: each curve is a constant, a straight line or a P-spline ------------------------
@dataclass(frozen=True, slots=True)
class _Design:
    """A design matrix stored by rows: ``k`` non-zero columns per row (indices and values)."""

    kind: str  # constant | linear | spline
    idx: NDArray[np.intp]  # (n, k)
    val: F64  # (n, k)
    p: int
    penalty: F64  # (p, p)

    def eta(self, coef: F64) -> F64:
        out: F64 = np.einsum("nk,nk->n", self.val, coef[self.idx])
        return out

    def xt(self, g: F64) -> F64:
        out = np.bincount(
            self.idx.ravel(), weights=(self.val * g[:, None]).ravel(), minlength=self.p
        )
        return out.astype(np.float64)


def _cross(a: _Design, b: _Design, w: F64) -> F64:
    """a' diag(w) b by accumulation over the non-zero columns (no dense n x p products)."""
    if a.kind == b.kind == "spline":
        # rows share their 4 columns when they share the first: sum 4 x 4 products per first
        first = a.idx[:, 0]
        nb = a.p - 3
        out2 = np.zeros((a.p, b.p))
        for i in range(4):
            wa = w * a.val[:, i]
            for j in range(4):
                sums = np.bincount(first, weights=wa * b.val[:, j], minlength=nb)
                rows = np.arange(nb)
                out2[rows + i, rows + j] += sums
        return out2
    out = np.zeros(a.p * b.p)
    for i in range(a.idx.shape[1]):
        wa = w * a.val[:, i]
        base = a.idx[:, i] * b.p
        for j in range(b.idx.shape[1]):
            out += np.bincount(base + b.idx[:, j], weights=wa * b.val[:, j], minlength=out.size)
    return out.reshape(a.p, b.p)


def _kind(edf: float) -> str:
    if edf <= 1.0:
        return "constant"
    if edf <= 2.0:
        return "linear"
    return "spline"


def _design(kind: str, t: F64, knots: F64, lo: float, hi: float) -> _Design:
    n = t.size
    if kind == "constant":
        return _Design(kind, np.zeros((n, 1), np.intp), np.ones((n, 1)), 1, np.zeros((1, 1)))
    if kind == "linear":
        u = (t - 0.5 * (lo + hi)) / (0.5 * (hi - lo))
        idx = np.tile(np.arange(2, dtype=np.intp), (n, 1))
        return _Design(kind, idx, np.column_stack([np.ones(n), u]), 2, np.zeros((2, 2)))
    B = _basis(t, knots)
    p = B.shape[1]
    first = np.clip(np.searchsorted(knots, t, side="right") - 4, 0, p - 4).astype(np.intp)
    idx = first[:, None] + np.arange(4, dtype=np.intp)[None, :]
    val = np.take_along_axis(B, idx, axis=1)
    return _Design(kind, idx, val, p, _penalty(p))


# -- the fitted model --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LMSFit:
    """Smooth L, M and S curves fitted to one sample (one sex, one group).

    ``lms(age)`` evaluates the curves inside ``[age_min, age_max]`` (NaN outside: a fitted
    reference is never extrapolated).
    """

    n: int
    age_min: float
    age_max: float
    edf: tuple[float, float, float]
    """Effective degrees of freedom of L, M, S (1 = constant, 2 = straight line)."""
    lambdas: tuple[float, float, float]
    loglik: float
    """Maximised log-likelihood of the measurements (full density, including -log y)."""
    criterion: str
    """How the smoothness was chosen."""
    gaic: float
    gaic_k: float
    segments: int
    iterations: int
    kinds: tuple[str, str, str]
    coef: tuple[F64, F64, F64] = field(repr=False)
    knots: F64 = field(repr=False)
    search: tuple[tuple[tuple[float, float, float], float], ...] = field(default=(), repr=False)
    """The (edf_L, edf_M, edf_S) tried by the search, with their GAIC, best first."""

    def lms(self, age: ArrayLike) -> tuple[F64, F64, F64]:
        """L, M and S at the given ages (NaN outside the fitted age range)."""
        a = np.atleast_1d(np.asarray(age, dtype=np.float64)).ravel()
        inside = (a >= self.age_min) & (a <= self.age_max)
        t = np.where(inside, a, self.age_min)
        out = []
        for k, (kind, c) in enumerate(zip(self.kinds, self.coef, strict=True)):
            eta = _design(kind, t, self.knots, self.age_min, self.age_max).eta(c)
            val = eta if k == 0 else np.exp(eta)
            out.append(np.where(inside, val, np.nan))
        return out[0], out[1], out[2]

    def zscore(self, age: ArrayLike, value: ArrayLike) -> F64:
        """Z-scores of measurements under the fitted curves."""
        L, M, S = self.lms(age)
        y = np.broadcast_to(np.asarray(value, dtype=np.float64).ravel(), M.shape)
        return lms_z(np.array(y), L, M, S)

    def centile_curve(self, age: ArrayLike, z: float) -> F64:
        """The measurement at Z-score ``z`` for each age (e.g. z = -1.881 is the 3rd centile)."""
        L, M, S = self.lms(age)
        return lms_value(np.full_like(L, z), L, M, S)

    def settings(self) -> dict[str, Any]:
        """The fit settings and results, for provenance."""
        return {
            "method": "LMS (Box-Cox normal), penalised likelihood [COLE1992]",
            "curves": "L, log M, log S; each a constant, a line or a P-spline [EILERS1996]",
            "basis": f"cubic B-splines, {self.segments} equal segments over the age range",
            "penalty": "second-order differences; lambda set by the curve's edf",
            "smoothness": self.criterion,
            "edf": {k: round(v, 3) for k, v in zip(_CURVES, self.edf, strict=True)},
            "lambda": {k: float(f"{v:.6g}") for k, v in zip(_CURVES, self.lambdas, strict=True)},
            "loglik": round(self.loglik, 4),
            "gaic": round(self.gaic, 4),
            "gaic_k": round(self.gaic_k, 4),
            "iterations": self.iterations,
            "n": self.n,
            "age_range_years": [round(self.age_min, 4), round(self.age_max, 4)],
        }


def _solve_lambda(Hkk: F64, P: F64, target: float) -> float:
    """lambda with trace((Hkk + lambda P)^-1 Hkk) = target (> 2 for a 2nd-order penalty)."""
    p = Hkk.shape[0]
    w, V = np.linalg.eigh(0.5 * (Hkk + Hkk.T))
    floor = 1e-10 * max(float(w.max()), 1e-300)
    R = V * np.sqrt(np.maximum(w, floor))  # Hkk ~ R R'
    Ri = np.linalg.pinv(R)
    d = np.clip(np.linalg.eigvalsh(Ri @ P @ Ri.T), 0.0, None)

    def edf(log_lam: float) -> float:
        return float(np.sum(1.0 / (1.0 + math.exp(log_lam) * d)))

    lo, hi = -40.0, 40.0
    if edf(hi) >= target:
        return math.exp(hi)
    if edf(lo) <= target:
        return math.exp(lo)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if edf(mid) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10:
            break
    del p
    return math.exp(0.5 * (lo + hi))


@dataclass
class _Problem:
    t: F64
    logy: F64
    lo: float
    hi: float
    segments: int
    knots: F64
    designs: dict[str, _Design] = field(default_factory=dict)
    grid_rows: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    interp_index: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    interp_frac: F64 = field(default_factory=lambda: np.zeros(0))

    def design(self, kind: str) -> _Design:
        if kind not in self.designs:
            self.designs[kind] = _design(kind, self.t, self.knots, self.lo, self.hi)
        return self.designs[kind]


def _prepare(age: F64, value: F64, segments: int) -> _Problem:
    lo, hi = float(age.min()), float(age.max())
    order = np.argsort(age, kind="stable")
    ts = age[order]
    pos = np.clip(np.searchsorted(ts, np.linspace(lo, hi, 201)), 0, age.size - 1)
    grid_rows = np.unique(order[pos])
    grid_rows = grid_rows[np.argsort(age[grid_rows], kind="stable")]
    _, keep = np.unique(age[grid_rows], return_index=True)  # strictly increasing grid ages
    grid_rows = grid_rows[keep]
    tg = age[grid_rows]
    # linear interpolation weights from the grid ages to every observation (fixed per fit)
    if tg.size == 1:
        index = np.zeros(age.size, np.intp)
        frac = np.zeros(age.size)
        grid_rows = np.concatenate([grid_rows, grid_rows])
    else:
        index = np.clip(np.searchsorted(tg, age, side="right") - 1, 0, tg.size - 2)
        frac = np.clip((age - tg[index]) / (tg[index + 1] - tg[index]), 0.0, 1.0)
    return _Problem(
        age,
        np.log(value),
        lo,
        hi,
        segments,
        _knots(lo, hi, segments),
        grid_rows=grid_rows,
        interp_index=index.astype(np.intp),
        interp_frac=frac,
    )


_FitResult = tuple[list[F64], list[float], float, int, list[float], tuple[str, str, str]]


def _convert(coef: F64, old: _Design, new: _Design) -> F64:
    """Coefficients of ``new`` that reproduce ``old``'s curve (least squares over the data)."""
    eta = old.eta(coef)
    W = _cross(new, new, np.ones(eta.size)) + 1e-9 * np.eye(new.p)
    sol: F64 = np.asarray(np.linalg.solve(W, new.xt(eta)), dtype=np.float64)
    return sol


def _fit_fixed(
    prob: _Problem,
    edf: tuple[float, float, float],
    start: tuple[list[F64], tuple[str, str, str]] | None,
    *,
    max_iter: int = 100,
) -> _FitResult:
    """Penalised Fisher scoring at fixed edf (lambdas re-solved at every iteration)."""
    kinds = (_kind(edf[0]), _kind(edf[1]), _kind(edf[2]))
    designs = [prob.design(k) for k in kinds]
    offs = np.concatenate([[0], np.cumsum([d.p for d in designs])]).astype(int)
    if start is None:
        # L = 1 (normal); M a smooth curve through log y; S the SD of log y around it
        spl = prob.design("spline")
        A = _cross(spl, spl, np.ones(prob.logy.size)) + 10.0 * spl.penalty
        a_mu: F64 = np.asarray(
            np.linalg.solve(A + 1e-9 * np.eye(spl.p), spl.xt(prob.logy)), dtype=np.float64
        )
        resid = prob.logy - spl.eta(a_mu)
        sd = max(float(np.std(resid)), 1e-6)
        start = (
            [np.array([1.0]), a_mu, np.array([math.log(sd)])],
            ("constant", "spline", "constant"),
        )
    src = [prob.design(k) for k in start[1]]
    coef = [
        c.copy() if s.kind == d.kind else _convert(c, s, d)
        for c, s, d in zip(start[0], src, designs, strict=True)
    ]
    lams = [0.0, 0.0, 0.0]

    def etas(cs: list[F64]) -> list[F64]:
        return [d.eta(c) for d, c in zip(designs, cs, strict=True)]

    def objective(cs: list[F64], lm: list[float]) -> float:
        e = etas(cs)
        with np.errstate(all="ignore"):
            ll, _, _ = _loglik_terms(prob.logy, e[0], e[1], e[2], derivatives=0)
        total = float(ll.sum())
        if not math.isfinite(total):
            return -math.inf
        pen = sum(
            0.5 * la * float(c @ d.penalty @ c) for la, c, d in zip(lm, cs, designs, strict=True)
        )
        return total - pen

    it = 0
    F = np.zeros((offs[-1], offs[-1]))
    f_old = -math.inf
    for it in range(1, max_iter + 1):  # noqa: B007 - reported
        e = etas(coef)
        _, g, _ = _loglik_terms(prob.logy, e[0], e[1], e[2], derivatives=1)
        assert g is not None
        W = _information_by_age(prob, e[0], e[2])
        grad = np.concatenate([d.xt(g[:, k]) for k, d in enumerate(designs)])
        F = np.zeros((offs[-1], offs[-1]))
        for a in range(3):
            for b in range(a, 3):
                blk = _cross(designs[a], designs[b], W[:, a, b])
                F[offs[a] : offs[a + 1], offs[b] : offs[b + 1]] = blk
                F[offs[b] : offs[b + 1], offs[a] : offs[a + 1]] = blk.T
        for k, d in enumerate(designs):
            if d.kind == "spline":
                sl = slice(offs[k], offs[k + 1])
                lams[k] = _solve_lambda(F[sl, sl], d.penalty, float(edf[k]))
        Ppen = np.zeros_like(F)
        for k, d in enumerate(designs):
            Ppen[offs[k] : offs[k + 1], offs[k] : offs[k + 1]] = lams[k] * d.penalty
        theta = np.concatenate(coef)
        A = F + Ppen
        step = np.linalg.solve(
            A + 1e-10 * np.trace(A) / A.shape[0] * np.eye(A.shape[0]), grad - Ppen @ theta
        )
        f0 = objective(coef, lams)
        t = 1.0
        for _ in range(30):
            new = theta + t * step
            cand = [new[offs[k] : offs[k + 1]] for k in range(3)]
            f1 = objective(cand, lams)
            if f1 >= f0 - 1e-12 * abs(f0):
                break
            t *= 0.5
        else:
            raise FitError("the penalised likelihood could not be increased (no convergence)")
        change = float(np.max(np.abs(t * step)))
        coef = cand
        if change < 1e-7 and abs(f1 - f_old) < 1e-9 * (1.0 + abs(f1)):
            break
        f_old = f1
    else:
        raise FitError(f"no convergence in {max_iter} iterations (edf {edf})")
    e = etas(coef)
    ll, _, _ = _loglik_terms(prob.logy, e[0], e[1], e[2], derivatives=0)
    n = prob.logy.size
    loglik = float(ll.sum() - prob.logy.sum()) - 0.5 * n * math.log(2 * math.pi)
    edfs = []
    for k, d in enumerate(designs):
        if d.kind == "spline":
            sl = slice(offs[k], offs[k + 1])
            edfs.append(
                float(np.trace(np.linalg.solve(F[sl, sl] + lams[k] * d.penalty, F[sl, sl])))
            )
        else:
            edfs.append(float(d.p))
    return coef, lams, loglik, it, edfs, kinds


def fit_lms(
    age: ArrayLike,
    value: ArrayLike,
    *,
    edf: Sequence[float] | None = None,
    gaic_k: float | None = 3.0,
    segments: int = 20,
    candidates: tuple[Sequence[float], Sequence[float], Sequence[float]] = DF_CANDIDATES,
) -> LMSFit:
    """Fit smooth L(t), M(t), S(t) to measurements ``value`` (> 0) at ages ``age`` [COLE1992].

    ``edf=(L, M, S)`` fixes each curve's effective degrees of freedom: 1 = a constant, 2 = a
    straight line, more = a P-spline with that edf (VGAM's ``s(age, df=d)`` is edf ``d + 1``,
    its ``zero=`` a constant). Without ``edf`` they are chosen by minimising
    GAIC = -2 loglik + k (edf_L + edf_M + edf_S), ``k = gaic_k`` (default 3; None: log(n), BIC),
    over ``candidates`` by a coordinate search (M, then S, then L, repeated until no change)
    [RIGBY2005].
    """
    t = np.asarray(age, dtype=np.float64).ravel()
    y = np.asarray(value, dtype=np.float64).ravel()
    if t.shape != y.shape:
        raise FitError("age and value must have the same length")
    bad = ~(np.isfinite(t) & np.isfinite(y)) | (y <= 0)
    if bad.any():
        raise FitError(
            f"{int(bad.sum())} measurement(s) are missing, infinite or not positive; "
            "clean the data first (the builder reports them by line)"
        )
    n = t.size
    if n < MIN_OBSERVATIONS:
        raise FitError(
            f"{n} measurements: at least {MIN_OBSERVATIONS} are needed to fit L, M and S curves "
            "[PEDBONE_FIT]"
        )
    if float(t.max() - t.min()) <= 0:
        raise FitError("all ages are equal; an age curve cannot be fitted")
    prob = _prepare(t, y, segments)
    k = math.log(n) if gaic_k is None else float(gaic_k)
    tried: list[tuple[tuple[float, float, float], float]] = []
    if edf is not None:
        chosen = tuple(float(d) for d in edf)
        if len(chosen) != 3 or any(not (d == 1 or d == 2 or 2 < d <= segments + 1) for d in chosen):
            raise FitError(
                f"edf must be three numbers, each 1 (constant), 2 (line) or above 2 and at "
                f"most {segments + 1} (spline), not {tuple(edf)!r}"
            )
        res = _fit_fixed(prob, (chosen[0], chosen[1], chosen[2]), None)
        criterion = f"edf (L, M, S) = {tuple(_fmt(d) for d in chosen)} given"
    else:
        cache: dict[tuple[float, float, float], tuple[_FitResult, float]] = {}

        def score(d: tuple[float, float, float], start: _FitResult | None) -> float:
            if d not in cache:
                try:
                    r = _fit_fixed(prob, d, None if start is None else (start[0], start[5]))
                except FitError:
                    cache[d] = (cache[next(iter(cache))][0] if cache else None, math.inf)  # type: ignore[assignment]
                    return math.inf
                cache[d] = (r, -2 * r[2] + k * sum(r[4]))
            return cache[d][1]

        current = (1.0, 4.0, 2.0)
        best = score(current, None)
        if not math.isfinite(best):
            raise FitError("the starting model (edf 1, 4, 2) could not be fitted")
        for _ in range(4):
            changed = False
            for idx in (1, 2, 0):
                for cand in candidates[idx]:
                    trial = list(current)
                    trial[idx] = float(cand)
                    d3 = (trial[0], trial[1], trial[2])
                    val = score(d3, cache[current][0])
                    if val < best - 1e-9:
                        best, current, changed = val, d3, True
            if not changed:
                break
        res = cache[current][0]
        chosen = current
        criterion = (
            f"edf (L, M, S) = {tuple(_fmt(d) for d in chosen)} chosen by minimum GAIC, k = "
            + (f"log(n) = {k:.3f} (BIC)" if gaic_k is None else f"{k:g}")
            + f", over {len(cache)} candidate models"
        )
        tried = sorted(
            ((d, v[1]) for d, v in cache.items() if math.isfinite(v[1])), key=lambda kv: kv[1]
        )
    coef, lams, loglik, its, edfs, kinds = res
    return LMSFit(
        n=n,
        age_min=prob.lo,
        age_max=prob.hi,
        edf=(edfs[0], edfs[1], edfs[2]),
        lambdas=(lams[0], lams[1], lams[2]),
        loglik=loglik,
        criterion=criterion,
        gaic=-2 * loglik + k * sum(edfs),
        gaic_k=k,
        segments=segments,
        iterations=its,
        kinds=kinds,
        coef=(coef[0], coef[1], coef[2]),
        knots=prob.knots,
        search=tuple(tried),
    )


def _fmt(d: float) -> int | float:
    return int(d) if float(d).is_integer() else d


# -- diagnostics -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QStatistics:
    """Royston & Wright Q tests [ROYSTON2000] over age groups of the Z-scores.

    Per group g of size n_g: Z1 = mean * sqrt(n_g); Z2 = the Wilson-Hilferty cube-root
    transform of the variance; Z3, Z4 = D'Agostino's skewness and kurtosis tests. Each Q_j is the
    sum of Z_gj^2 over groups, chi-squared with G - edf_M (Q1), G - edf_S (Q2), G - edf_L (Q3)
    and G (Q4) degrees of freedom. |Z| > 2 in a group flags a misfit there.
    """

    groups: tuple[tuple[float, float, int], ...]  # (age from, age to, n)
    z: F64  # (G, 4)
    q: tuple[float, float, float, float]
    df: tuple[float, float, float, float]
    p: tuple[float, float, float, float]


def q_statistics(age: ArrayLike, z: ArrayLike, fit: LMSFit, groups: int = 10) -> QStatistics:
    """Q statistics of Z-scores ``z`` in ``groups`` age groups of (nearly) equal size."""
    from scipy import stats

    a = np.asarray(age, dtype=np.float64)
    zz = np.asarray(z, dtype=np.float64)
    order = np.argsort(a, kind="stable")
    parts = [p for p in np.array_split(order, groups) if p.size >= 8]
    rows = []
    table = np.empty((len(parts), 4))
    for g, idx in enumerate(parts):
        zg = zz[idx]
        ng = zg.size
        table[g, 0] = zg.mean() * math.sqrt(ng)
        v = zg.var(ddof=1)
        c = 2.0 / (9.0 * (ng - 1))
        table[g, 1] = (v ** (1.0 / 3.0) - (1.0 - c)) / math.sqrt(c)
        table[g, 2] = float(stats.skewtest(zg).statistic)
        table[g, 3] = float(stats.kurtosistest(zg).statistic) if ng >= 20 else float("nan")
        rows.append((float(a[idx].min()), float(a[idx].max()), int(ng)))
    G = len(parts)
    q = tuple(float(np.nansum(table[:, j] ** 2)) for j in range(4))
    dfs = (G - fit.edf[1], G - fit.edf[2], G - fit.edf[0], float(G))
    ps = tuple(float(stats.chi2.sf(qj, max(dj, 1.0))) for qj, dj in zip(q, dfs, strict=True))
    return QStatistics(tuple(rows), table, q, dfs, ps)  # type: ignore[arg-type]


def centile_shares(
    z: ArrayLike, centiles: Sequence[float] = (3, 10, 25, 50, 75, 90, 97)
) -> list[tuple[float, float]]:
    """(nominal centile, observed % of Z-scores below the fitted centile curve)."""
    from scipy.special import ndtri

    zz = np.asarray(z, dtype=np.float64)
    return [(float(c), float(np.mean(zz < ndtri(c / 100.0)) * 100.0)) for c in centiles]


def worm_points(z: ArrayLike) -> tuple[F64, F64, F64]:
    """Worm plot of one group [VANBUUREN2001]: unit-normal quantiles, the detrended sample
    quantiles (sorted z minus the unit-normal quantile) and the 95% pointwise band half-width."""
    from scipy.special import ndtri

    zz = np.sort(np.asarray(z, dtype=np.float64))
    n = zz.size
    p = (np.arange(1, n + 1) - 0.5) / n
    x = ndtri(p)
    dens = np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    band = 1.96 * np.sqrt(p * (1 - p) / n) / dens
    return x, zz - x, band
