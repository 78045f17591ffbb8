"""pedbone.evidence (under construction)."""
