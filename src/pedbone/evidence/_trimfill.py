"""Duval and Tweedie's trim and fill (metafor's ``trimfill.rma.uni``, R/trimfill.rma.uni.r)
[METAFOR] with the L0 (default), R0 or Q0 estimator of the number of missing studies; the side
is chosen as metafor does, from the sign of the slope in a regression of the estimates on their
standard errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pedbone.evidence._fit import rma
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError, FloatArray, control_of

__all__ = ["TrimFillResult", "trimfill"]


@dataclass(frozen=True, eq=False)
class TrimFillResult:
    """Trim-and-fill result: the model fitted to observed plus filled-in studies.

    ``fit`` is that model (or the input model when no study is missing); ``fill`` flags the
    imputed studies in ``yi``/``vi``/``slab``. ``estimate``, ``se``, ``ci_lb``, ... delegate
    to ``fit``. ``p_k0`` is the R0 test that no study is missing (NaN for L0/Q0).
    """

    fit: RMAResult
    k0: int
    se_k0: float
    side: str
    estimator: str
    p_k0: float
    fill: tuple[bool, ...]
    yi: FloatArray
    vi: FloatArray
    slab: tuple[str, ...]

    def __getattr__(self, name: str) -> Any:
        # delegate model read-outs (estimate, se, ci_lb, tau2, q, ...) to the fitted model
        if name.startswith("_") or name == "fit":
            raise AttributeError(name)
        return getattr(self.fit, name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary: the filled model plus the trim-and-fill read-out."""
        out = self.fit.to_dict()
        out["trimfill"] = {
            "k0": self.k0,
            "se_k0": None if not math.isfinite(self.se_k0) else self.se_k0,
            "side": self.side,
            "estimator": self.estimator,
            "p_k0": None if not math.isfinite(self.p_k0) else self.p_k0,
        }
        return out

    def summary(self) -> str:
        """Read-out: the number of imputed studies, then the model summary."""
        head = (
            f"Estimated number of missing studies on the {self.side} side: {self.k0} "
            f"(SE = {self.se_k0:.4f}; estimator {self.estimator})"
        )
        if self.estimator == "R0":
            head += f"\nTest of H0: no missing studies on the {self.side} side: p = {self.p_k0:.4f}"
        return head + "\n\n" + self.fit.summary()

    def __str__(self) -> str:
        return self.summary()


def trimfill(
    x: RMAResult,
    *,
    side: str | None = None,
    estimator: str = "L0",
    maxiter: int = 100,
) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill method (metafor's ``trimfill.rma.uni``).

    ``x`` must be an intercept-only model. ``side`` ("left"/"right") is where studies are
    presumed missing; by default it is estimated as metafor does (the side opposite the sign
    of the slope when the estimates are regressed on their standard errors). ``estimator`` is
    ``"L0"`` (default), ``"R0"`` or ``"Q0"``. As in metafor, the model of the filled data set
    uses the input's tau² estimator with a z test.
    """
    if not isinstance(x, RMAResult):
        raise EvidenceInputError("trimfill needs a model fitted with rma()")
    if not (x.p == 1 and x.intercept):
        raise EvidenceInputError("trim and fill applies only to models without moderators")
    if x.k == 1:
        raise EvidenceInputError("trim and fill needs k >= 2 studies (k = 1)")
    estimator = estimator.upper()
    if estimator not in ("L0", "R0", "Q0"):
        raise EvidenceInputError(f"estimator must be L0, R0 or Q0, not {estimator!r}")
    control = control_of(x) or None
    yi0 = np.asarray(x.yi, dtype=np.float64)
    vi0 = np.asarray(x.vi, dtype=np.float64)
    if side is None:
        slope_fit = rma(yi0, vi0, mods=np.sqrt(vi0), method=x.method, control=control)
        side = "right" if slope_fit.beta[1] < 0 else "left"
    elif side not in ("left", "right"):
        raise EvidenceInputError(f"side must be 'left' or 'right', not {side!r}")
    yi = -yi0 if side == "right" else yi0.copy()
    ix = np.argsort(yi, kind="stable")
    yi = yi[ix]
    vi = vi0[ix]
    k = yi.size
    k0_sav = -1
    k0 = 0
    it = 0
    beta = math.nan
    se_k0 = math.nan
    yi_c = yi

    def refit(n: int) -> float:
        return float(rma(yi[:n], vi[:n], method=x.method, control=control).beta[0])

    while k0 != k0_sav:
        k0_sav = k0
        it += 1
        if it > maxiter:
            raise EvidenceInputError("trim and fill did not converge")
        beta = refit(k - k0)
        yi_c = yi - beta
        order = np.argsort(np.abs(yi_c), kind="stable")
        ranks = np.empty(k, dtype=np.float64)
        ranks[order] = np.arange(1, k + 1)
        signed = np.sign(yi_c) * ranks
        if estimator == "R0":
            neg = -signed[signed < 0]
            k0_f = (k - (float(neg.max()) if neg.size else 0.0)) - 1
            se_k0 = math.sqrt(2 * max(0.0, k0_f) + 2)
        else:
            sr = float(np.sum(signed[signed > 0]))
            if estimator == "L0":
                k0_f = (4 * sr - k * (k + 1)) / (2 * k - 1)
            else:
                k0_f = k - 0.5 - math.sqrt(2 * k**2 - 4 * sr + 0.25)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0_f**3
                + 27 * k0_f**2
                + 17 * k0_f
                - 18 * k * k0_f**2
                - 18 * k * k0_f
                + 6 * k**2 * k0_f
            ) / 24
            sq = math.sqrt(var_sr) if var_sr >= 0 else math.nan
            if estimator == "L0":
                se_k0 = 4 * sq / (2 * k - 1)
            else:
                se_k0 = 2 * sq / math.sqrt((k - 0.5) ** 2 - k0_f * (2 * k - k0_f - 1))
        k0 = max(0, round(k0_f))
        se_k0 = se_k0 if math.isnan(se_k0) else max(0.0, se_k0)
    p_k0 = 0.5 ** (k0 + 1) if estimator == "R0" else math.nan
    if k0 > 0:
        # mirror the k0 most extreme studies about the trimmed estimate
        mirrored = 2 * beta - yi[k - k0 :]
        fill_y = -mirrored if side == "right" else mirrored
        fill_v = vi[k - k0 :]
        yi_f = np.concatenate([yi0, fill_y])
        vi_f = np.concatenate([vi0, fill_v])
        slab = (*x.slab, *(f"Filled {i + 1}" for i in range(k0)))
        fit = rma(
            yi_f,
            vi_f,
            method=x.method,
            level=x.level,
            slab=list(slab),
            measure=x.measure,
            control=control,
        )
        fill = (False,) * x.k + (True,) * k0
    else:
        fit = x
        yi_f, vi_f, slab = yi0, vi0, tuple(x.slab)
        fill = (False,) * x.k
    return TrimFillResult(
        fit=fit,
        k0=k0,
        se_k0=se_k0,
        side=side,
        estimator=estimator,
        p_k0=p_k0,
        fill=fill,
        yi=yi_f,
        vi=vi_f,
        slab=slab,
    )
