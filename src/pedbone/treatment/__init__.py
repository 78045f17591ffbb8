"""pedbone.treatment (under construction)."""
