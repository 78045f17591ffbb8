"""Result objects of the evidence engine: effect sizes, model fits, predictions, intervals.

Names follow R metafor (Viechtbauer 2010 [METAFOR]) so that a reviewer can read a pedbone
result with the metafor documentation at hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from pedbone.evidence._confint import ConfintResult, Interval, confint_rma
from pedbone.evidence._fitstats import fitstats_rma
from pedbone.evidence._predict import PredictResult, predict_rma
from pedbone.evidence._print import as_dict_rma, print_rma
from pedbone.evidence._utils import EvidenceInputError, FloatArray, MetaforNames, Transform

__all__ = [
    "ConfintResult",
    "EscalcResult",
    "Interval",
    "PredictResult",
    "RMAResult",
    "SubgroupResult",
]


def _is_row_mask(key: Any, height: int) -> bool:
    """A boolean vector with one value per study (a row selection, as R's ``dat[mask, ]``)."""
    if isinstance(key, pl.Series):
        return key.dtype == pl.Boolean and key.len() == height
    if isinstance(key, np.ndarray):
        return key.dtype == np.bool_ and key.ndim == 1 and key.shape[0] == height
    return isinstance(key, list) and len(key) == height and all(isinstance(v, bool) for v in key)


@dataclass(frozen=True)
class EscalcResult:
    """Observed effect sizes ``yi`` and sampling variances ``vi`` (metafor's ``escalc`` object).

    ``frame`` is a polars DataFrame: the input ``data`` columns (if any) followed by ``yi`` and
    ``vi``. ``measure`` is the metafor measure name (``"SMD"``, ``"RR"``, ...); ``slab`` names
    the column of study labels (``rma`` uses it by default).

    It reads like metafor's escalc data frame: ``dat["yi"]`` and ``dat["ablat"]`` are columns
    (polars Series), ``dat.ablat`` too; ``dat.yi``, ``dat.vi``, ``dat.sei`` are numpy arrays;
    ``dat[:5]`` or ``dat[mask]`` select studies and stay escalc results; other frame methods
    (``dat.columns``, ``dat.head()``, ``dat.filter(...)``, ``dat.write_csv(...)``) are the
    frame's. It can be passed as ``data=``: ``rma(yi="yi", vi="vi", mods="~ ablat",
    data=dat)``.
    """

    frame: pl.DataFrame
    measure: str
    slab: str | None = None

    @property
    def yi(self) -> FloatArray:
        """Observed effect sizes (NaN where a study could not be computed)."""
        return self.frame["yi"].to_numpy().astype(np.float64)

    @property
    def vi(self) -> FloatArray:
        """Sampling variances."""
        return self.frame["vi"].to_numpy().astype(np.float64)

    @property
    def sei(self) -> FloatArray:
        """Standard errors, ``sqrt(vi)``."""
        return np.sqrt(self.vi)

    def __len__(self) -> int:
        return self.frame.height

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            if key not in self.frame.columns:
                raise KeyError(
                    f"{key!r} is not a column (columns: {', '.join(self.frame.columns)})"
                )
            return self.frame[key]
        if _is_row_mask(key, self.frame.height):  # dat[dat["year"] > 1960]: rows, as in R
            return EscalcResult(self.frame.filter(pl.Series(key)), self.measure, self.slab)
        out = self.frame[key]
        if isinstance(out, pl.DataFrame) and {"yi", "vi"} <= set(out.columns):
            if isinstance(key, list) and all(isinstance(c, str) for c in key):
                return out  # a choice of columns is a frame, as in polars
            return EscalcResult(out, self.measure, self.slab)
        return out

    def __getattr__(self, name: str) -> Any:
        # columns as attributes (dat.ablat) and the frame's methods (dat.columns, dat.head())
        if name.startswith("__") or name == "frame":
            raise AttributeError(name)
        frame = self.frame
        if name in frame.columns:
            return frame[name]
        try:
            return getattr(frame, name)
        except AttributeError:
            raise AttributeError(
                f"EscalcResult has no attribute or column {name!r} "
                f"(columns: {', '.join(frame.columns)})"
            ) from None

    def __contains__(self, column: object) -> bool:
        return column in self.frame.columns

    def to_pandas(self) -> Any:
        """The frame as a pandas DataFrame, built column by column (no pyarrow needed)."""
        import pandas as pd

        return pd.DataFrame({c: self.frame[c].to_list() for c in self.frame.columns})

    def summary(self, level: float = 95.0, transf: Transform | None = None) -> pl.DataFrame:
        """Per-study estimate, SE, z, and Wald CI (metafor's ``summary.escalc``).

        With ``transf`` the estimate and CI bounds are back-transformed (SE and z are dropped,
        as metafor does).
        """
        crit = float(stats.norm.ppf(1 - (1 - level / 100) / 2))
        yi, sei = self.yi, self.sei
        lb, ub = yi - crit * sei, yi + crit * sei
        out = self.frame.with_columns(
            pl.Series("sei", sei),
            pl.Series("zi", yi / sei),
            pl.Series("ci_lb", lb),
            pl.Series("ci_ub", ub),
        )
        if transf is not None:
            out = out.drop("vi", "sei", "zi").with_columns(
                pl.Series("yi", np.asarray(transf(yi), dtype=np.float64)),
                pl.Series("ci_lb", np.asarray(transf(lb), dtype=np.float64)),
                pl.Series("ci_ub", np.asarray(transf(ub), dtype=np.float64)),
            )
        return out

    def __repr__(self) -> str:
        return f"EscalcResult(measure={self.measure!r}, k={self.frame.height})\n{self.frame}"


@dataclass(frozen=True, eq=False)
class RMAResult(MetaforNames):
    """A fitted meta-analytic (meta-regression) model, metafor's ``rma.uni`` object.

    Arrays are indexed by coefficient (``beta``, ``se_beta``, ``zval_beta``, ...) or by study
    (``yi``, ``vi``, ``X``, ``weights_raw``). ``r2`` is metafor's pseudo-R² (percent of tau²
    accounted for by the moderators; NaN for intercept-only or equal-effects models). The scalar
    properties ``estimate``, ``se``,
    ``zval``, ``pval``, ``ci_lb``, ``ci_ub`` refer to the first coefficient (the pooled effect
    of an intercept-only model, the intercept of a meta-regression).
    """

    beta: FloatArray
    se_beta: FloatArray
    zval_beta: FloatArray
    pval_beta: FloatArray
    ci_lb_beta: FloatArray
    ci_ub_beta: FloatArray
    vb: FloatArray
    coef_names: tuple[str, ...]
    k: int
    p: int
    method: str
    test: str
    level: float
    tau2: float
    se_tau2: float
    q: float
    q_df: int
    q_pval: float
    qm: float
    qm_df: tuple[int, ...]
    qm_pval: float
    btt: tuple[int, ...]
    i2: float
    h2: float
    vt: float
    s2w: float
    ddf: int | None
    yi: FloatArray
    vi: FloatArray
    X: FloatArray
    weights_raw: FloatArray
    intercept: bool
    slab: tuple[str, ...]
    measure: str = "GEN"
    ll: float = math.nan
    r2: float = math.nan
    tau2_fixed: bool = False
    converged: bool = True
    iterations: int = 0
    notes: tuple[str, ...] = ()
    control: dict[str, float] = field(default_factory=dict)

    # -- scalar read-out (first coefficient) --------------------------------------------
    @property
    def estimate(self) -> float:
        """First coefficient (pooled effect of an intercept-only model)."""
        return float(self.beta[0])

    @property
    def QM(self) -> float:  # noqa: N802 - metafor's name
        """metafor's ``QM``: alias of ``qm`` (omnibus test of the moderators)."""
        return self.qm

    @property
    def QMp(self) -> float:  # noqa: N802 - metafor's name
        """metafor's ``QMp``: alias of ``qm_pval``."""
        return self.qm_pval

    @property
    def b(self) -> FloatArray:
        """Alias of ``beta`` (metafor's ``res$b``)."""
        return self.beta

    @property
    def se(self) -> float:
        """Standard error of the first coefficient."""
        return float(self.se_beta[0])

    @property
    def zval(self) -> float:
        """Test statistic of the first coefficient (metafor calls it ``zval`` for every test)."""
        return float(self.zval_beta[0])

    @property
    def tval(self) -> float | None:
        """Test statistic of the first coefficient for t-based tests, else ``None``."""
        return None if self.ddf is None else float(self.zval_beta[0])

    @property
    def pval(self) -> float:
        """p-value of the first coefficient."""
        return float(self.pval_beta[0])

    @property
    def ci_lb(self) -> float:
        """Lower confidence bound of the first coefficient."""
        return float(self.ci_lb_beta[0])

    @property
    def ci_ub(self) -> float:
        """Upper confidence bound of the first coefficient."""
        return float(self.ci_ub_beta[0])

    @property
    def tau(self) -> float:
        """Square root of ``tau2``."""
        return math.sqrt(self.tau2)

    @property
    def is_random(self) -> bool:
        """True for random/mixed-effects models (method other than EE/FE)."""
        return self.method not in ("EE", "FE")

    @property
    def pi_lb(self) -> float:
        """Lower prediction-interval bound of intercept-only random-effects models with k >= 2
        (NaN otherwise: with one study the spread of effects is unknown, and
        ``predict()`` would only repeat the confidence interval, as metafor's does)."""
        return self._pi()[0]

    @property
    def pi_ub(self) -> float:
        """Upper prediction-interval bound (see :attr:`pi_lb`)."""
        return self._pi()[1]

    def _pi(self) -> tuple[float, float]:
        if self.p != 1 or not self.intercept or self.k < 2:
            return (math.nan, math.nan)
        pr = self.predict()
        return (float(pr.pi_lb[0]), float(pr.pi_ub[0]))

    # -- methods ---------------------------------------------------------------------
    def predict(
        self,
        newmods: Sequence[float] | Sequence[Sequence[float]] | FloatArray | None = None,
        *,
        transf: Transform | None = None,
        level: float | None = None,
        intercept: bool | None = None,
        pi_type: str = "default",
    ) -> PredictResult:
        """Predicted average effect(s) with CI and PI (metafor's ``predict.rma``).

        ``newmods`` gives moderator values (without the intercept column) — one row per
        prediction. Without ``newmods``: an intercept-only model gives the pooled effect, a
        meta-regression the fitted values of the studies. ``transf`` back-transforms, e.g.
        ``np.exp`` for log risk ratios.

        ``pi_type`` (metafor's ``pi.type``): ``"default"`` — the test's distribution (normal
        for z, t on k - p df otherwise); ``"riley"`` — t on k - p - 1 df (k - 2 for the
        pooled effect; Riley 2011 [RILEY2011], the Cochrane Handbook's choice); ``"t"`` — t on
        k - p df; ``"simple"`` — pred ± z·tau, ignoring the uncertainty of the estimate.
        """
        return predict_rma(
            self, newmods, transf=transf, level=level, intercept=intercept, pi_type=pi_type
        )

    def confint(self, level: float | None = None, type: str = "QP") -> ConfintResult:
        """Confidence intervals for tau², tau, I² and H² (metafor's ``confint``).

        ``type="QP"`` (default): Q-profile; ``type="PL"``: profile likelihood (ML/REML fits).
        """
        if type == "PL":
            from pedbone.evidence._profile import confint_pl

            return confint_pl(self, level)
        if type not in ("QP", "Q"):
            raise EvidenceInputError(f"confint: type must be 'QP' or 'PL', got {type!r}")
        return confint_rma(self, level)

    def fitstats(self) -> dict[str, dict[str, float]]:
        """Log-likelihood, deviance, AIC, BIC, AICc under ML and REML (metafor's ``fitstats``).

        Returns ``{"ML": {...}, "REML": {...}}``; compare models fitted with ML (different
        moderators) or REML (same moderators) only.
        """
        return fitstats_rma(self)

    def weights(self) -> FloatArray:
        """Study weights in percent (metafor's ``weights.rma.uni``)."""
        w = self.weights_raw
        return np.asarray(100.0 * w / w.sum(), dtype=np.float64)

    def fitted(self) -> FloatArray:
        """Fitted values ``X @ beta``."""
        return np.asarray(self.X @ self.beta, dtype=np.float64)

    def residuals(self) -> FloatArray:
        """Raw residuals ``yi - X @ beta``."""
        return np.asarray(self.yi - self.fitted(), dtype=np.float64)

    def coef_table(self) -> pl.DataFrame:
        """Coefficient table: name, estimate, se, zval (or tval), pval, ci_lb, ci_ub."""
        stat = "zval" if self.ddf is None else "tval"
        return pl.DataFrame(
            {
                "term": list(self.coef_names),
                "estimate": self.beta,
                "se": self.se_beta,
                stat: self.zval_beta,
                "pval": self.pval_beta,
                "ci_lb": self.ci_lb_beta,
                "ci_ub": self.ci_ub_beta,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python representation of the fit (JSON-serialisable)."""
        return as_dict_rma(self)

    def summary(self, digits: int = 4, *, pi_type: str = "default") -> str:
        """A print-out that reads like metafor's ``print.rma.uni``.

        ``pi_type`` chooses the prediction interval shown (as :meth:`predict`).
        """
        return print_rma(self, digits, pi_type=pi_type)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"RMAResult(method={self.method!r}, test={self.test!r}, k={self.k}, "
            f"estimate={self.estimate:.6g}, se={self.se:.6g}, tau2={self.tau2:.6g})"
        )


@dataclass(frozen=True, eq=False)
class SubgroupResult:
    """Separate fits per subgroup and the test for subgroup differences.

    The test fits an equal-effects model to the subgroup estimates and their standard errors
    (separate tau² per subgroup, as RevMan and the metafor documentation do):
    ``q_between`` on ``df`` = (number of subgroups - 1) degrees of freedom. ``common_tau2`` is
    the alternative that assumes one tau² for all subgroups: a meta-regression on the subgroup
    factor, whose ``qm``/``qm_pval`` test the differences (metafor's ``mods = ~ factor(g)``).
    """

    fits: dict[str, RMAResult]
    q_between: float
    df: int
    pval: float
    overall: RMAResult | None = None
    common_tau2: RMAResult | None = None
    #: subgroups left out (no usable study), and why
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pl.DataFrame:
        """One row per subgroup: k, estimate, se, CI, tau2, I², Q."""
        return pl.DataFrame(
            {
                "subgroup": list(self.fits),
                "k": [f.k for f in self.fits.values()],
                "estimate": [f.estimate for f in self.fits.values()],
                "se": [f.se for f in self.fits.values()],
                "ci_lb": [f.ci_lb for f in self.fits.values()],
                "ci_ub": [f.ci_ub for f in self.fits.values()],
                "tau2": [f.tau2 for f in self.fits.values()],
                "i2": [f.i2 for f in self.fits.values()],
                "q": [f.q for f in self.fits.values()],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python representation (JSON-serialisable)."""
        return {
            "fits": {k: v.to_dict() for k, v in self.fits.items()},
            "q_between": self.q_between,
            "df": self.df,
            "pval": self.pval,
            "overall": None if self.overall is None else self.overall.to_dict(),
            "common_tau2": None if self.common_tau2 is None else self.common_tau2.to_dict(),
            "notes": list(self.notes),
        }

    def summary(self, digits: int = 4) -> str:
        """Per-subgroup estimates and the test for subgroup differences."""
        lines = []
        for name, fit in self.fits.items():
            lines.append(
                f"{name}: k = {fit.k}, estimate = {fit.estimate:.{digits}f} "
                f"[{fit.ci_lb:.{digits}f}, {fit.ci_ub:.{digits}f}], tau^2 = {fit.tau2:.{digits}f}"
            )
        lines.append(
            f"Test for subgroup differences: Q = {self.q_between:.{digits}f}, "
            f"df = {self.df}, p = {self.pval:.{digits}g}"
        )
        if self.common_tau2 is not None:
            ct = self.common_tau2
            lines.append(
                f"Assuming a common tau^2 (meta-regression): QM = {ct.qm:.{digits}f}, "
                f"df = {ct.qm_df[0]}, p = {ct.qm_pval:.{digits}g}"
            )
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
