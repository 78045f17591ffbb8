"""Likelihood-ratio comparison of nested meta-regression models (metafor's ``anova.rma``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from pedbone.evidence._format import fmtp
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError

__all__ = ["AnovaResult", "anova"]


@dataclass(frozen=True)
class AnovaResult:
    """Full versus reduced model: likelihood-ratio test and fit statistics.

    ``lrt`` is the difference in deviance (reduced − full) on ``df`` = difference in the number
    of parameters; ``r2`` is the percentage of the reduced model's tau² accounted for by the
    full model (for equal-effects models: of the residual variance of the weighted fit), as
    metafor's ``anova.rma``. ``fit_full``/``fit_reduced`` hold ll, dev, AIC, BIC, AICc.
    """

    lrt: float
    df: int
    pval: float
    parms_full: int
    parms_reduced: int
    fit_full: dict[str, float]
    fit_reduced: dict[str, float]
    q_full: float
    q_reduced: float
    tau2_full: float
    tau2_reduced: float
    r2: float
    estimation: str
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python representation (JSON-serialisable)."""
        return {
            "lrt": self.lrt,
            "df": self.df,
            "pval": self.pval,
            "parms_full": self.parms_full,
            "parms_reduced": self.parms_reduced,
            "fit_full": dict(self.fit_full),
            "fit_reduced": dict(self.fit_reduced),
            "q_full": self.q_full,
            "q_reduced": self.q_reduced,
            "tau2_full": self.tau2_full,
            "tau2_reduced": self.tau2_reduced,
            "r2": None if math.isnan(self.r2) else self.r2,
            "estimation": self.estimation,
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        head = f"{'':<8}{'df':>4}{'AIC':>10}{'BIC':>10}{'AICc':>10}{'logLik':>10}{'LRT':>9}"
        head += f"{'pval':>9}{'QE':>10}{'tau^2':>9}{'R^2':>8}"
        full = (
            f"{'Full':<8}{self.parms_full:>4}{self.fit_full['AIC']:>10.4f}"
            f"{self.fit_full['BIC']:>10.4f}{self.fit_full['AICc']:>10.4f}"
            f"{self.fit_full['ll']:>10.4f}{'':>9}{'':>9}{self.q_full:>10.4f}"
            f"{self.tau2_full:>9.4f}{'':>8}"
        )
        p = fmtp(self.pval)
        r2 = "" if math.isnan(self.r2) else f"{self.r2:.2f}%"
        red = (
            f"{'Reduced':<8}{self.parms_reduced:>4}{self.fit_reduced['AIC']:>10.4f}"
            f"{self.fit_reduced['BIC']:>10.4f}{self.fit_reduced['AICc']:>10.4f}"
            f"{self.fit_reduced['ll']:>10.4f}{self.lrt:>9.4f}{p:>9}{self.q_reduced:>10.4f}"
            f"{self.tau2_reduced:>9.4f}{r2:>8}"
        )
        lines = [head, full, red] + [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)


def _parms(res: RMAResult) -> int:
    return res.p + (1 if res.is_random and not res.tau2_fixed else 0)


def _refit_ml(res: RMAResult) -> RMAResult:
    from pedbone.evidence._fit import _fit

    return _fit(
        res.yi,
        res.vi,
        res.X,
        res.coef_names,
        method="ML",
        test=res.test,
        level=res.level,
        btt=res.btt,
        intercept=res.intercept,
        slab=res.slab,
        measure=res.measure,
        notes=[],
    )


def anova(full: RMAResult, reduced: RMAResult, *, refit: bool = False) -> AnovaResult:
    """Likelihood-ratio test of a full against a reduced (nested) model (metafor's ``anova``).

    Both models must be fitted to the same ``yi``/``vi`` with the same ``method`` (the order of
    the two arguments does not matter). REML likelihoods are comparable only for models with
    the same moderators: for different moderators pass ``refit=True`` to refit both by ML
    (metafor's ``refit=TRUE``), or fit them with ``method="ML"``.
    """
    if _parms(full) == _parms(reduced):
        raise EvidenceInputError("models have the same number of parameters: an LRT is not defined")
    if _parms(full) < _parms(reduced):
        full, reduced = reduced, full
    if full.k != reduced.k or not (
        np.array_equal(full.yi, reduced.yi) and np.array_equal(full.vi, reduced.vi)
    ):
        raise EvidenceInputError("the two models were not fitted to the same yi and vi")
    if full.method != reduced.method:
        raise EvidenceInputError(
            f"the models use different methods ({full.method} vs {reduced.method})"
        )
    notes: list[str] = []
    if full.method not in ("EE", "FE", "ML", "REML"):
        notes.append("LRTs should be based on ML/REML estimation (metafor warns the same)")
    same_x = full.X.shape == reduced.X.shape and np.array_equal(full.X, reduced.X)
    if full.method == "REML" and not same_x:
        if not refit:
            raise EvidenceInputError(
                "REML likelihoods of models with different moderators are not comparable; "
                "pass refit=True (refit both by ML) or fit with method='ML'"
            )
        full, reduced = _refit_ml(full), _refit_ml(reduced)
        notes.append("both models refitted by ML for the likelihood-ratio test")
    estimation = "REML" if full.method == "REML" else "ML"
    fs_f, fs_r = full.fitstats()[estimation], reduced.fitstats()[estimation]
    # a full model fitted by a non-likelihood method can fit worse: metafor truncates at 0
    lrt = max(0.0, fs_r["dev"] - fs_f["dev"])
    df = _parms(full) - _parms(reduced)
    if not full.is_random:
        s2 = []
        for res in (full, reduced):
            w = 1.0 / res.vi
            e = res.yi - res.X @ res.beta
            s2.append(float(np.sum(w * e * e)) / (res.k - res.p))
        r2 = 100 * max(0.0, (s2[1] - s2[0]) / s2[1]) if s2[1] > 0 else 0.0
    elif reduced.tau2 == 0:
        r2 = 0.0
    else:
        r2 = 100 * max(0.0, (reduced.tau2 - full.tau2) / reduced.tau2)
    return AnovaResult(
        lrt=lrt,
        df=df,
        pval=float(stats.chi2.sf(lrt, df)),
        parms_full=_parms(full),
        parms_reduced=_parms(reduced),
        fit_full=fs_f,
        fit_reduced=fs_r,
        q_full=full.q,
        q_reduced=reduced.q,
        tau2_full=full.tau2,
        tau2_reduced=reduced.tau2,
        r2=r2,
        estimation=estimation,
        notes=tuple(notes),
    )
