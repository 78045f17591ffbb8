"""pedbone.report (under construction)."""
