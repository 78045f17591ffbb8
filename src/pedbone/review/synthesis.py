"""Public names of the systematic-review workflow, part 2 (extraction, risk of bias, synthesis,
GRADE, derivations), so other packages need not import the private modules.

``pedbone.review``'s package ``__init__`` (part 1) may re-export these later; until then import
them from here: ``from pedbone.review.synthesis import grade, vote_count``.
"""

from __future__ import annotations

from pedbone.review._derive import Scale
from pedbone.review._extraction import (
    DEFAULT_FORM,
    ConsensusValue,
    Discrepancy,
    Extraction,
    ExtractionError,
    ExtractionForm,
    Value,
    compare,
    consensus,
)
from pedbone.review._grade import Certainty, DownFactor, GradeError, GradeResult, UpFactor, grade
from pedbone.review._rob import (
    ROB2_QUESTIONS,
    ROB2_VERSION,
    ROBINS_I_DOMAINS,
    Answer,
    Rob2Domain,
    Rob2Judgement,
    RobError,
    RobinsJudgement,
    rob2_domain,
    rob2_overall,
    robins_i_overall,
)
from pedbone.review._synthesis import (
    MIN_STUDIES_TO_POOL,
    Direction,
    PoolingDecision,
    ProportionPool,
    StudyEffect,
    SynthesisError,
    VoteCount,
    effect_direction_svg,
    pool_proportions,
    pooling_decision,
    vote_count,
)

__all__ = [
    "DEFAULT_FORM",
    "MIN_STUDIES_TO_POOL",
    "ROB2_QUESTIONS",
    "ROB2_VERSION",
    "ROBINS_I_DOMAINS",
    "Answer",
    "Certainty",
    "ConsensusValue",
    "Direction",
    "Discrepancy",
    "DownFactor",
    "Extraction",
    "ExtractionError",
    "ExtractionForm",
    "GradeError",
    "GradeResult",
    "PoolingDecision",
    "ProportionPool",
    "Rob2Domain",
    "Rob2Judgement",
    "RobError",
    "RobinsJudgement",
    "Scale",
    "StudyEffect",
    "SynthesisError",
    "UpFactor",
    "Value",
    "VoteCount",
    "compare",
    "consensus",
    "effect_direction_svg",
    "grade",
    "pool_proportions",
    "pooling_decision",
    "rob2_domain",
    "rob2_overall",
    "robins_i_overall",
    "vote_count",
]
