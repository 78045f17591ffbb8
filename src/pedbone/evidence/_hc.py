"""Henmi–Copas confidence interval (metafor's ``hc``).

Henmi & Copas 2010 [HENMI2010]: keep the equal-effects point estimate (robust to small-study
effects) but widen its interval for heterogeneity, using the DerSimonian–Laird τ² and the
distribution of Q given the estimate. The computation is metafor 3.8's ``hc.rma.uni``: the
integral by adaptive quadrature and the root by Brent's method (tolerance 1e-12 here; metafor's
default uniroot tolerance is about 1.2e-4, see ``control``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, stats

from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError

__all__ = ["HCResult", "hc"]


@dataclass(frozen=True)
class HCResult:
    """Henmi–Copas estimate and CI beside the original model's."""

    beta: float
    se: float
    ci_lb: float
    ci_ub: float
    tau2: float
    beta_rma: float
    se_rma: float
    ci_lb_rma: float
    ci_ub_rma: float
    tau2_rma: float
    method_rma: str
    level: float

    def summary(self, digits: int = 4) -> str:
        d = digits
        return (
            f"\n{'method':<8} {'tau2':>8} {'estimate':>9} {'se':>8} {'ci.lb':>8} {'ci.ub':>8}\n"
            f"{self.method_rma:<8} {self.tau2_rma:>8.{d}f} {self.beta_rma:>9.{d}f} "
            f"{self.se_rma:>8.{d}f} {self.ci_lb_rma:>8.{d}f} {self.ci_ub_rma:>8.{d}f}\n"
            f"{'HC':<8} {self.tau2:>8.{d}f} {self.beta:>9.{d}f} {self.se:>8.{d}f} "
            f"{self.ci_lb:>8.{d}f} {self.ci_ub:>8.{d}f}\n"
        )

    def __str__(self) -> str:
        return self.summary()


def hc(res: RMAResult, *, control: Mapping[str, float] | None = None) -> HCResult:
    """The Henmi–Copas CI for an intercept-only ``rma`` fit (metafor's ``hc``)."""
    if not isinstance(res, RMAResult):
        raise EvidenceInputError("hc: expects a fit from rma()")
    if res.p != 1 or not res.intercept:
        raise EvidenceInputError("hc: only for models without moderators")
    k = res.k
    if k == 1:
        raise EvidenceInputError("hc: needs k >= 2 studies")
    tol = float((control or {}).get("tol", 1e-12))
    y, v = res.yi, res.vi
    alpha = 1 - res.level / 100
    wi = 1 / v
    W1 = float(np.sum(wi))
    W2 = float(np.sum(wi**2)) / W1
    W3 = float(np.sum(wi**3)) / W1
    W4 = float(np.sum(wi**4)) / W1
    beta = float(np.sum(wi * y)) / W1
    Q = float(np.sum(wi * (y - beta) ** 2))
    tau2 = max(0.0, (Q - (k - 1)) / (W1 - W2))
    se = math.sqrt((tau2 * W2 + 1) / W1)
    VR = 1 + tau2 * W2
    SDR = math.sqrt(VR)

    def EQ(r: float) -> float:  # noqa: N802 - the paper's names
        return (k - 1) + tau2 * (W1 - W2) + tau2**2 * (r * r / VR**2 - 1 / VR) * (W3 - W2**2)

    def VQ(r: float) -> float:  # noqa: N802
        rsq = r * r
        rv2 = 1 / VR**2
        return (
            2 * (k - 1)
            + 4 * tau2 * (W1 - W2)
            + 2 * tau2**2 * (W1 * W2 - 2 * W3 + W2**2)
            + 4 * tau2**2 * (rv2 * rsq - 1 / VR) * (W3 - W2**2)
            + 4 * tau2**3 * (rv2 * rsq - 1 / VR) * (W4 - 2 * W2 * W3 + W2**3)
            + 2 * tau2**4 * (rv2 - 2 * rsq / VR**3) * (W3 - W2**2) ** 2
        )

    def finv(f: float) -> float:
        return (W1 / W2 - 1) * (f * f - 1) + (k - 1)

    def eqn(x: float) -> float:
        def integrand(r: float) -> float:
            rr = SDR * r
            scale = VQ(rr) / EQ(rr)
            shape = EQ(rr) ** 2 / VQ(rr)
            return float(stats.gamma.cdf(finv(r / x), shape, scale=scale) * stats.norm.pdf(r))

        val, _ = integrate.quad(integrand, x, math.inf, epsabs=1e-13, epsrel=1e-12, limit=200)
        return float(val) - alpha / 2

    try:
        t0 = float(optimize.brentq(eqn, 1e-12, 2.0, xtol=tol, rtol=4 * np.finfo(float).eps))
    except ValueError as exc:
        raise EvidenceInputError(f"hc: could not find the interval ({exc})") from exc
    u0 = SDR * t0
    return HCResult(
        beta=beta,
        se=se,
        ci_lb=beta - u0 * se,
        ci_ub=beta + u0 * se,
        tau2=tau2,
        beta_rma=res.estimate,
        se_rma=res.se,
        ci_lb_rma=res.ci_lb,
        ci_ub_rma=res.ci_ub,
        tau2_rma=res.tau2,
        method_rma=res.method,
        level=res.level,
    )
