"""Fail-safe N (metafor's ``fsn``): how many unpublished null studies would undo a result.

Rosenthal's 1979 [ROSENTHAL1979] Stouffer-based number, Orwin's 1983 [ORWIN1983] number of
studies with effect 0 needed to bring the (unweighted or inverse-variance weighted) mean down to
a ``target``, and Rosenberg's 2005 [ROSENBERG2005] number for the equal-effects model. Formulas
are metafor 3.8's, and so is the rounding: a number is rounded up (``ceiling``) unless it is
within √ε of a whole number. ``fsnum_raw`` keeps the unrounded value. The fail-safe N is a
weak argument about publication bias; report it with a funnel plot and a regression test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from pedbone.evidence._utils import EvidenceInputError, as_frame, column_or_array

__all__ = ["FSNResult", "fsn"]


@dataclass(frozen=True)
class FSNResult:
    """Fail-safe N (``fsnum``), with the observed mean and p-value where the type has them."""

    type: str
    fsnum_raw: float
    alpha: float
    pval: float
    meanes: float
    target: float
    k: int

    @property
    def fsnum(self) -> float:
        """The fail-safe N as metafor reports it (rounded up to a whole number of studies)."""
        x = self.fsnum_raw
        if not math.isfinite(x):
            return x
        if abs(x - round(x)) >= math.sqrt(np.finfo(float).eps):
            return float(math.ceil(x))
        return float(round(x))

    def summary(self) -> str:
        lines = [
            "",
            f"Fail-safe N Calculation Using the {self.type} Approach",
            "",
        ]
        if self.type == "Rosenthal":
            lines.append(f"Observed Significance Level: {self.pval:.4g}")
        elif self.type == "Orwin":
            lines.append(f"Average Effect Size:         {self.meanes:.4f}")
            lines.append(f"Target Effect Size:          {self.target:.4f}")
        else:
            lines.append(f"Average Effect Size:         {self.meanes:.4f}")
            lines.append(f"Observed Significance Level: {self.pval:.4g}")
        lines.append(f"Target Significance Level:   {self.alpha:g}" if self.type != "Orwin" else "")
        lines.append("")
        lines.append(f"Fail-safe N: {self.fsnum:.0f}")
        return "\n".join(x for x in lines) + "\n"

    def __str__(self) -> str:
        return self.summary()


def fsn(
    yi: Any,
    vi: Any = None,
    *,
    sei: Any = None,
    data: Any = None,
    type: str = "Rosenthal",
    alpha: float = 0.05,
    target: float | None = None,
    weighted: bool = False,
) -> FSNResult:
    """Fail-safe N of Rosenthal (default), Orwin or Rosenberg (metafor's ``fsn``).

    ``yi``/``vi`` (or ``sei``) are arrays or column names of ``data``; studies with a missing
    value are dropped. Orwin's method needs no variances unless ``weighted=True``; its
    ``target`` defaults to half the observed mean.
    """
    if type not in ("Rosenthal", "Orwin", "Rosenberg"):
        raise EvidenceInputError("fsn: type must be 'Rosenthal', 'Orwin' or 'Rosenberg'")
    if not 0 < alpha < 1:
        raise EvidenceInputError(f"fsn: alpha must be in (0, 1), got {alpha}")
    frame = as_frame(data)
    y = column_or_array(yi, "yi", frame)
    if y is None:
        raise EvidenceInputError("fsn: yi is required")
    v = column_or_array(vi, "vi", frame)
    s = column_or_array(sei, "sei", frame)
    need_v = type != "Orwin" or weighted
    if v is None and s is not None:
        v = s * s
    if v is None:
        if need_v:
            raise EvidenceInputError(f"fsn(type={type!r}) needs vi= or sei=")
        v = np.zeros_like(y)
    if v.shape != y.shape:
        raise EvidenceInputError("fsn: yi and vi have different lengths")
    ok = ~(np.isnan(y) | np.isnan(v))
    y, v = y[ok], v[ok]
    k = y.shape[0]
    if k == 0:
        raise EvidenceInputError("fsn: no studies")
    if need_v and np.any(v <= 0):
        raise EvidenceInputError("fsn: sampling variances must be positive")
    nan = math.nan
    if type == "Rosenthal":
        z_avg = abs(float(np.sum(y / np.sqrt(v))) / math.sqrt(k))
        pval = float(stats.norm.sf(z_avg))
        fsnum = max(0.0, k * (z_avg / float(stats.norm.isf(alpha))) ** 2 - k)
        return FSNResult("Rosenthal", fsnum, alpha, pval, nan, nan, k)
    if type == "Orwin":
        meanes = float(np.sum(y / v) / np.sum(1 / v)) if weighted else float(np.mean(y))
        tgt = meanes / 2 if target is None else float(target)
        if tgt == 0:
            fsnum = math.inf
        else:
            if math.copysign(1, tgt) != math.copysign(1, meanes):
                tgt = -tgt
            fsnum = max(0.0, k * (meanes - tgt) / tgt)
        return FSNResult("Orwin", fsnum, alpha, nan, meanes, tgt, k)
    w = 1 / v
    meanes = float(np.sum(w * y) / np.sum(w))
    zval = meanes / math.sqrt(1 / float(np.sum(w)))
    wp = (float(np.sum(w * y)) / float(stats.norm.isf(alpha / 2))) ** 2 - float(np.sum(w))
    pval = float(2 * stats.norm.sf(abs(zval)))
    fsnum = max(0.0, k * wp / float(np.sum(w)))
    return FSNResult("Rosenberg", fsnum, alpha, pval, meanes, nan, k)
