"""pedbone.evidence — meta-analysis with metafor's vocabulary and numbers.

Effect sizes with :func:`escalc`, equal/random-effects models and meta-regression with
:func:`rma`, subgroup analyses with :func:`subgroups`, back-transformations ``transf_*``.
Numbers match R metafor 3.8 (Viechtbauer 2010 [METAFOR]) to 1e-6; see docs/evidence.md.

>>> from pedbone.evidence import escalc, rma
>>> es = escalc("RR", ai=[4, 6], bi=[119, 300], ci=[11, 29], di=[128, 274])
>>> res = rma(es, method="DL")
>>> round(res.estimate, 4)
-1.325
"""

from __future__ import annotations

from pedbone.evidence._anova import AnovaResult, anova
from pedbone.evidence._confint import ConfintResult, Interval
from pedbone.evidence._escalc import MEASURES, cmicalc, escalc
from pedbone.evidence._fit import METHODS, TESTS, rma
from pedbone.evidence._predict import PredictResult
from pedbone.evidence._results import EscalcResult, RMAResult, SubgroupResult
from pedbone.evidence._subgroups import subgroups
from pedbone.evidence._transf import (
    transf_arcsin,
    transf_exp,
    transf_iarcsin,
    transf_ilogit,
    transf_ipft,
    transf_ipft_hm,
    transf_logit,
    transf_pft,
)
from pedbone.evidence._utils import ConvergenceError, EvidenceInputError, make_unique

__all__ = [
    "MEASURES",
    "METHODS",
    "TESTS",
    "AnovaResult",
    "ConfintResult",
    "ConvergenceError",
    "EscalcResult",
    "EvidenceInputError",
    "Interval",
    "PredictResult",
    "RMAResult",
    "SubgroupResult",
    "anova",
    "cmicalc",
    "escalc",
    "rma",
    "subgroups",
    "transf_arcsin",
    "transf_exp",
    "transf_iarcsin",
    "transf_ilogit",
    "transf_ipft",
    "transf_ipft_hm",
    "transf_logit",
    "transf_pft",
]

# -- Mantel-Haenszel / Peto, sensitivity, bias, plots, read-out ----------------------
from pedbone.evidence._baujat import baujat
from pedbone.evidence._blup import BLUPResult, blup, ranef
from pedbone.evidence._cumul import cumul
from pedbone.evidence._forest import forest
from pedbone.evidence._fsn import FSNResult, fsn
from pedbone.evidence._funnel import funnel
from pedbone.evidence._glmm import GLMMResult, rma_glmm
from pedbone.evidence._gosh import GoshResult, gosh
from pedbone.evidence._hc import HCResult, hc
from pedbone.evidence._heterogeneity import HeterogeneityReadout, heterogeneity_readout
from pedbone.evidence._influence import InfluenceResult, influence
from pedbone.evidence._labbe import labbe
from pedbone.evidence._leave1out import leave1out
from pedbone.evidence._mh import MHResult, rma_mh
from pedbone.evidence._permutest import PermutestResult, permutest
from pedbone.evidence._peto import rma_peto
from pedbone.evidence._plotting import RATIO_MEASURES
from pedbone.evidence._profile import ProfileResult, confint_pl, profile
from pedbone.evidence._radial import radial
from pedbone.evidence._ranktest import RankTestResult, ranktest
from pedbone.evidence._regplot import regplot
from pedbone.evidence._regtest import RegTestResult, regtest
from pedbone.evidence._rma_mv import STRUCTS, RMAMVResult, rma_mv
from pedbone.evidence._robust import RobustResult, robust
from pedbone.evidence._selmodel import SelmodelResult, selmodel
from pedbone.evidence._trimfill import TrimFillResult, trimfill
from pedbone.evidence._vcalc import vcalc

__all__ += [
    "RATIO_MEASURES",
    "GoshResult",
    "HeterogeneityReadout",
    "InfluenceResult",
    "MHResult",
    "RankTestResult",
    "RegTestResult",
    "TrimFillResult",
    "baujat",
    "cumul",
    "forest",
    "funnel",
    "gosh",
    "heterogeneity_readout",
    "influence",
    "labbe",
    "leave1out",
    "make_unique",
    "radial",
    "ranktest",
    "regplot",
    "regtest",
    "rma_mh",
    "rma_peto",
    "trimfill",
]

# -- issue 13 (evid2): multilevel/multivariate models and cluster-robust inference ------
__all__ += [
    "STRUCTS",
    "BLUPResult",
    "FSNResult",
    "GLMMResult",
    "HCResult",
    "PermutestResult",
    "ProfileResult",
    "RMAMVResult",
    "RobustResult",
    "SelmodelResult",
    "blup",
    "confint_pl",
    "fsn",
    "hc",
    "permutest",
    "profile",
    "ranef",
    "rma_glmm",
    "rma_mv",
    "robust",
    "selmodel",
    "vcalc",
]
