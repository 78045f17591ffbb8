"""Synthesis: the "can we pool?" decision, structured narrative synthesis (SWiM), harms pooling.

- :func:`pooling_decision` makes the decision explicit per comparison: at least two studies on the
  same outcome, scale and time point (a software rule [PEDBONE_REVIEW_RULES]: fewer or mixed
  scales cannot be pooled at all); clinical diversity (populations, drugs) reported, with the
  populations as subgroups, as the seed review grouped neuromuscular conditions apart from
  chronic illness; statistical heterogeneity from the existing read-out
  (:func:`pedbone.evidence.heterogeneity_readout`). The proposal is the reviewer's to accept.
- :func:`vote_count` is SWiM's vote counting on the direction of effect [SWIM2020] with an exact
  two-sided sign test (binomial, p = 0.5; studies with no direction are left out of the test),
  the same as R's ``binom.test``; :func:`effect_direction_svg` draws the effect-direction plot
  (▲ benefit, ▼ harm, ◄► no clear direction) [BOON2021].
- :func:`pool_proportions` pools the proportion of children with a harm across case series with
  a random-effects model on the logit (``PLO``) or Freeman–Tukey double-arcsine (``PFT``)
  scale and back-transforms (inverse logit; Miller's inverse with the harmonic mean of the
  sample sizes for PFT [MILLER1978]), as metafor does.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from pedbone.review._derive import Scale

__all__ = [
    "MIN_STUDIES_TO_POOL",
    "Direction",
    "PoolingDecision",
    "ProportionPool",
    "StudyEffect",
    "SynthesisError",
    "VoteCount",
    "effect_direction_svg",
    "pool_proportions",
    "pooling_decision",
    "vote_count",
]

#: Fewest studies on one outcome, scale and time point for a meta-analysis [PEDBONE_REVIEW_RULES].
MIN_STUDIES_TO_POOL = 2


class SynthesisError(ValueError):
    """Input a synthesis cannot use (with the reason)."""


class Direction(StrEnum):
    BENEFIT = "benefit"
    HARM = "harm"
    UNCLEAR = "unclear"  # no clear direction, or conflicting within the study


@dataclass(frozen=True, slots=True)
class StudyEffect:
    """One study's result for one comparison, as extracted."""

    study: str
    outcome: str  # e.g. "LS aBMD"
    scale: Scale
    timepoint_months: float | None
    population: str = ""  # e.g. "neuromuscular", "chronic illness"
    drug: str = ""
    yi: float | None = None  # effect on an analysable scale (e.g. MD), when derivable
    vi: float | None = None
    direction: Direction | None = None  # when only a direction is reported


@dataclass(frozen=True, slots=True)
class PoolingDecision:
    pool: bool
    reasons: tuple[str, ...]
    subgroups: tuple[str, ...] = ()
    heterogeneity: str = ""
    studies: tuple[str, ...] = ()


def pooling_decision(effects: Sequence[StudyEffect]) -> PoolingDecision:
    """Propose meta-analysis or narrative synthesis for one comparison, with every reason."""
    if not effects:
        raise SynthesisError("no study results for this comparison")
    reasons: list[str] = []
    outcomes = sorted({e.outcome for e in effects})
    scales = sorted({e.scale.value for e in effects})
    times = sorted({e.timepoint_months for e in effects}, key=lambda t: (t is None, t or 0))
    if len(outcomes) > 1:
        reasons.append(f"different outcomes ({', '.join(outcomes)}): one comparison per outcome")
    if len(scales) > 1:
        reasons.append(
            f"different scales ({', '.join(scales)}): percent change and Z-score change cannot "
            "be combined"
        )
    if len(times) > 1:
        reasons.append(
            "different time points ("
            + ", ".join("not reported" if t is None else f"{t:g} months" for t in times)
            + ")"
        )
    usable = [e for e in effects if e.yi is not None and e.vi is not None and e.vi > 0]
    if len(usable) < len(effects):
        reasons.append(
            f"{len(effects) - len(usable)} of {len(effects)} studies report no analysable effect "
            "(estimate and variance)"
        )
    if len(usable) < MIN_STUDIES_TO_POOL:
        reasons.append(
            f"{len(usable)} study with an analysable effect; at least {MIN_STUDIES_TO_POOL} are "
            "needed to pool [PEDBONE_REVIEW_RULES]"
        )
    populations = sorted({e.population for e in effects if e.population})
    drugs = sorted({e.drug for e in effects if e.drug})
    diversity: list[str] = []
    if len(populations) > 1:
        diversity.append(f"populations differ ({', '.join(populations)}): analysed as subgroups")
    if len(drugs) > 1:
        diversity.append(f"drugs differ ({', '.join(drugs)})")
    pool = not reasons
    het = ""
    if pool:
        # pedbone.evidence imports SciPy's stats (slow): only when a model is fitted
        from pedbone.evidence import heterogeneity_readout, rma

        res = rma([e.yi for e in usable], [e.vi for e in usable], method="REML")
        het = heterogeneity_readout(res).headline
    return PoolingDecision(
        pool=pool,
        reasons=tuple(reasons + diversity),
        subgroups=tuple(populations) if len(populations) > 1 else (),
        heterogeneity=het,
        studies=tuple(e.study for e in effects),
    )


def _direction(e: StudyEffect, higher_is_better: bool) -> Direction:
    if e.direction is not None:
        return e.direction
    if e.yi is None:
        return Direction.UNCLEAR
    if e.yi == 0:
        return Direction.UNCLEAR
    better = e.yi > 0 if higher_is_better else e.yi < 0
    return Direction.BENEFIT if better else Direction.HARM


@dataclass(frozen=True, slots=True)
class VoteCount:
    benefit: int
    harm: int
    unclear: int
    p_value: float  # exact two-sided sign test over benefit + harm
    directions: tuple[tuple[str, Direction], ...] = field(default=())

    def text(self) -> str:
        n = self.benefit + self.harm
        return (
            f"{self.benefit} of {n} studies with a direction favour the intervention "
            f"(sign test p = {self.p_value:.3g}); {self.unclear} without a clear direction "
            "[SWIM2020]"
        )


def vote_count(effects: Sequence[StudyEffect], *, higher_is_better: bool = True) -> VoteCount:
    """Vote counting on the direction of effect with an exact sign test [SWIM2020].

    The direction is the sign of the point estimate (or the direction the report states), not
    its statistical significance, as SWiM asks.
    """
    dirs = tuple((e.study, _direction(e, higher_is_better)) for e in effects)
    b = sum(d is Direction.BENEFIT for _, d in dirs)
    h = sum(d is Direction.HARM for _, d in dirs)
    u = len(dirs) - b - h
    from scipy import stats  # on first use: slow to import, and pedbone.store imports this

    p = float(stats.binomtest(b, b + h, 0.5).pvalue) if b + h else 1.0
    return VoteCount(b, h, u, p, dirs)


_ARROW = {Direction.BENEFIT: "▲", Direction.HARM: "▼", Direction.UNCLEAR: "◄►"}


def effect_direction_svg(
    rows: Sequence[tuple[str, Sequence[Direction | None]]], outcomes: Sequence[str]
) -> str:
    """The effect-direction plot [BOON2021]: one row per study, one column per outcome.

    ▲ favours the intervention, ▼ favours the control, ◄► no clear direction, blank not reported.
    All text is escaped.
    """
    cw, rh, lw = 110, 26, 180
    width, height = lw + cw * len(outcomes) + 10, rh * (len(rows) + 2) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, sans-serif" font-size="12">',
        f'<text x="4" y="{rh - 8}" font-weight="bold">Study</text>',
    ]
    for j, name in enumerate(outcomes):
        x = lw + cw * j + cw / 2
        out.append(
            f'<text x="{x}" y="{rh - 8}" text-anchor="middle" font-weight="bold">'
            f"{html.escape(name)}</text>"
        )
    for i, (study, dirs) in enumerate(rows):
        y = rh * (i + 2) - 8
        out.append(f'<text x="4" y="{y}">{html.escape(study)}</text>')
        for j, d in enumerate(dirs):
            if d is None:
                continue
            x = lw + cw * j + cw / 2
            out.append(f'<text x="{x}" y="{y}" text-anchor="middle">{_ARROW[Direction(d)]}</text>')
    legend_y = rh * (len(rows) + 2) + 2
    out.append(
        f'<text x="4" y="{legend_y}" font-size="10">▲ favours intervention  ▼ favours control  '
        "◄► no clear direction</text>"
    )
    out.append("</svg>")
    return "\n".join(out)


@dataclass(frozen=True, slots=True)
class ProportionPool:
    """A pooled proportion with its interval, from k studies."""

    k: int
    events: int
    total: int
    proportion: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    tau2: float
    i2: float
    measure: str
    method: str
    note: str = ""


def pool_proportions(
    events: Sequence[int],
    totals: Sequence[int],
    *,
    measure: str = "PLO",
    method: str = "REML",
) -> ProportionPool:
    """Random-effects pooled proportion (e.g. children with an acute-phase reaction).

    ``measure="PLO"`` (logit; studies with 0 or all events get metafor's 1/2 correction) or
    ``"PFT"`` (Freeman–Tukey double arcsine, back-transformed with the harmonic mean of the
    sample sizes [MILLER1978]).
    """
    xi = np.asarray(events, dtype=float)
    ni = np.asarray(totals, dtype=float)
    if xi.shape != ni.shape or xi.ndim != 1 or xi.size == 0:
        raise SynthesisError("give one event count and one total per study")
    if np.any(ni <= 0) or np.any(xi < 0) or np.any(xi > ni) or np.any(xi != np.round(xi)):
        raise SynthesisError("event counts are whole numbers between 0 and the study's total")
    if measure not in ("PLO", "PFT"):
        raise SynthesisError("measure is PLO (logit) or PFT (Freeman–Tukey)")
    from pedbone.evidence import escalc, rma, transf_ilogit, transf_ipft_hm

    es = escalc(measure, xi=xi, ni=ni)
    res = rma(es, method=method)
    pred = res.predict()
    back = transf_ilogit if measure == "PLO" else transf_ipft_hm(ni)
    vals = back(
        np.array([pred.pred[0], pred.ci_lb[0], pred.ci_ub[0], pred.pi_lb[0], pred.pi_ub[0]])
    )
    note = (
        "logit; 0 or n events get 1/2 added (metafor's default)"
        if measure == "PLO"
        else "Freeman–Tukey double arcsine; back-transformed with the harmonic mean of n "
        "[MILLER1978]"
    )
    return ProportionPool(
        k=int(xi.size),
        events=int(xi.sum()),
        total=int(ni.sum()),
        proportion=float(vals[0]),
        ci_lb=float(vals[1]),
        ci_ub=float(vals[2]),
        pi_lb=float(vals[3]),
        pi_ub=float(vals[4]),
        tau2=float(res.tau2),
        i2=float(res.i2),
        measure=measure,
        method=method,
        note=note,
    )
