"""A heterogeneity read-out that says in words whether pooling looks defensible.

Statistical heterogeneity (I², tau², Cochran's Q and its p-value, the prediction interval)
is read together with the clinical diversity the reviewer records (populations, drugs,
outcomes, designs: columns the user names). Every statement names the rule that produced it,
the numbers that triggered it and the source of its threshold. The rules are data
(:data:`RULES`), so they can be printed, reviewed and tested.

Thresholds and their sources
----------------------------
- I² bands, the Cochrane Handbook's rough guide (deliberately overlapping): 0–40 % might not
  be important, 30–60 % may represent moderate, 50–90 % substantial, 75–100 % considerable
  heterogeneity [COCHRANE_HB10, section 10.10.2].
- Cochran's Q: low power with few studies, so p < 0.10 rather than 0.05 is used as the
  signal of heterogeneity [COCHRANE_HB10, section 10.10.2].
- Prediction interval: where it includes the null value although the confidence interval
  does not, the effect in a new setting may be absent or reversed [COCHRANE_HB10, section
  10.10.4.3].
- Two studies: the prediction interval (t on k - 2 df [RILEY2011]) cannot be computed and Q
  has one degree of freedom, so the spread of effects cannot be judged and the read-out never
  calls pooling defensible [COCHRANE_HB10, sections 10.10.2 and 10.10.4.3].
- Clinical diversity: studies differing in participants, interventions or outcomes
  [COCHRANE_HB10, section 10.10.1]; here any recorded column with more than one distinct
  value among the pooled studies.

The verdict combines them with a stated rule (see :data:`VERDICT_RULE`); it is a prompt for
the reviewer's judgement, not a replacement for it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pedbone.evidence._mh import MHResult
from pedbone.evidence._results import RMAResult
from pedbone.evidence._utils import EvidenceInputError

__all__ = ["RULES", "VERDICT_RULE", "HeterogeneityReadout", "Statement", "heterogeneity_readout"]

_SRC_I2 = "COCHRANE_HB10 §10.10.2"
_SRC_PI = "COCHRANE_HB10 §10.10.4.3"
_SRC_DIV = "COCHRANE_HB10 §10.10.1"

#: I² bands of the Cochrane Handbook's rough guide (overlapping by design) [COCHRANE_HB10]
I2_BANDS: tuple[tuple[float, float, str], ...] = (
    (0.0, 40.0, "might not be important"),
    (30.0, 60.0, "may represent moderate heterogeneity"),
    (50.0, 90.0, "may represent substantial heterogeneity"),
    (75.0, 100.0, "considerable heterogeneity"),
)
#: significance level for Cochran's Q (low power) [COCHRANE_HB10]
Q_ALPHA = 0.10

#: rule id -> (what it checks, source)
RULES: dict[str, tuple[str, str]] = {
    "i2_band": ("I² read against the Handbook's rough guide", _SRC_I2),
    "i2_substantial": ("I² at or above 50 % (substantial band or higher)", _SRC_I2),
    "i2_considerable": ("I² at or above 75 % (considerable band)", _SRC_I2),
    "q_test": (f"Cochran's Q test p < {Q_ALPHA:.2f}", _SRC_I2),
    "few_studies": ("fewer than 5 studies: Q has little power and I²/tau² are imprecise", _SRC_I2),
    "two_studies": (
        "only 2 studies: no prediction interval (t on k - 2 df) and Q on 1 df; the spread of "
        "effects cannot be judged, so pooling is never called defensible",
        _SRC_PI,
    ),
    "tau2": ("between-study variance tau² (reported; no threshold)", _SRC_PI),
    "prediction_interval": (
        "prediction interval includes the null value while the confidence interval excludes it",
        _SRC_PI,
    ),
    "clinical_diversity": (
        "recorded study characteristic with more than one distinct value",
        _SRC_DIV,
    ),
}

VERDICT_RULE = (
    "'pooling looks hard to defend' if I² >= 75 % together with recorded clinical diversity or "
    "a prediction interval that includes the null; otherwise 'pool with caution' if any of "
    "I² >= 50 %, Q p < 0.10, a prediction interval including the null, or recorded clinical "
    "diversity; otherwise 'too few studies to judge' with only 2 studies; otherwise 'pooling "
    "looks defensible'."
)

VERDICTS = {
    "defensible": "Pooling looks defensible.",
    "caution": "Pool with caution: explore the heterogeneity (subgroups, sensitivity analyses).",
    "too_few": (
        "Too few studies to judge: with two studies the spread of effects cannot be assessed; "
        "weigh how alike the two studies are before relying on a pooled estimate."
    ),
    "not_defensible": (
        "Pooling looks hard to defend: consider presenting the studies without a pooled "
        "estimate (narrative synthesis) or pooling only within clinically similar subgroups."
    ),
}


@dataclass(frozen=True)
class Statement:
    """One statement of the read-out: which rule, whether it fired, and why."""

    rule: str
    triggered: bool
    text: str
    because: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary."""
        return {
            "rule": self.rule,
            "triggered": self.triggered,
            "text": self.text,
            "because": self.because,
            "source": self.source,
        }


@dataclass(frozen=True)
class HeterogeneityReadout:
    """Result of :func:`heterogeneity_readout`: verdict, statements and the numbers used."""

    verdict: str
    headline: str
    statements: tuple[Statement, ...]
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def triggered(self) -> tuple[Statement, ...]:
        """Statements whose rule fired."""
        return tuple(s for s in self.statements if s.triggered)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary."""
        return {
            "verdict": self.verdict,
            "headline": self.headline,
            "verdict_rule": VERDICT_RULE,
            "statements": [s.to_dict() for s in self.statements],
            "metrics": self.metrics,
        }

    def summary(self) -> str:
        """The read-out as plain text, one statement per line with its trigger and source."""
        lines = ["Heterogeneity read-out", "", self.headline, ""]
        for s in self.statements:
            mark = "!" if s.triggered else "-"
            lines.append(f"{mark} {s.text}")
            lines.append(f"    because: {s.because} [{s.source}]")
        lines += ["", f"Rule: {VERDICT_RULE}"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _pct(x: float) -> str:
    return f"{x:.1f} %"


def _diversity(
    diversity: Sequence[str] | Mapping[str, Sequence[Any]] | None,
    data: Any,
    k: int,
) -> dict[str, list[Any]]:
    if diversity is None:
        return {}
    if isinstance(diversity, Mapping):
        cols = {str(n): list(v) for n, v in diversity.items()}
    else:
        if isinstance(diversity, str):
            diversity = [diversity]
        if data is None:
            raise EvidenceInputError("clinical diversity columns given by name but no data=")
        missing = [c for c in diversity if c not in data.columns]
        if missing:
            raise EvidenceInputError(
                f"clinical diversity column(s) not in data: {', '.join(missing)} "
                f"(columns: {', '.join(data.columns)})"
            )
        cols = {c: data.get_column(c).to_list() for c in diversity}
    for name, values in cols.items():
        if len(values) != k:
            raise EvidenceInputError(
                f"clinical diversity column {name!r} has {len(values)} values for {k} studies"
            )
    return cols


def heterogeneity_readout(
    res: RMAResult | MHResult,
    diversity: Sequence[str] | Mapping[str, Sequence[Any]] | None = None,
    *,
    data: Any = None,
    null: float = 0.0,
    pi_type: str = "default",
) -> HeterogeneityReadout:
    """State in words whether pooling looks defensible, and why.

    ``res`` is a fitted intercept-only model (``rma``, ``rma_mh`` or ``rma_peto``).
    ``diversity`` names the columns of ``data`` (polars DataFrame, one row per pooled study,
    in the model's order) that record clinical diversity, e.g. ``["population", "drug",
    "outcome", "design"]``, or maps names to per-study values. ``null`` is the value of no
    effect on the analysis scale (0 for differences and log ratios). ``pi_type`` chooses the
    prediction interval as ``RMAResult.predict(pi_type=...)`` (``"riley"``: t on k - 2 df).
    """
    if isinstance(res, RMAResult) and not (res.p == 1 and res.intercept):
        raise EvidenceInputError("the heterogeneity read-out needs a model without moderators")
    if not isinstance(res, (RMAResult, MHResult)):
        raise EvidenceInputError("the heterogeneity read-out needs an rma/rma_mh/rma_peto result")
    k = res.k_yi if isinstance(res, MHResult) else res.k
    cols = _diversity(diversity, data, len(res.slab) if isinstance(res, MHResult) else res.k)
    stmts: list[Statement] = []
    i2, q, q_p = float(res.i2), float(res.q), float(res.q_pval)
    df = k - 1
    metrics: dict[str, Any] = {"k": k, "i2": i2, "q": q, "q_df": df, "q_pval": q_p}

    if k < 2:
        stmts.append(
            Statement(
                "few_studies",
                True,
                "Only one study: heterogeneity cannot be assessed.",
                f"k = {k}",
                _SRC_I2,
            )
        )
        return HeterogeneityReadout(
            verdict="not_assessable",
            headline="Heterogeneity cannot be assessed with a single study.",
            statements=tuple(stmts),
            metrics=metrics,
        )
    # ---- I² bands ----------------------------------------------------------------------
    bands = [label for lo, hi, label in I2_BANDS if lo <= i2 <= hi]
    stmts.append(
        Statement(
            "i2_band",
            False,
            f"I² = {_pct(i2)}: " + "; ".join(bands) + ".",
            f"I² = {_pct(i2)} lies in the band(s) "
            + ", ".join(f"{lo:g}–{hi:g} %" for lo, hi, _ in I2_BANDS if lo <= i2 <= hi),
            _SRC_I2,
        )
    )
    i2_ci = None
    if isinstance(res, RMAResult) and res.is_random:
        try:
            ci = res.confint()
            i2_ci = (ci.i2.ci_lb, ci.i2.ci_ub)
            metrics["i2_ci"] = list(i2_ci)
        except (ValueError, RuntimeError, ArithmeticError):  # CI is optional here
            i2_ci = None
    ci_txt = (
        f" ({res.level:g} % CI {i2_ci[0]:.1f} to {i2_ci[1]:.1f} %)" if i2_ci is not None else ""
    )
    substantial = i2 >= 50
    considerable = i2 >= 75
    stmts.append(
        Statement(
            "i2_substantial",
            substantial,
            (
                f"Substantial heterogeneity: I² = {_pct(i2)}{ci_txt} is at or above 50 %."
                if substantial
                else f"I² = {_pct(i2)}{ci_txt} is below the substantial band (50 %)."
            ),
            f"I² = {_pct(i2)} {'>=' if substantial else '<'} 50 %",
            _SRC_I2,
        )
    )
    if considerable:
        stmts.append(
            Statement(
                "i2_considerable",
                True,
                f"Considerable heterogeneity: I² = {_pct(i2)} is at or above 75 %.",
                f"I² = {_pct(i2)} >= 75 %",
                _SRC_I2,
            )
        )
    # ---- Q test ------------------------------------------------------------------------
    q_sig = math.isfinite(q_p) and q_p < Q_ALPHA
    stmts.append(
        Statement(
            "q_test",
            q_sig,
            (
                f"Cochran's Q = {q:.2f} on {df} df, p = {q_p:.3g}: the studies differ more "
                "than chance alone would explain."
                if q_sig
                else f"Cochran's Q = {q:.2f} on {df} df, p = {q_p:.3g}: no statistical "
                "evidence of heterogeneity (the test has low power)."
            ),
            f"p = {q_p:.3g} {'<' if q_sig else '>='} {Q_ALPHA:.2f}",
            _SRC_I2,
        )
    )
    if k == 2:
        stmts.append(
            Statement(
                "two_studies",
                True,
                "Only 2 studies: Q has 1 df and no prediction interval is given (it needs t on "
                "k - 2 df), so the spread of effects cannot be judged.",
                "k = 2",
                _SRC_PI,
            )
        )
    if k < 5:
        stmts.append(
            Statement(
                "few_studies",
                True,
                f"Only {k} studies: Q has little power and I² and tau² are imprecise.",
                f"k = {k} < 5",
                _SRC_I2,
            )
        )
    # ---- tau² and the prediction interval ---------------------------------------------
    pi_cross = False
    if isinstance(res, RMAResult) and res.is_random:
        metrics |= {"tau2": res.tau2, "tau": res.tau}
        stmts.append(
            Statement(
                "tau2",
                False,
                f"Between-study variance tau² = {res.tau2:.4g} (tau = {res.tau:.4g}, on the "
                "analysis scale).",
                f"{res.method} estimate",
                _SRC_PI,
            )
        )
    if isinstance(res, RMAResult) and res.is_random and k == 2:
        pass  # no prediction interval from two studies (the two_studies statement says so)
    elif isinstance(res, RMAResult) and res.is_random:
        pred = res.predict(pi_type=pi_type)
        pi_lb, pi_ub = float(pred.pi_lb[0]), float(pred.pi_ub[0])
        metrics |= {"pi_lb": pi_lb, "pi_ub": pi_ub, "pi_type": pi_type}
        ci_excl = not (res.ci_lb <= null <= res.ci_ub)
        pi_incl = pi_lb <= null <= pi_ub
        pi_cross = ci_excl and pi_incl
        if pi_cross:
            text = (
                f"The prediction interval [{pi_lb:.3g}, {pi_ub:.3g}] includes the null "
                f"({null:g}) although the confidence interval [{res.ci_lb:.3g}, "
                f"{res.ci_ub:.3g}] excludes it: in a new setting the effect may be absent or "
                "reversed."
            )
        elif pi_incl:
            text = (
                f"Both the confidence interval and the prediction interval [{pi_lb:.3g}, "
                f"{pi_ub:.3g}] include the null ({null:g})."
            )
        else:
            text = (
                f"The prediction interval [{pi_lb:.3g}, {pi_ub:.3g}] excludes the null "
                f"({null:g}): the direction of effect looks consistent across settings."
            )
        stmts.append(
            Statement(
                "prediction_interval",
                pi_cross,
                text,
                f"PI [{pi_lb:.3g}, {pi_ub:.3g}] "
                f"{'includes' if pi_incl else 'excludes'} {null:g}, CI [{res.ci_lb:.3g}, "
                f"{res.ci_ub:.3g}] {'excludes' if ci_excl else 'includes'} it",
                _SRC_PI,
            )
        )
    else:
        stmts.append(
            Statement(
                "prediction_interval",
                False,
                "Equal-effects model: tau² is not estimated and there is no prediction "
                "interval; fit a random-effects model to judge the spread of effects.",
                "equal-effects model",
                _SRC_PI,
            )
        )
    # ---- clinical diversity -------------------------------------------------------------
    diverse: list[str] = []
    for name, values in cols.items():
        counts = Counter("(missing)" if v is None else str(v) for v in values)
        if len(counts) > 1:
            diverse.append(name)
            detail = ", ".join(f"{v} ×{n}" for v, n in counts.most_common())
            stmts.append(
                Statement(
                    "clinical_diversity",
                    True,
                    f"Clinical diversity in '{name}': {len(counts)} different values ({detail}).",
                    f"'{name}' has {len(counts)} distinct values among {len(values)} studies",
                    _SRC_DIV,
                )
            )
        else:
            only = next(iter(counts)) if counts else "none"
            stmts.append(
                Statement(
                    "clinical_diversity",
                    False,
                    f"No recorded diversity in '{name}' (all studies: {only}).",
                    f"'{name}' has one distinct value",
                    _SRC_DIV,
                )
            )
    if not cols:
        stmts.append(
            Statement(
                "clinical_diversity",
                False,
                "No clinical characteristics recorded: the read-out cannot weigh clinical "
                "diversity (name columns such as population, drug, outcome, design).",
                "no diversity columns given",
                _SRC_DIV,
            )
        )
    metrics["diverse_columns"] = diverse
    # ---- verdict -----------------------------------------------------------------------
    if considerable and (diverse or pi_cross):
        verdict = "not_defensible"
    elif substantial or q_sig or pi_cross or diverse:
        verdict = "caution"
    elif k == 2:
        verdict = "too_few"
    else:
        verdict = "defensible"
    reasons = [s.because for s in stmts if s.triggered and s.rule != "few_studies"]
    headline = VERDICTS[verdict]
    if reasons:
        headline += " Triggered by: " + "; ".join(reasons) + "."
    if k < 5:
        headline += f" Caveat: only {k} studies, so Q has little power and I² is imprecise."
    return HeterogeneityReadout(
        verdict=verdict, headline=headline, statements=tuple(stmts), metrics=metrics
    )
