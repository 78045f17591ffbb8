"""pedbone.evidence (under construction)."""

# -- part 2 (META2): Mantel-Haenszel / Peto, sensitivity, bias, plots, read-out --------
from pedbone.evidence._mh import MHResult, rma_mh
from pedbone.evidence._peto import rma_peto

__all__ = ["MHResult", "rma_mh", "rma_peto"]
