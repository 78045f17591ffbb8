"""Log-likelihood, deviance, AIC, BIC and AICc under ML and REML (metafor's ``fitstats``,
R/fitstats.r) [METAFOR].
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pedbone.evidence._results import RMAResult

__all__ = ["fitstats_rma"]


def fitstats_rma(res: RMAResult) -> dict[str, dict[str, float]]:
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
